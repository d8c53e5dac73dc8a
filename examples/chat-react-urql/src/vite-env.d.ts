/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The server's HTTP GraphQL URL, e.g. http://localhost:4000/graphql. */
  readonly VITE_ROOMCAST_URL?: string;
}

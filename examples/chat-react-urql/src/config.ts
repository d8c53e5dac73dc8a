/** Where the Roomcast server is: VITE_ROOMCAST_URL at build time (its HTTP URL; the WebSocket is the same path). */
export const httpUrl: string = import.meta.env.VITE_ROOMCAST_URL || 'http://localhost:4000/graphql';
export const wsUrl: string = httpUrl.replace(/^http/, 'ws');

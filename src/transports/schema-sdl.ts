/**
 * `GET /graphql/schema.graphql`: the schema the server runs, printed as one SDL document
 * (descriptions included), for client codegen against a running server (GraphQL Code Generator's URL
 * loader reads a `.graphql` URL as SDL). The files of schema/ ship in @roomcast/client. Introspection
 * of `/graphql` answers the same question for tools that prefer it.
 */
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export function useSchemaSdl(path: string, sdl: string): Plugin {
  return {
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (url.pathname !== path) return;
      const allowed = request.method === 'GET' || request.method === 'HEAD';
      endResponse(
        allowed
          ? new fetchAPI.Response(request.method === 'HEAD' ? null : sdl, { headers: { 'content-type': 'text/plain; charset=utf-8' } })
          : new fetchAPI.Response(null, { status: 405, headers: { allow: 'GET, HEAD' } }),
      );
    },
  };
}

/**
 * INTROSPECTION=off: `__schema` and `__type` are refused (GRAPHQL_VALIDATION_FAILED) on every
 * transport, the SDL is not served, and validation errors no longer suggest field names ("Did you
 * mean …?" would spell the schema out one guess at a time); `__typename` still works.
 */
export function useNoIntrospection(): Plugin[] {
  return [
    {
      onValidate({ addValidationRule }) {
        addValidationRule(NoSchemaIntrospectionCustomRule);
      },
    },
    blockFieldSuggestionsPlugin(),
  ];
}

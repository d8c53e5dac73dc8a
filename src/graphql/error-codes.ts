/**
 * `extensions.code` for the request errors graphql-js reports without one, on every transport (the
 * WebSocket parses, validates and executes through Yoga's envelop too):
 *
 * - Variables that cannot be coerced to their declared types (`Variable "$d" of required type "JSON!"
 *   was not provided.`, `... got invalid value ...`, `... must not be null.`): BAD_USER_INPUT, like
 *   the resolvers' own input errors (and Apollo Server's convention). Over HTTP their status follows
 *   GraphQL over HTTP like validation errors: 400 (set by Yoga's executor), or 200 for a client that
 *   accepts only `application/json` (`http.spec`, which Yoga honours).
 * - A document that does not parse: GRAPHQL_PARSE_FAILED, which Yoga gives it over HTTP only.
 */
import { GraphQLError, Kind } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors.js';

const GRAPHQL_PARSE_FAILED = 'GRAPHQL_PARSE_FAILED';

/** Gives variable-coercion errors their code, in place; other errors are left alone. */
export function codeVariableErrors(errors: readonly GraphQLError[] | undefined): void {
  for (const error of errors ?? []) {
    // graphql-js locates a coercion error at the variable's definition, and nothing else there.
    if (error.path !== undefined || !error.nodes?.some((node) => node.kind === Kind.VARIABLE_DEFINITION)) continue;
    const extensions = error.extensions as Record<string, unknown>;
    extensions.code ??= ErrorCode.BAD_USER_INPUT;
    const http = extensions.http as Record<string, unknown> | undefined;
    if (http) http.spec ??= true;
  }
}

export function useErrorCodes(): Plugin {
  // Variables are coerced before anything runs: their errors are the whole result of execute or subscribe.
  const codeResult = ({ result }: { result: unknown }) => {
    if (!isAsyncIterable(result)) codeVariableErrors((result as { errors?: readonly GraphQLError[] }).errors);
  };
  return {
    onParse:
      () =>
      ({ result }) => {
        if (result instanceof GraphQLError) (result.extensions as Record<string, unknown>).code ??= GRAPHQL_PARSE_FAILED;
      },
    onExecute: () => ({ onExecuteDone: codeResult }),
    onSubscribe: () => ({ onSubscribeResult: codeResult }),
  };
}

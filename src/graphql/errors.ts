/**
 * RoomcastErrors (src/errors.ts, plain Errors) as GraphQL errors, on every transport:
 *
 * - A resolver's: graphql-js locates it as a GraphQL error with the same `extensions` (code, HTTP
 *   status), whose original error it is. Yoga would mask that as unexpected; `maskError` lets it through.
 * - One thrown before execution (the context factory, a request check): `maskError` makes the GraphQL
 *   error Yoga needs, and marks the original as reported, so Yoga's logger does not take it for a bug.
 * - One a transport sends itself (graphql-ws's onSubscribe refusals): `asGraphQLError`.
 *
 * Anything else Yoga masks as before (`Unexpected error.`), and error-log.ts logs it.
 */
import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError, type MaskError } from 'graphql-yoga';
import { RoomcastError } from '../errors.js';

/** Errors already accounted for (logged by error-log.ts, or expected): Yoga's logger skips them (http.ts). */
export type ReportedErrors = WeakSet<object>;

export function asGraphQLError(error: RoomcastError): GraphQLError {
  // The same extensions object: its non-enumerable `http` (the status) comes along.
  return new GraphQLError(error.message, { extensions: error.extensions });
}

/** The error an error wraps, down to the first that is not a GraphQL error wrapping another. */
export function originOf(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

/** Whether the client sees it as it is: a RoomcastError, or a GraphQL error of graphql-js or Yoga's own (not one wrapping a bug). */
export function isExpected(error: unknown): boolean {
  const origin = originOf(error);
  return origin instanceof RoomcastError || (origin instanceof GraphQLError && origin.originalError == null);
}

export function maskError(reported: ReportedErrors): MaskError {
  return (error, message, isDev) => {
    const origin = originOf(error);
    if (!(origin instanceof RoomcastError)) return yogaMaskError(error, message, isDev);
    if (error instanceof GraphQLError && error.extensions === origin.extensions) return error;
    reported.add(error as object);
    if (!(error instanceof GraphQLError)) return asGraphQLError(origin);
    return new GraphQLError(origin.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: origin.extensions,
    });
  };
}

/**
 * Logs the errors Yoga is about to mask (anything thrown that is neither a RoomcastError nor a GraphQL
 * error of graphql-js or Yoga: a bug, a failing dependency) on the operation's own logger, so the line
 * carries its request id or its WebSocket connection id, and its user. Yoga logs them too, on its
 * server-wide logger: `reported` lets that logger skip what was already written here (http.ts).
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import type { Logger } from '../log.js';
import { isExpected, originOf, type ReportedErrors } from './errors.js';

/** The part of a context (or of the initial context) that says where its lines go. */
interface Logged {
  readonly log?: Logger;
}

export function useErrorLog(reported: ReportedErrors, fallback: Logger): Plugin {
  const report = (errors: readonly unknown[], context: Logged | undefined, operation?: string | null) => {
    for (const error of errors) {
      const object = typeof error === 'object' && error !== null;
      if (isExpected(error) || (object && reported.has(error))) continue;
      if (object) reported.add(error);
      (context?.log ?? fallback).error('an operation failed unexpectedly', {
        error: originOf(error),
        operation: operation ?? undefined,
        path: error instanceof GraphQLError ? error.path?.join('.') : undefined,
      });
    }
  };
  const onResult = ({ result, args }: { result: ExecutionResult; args: { contextValue: unknown; operationName?: string | null } }) => {
    if (result.errors) report(result.errors, args.contextValue as Logged, args.operationName);
  };
  return {
    onPluginInit({ registerContextErrorHandler }) {
      registerContextErrorHandler(({ error, context }) => report([error], context));
    },
    onExecute: () => ({ onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, onResult) }),
    onSubscribe: () => ({ onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, onResult) }),
  };
}

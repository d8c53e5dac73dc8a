/**
 * Operation limits: GraphQL Armor's maintained envelop plugins refuse an operation that is too deep,
 * too wide or too long before anything runs, on every transport (HTTP, SSE, and the WebSocket, which
 * parses and validates through Yoga's envelop too).
 *
 * Every refusal is an ordinary GraphQL error with `extensions.code` `GRAPHQL_VALIDATION_FAILED` (HTTP
 * 400, like Yoga's own validation errors), `extensions.limit` naming the limit, and a message naming
 * the limit and its value. Armor on its own throws a code-less error out of `validate()`, which graphql-ws
 * would turn into closing the whole socket with 4500; so rejections are not propagated by Armor but
 * reported here: as validation errors (all of them, not just the first), and for the token limit, which
 * runs in the parser, as the parse error.
 */
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Deepest selection, counting fields and fragments (inline or spread) as levels. The schema is shallow:
 * its deepest useful operation measures 5 (`messages { ...RoomEventFields }` whose fragment selects
 * `... on Message { seq }`). `__schema` (introspection, as GraphiQL sends it) is not counted.
 */
export const MAX_DEPTH = 10;
/** Aliased fields in one operation (`__typename` aliases not counted): 15 `publish`es in one request is plenty. */
export const MAX_ALIASES = 15;
/** Directives (`@include`, `@skip`) in one operation. */
export const MAX_DIRECTIVES = 10;
/**
 * Lexical tokens in one document (names, punctuation, values). The parser stops at the first token
 * over the limit, so it also bounds the parser's recursion. GraphiQL's introspection query has about 190.
 */
export const MAX_TOKENS = 1000;
/**
 * Armor's cost: 1 per scalar field, 2 per object field or fragment, each level's children weighing 1.5
 * times more, so it grows fast with nesting. A subscription with the full RoomEventFields fragment costs
 * about 70, a publish 11; the heaviest useful operation, 15 aliased `history` reads each with that
 * fragment, about 1060. Introspection (`__schema`) is not counted.
 */
export const MAX_COST = 2000;

/** `extensions.code` of every refusal: the operation is invalid as sent; do not retry it unchanged. */
export const OPERATION_LIMIT_CODE = 'GRAPHQL_VALIDATION_FAILED';

/** `extensions.limit` of a refusal: which limit the operation exceeds. */
export type OperationLimit = 'maxDepth' | 'maxAliases' | 'maxDirectives' | 'maxTokens' | 'maxCost';

/** Armor's callbacks: a ValidationContext in validation rules, null in the parser. */
type RejectCallback = (context: ValidationContext | null, error: GraphQLError) => void;

function limitError(limit: OperationLimit, rejection: GraphQLError): GraphQLError {
  // Armor prefixes every message with "Syntax Error: ", whatever the stage; the rest names the limit.
  return new GraphQLError(rejection.message.replace(/^Syntax Error: /, ''), {
    extensions: { code: OPERATION_LIMIT_CODE, limit, http: { status: 400 } },
  });
}

/** A validation rule's rejection becomes a reported validation error (validation goes on). */
const reportAs =
  (limit: OperationLimit): RejectCallback =>
  (context, rejection) => {
    const error = limitError(limit, rejection);
    if (!context) throw error;
    context.reportError(error);
  };

/** The parser's rejection is thrown, which stops parsing at the first token over the limit. */
const throwAs =
  (limit: OperationLimit): RejectCallback =>
  (_context, rejection) => {
    throw limitError(limit, rejection);
  };

/** Exact limits and messages go to the client: they are the contract, not a secret. */
const common = { exposeLimits: true, propagateOnRejection: false } as const;

/** The limits above, as envelop plugins for Yoga's `plugins`. */
export function useOperationLimits(): Plugin[] {
  return [
    maxTokensPlugin({ ...common, n: MAX_TOKENS, onReject: [throwAs('maxTokens')] }),
    maxDepthPlugin({ ...common, n: MAX_DEPTH, ignoreIntrospection: true, onReject: [reportAs('maxDepth')] }),
    maxAliasesPlugin({ ...common, n: MAX_ALIASES, onReject: [reportAs('maxAliases')] }),
    maxDirectivesPlugin({ ...common, n: MAX_DIRECTIVES, onReject: [reportAs('maxDirectives')] }),
    costLimitPlugin({ ...common, maxCost: MAX_COST, ignoreIntrospection: true, onReject: [reportAs('maxCost')] }),
  ];
}

/**
 * Mutations run compiled by graphql-jit (graphql/compiled.ts): every answer must be the one Yoga's own
 * executor gives, byte for byte and with the same status, for every shape of success and failure.
 */
import { parse, type OperationTypeNode } from 'graphql';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { ErrorCode, RoomcastError } from '../../src/errors.js';
import { CompiledOperations, useCompiledMutations } from '../../src/graphql/compiled.js';
import { useErrorCodes } from '../../src/graphql/error-codes.js';
import { maskError } from '../../src/graphql/errors.js';

const typeDefs = /* GraphQL */ `
  type Query {
    ok: Boolean
  }
  type Step {
    n: Int!
    label: String
  }
  type Mutation {
    step(label: String!, delayMs: Int = 0): Step!
    refuse(code: String!): Step
    crash: Step
    nullInside: Step!
    list(n: Int!): [Step!]!
  }
`;

function server(plugins: Plugin[]) {
  let counter = 0;
  const schema = createSchema({
    typeDefs,
    resolvers: {
      Mutation: {
        // Root fields of a mutation run one after the other: the counter shows the order.
        step: async (_: unknown, { label, delayMs }: { label: string; delayMs: number }) => {
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          return { n: ++counter, label };
        },
        refuse: (_: unknown, { code }: { code: string }) => {
          throw new RoomcastError(code as ErrorCode, `refused with ${code}`);
        },
        crash: () => {
          throw new Error('a secret detail');
        },
        nullInside: () => ({ n: null, label: 'x' }),
        list: (_: unknown, { n }: { n: number }) => Array.from({ length: n }, (_, i) => ({ n: i, label: i === 1 ? null : `#${i}` })),
      },
    },
  });
  return createYoga({
    schema,
    logging: false,
    maskedErrors: { maskError: maskError(new WeakSet()) },
    plugins: [useErrorCodes(), ...plugins],
  });
}

const requests: Record<string, { query: string; variables?: Record<string, unknown>; accept?: string }> = {
  'fields in order, aliased, async': {
    query: 'mutation M($l: String!) { a: step(label: $l, delayMs: 20) { n label } b: step(label: "second") { n label __typename } }',
    variables: { l: 'first' },
  },
  'a missing variable': { query: 'mutation M($l: String!) { step(label: $l) { n } }' },
  'a variable of the wrong type': { query: 'mutation M($l: String!) { step(label: $l) { n } }', variables: { l: { not: 'a string' } } },
  'a missing variable, application/json': { query: 'mutation M($l: String!) { step(label: $l) { n } }', accept: 'application/json' },
  'a resolver error with a code': { query: 'mutation { refuse(code: "FORBIDDEN") { n } }' },
  'a resolver error with a status': { query: 'mutation { refuse(code: "UNAVAILABLE") { n } after: step(label: "after") { n } }' },
  'an unexpected error, masked': { query: 'mutation { crash { n } }' },
  'a null in a non-null field': { query: 'mutation { nullInside { n label } }' },
  'a list with a null label': { query: 'mutation { list(n: 3) { n label } }' },
  'errors located through fragments': {
    query: 'mutation { ...F nullInside { ... on Step { n } } } fragment F on Mutation { refuse(code: "FORBIDDEN") { n } }',
  },
  'a directive on a variable': {
    query: 'mutation M($with: Boolean!) { step(label: "d") { n label @include(if: $with) } }',
    variables: { with: false },
  },
};

async function answer(yoga: ReturnType<typeof server>, request: (typeof requests)[string]) {
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: request.accept ?? 'application/graphql-response+json' },
    body: JSON.stringify({ query: request.query, variables: request.variables }),
  });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

describe('mutations compiled by graphql-jit', () => {
  it.each(Object.entries(requests))('should answer %s as the executor does', async (_name, request) => {
    const expected = await answer(server([]), request);
    const compiled = await answer(server([useCompiledMutations()]), request);
    expect(compiled).toEqual(expected);
  });

  it('should compile mutations only, once per document and operation name', () => {
    const schema = server([]).getEnveloped().schema;
    const operations = new CompiledOperations(new Set(['mutation' as OperationTypeNode]));
    const document = parse('mutation A { crash { n } } mutation B { crash { n } } query Q { ok }');
    const a = operations.get(schema, document, 'A');
    expect(a).toBeDefined();
    expect(operations.get(schema, document, 'A')).toBe(a);
    expect(operations.get(schema, document, 'B')).not.toBe(a);
    expect(operations.get(schema, document, 'Q')).toBeUndefined();
    expect(operations.get(schema, parse('{ nope }'), undefined)).toBeUndefined();
  });
});

/**
 * Operations compiled to JavaScript by graphql-jit: about half the CPU of graphql-js's execute for the
 * operations Roomcast runs most (bench/README.md). Used for the renders of direct delivery
 * (transports/ws-delivery.ts) and, through useCompiledMutations, for mutations on every transport:
 * the publish path. Whatever graphql-jit cannot compile runs as before.
 */
import {
  getOperationAST,
  Kind,
  locatedError,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLSchema,
  type OperationTypeNode,
  type SelectionSetNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

/**
 * Compiled operations, once per document (Yoga's parse cache hands out one per query text) and
 * operation name. One instance per schema: a compiled operation belongs to the schema it was made for.
 */
export class CompiledOperations {
  private readonly byDocument = new WeakMap<DocumentNode, Map<string, CompiledQuery | undefined>>();

  /** `only`: compile operations of these kinds; the others get undefined. */
  constructor(private readonly only?: ReadonlySet<OperationTypeNode>) {}

  /** undefined when graphql-jit cannot compile the operation, or it is not of a kind asked for. */
  get(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): CompiledQuery | undefined {
    let byName = this.byDocument.get(document);
    if (!byName) {
      byName = new Map();
      this.byDocument.set(document, byName);
    }
    const name = operationName ?? '';
    if (!byName.has(name)) byName.set(name, this.compile(schema, document, operationName ?? undefined));
    return byName.get(name);
  }

  private compile(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): CompiledQuery | undefined {
    const operation = getOperationAST(document, operationName);
    if (!operation || (this.only && !this.only.has(operation.operation))) return undefined;
    try {
      const result = compileQuery(schema, document, operationName);
      return isCompiledQuery(result) ? result : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * Runs mutations compiled, through envelop's execute (so every plugin's onExecute hooks still wrap
 * them), with the answers of the executor it replaces (test/unit/compiled-mutations.test.ts):
 * - variables that do not coerce are answered by that executor, which never ran a resolver either;
 * - field errors are made as graphql-js makes them (located at their field nodes, the resolver's error
 *   or the executor's own as the original), so that masking and the locations come out the same.
 */
export function useCompiledMutations(): Plugin {
  const compiled = new CompiledOperations(new Set(['mutation' as OperationTypeNode]));
  return {
    onExecute({ args: { schema, document, operationName }, executeFn, setExecuteFn }) {
      const query = compiled.get(schema as GraphQLSchema, document as DocumentNode, operationName as string | null | undefined);
      if (!query) return;
      const execute = executeFn as (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult>;
      setExecuteFn((args: ExecutionArgs) => {
        const answer = (result: ExecutionResult) => ('data' in result ? located(result, args) : execute(args));
        const result = query.query(args.rootValue, args.contextValue, args.variableValues);
        return isThenable(result) ? Promise.resolve(result).then(answer) : answer(result);
      });
    },
  };
}

function located(result: ExecutionResult, { document, operationName }: ExecutionArgs): ExecutionResult {
  if (!result.errors) return result;
  const errors = result.errors.map((error: GraphQLError) =>
    locatedError(error.originalError ?? new Error(error.message), fieldNodesAt(document, operationName, error.path), error.path),
  );
  return { errors, data: result.data };
}

/** The field nodes a response path names (those merged under its last key), through fragments. */
function fieldNodesAt(
  document: DocumentNode,
  operationName: string | null | undefined,
  path: readonly (string | number)[] = [],
): FieldNode[] | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const operation = getOperationAST(document, operationName);
  let sets: SelectionSetNode[] = operation ? [operation.selectionSet] : [];
  let nodes: FieldNode[] = [];
  for (const key of path) {
    if (typeof key === 'number') continue; // a list index: the same field nodes
    nodes = [];
    const visit = (set: SelectionSetNode): void => {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          if ((selection.alias ?? selection.name).value === key) nodes.push(selection);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
        else {
          const fragment = fragments.get(selection.name.value);
          if (fragment) visit(fragment.selectionSet);
        }
      }
    };
    sets.forEach(visit);
    sets = nodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  }
  return nodes.length > 0 ? nodes : undefined;
}

/** `errors` before `data`, as graphql-js orders them (graphql-jit puts `data` first): the same bytes on the wire. */
export function errorsFirst(result: ExecutionResult): ExecutionResult {
  return result.errors ? { errors: result.errors, ...result } : result;
}

export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

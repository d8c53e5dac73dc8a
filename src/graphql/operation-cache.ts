/**
 * Parsed documents and validation results of the operations clients send again and again (every
 * publish of an app is the same mutation text), in place of Yoga's default caches. Those time each
 * lookup with a 1 ms timer (lru-cache's clock for its one-hour TTL) and read the name of every
 * validation rule to key the result: about 40 µs of a publish on the bench's machine (bench/README.md).
 *
 * Documents are kept by count and size; a validation result lives as long as its document (a WeakMap per
 * schema). Like Yoga's cache, a result is keyed by schema and document only: the rules are the
 * server's, the same for every request.
 */
import type { DocumentNode, GraphQLError, GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';

/** Query texts whose parsed document (or parse error) is kept: Yoga's default count. */
const DOCUMENTS = 1024;
/**
 * And in size, counted in characters of query text (a document holds its text, and an AST bounded by
 * the operation limits' token count): a client sending distinct megabyte-long queries (a long comment,
 * a long string) must not make each cache hold a gigabyte. An app's operations are a few hundred
 * characters; a text longer than the largest entry is parsed every time, never kept.
 */
const CACHED_CHARACTERS = 4 * 1024 * 1024;
const LARGEST_ENTRY = 64 * 1024;

/** Yoga's `parserAndValidationCache` option: the parse caches, and Yoga's own validation cache off. */
export function parseCaches() {
  const bounds = {
    max: DOCUMENTS,
    maxSize: CACHED_CHARACTERS,
    maxEntrySize: LARGEST_ENTRY,
    sizeCalculation: (_: unknown, text: string) => text.length,
  };
  return {
    documentCache: new LRUCache<string, DocumentNode>(bounds),
    errorCache: new LRUCache<string, object>(bounds),
    validationCache: false,
  };
}

/** Validation results by schema and document, for every transport (they all validate through envelop). */
export function useValidationCache(): Plugin {
  const results = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, readonly GraphQLError[]>>();
  return {
    onValidate({ params, setResult }) {
      const { schema, documentAST } = params as { schema: GraphQLSchema; documentAST: DocumentNode };
      let bySchema = results.get(schema);
      if (!bySchema) results.set(schema, (bySchema = new WeakMap()));
      const known = bySchema.get(documentAST);
      if (known) {
        setResult(known);
        return;
      }
      const store = bySchema;
      return ({ result }) => {
        if (Array.isArray(result)) store.set(documentAST, result as readonly GraphQLError[]);
      };
    },
  };
}

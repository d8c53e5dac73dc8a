// Where Roomcast's GraphQL over HTTP departs from Yoga's defaults, so that a request that goes wrong
// gets a status and a message saying what is wrong, with curl's defaults too (line comments: the
// text names `*/*`):
//
// - No Accept, or `Accept: */*` (curl, fetch): answered as `application/graphql-response+json`, the
//   media type this server prefers. GraphQL over HTTP ("Body"): the server encodes the response in
//   the highest priority type listed that it supports, and `*/*` lists them all; without Accept it
//   may choose any ("Accept"). Yoga picks `application/json`, whose legacy rule answers request,
//   parse and validation errors with 200. Only a client that lists `application/json` and not
//   `application/graphql-response+json` (`curl --json`) still gets that.
// - A POST body must be JSON sent as `content-type: application/json`: anything else, no content-type
//   included, is refused with 415 UNSUPPORTED_MEDIA_TYPE (GraphQL over HTTP, "POST" and "Status
//   Codes"). Yoga answers an empty 415, or reads curl's `-d` default (`application/x-www-form-urlencoded`)
//   as a form without a query and answers 200 "Must provide query string.". Refusing forms also keeps
//   cross-site HTML forms, which need no CORS preflight, from publishing.
// - A body that is not JSON gets one message with the parser's reason (Yoga's repeats it, twice, in
//   `extensions.originalError`).
//
// node-http.ts answers plain server-side POSTs without Yoga's request parsing and result hooks: its
// isBufferable and mediaTypeFor make the same choices as useHttpRequestRules here.
import { createGraphQLError, processRegularResult, type Plugin } from 'graphql-yoga';

type RequestParser = NonNullable<Parameters<NonNullable<Plugin['onRequestParse']>>[0]['requestParser']>;
import { ErrorCode, RoomcastError } from '../errors.js';

export const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json';

/** True for `application/json`, with or without parameters (`; charset=utf-8`), as Yoga's JSON parser matches it. */
export function isJsonContentType(contentType: string | null | undefined): boolean {
  const first = contentType?.split(',')[0]?.trim().toLowerCase();
  return first === 'application/json' || first?.startsWith('application/json;') === true;
}

/** True when the Accept header names no JSON media type of its own: missing, empty, or only wildcards. */
function acceptsOnlyWildcards(accept: string | null | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').every((range) => {
    const type = range.split(';')[0]!.trim().toLowerCase();
    return type !== 'application/json' && type !== GRAPHQL_RESPONSE_JSON;
  });
}

export function useHttpRequestRules(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (request.method === 'GET') {
        if (requestParser) setRequestParser(withUrlJsonErrors(requestParser));
        return;
      }
      if (request.method !== 'POST') return;
      const contentType = request.headers.get('content-type');
      if (!isJsonContentType(contentType)) throw unsupportedMediaType(contentType);
      setRequestParser(parseJsonBody);
    },
    onResultProcess({ request, resultProcessor, setResultProcessor }) {
      // Yoga has picked its JSON processor as `application/json` from a wildcard: the same
      // processor, as the preferred type.
      if (resultProcessor === processRegularResult && acceptsOnlyWildcards(request.headers.get('accept'))) {
        setResultProcessor(processRegularResult, GRAPHQL_RESPONSE_JSON);
      }
    },
  };
}

/**
 * Yoga's GET parser, with 400 for `variables` or `extensions` that are not JSON: Yoga lets JSON.parse's
 * SyntaxError through, which becomes a 500 and an error line per request.
 */
function withUrlJsonErrors(parse: RequestParser): RequestParser {
  return async (request) => {
    try {
      return await parse(request);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      throw createGraphQLError(`variables or extensions in the URL are not valid JSON: ${error.message}`, {
        extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
      });
    }
  };
}

function unsupportedMediaType(contentType: string | null): RoomcastError {
  const got = contentType ? `got ${contentType}` : 'none was sent';
  return new RoomcastError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, `POST body must be JSON sent with content-type: application/json (${got})`);
}

/** Yoga's JSON request parser, with one clear message for a body that is not JSON. */
async function parseJsonBody(request: Request): Promise<Record<string, unknown>> {
  // A read failure (body over HTTP_MAX_BODY_BYTES, client gone) propagates as it is.
  const text = await request.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw createGraphQLError(`Request body is not valid JSON: ${(error as Error).message}`, {
      extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
    });
  }
  if (body === null || typeof body !== 'object') {
    // Yoga's own messages; an array is a batch, which Yoga refuses itself.
    throw createGraphQLError(`POST body is expected to be object but received ${body === null ? 'null' : typeof body}`, {
      extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
    });
  }
  return body as Record<string, unknown>;
}

/**
 * Which web pages may use the API from a browser (CORS_ORIGINS), on every transport.
 *
 * - Unset: any origin may call, never with credentials: `Access-Control-Allow-Origin: *` and no
 *   `Access-Control-Allow-Credentials` (tokens travel in headers, which any page must then set itself).
 * - Set (a list of origins): a listed origin gets its own origin back, with credentials; a request whose
 *   `Origin` is neither listed nor the server's own is refused with 403, over HTTP, for event streams
 *   (an EventSource needs no preflight, so CORS alone would not stop a page from opening one) and for
 *   WebSocket upgrades (browsers send Origin, and no CORS applies to WebSockets).
 *
 * Yoga's own CORS helper reflects any origin back with credentials, or, given `*`, still reflects it:
 * it cannot say "any origin, no credentials", hence this module.
 */
import type { Plugin } from 'graphql-yoga';

export interface OriginPolicy {
  /** CORS_ORIGINS; undefined: any origin, never with credentials. */
  readonly origins: readonly string[] | undefined;
  /** Whether a request with this Origin header (and Host) may go on; requests without Origin always may. */
  allows(origin: string | null | undefined, host: string | null | undefined): boolean;
}

export function originPolicy(origins: readonly string[] | undefined): OriginPolicy {
  const listed = new Set(origins);
  return {
    origins,
    allows(origin, host) {
      if (!origin || origins === undefined || listed.has(origin)) return true;
      // The server's own pages (GraphiQL) send Origin too.
      return host !== null && host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
    },
  };
}

export function useOrigins(policy: OriginPolicy): Plugin {
  const { origins } = policy;
  // A page may read the response's request id (request-id.ts), to quote it in a bug report.
  const corsHeaders = (origin: string): Record<string, string> =>
    origins === undefined
      ? { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'X-Request-Id' }
      : {
          'Access-Control-Allow-Origin': origin,
          'Access-Control-Allow-Credentials': 'true',
          'Access-Control-Expose-Headers': 'X-Request-Id',
          Vary: 'Origin',
        };
  return {
    onRequest({ request, fetchAPI, endResponse }) {
      const origin = request.headers.get('origin');
      if (!origin) return;
      if (!policy.allows(origin, request.headers.get('host'))) {
        endResponse(
          new fetchAPI.Response(`origin ${origin} is not allowed (CORS_ORIGINS)`, {
            status: 403,
            headers: { 'content-type': 'text/plain; charset=utf-8' },
          }),
        );
        return;
      }
      if (request.method === 'OPTIONS') {
        endResponse(
          new fetchAPI.Response(null, {
            status: 204,
            // The origin headers are added by onResponse, as to every answer.
            headers: {
              'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
              'Access-Control-Allow-Headers': request.headers.get('access-control-request-headers') ?? 'content-type, authorization',
              'Access-Control-Max-Age': '600',
            },
          }),
        );
      }
    },
    onResponse({ request, response }) {
      const origin = request.headers.get('origin');
      if (!origin || !policy.allows(origin, request.headers.get('host'))) return;
      for (const [name, value] of Object.entries(corsHeaders(origin))) response.headers.set(name, value);
    },
  };
}

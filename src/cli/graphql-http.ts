/**
 * One GraphQL operation over HTTP, as any client sends it (fetch, `Authorization: Bearer`). The
 * server's errors become CliErrors with its `extensions.code`; a server that cannot be reached,
 * UNREACHABLE.
 */
import { CliError, ExitCode, networkReason } from './failure.js';
import type { Endpoint } from './endpoint.js';

/** A request the server has not answered by then is given up (a publish may still have been stored). */
const REQUEST_TIMEOUT_MS = 30_000;

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message?: unknown; extensions?: { code?: unknown } }[];
}

export async function requestGraphQL<T>(target: Endpoint, query: string, variables: Record<string, unknown>): Promise<T> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
  };
  if (target.token !== undefined) headers.authorization = `Bearer ${target.token}`;
  let response: Response;
  try {
    response = await fetch(target.httpUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : networkReason(error);
    throw new CliError('UNREACHABLE', `cannot reach ${target.httpUrl}: ${reason}`, ExitCode.UNREACHABLE);
  }
  const body = await readBody<T>(response);
  const [first] = body.errors ?? [];
  if (first) throw new CliError(codeOf(first), messageOf(body.errors ?? []), ExitCode.REFUSED);
  if (!response.ok || body.data == null) {
    throw new CliError(
      `HTTP_${response.status}`,
      `${target.httpUrl} answered ${response.status} ${response.statusText} without a GraphQL result`,
      ExitCode.REFUSED,
    );
  }
  return body.data;
}

async function readBody<T>(response: Response): Promise<GraphQLResponse<T>> {
  const text = await response.text().catch(() => '');
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    // Not GraphQL at all (a proxy's error page, another service at that URL): said by the status.
    return {};
  }
}

const codeOf = (error: { extensions?: { code?: unknown } }): string =>
  typeof error.extensions?.code === 'string' ? error.extensions.code : 'ERROR';

/** Every error's message; those after the first with their own code when it differs. */
function messageOf(errors: { message?: unknown; extensions?: { code?: unknown } }[]): string {
  const first = codeOf(errors[0]!);
  return errors.map((error, i) => `${i > 0 && codeOf(error) !== first ? `${codeOf(error)}: ` : ''}${String(error.message)}`).join('; ');
}

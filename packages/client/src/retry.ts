/**
 * When the client reconnects, and how soon. A client of a broadcast server should outlive any outage
 * of the server: it retries forever, through refused connections, drops and restarts, and gives up
 * only when retrying cannot help.
 */

/**
 * Close codes after which retrying cannot help, so the subscriptions end with the close event.
 * graphql-ws itself already ends on its protocol faults before asking (4400 bad request, 4401
 * subscribe before the ack, 4406 subprotocol not acceptable, 4409 duplicate operation id, 4429
 * repeated connection_init, 4500 internal server error, 4004/4005 bad response/internal client
 * error, and 1002-1011 except 1005/1006, e.g. 1009 message too big); this adds the refusals a
 * server decides on purpose.
 */
export const FATAL_CLOSE_CODES: readonly number[] = [
  // Forbidden: a token refused at connection_init, or one that expired or was revoked. With getToken,
  // the client reconnects once with a fresh token after the latter (index.ts).
  4403,
];

/**
 * graphql-ws's `shouldRetry`: true for everything but a fatal close. Its default retries only after
 * a close, so a connection that cannot even be opened (ECONNREFUSED while a server restarts, DNS,
 * offline) ended every subscription for good.
 */
export function isRetryable(errorOrCloseEvent: unknown): boolean {
  return !FATAL_CLOSE_CODES.some((code) => isCode(errorOrCloseEvent, code));
}

/** Whether `errorOrCloseEvent` is a close with `code`. */
export function isCode(errorOrCloseEvent: unknown, code: number): boolean {
  return (errorOrCloseEvent as { code?: unknown } | null)?.code === code;
}

/** Reconnect soon after a drop, backing off to 10 s, with jitter so clients do not return in step. */
export async function backOff(retries: number): Promise<void> {
  const base = Math.min(10_000, 250 * 2 ** retries);
  await new Promise((resolve) => setTimeout(resolve, base / 2 + Math.random() * (base / 2)));
}

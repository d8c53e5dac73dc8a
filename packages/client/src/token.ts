/**
 * Tokens for a server with auth on: `getToken` is asked for a token on every connect (sent as
 * `connectionParams.authToken`) and again before the token expires, which is then proved in-band with
 * the `authenticate` mutation over the same connection, so subscriptions go on without a reconnect.
 * If a refresh fails, the server closes the connection at expiry (4403) and the client reconnects
 * with a fresh token and resumes from its cursors.
 */
import type { Client } from 'graphql-ws/client';

export type GetToken = () => string | Promise<string>;

const AUTHENTICATE = 'mutation RoomcastAuthenticate($token: String!) { authenticate(token: $token) { expiresAt } }';

/** Seconds since the epoch at which the token expires (its `exp`), read without verifying it. */
function expiryOf(token: string): number | undefined {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof json.exp === 'number' ? json.exp : undefined;
  } catch {
    return undefined;
  }
}

/** When to refresh a token that expires at `exp` (s): a quarter of its remaining life early, at most 30 s. */
function refreshDelayMs(exp: number): number {
  const left = exp * 1000 - Date.now();
  return Math.max(0, left - Math.min(30_000, left / 4));
}

export interface TokenKeeper {
  /** A fresh token for the connection being opened. */
  connectToken(): Promise<string>;
  /** The connection was acknowledged: refresh its token before it expires. */
  connected(): void;
  /** The connection closed (or the client was disposed): no refresh for it. */
  closed(): void;
}

/** Keeps each connection's token fresh, scheduling every refresh from the current token's expiry. */
export function tokenKeeper(getToken: GetToken, client: () => Client): TokenKeeper {
  let current: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;

  const schedule = () => {
    clearTimeout(timer);
    const exp = current === undefined ? undefined : expiryOf(current);
    if (exp === undefined) return;
    const mine = generation;
    timer = setTimeout(() => void refresh(mine), refreshDelayMs(exp));
  };

  const refresh = async (mine: number) => {
    const token = await getToken();
    if (mine !== generation) return; // the connection closed meanwhile; the next connect asks again
    await new Promise<void>((resolve) => {
      client().subscribe(
        { query: AUTHENTICATE, variables: { token } },
        {
          next: (result) => {
            if (!result.errors?.length) current = token;
          },
          error: () => resolve(),
          complete: () => resolve(),
        },
      );
    });
    if (mine === generation && current === token) schedule();
  };

  return {
    async connectToken() {
      generation++;
      clearTimeout(timer);
      current = await getToken();
      return current;
    },
    connected: schedule,
    closed() {
      generation++;
      clearTimeout(timer);
    },
  };
}

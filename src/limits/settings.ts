/**
 * The settings of limits/, parsed from the environment by config.ts: a rate (`20/1s`), and which
 * proxies in front may say who the client is (`TRUST_PROXY`). Each problem names its variable.
 */
import proxyAddr from 'proxy-addr';

/** At most `points` in each window of `durationSeconds` (fixed windows, as rate-limiter-flexible counts). */
export interface Rate {
  readonly points: number;
  readonly durationSeconds: number;
  /** As it was written, for messages: `20/1s`. */
  readonly text: string;
}

/** `1s` for `10/1s`. */
export const durationOf = (rate: Rate): string => rate.text.slice(rate.text.indexOf('/') + 1);

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };
const RATE = /^(\d+)\/(\d+)([smh])$/;

/** `20/1s`, `600/60s`, `100/1m`, `1000/1h`; undefined when unset (no limit). */
export function parseRate(name: string, raw: string | undefined, problems: string[]): Rate | undefined {
  if (raw === undefined) return undefined;
  const match = RATE.exec(raw.replace(/\s+/g, ''));
  const points = Number(match?.[1]);
  const durationSeconds = Number(match?.[2]) * UNIT_SECONDS[match?.[3] ?? 's']!;
  if (!match || points < 1 || points > 1_000_000_000 || durationSeconds < 1 || durationSeconds > 86_400) {
    problems.push(
      `${name} must look like 20/1s or 600/60s: a count per whole seconds (s), minutes (m) or hours (h), at most a day (got ${JSON.stringify(raw)})`,
    );
    return undefined;
  }
  return { points, durationSeconds, text: `${points}/${match[2]}${match[3]}` };
}

/**
 * Which proxies may tell the client's address in X-Forwarded-For: the number of proxies in front of
 * the server (the socket's peer is the first; the client is the address the outermost one saw), or
 * the addresses and CIDR ranges of trusted proxies (the client is the first address, from the right,
 * that is not one of them). Undefined: nobody, the socket's peer is the client.
 */
export type TrustProxy = { readonly hops: number } | { readonly addresses: readonly string[] };

export function parseTrustProxy(raw: string | undefined, problems: string[]): TrustProxy | undefined {
  if (raw === undefined) return undefined;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops <= 100) return hops === 0 ? undefined : { hops };
  } else {
    const addresses = raw
      .split(',')
      .map((address) => address.trim())
      .filter(Boolean);
    try {
      if (addresses.length > 0) {
        proxyAddr.compile(addresses);
        return { addresses: Object.freeze(addresses) };
      }
    } catch {
      // reported below
    }
  }
  problems.push(
    `TRUST_PROXY must be the number of proxies in front (1) or a comma-separated list of proxy addresses and CIDR ranges (10.0.0.0/8, 127.0.0.1, loopback) (got ${JSON.stringify(raw)})`,
  );
  return undefined;
}

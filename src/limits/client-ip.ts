/**
 * The client's address, derived once per HTTP request or WebSocket connection (its upgrade request):
 * the socket's peer, or, behind proxies that TRUST_PROXY names, the address X-Forwarded-For gives
 * (proxy-addr, Express's own parsing). With TRUST_PROXY unset, X-Forwarded-For is ignored: any
 * client can write one.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import proxyAddr from 'proxy-addr';
import type { TrustProxy } from './settings.js';

/** When a request has no socket address (a socket already closed): one shared, anonymous key. */
export const UNKNOWN_IP = 'unknown';

export type ClientIpOf = (req: IncomingMessage) => string;

export function clientIpResolver(trust: TrustProxy | undefined): ClientIpOf {
  const trusted =
    trust === undefined
      ? undefined
      : 'hops' in trust
        ? (_address: string, i: number) => i < trust.hops
        : proxyAddr.compile([...trust.addresses]);
  const derived = new WeakMap<IncomingMessage, string>();
  return (req) => {
    let ip = derived.get(req);
    if (ip === undefined) {
      const forwarded = trusted ? proxyAddr(req, trusted) : undefined;
      // A forwarded entry that is not an address (a client's own X-Forwarded-For junk) would be a
      // fresh identity each time: only addresses count, else the peer's.
      const address = forwarded && isIP(forwarded) ? forwarded : req.socket?.remoteAddress;
      ip = normalize(address);
      derived.set(req, ip);
    }
    return ip;
  };
}

/** IPv4 clients of a dual-stack socket show as `::ffff:1.2.3.4`: one client, one key. */
function normalize(address: string | undefined): string {
  if (!address) return UNKNOWN_IP;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

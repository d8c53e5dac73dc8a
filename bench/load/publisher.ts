/**
 * The publisher process: publishes at a fixed rate, round-robin over the target's replicas (through
 * placement.ts, so each room is published through every replica), over HTTP keep-alive connections,
 * stamping each message with its send time just before the request is written. Its own process, so
 * that neither the clients nor the servers delay the clock it keeps. Speaks PublisherApi over IPC.
 * In `roomcast-publisher` mode it is a backend instead: no HTTP, `publish()` of roomcast/publisher
 * (the build, as a backend imports it) straight to the replicas' Redis.
 */
import { Agent, request } from 'node:http';
import type * as PublisherModule from '../../src/publisher/index.js';
import { Histogram, quantileUs } from '../measure/histogram.js';
import { serveParent } from '../ipc/rpc.js';
import { nowMs } from './clock.js';
import { payload } from './payload.js';
import { replicaIndexOf, roomIndexOf, roomName } from './placement.js';
import type { PublisherApi, PublishProtocol, PublishReport } from './publisher-api.js';

/** The mutation every GraphQL target runs (Roomcast's schema; the textbook one mirrors it). */
export const PUBLISH_MUTATION =
  'mutation BenchPublish($room: ID!, $data: JSON!) { publish(room: $room, event: "bench", data: $data) { seq } }';

let protocol: PublishProtocol = 'graphql';
let urls: URL[] = [];
let rooms = 1;
let maxInFlight = 64;
let agent = new Agent({ keepAlive: true });
let backend: PublisherModule.Publisher | undefined;

function bodyOf(i: number): string {
  const room = roomName(roomIndexOf(i, rooms));
  const data = payload(nowMs(), i);
  return protocol === 'graphql' ? JSON.stringify({ query: PUBLISH_MUTATION, variables: { room, data } }) : JSON.stringify({ room, data });
}

/** Resolves with an error message, or undefined when the publish was accepted. */
function publish(i: number): Promise<string | undefined> {
  if (backend) return backendPublish(backend, i);
  const url = urls[replicaIndexOf(i, rooms, urls.length)]!;
  const body = bodyOf(i);
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) return resolve(`HTTP ${status}`);
          if (protocol === 'rest') return resolve(undefined);
          const text = Buffer.concat(chunks).toString();
          // A GraphQL error can come with 200: a publish counts only when its result is there.
          const result = JSON.parse(text) as { data?: { publish?: unknown }; errors?: { message?: string }[] };
          resolve(result.data?.publish && !result.errors ? undefined : `GraphQL: ${result.errors?.[0]?.message ?? text.slice(0, 120)}`);
        });
        res.on('error', (error) => resolve(error.message));
      },
    );
    req.on('error', (error) => resolve(error.message));
    req.end(body);
  });
}

/** A publish through roomcast/publisher: the same room, event and payload as over HTTP. */
function backendPublish(publisher: PublisherModule.Publisher, i: number): Promise<string | undefined> {
  const room = roomName(roomIndexOf(i, rooms));
  return publisher.publish(room, 'bench', payload(nowMs(), i)).then(
    () => undefined,
    (error: Error) => `publisher: ${error.message}`,
  );
}

const api: PublisherApi = {
  async configure(arg) {
    protocol = arg.protocol;
    urls = arg.urls.map((u) => new URL(u));
    rooms = arg.rooms;
    maxInFlight = arg.maxInFlight;
    agent.destroy();
    // One keep-alive pool per replica, as large as the requests we allow in flight.
    agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
    await backend?.close();
    backend = undefined;
    if (protocol === 'roomcast-publisher') {
      // The build, as a backend imports it (its types are the sources'); a variable, so that type
      // checks need no build.
      const specifier = 'roomcast/publisher';
      const { createPublisher } = (await import(specifier)) as typeof PublisherModule;
      backend = createPublisher({ redisUrl: urls[0]!.href });
    }
  },

  run({ fromId, count, rate, burst = 1 }) {
    return new Promise<PublishReport>((resolve) => {
      const start = nowMs();
      const intervalMs = 1000 / rate;
      const due = (k: number) => start + Math.floor(k / burst) * burst * intervalMs;
      const failedIds: number[] = [];
      const errors: Record<string, number> = {};
      const requestTimes = new Histogram();
      let sent = 0;
      let done = 0;
      let inFlight = 0;
      let maxLagMs = 0;
      let timer: NodeJS.Timeout | undefined;

      const finish = () =>
        resolve({
          sent,
          ok: sent - failedIds.length,
          failedIds,
          errors,
          elapsedMs: nowMs() - start,
          maxLagMs,
          requestP50Us: quantileUs(requestTimes.data(), 0.5),
          requestMaxUs: quantileUs(requestTimes.data(), 1),
        });

      const pump = () => {
        timer = undefined;
        const now = nowMs();
        // Everything due by now goes out, as far as the in-flight limit allows; later ones lag.
        while (sent < count && inFlight < maxInFlight && due(sent) <= now) {
          const i = fromId + sent;
          maxLagMs = Math.max(maxLagMs, now - due(sent));
          sent++;
          inFlight++;
          const began = nowMs();
          void publish(i).then((error) => {
            requestTimes.record((nowMs() - began) * 1000);
            inFlight--;
            done++;
            if (error !== undefined) {
              failedIds.push(i);
              errors[error] = (errors[error] ?? 0) + 1;
            }
            if (done === count) finish();
            else if (!timer) pump();
          });
        }
        if (sent < count && !timer && inFlight < maxInFlight) {
          const wait = due(sent) - nowMs();
          timer = setTimeout(pump, Math.max(0, wait));
        }
      };
      if (count === 0) finish();
      else pump();
    });
  },
};

serveParent(api);

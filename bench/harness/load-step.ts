/**
 * One measured step: publish at a fixed rate for a while, wait until every expected delivery has
 * arrived (or stops arriving), and compute what it cost and how it went. The CPU window spans the
 * publishing and the drain, so a delivery's cost counts even when it is written after the last publish.
 *
 * Loss is counted per message id: every accepted publish to room r must reach each subscriber that
 * was open in r when the step began. A subscriber the server closes during the step (e.g. as a slow
 * consumer) loses what it did not get: that is a loss, as a client that does not resume sees it.
 */
import { quantileUs } from '../measure/histogram.js';
import { roomIndexOf, roomName } from '../load/placement.js';
import { commandsBetween, commandStats, type CommandStats } from '../measure/redis-commands.js';
import { CpuWindow, type CpuUsage } from './cpu-window.js';
import type { Session } from './session.js';

/** A process above this share of one core is saturated. */
export const SATURATED_CORE = 0.9;

const POLL_MS = 50;
/** The drain ends when nothing arrived for this long (or everything did). */
const STALL_MS = 1_500;

export interface StepSpec {
  /** Messages per second. */
  readonly rate: number;
  /** Messages sent together each time (default 1: evenly spread). */
  readonly burst?: number;
  readonly count: number;
  readonly drainTimeoutMs: number;
}

export interface StepResult {
  readonly rate: number;
  readonly subscribers: number;
  readonly published: number;
  readonly publishFailed: number;
  readonly publishErrors: Record<string, number>;
  readonly publishSeconds: number;
  readonly publisherMaxLagMs: number;
  readonly expected: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicates: number;
  /** Deliveries of messages whose publish was reported failed (stored anyway). */
  readonly unexpected: number;
  /** Whether every expected delivery arrived before the drain gave up. */
  readonly drained: boolean;
  readonly closed: Record<string, number>;
  readonly anomalies: Record<string, number>;
  readonly cpu: CpuUsage;
  readonly serverUsPerDelivery: number | undefined;
  readonly serverUsPerPublish: number | undefined;
  readonly redisUsPerDelivery: number | undefined;
  readonly redisUsPerPublish: number | undefined;
  /** redis-server's commands over the step (INFO commandstats), when the target has one. */
  readonly redisCommands: CommandStats | undefined;
  readonly latencyMs: { readonly p50: number | undefined; readonly p99: number | undefined; readonly max: number | undefined };
  /** Some client worker used more than SATURATED_CORE of a core: the figures may be the client's. */
  readonly clientBound: boolean;
}

export async function runStep(session: Session, spec: StepSpec): Promise<StepResult> {
  const { pool, publisher } = session;
  const fromId = session.takeIds(spec.count);
  const openByRoom = await pool.phase(fromId);
  const subscribers = [...openByRoom.values()].reduce((a, b) => a + b, 0);
  const { redisUrl } = session.running;
  const commandsBefore = redisUrl === undefined ? undefined : await commandStats(redisUrl);
  const window = new CpuWindow(session);

  const published = await publisher.call('run', { fromId, count: spec.count, rate: spec.rate, burst: spec.burst });
  const failed = new Set(published.failedIds);
  let expected = 0;
  for (let i = fromId; i < fromId + spec.count; i++) {
    if (!failed.has(i)) expected += openByRoom.get(roomName(roomIndexOf(i, session.rooms))) ?? 0;
  }
  const drained = await drain(session, expected, spec.drainTimeoutMs);
  const cpu = window.end();
  const redisCommands = redisUrl === undefined ? undefined : commandsBetween(commandsBefore!, await commandStats(redisUrl));
  const report = await pool.report();

  let lost = 0;
  let duplicates = 0;
  let unexpected = 0;
  for (let i = fromId; i < fromId + spec.count; i++) {
    const got = report.counts.get(i) ?? 0;
    if (failed.has(i)) {
      unexpected += got;
      continue;
    }
    const want = openByRoom.get(roomName(roomIndexOf(i, session.rooms))) ?? 0;
    if (got < want) lost += want - got;
    else duplicates += got - want;
  }
  const delivered = report.received;
  const ok = published.ok;
  const perUs = (ms: number, n: number) => (n > 0 ? (ms * 1000) / n : undefined);
  const toMs = (us: number | undefined) => (us === undefined ? undefined : us / 1000);
  return {
    rate: spec.rate,
    subscribers,
    published: ok,
    publishFailed: published.failedIds.length,
    publishErrors: published.errors,
    publishSeconds: published.elapsedMs / 1000,
    publisherMaxLagMs: published.maxLagMs,
    expected,
    delivered,
    lost,
    duplicates,
    unexpected,
    drained,
    closed: report.closed,
    anomalies: report.anomalies,
    cpu,
    serverUsPerDelivery: perUs(cpu.serverMs, delivered),
    serverUsPerPublish: perUs(cpu.serverMs, ok),
    redisUsPerDelivery: session.running.redisPid === undefined ? undefined : perUs(cpu.redisMs, delivered),
    redisUsPerPublish: session.running.redisPid === undefined ? undefined : perUs(cpu.redisMs, ok),
    redisCommands,
    latencyMs: {
      p50: toMs(quantileUs(report.latency, 0.5)),
      p99: toMs(quantileUs(report.latency, 0.99)),
      max: toMs(quantileUs(report.latency, 1)),
    },
    clientBound: cpu.clientCores.some((share) => share > SATURATED_CORE),
  };
}

/** True when all `expected` deliveries arrived; false when they stopped arriving or time ran out. */
async function drain(session: Session, expected: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const { received } = await session.pool.progress(Number.MAX_SAFE_INTEGER);
    if (received >= expected) return true;
    if (received !== last) {
      last = received;
      lastChange = Date.now();
    }
    if (Date.now() - lastChange > STALL_MS || Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

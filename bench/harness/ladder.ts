/**
 * One target, one layout (1 room, or 100 rooms), at each subscriber level in turn: start the target,
 * bring its delivery path up with a few warm-up subscribers (a fresh process allocates on first use:
 * modules, JIT code, pools; that is not what a connection costs) and read its RSS; then for each level
 * add the clients that make it up, wait until all are subscribed, read the idle RSS (-> RSS per idle
 * subscribed connection, over the subscribers added since the baseline), warm up, and measure a
 * fixed-rate step (-> CPU per delivery and per publish, latency, loss). Adding clients level by level
 * instead of restarting the target for each saves the start-up and the reconnects of the lower levels,
 * which would otherwise take most of the run.
 */
import { freemem } from 'node:os';
import { rssBytes, sum } from '../measure/proc.js';
import type { CommandStats } from '../measure/redis-commands.js';
import { levelsFor, messagesFor, rateFor, warmMessagesFor, type Layout, type Profile } from '../profile.js';
import type { Target } from '../targets/target.js';
import { awaitSubscribed, type BarrierResult } from './barrier.js';
import { CpuWindow } from './cpu-window.js';
import { runStep, type StepResult } from './load-step.js';
import { say } from './log.js';
import { Session } from './session.js';
import { summarizeWarnings } from './warnings.js';

/** How long the servers' idle CPU is read for, at each level (CPU time comes in 10 ms ticks). */
const IDLE_CPU_MS = 3_000;

/** A level is skipped when the machine has less free memory than this per subscriber to add (clients and servers). */
const FREE_BYTES_PER_SUBSCRIBER = 200 * 1024;

export interface LevelResult {
  readonly subscribers: number;
  readonly opened: number;
  readonly openFailed: number;
  readonly openErrors: Record<string, number>;
  readonly barrier: BarrierResult;
  /** Server RSS with only the warm-up subscribers, idle. */
  readonly serverRssBeforeBytes: number;
  /** Server RSS right after start, before any subscriber. */
  readonly serverRssColdBytes: number;
  readonly serverRssIdleBytes: number;
  readonly redisRssIdleBytes: number | undefined;
  /** (server RSS with the level's idle subscribers - with the warm-up subscribers only) / subscribers added since. */
  readonly rssPerConnectionKiB: number;
  /** Share of one core the servers (all together), and redis-server, use idle with the level's subscribers. */
  readonly idleServerCores: number;
  readonly idleRedisCores: number | undefined;
  /** Losses of the unmeasured warm-up step: a loss is a loss, measured or not. */
  readonly warmLost: number;
  readonly step: StepResult;
}

export interface LadderResult {
  readonly layout: string;
  readonly rooms: number;
  readonly levels: LevelResult[];
  /** Levels not measured, and why. */
  readonly skipped: string[];
  readonly serverWarnings: Record<string, number>;
  readonly error?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runLadder(target: Target, layout: Layout, profile: Profile): Promise<LadderResult> {
  const levels: LevelResult[] = [];
  const skipped: string[] = [];
  let session: Session | undefined;
  let error: string | undefined;
  try {
    session = await Session.open(target, {
      rooms: layout.rooms,
      clientProcesses: profile.clientProcesses,
      connectConcurrency: profile.connectConcurrency,
      publishInFlight: profile.publishInFlight,
    });
    const serverRss = () => sum(session!.running.serverPids.map(rssBytes));
    // Started, nobody connected yet: what a cold start holds.
    const cold = serverRss();
    const subscriberLevels = levelsFor(profile, layout);
    const burst = layout.burst ?? 1;
    const warmSubscribers = Math.min(profile.rssWarmSubscribers, (subscriberLevels[0] ?? 1) - 1);
    await session.pool.add(warmSubscribers, session.running.subscribeUrls, layout.rooms);
    await awaitSubscribed(session, profile.barrierTimeoutMs);
    const warmRate = rateFor(profile, layout, Math.max(1, warmSubscribers));
    await runStep(session, {
      rate: warmRate,
      burst,
      count: warmMessagesFor(profile, warmRate),
      drainTimeoutMs: profile.drainTimeoutMs,
    });
    await sleep(profile.idleSettleMs);
    const before = serverRss();

    for (const subscribers of subscriberLevels) {
      const adding = subscribers - session.pool.size;
      if (freemem() < adding * FREE_BYTES_PER_SUBSCRIBER) {
        skipped.push(`${subscribers}: only ${Math.round(freemem() / 2 ** 20)} MiB free`);
        break;
      }
      say(`${target.name} ${layout.name}: opening ${adding} subscribers (to ${subscribers})`);
      const opened = await session.pool.add(adding, session.running.subscribeUrls, layout.rooms);
      const barrier = await awaitSubscribed(session, profile.barrierTimeoutMs);
      if (barrier.ready < barrier.open) say(`  only ${barrier.ready} of ${barrier.open} subscribers received a probe`);
      await sleep(profile.idleSettleMs);
      const idle = serverRss();
      const redisRssIdle = session.running.redisPid === undefined ? undefined : rssBytes(session.running.redisPid);
      // What the target does with nobody publishing (pings, presence, inspector, metrics): every
      // per-publish figure carries it, spread over the step's publishes.
      const idleWindow = new CpuWindow(session);
      await sleep(IDLE_CPU_MS);
      const idleCpu = idleWindow.end();
      const idleServerCores = idleCpu.serverMs / idleCpu.wallMs;
      const idleRedisCores = session.running.redisPid === undefined ? undefined : idleCpu.redisMs / idleCpu.wallMs;

      const rate = rateFor(profile, layout, subscribers);
      const drainTimeoutMs = profile.drainTimeoutMs;
      const warm = await runStep(session, { rate, burst, count: warmMessagesFor(profile, rate), drainTimeoutMs });
      const step = await runStep(session, { rate, burst, count: messagesFor(profile, rate, profile.stepSeconds), drainTimeoutMs });
      say(
        `  ${subscribers} subs, ${rate.toFixed(1)} msg/s: ${fmt(step.serverUsPerDelivery)} µs/delivery, ` +
          `${fmt(step.serverUsPerPublish)} µs/publish, p99 ${fmt(step.latencyMs.p99)} ms, lost ${step.lost}` +
          (step.clientBound ? ' (client-bound)' : ''),
      );
      say(
        `    idle: servers ${fmt(idleServerCores * 100)} % of a core, redis ${fmt(idleRedisCores === undefined ? undefined : idleRedisCores * 100)} %`,
      );
      if (step.redisCommands) say(`    redis per publish: ${describeCommands(step.redisCommands, step.published)}`);
      levels.push({
        subscribers,
        opened: opened.opened,
        openFailed: opened.failed,
        openErrors: opened.errors,
        barrier,
        serverRssBeforeBytes: before,
        serverRssColdBytes: cold,
        serverRssIdleBytes: idle,
        redisRssIdleBytes: redisRssIdle,
        rssPerConnectionKiB: (idle - before) / 1024 / (subscribers - warmSubscribers),
        idleServerCores,
        idleRedisCores,
        warmLost: warm.lost,
        step,
      });
    }
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
    say(`${target.name} ${layout.name}: failed: ${error}`);
  }
  const serverWarnings = session ? summarizeWarnings(session.running.warnings()) : {};
  await session?.close().catch(() => {});
  return { layout: layout.name, rooms: layout.rooms, levels, skipped, serverWarnings, ...(error === undefined ? {} : { error }) };
}

function fmt(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(value < 10 ? 2 : 1);
}

/** `evalsha 1.00 × 77 µs, xadd 1.00 × 7.9 µs, ...`: calls and Redis's own µs per call, per publish, busiest first. */
function describeCommands(commands: CommandStats, published: number): string {
  return Object.entries(commands)
    .sort(([, a], [, b]) => b.usec - a.usec)
    .slice(0, 8)
    .map(([name, { calls, usec }]) => `${name} ${(calls / Math.max(1, published)).toFixed(2)} × ${fmt(usec / calls)} µs`)
    .join(', ');
}

/**
 * Zero-loss deliveries per second at saturation: one room of subscribers, a publish rate raised step
 * by step until a step is not clean (a loss, deliveries that never came, p99 beyond the bound, or a
 * publisher that could not keep the rate), on one target session. The figure is the highest clean
 * step's delivery rate. What was saturated at the first unclean step (clients, servers, the machine)
 * is recorded: on 2 cores the load generator and the servers compete, and the report says so.
 */
import { warmMessagesFor, type Profile } from '../profile.js';
import type { Target } from '../targets/target.js';
import { awaitSubscribed } from './barrier.js';
import { runStep, SATURATED_CORE, type StepResult } from './load-step.js';
import { say } from './log.js';
import { Session } from './session.js';
import { summarizeWarnings } from './warnings.js';

interface RampStep {
  readonly offeredDeliveriesPerSecond: number;
  /** Why the step is not clean; empty when it is. */
  readonly problems: string[];
  readonly result: StepResult;
}

export interface SaturationResult {
  readonly subscribers: number;
  readonly steps: RampStep[];
  /** Delivery rate of the highest clean step; undefined when even the first was not clean. */
  readonly zeroLossDeliveriesPerSecond: number | undefined;
  /** What was saturated at the first unclean step: client, server, redis, machine, publisher; or "not reached". */
  readonly limitedBy: string[];
  readonly serverWarnings: Record<string, number>;
  readonly error?: string;
}

export async function runSaturation(target: Target, profile: Profile): Promise<SaturationResult> {
  const spec = profile.saturation;
  const steps: RampStep[] = [];
  let best: number | undefined;
  let limitedBy: string[] = ['not reached'];
  let session: Session | undefined;
  let error: string | undefined;
  try {
    session = await Session.open(target, {
      rooms: 1,
      clientProcesses: profile.clientProcesses,
      connectConcurrency: profile.connectConcurrency,
      publishInFlight: profile.publishInFlight,
    });
    say(`${target.name} saturation: opening ${spec.subscribers} subscribers`);
    await session.pool.add(spec.subscribers, session.running.subscribeUrls, 1);
    await awaitSubscribed(session, profile.barrierTimeoutMs);
    let rate = spec.startDeliveriesPerSecond / spec.subscribers;
    await runStep(session, { rate, count: warmMessagesFor(profile, rate), drainTimeoutMs: profile.drainTimeoutMs });
    for (let n = 0; n < spec.maxSteps; n++, rate *= spec.factor) {
      const result = await runStep(session, {
        rate,
        count: Math.max(2, Math.round(rate * spec.stepSeconds)),
        drainTimeoutMs: profile.drainTimeoutMs,
      });
      const offered = rate * result.subscribers;
      const problems = problemsOf(result, profile);
      steps.push({ offeredDeliveriesPerSecond: offered, problems, result });
      say(
        `  ${Math.round(offered)} deliveries/s: ${problems.length === 0 ? 'clean' : problems.join(', ')}; ` +
          `server ${result.cpu.serverCores.map(pct).join('+')}, clients ${result.cpu.clientCores.map(pct).join('+')}, machine ${pct(result.cpu.machineBusy)}`,
      );
      if (problems.length > 0) {
        limitedBy = saturated(result);
        break;
      }
      best = offered;
    }
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
    say(`${target.name} saturation: failed: ${error}`);
  }
  const serverWarnings = session ? summarizeWarnings(session.running.warnings()) : {};
  await session?.close().catch(() => {});
  return {
    subscribers: spec.subscribers,
    steps,
    zeroLossDeliveriesPerSecond: best,
    limitedBy,
    serverWarnings,
    ...(error === undefined ? {} : { error }),
  };
}

function problemsOf(result: StepResult, profile: Profile): string[] {
  const problems: string[] = [];
  // Deliveries that had not arrived when the drain gave up count as lost (load-step.ts).
  if (result.lost > 0) problems.push(`lost ${result.lost}`);
  const closed = Object.values(result.closed).reduce((a, b) => a + b, 0);
  if (closed > 0) problems.push(`${closed} subscribers closed by the server`);
  if (result.publishFailed > 0) problems.push(`${result.publishFailed} publishes failed`);
  const p99 = result.latencyMs.p99;
  if (p99 !== undefined && p99 > profile.saturation.maxP99Ms) problems.push(`p99 ${Math.round(p99)} ms`);
  if (result.publisherMaxLagMs > profile.saturation.maxPublisherLagMs) {
    problems.push(`publisher ${Math.round(result.publisherMaxLagMs)} ms behind`);
  }
  return problems;
}

function saturated(result: StepResult): string[] {
  const what: string[] = [];
  if (result.clientBound) what.push('client');
  if (result.cpu.serverCores.some((share) => share > SATURATED_CORE)) what.push('server');
  if (result.cpu.redisMs / result.cpu.wallMs > SATURATED_CORE) what.push('redis');
  if (result.cpu.publisherCores > SATURATED_CORE) what.push('publisher');
  if (result.cpu.machineBusy > SATURATED_CORE) {
    // Who holds the cores: on 2 cores the load generator's share is the figure's other limit.
    const { cpu } = result;
    const cores = (n: number) => n.toFixed(2);
    const servers = cpu.serverCores.reduce((a, b) => a + b, 0);
    const clients = cpu.clientCores.reduce((a, b) => a + b, 0);
    what.push(
      `machine (cores: servers ${cores(servers)}, redis ${cores(cpu.redisMs / cpu.wallMs)}, clients ${cores(clients)}, ` +
        `publisher ${cores(cpu.publisherCores)}, other ${cores(cpu.otherCores)})`,
    );
  }
  return what.length > 0 ? what : ['none above 90% (latency or buffering)'];
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}

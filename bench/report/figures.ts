/**
 * From measurements to figures: each figure is one number per target per run (e.g. server CPU µs per
 * delivery at 1,000 subscribers in one room), summarized as the median of the runs with their spread,
 * and divided by each baseline's figure of the same run (then summarized the same way), so that
 * machine noise between runs cancels out of the ratios.
 */
import type { LevelResult } from '../harness/ladder.js';
import { spreadOf, type Spread } from '../measure/stats.js';
import { LAYOUTS, levelsFor, rateFor, type Layout, type Profile } from '../profile.js';
import { BASELINE_NAMES, type BaselineName, type TargetName } from '../targets/target.js';
import type { BenchResults, TargetRun } from './results.js';

interface FigureDef {
  readonly key: string;
  readonly label: string;
  readonly unit: string;
  readonly better: 'lower' | 'higher';
  /** One of the headline figures (first table), or a per-scenario detail. */
  readonly headline: boolean;
  readonly value: (run: TargetRun) => number | undefined;
}

export const ROOMCAST_NAMES = [
  'roomcast-redis',
  'roomcast-memory',
  'roomcast-redis-per-subscriber',
  'roomcast-redis-bare-publish',
  'roomcast-publisher',
] as const satisfies readonly TargetName[];
export type RatioKey = `${(typeof ROOMCAST_NAMES)[number]}/${BaselineName}`;

export interface Figure {
  readonly key: string;
  readonly label: string;
  readonly unit: string;
  readonly better: 'lower' | 'higher';
  readonly headline: boolean;
  readonly byTarget: Partial<Record<TargetName, Spread>>;
  /** Roomcast's figure divided by the baseline's, run by run. */
  readonly ratios: Partial<Record<RatioKey, Spread>>;
}

function level(run: TargetRun, layout: string, subscribers: number): LevelResult | undefined {
  return run.ladders.find((ladder) => ladder.layout === layout)?.levels.find((l) => l.subscribers === subscribers);
}

function figureDefs(profile: Profile, scenarios: readonly string[]): FigureDef[] {
  const defs: FigureDef[] = [];
  const [first] = profile.subscriberLevels;
  const one = LAYOUTS.find((layout) => layout.rooms === 1)!;
  const many = LAYOUTS.find((layout) => layout.rooms > 1)!;
  const has = (scenario: string) => scenarios.includes(scenario);
  const n = (value: number) => value.toLocaleString('en-US');

  if (first !== undefined && has(one.name)) {
    const rate = rateFor(profile, one, first);
    const at = `${n(first)} subs, 1 room, ${Number(rate.toFixed(2))} msg/s`;
    const step = (run: TargetRun) => level(run, one.name, first)?.step;
    defs.push(
      {
        key: 'server-us-per-delivery',
        label: `server CPU per delivery (${at})`,
        unit: 'µs',
        better: 'lower',
        headline: true,
        value: (r) => step(r)?.serverUsPerDelivery,
      },
      {
        key: 'redis-us-per-delivery',
        label: `redis-server CPU per delivery (${at})`,
        unit: 'µs',
        better: 'lower',
        headline: true,
        value: (r) => step(r)?.redisUsPerDelivery,
      },
      {
        key: 'latency-p50',
        label: `publish->deliver p50 (${at} = ${n(profile.oneRoomDeliveriesPerSecond)} deliveries/s)`,
        unit: 'ms',
        better: 'lower',
        headline: true,
        value: (r) => step(r)?.latencyMs.p50,
      },
      {
        key: 'latency-p99',
        label: `publish->deliver p99 (same)`,
        unit: 'ms',
        better: 'lower',
        headline: true,
        value: (r) => step(r)?.latencyMs.p99,
      },
      {
        key: 'latency-max',
        label: `publish->deliver max (same)`,
        unit: 'ms',
        better: 'lower',
        headline: true,
        value: (r) => step(r)?.latencyMs.max,
      },
    );
  }
  if (first !== undefined && has(many.name)) {
    const at = `${n(first)} subs, ${many.rooms} rooms, ${profile.manyRoomsRate} msg/s`;
    const step = (run: TargetRun) => level(run, many.name, first)?.step;
    defs.push(
      {
        key: 'server-us-per-publish',
        label: `server CPU per publish (${at})`,
        unit: 'µs',
        better: 'lower',
        headline: true,
        value: (r) => step(r)?.serverUsPerPublish,
      },
      {
        key: 'redis-us-per-publish',
        label: `redis-server CPU per publish (${at})`,
        unit: 'µs',
        better: 'lower',
        headline: true,
        value: (r) => step(r)?.redisUsPerPublish,
      },
    );
  }
  for (const layout of LAYOUTS.filter((l) => l.rate !== undefined && has(l.name))) {
    // Issue 14's scenarios: what each was added to show.
    const [subscribers] = levelsFor(profile, layout);
    if (subscribers === undefined) continue;
    const at = describe(layout, subscribers);
    const step = (run: TargetRun) => level(run, layout.name, subscribers)?.step;
    if (layout.burst !== undefined) {
      defs.push({
        key: `${layout.name}-server-us-per-delivery`,
        label: `server CPU per delivery (${at})`,
        unit: 'µs',
        better: 'lower',
        headline: true,
        value: (r) => step(r)?.serverUsPerDelivery,
      });
    } else {
      defs.push(
        {
          key: `${layout.name}-server-us-per-publish`,
          label: `server CPU per publish (${at})`,
          unit: 'µs',
          better: 'lower',
          headline: true,
          value: (r) => step(r)?.serverUsPerPublish,
        },
        {
          key: `${layout.name}-redis-us-per-publish`,
          label: `redis-server CPU per publish (${at})`,
          unit: 'µs',
          better: 'lower',
          headline: true,
          value: (r) => step(r)?.redisUsPerPublish,
        },
      );
    }
  }
  if (has(one.name)) {
    for (const subscribers of profile.subscriberLevels) {
      defs.push({
        key: `rss-kib-per-connection-${subscribers}`,
        label: `RSS per idle subscribed connection (${n(subscribers)} subs, 1 room)`,
        unit: 'KiB',
        better: 'lower',
        headline: true,
        value: (r) => level(r, one.name, subscribers)?.rssPerConnectionKiB,
      });
    }
  }
  if (has('saturation')) {
    defs.push({
      key: 'zero-loss-deliveries-per-second',
      label: `zero-loss deliveries/s at saturation (${n(profile.saturation.subscribers)} subs, 1 room)`,
      unit: '/s',
      better: 'higher',
      headline: true,
      value: (r) => r.saturation?.zeroLossDeliveriesPerSecond,
    });
  }
  defs.push({
    key: 'messages-lost',
    label: 'messages lost (every fixed-rate step, warm-ups included)',
    unit: '',
    better: 'lower',
    headline: true,
    value: (r) => r.ladders.reduce((total, ladder) => total + ladder.levels.reduce((t, l) => t + l.step.lost + l.warmLost, 0), 0),
  });

  for (const layout of LAYOUTS) {
    if (!has(layout.name)) continue;
    for (const subscribers of levelsFor(profile, layout)) {
      const rate = rateFor(profile, layout, subscribers);
      const at = `${layout.name}, ${n(subscribers)} subs, ${Number(rate.toFixed(2))} msg/s`;
      const step = (r: TargetRun) => level(r, layout.name, subscribers)?.step;
      defs.push(
        {
          key: `${layout.name}-${subscribers}-server-us-per-delivery`,
          label: `${at}: server µs/delivery`,
          unit: 'µs',
          better: 'lower',
          headline: false,
          value: (r) => step(r)?.serverUsPerDelivery,
        },
        {
          key: `${layout.name}-${subscribers}-server-us-per-publish`,
          label: `${at}: server µs/publish`,
          unit: 'µs',
          better: 'lower',
          headline: false,
          value: (r) => step(r)?.serverUsPerPublish,
        },
        {
          key: `${layout.name}-${subscribers}-redis-us-per-delivery`,
          label: `${at}: redis µs/delivery`,
          unit: 'µs',
          better: 'lower',
          headline: false,
          value: (r) => step(r)?.redisUsPerDelivery,
        },
        {
          key: `${layout.name}-${subscribers}-redis-us-per-publish`,
          label: `${at}: redis µs/publish`,
          unit: 'µs',
          better: 'lower',
          headline: false,
          value: (r) => step(r)?.redisUsPerPublish,
        },
        {
          key: `${layout.name}-${subscribers}-p50`,
          label: `${at}: p50`,
          unit: 'ms',
          better: 'lower',
          headline: false,
          value: (r) => step(r)?.latencyMs.p50,
        },
        {
          key: `${layout.name}-${subscribers}-p99`,
          label: `${at}: p99`,
          unit: 'ms',
          better: 'lower',
          headline: false,
          value: (r) => step(r)?.latencyMs.p99,
        },
        {
          key: `${layout.name}-${subscribers}-max`,
          label: `${at}: max`,
          unit: 'ms',
          better: 'lower',
          headline: false,
          value: (r) => step(r)?.latencyMs.max,
        },
        {
          key: `${layout.name}-${subscribers}-rss`,
          label: `${at}: RSS KiB/idle conn`,
          unit: 'KiB',
          better: 'lower',
          headline: false,
          value: (r) => level(r, layout.name, subscribers)?.rssPerConnectionKiB,
        },
        {
          key: `${layout.name}-${subscribers}-rss-cold`,
          label: `${at}: RSS KiB/idle conn from a cold start`,
          unit: 'KiB',
          better: 'lower',
          headline: false,
          value: (r) => {
            const l = level(r, layout.name, subscribers);
            return l && (l.serverRssIdleBytes - l.serverRssColdBytes) / 1024 / subscribers;
          },
        },
        {
          key: `${layout.name}-${subscribers}-warm-up-heap`,
          label: `${at}: RSS of the warm-up (first subscribers and messages), MiB`,
          unit: 'MiB',
          better: 'lower',
          headline: false,
          value: (r) => {
            const l = level(r, layout.name, subscribers);
            return l && (l.serverRssBeforeBytes - l.serverRssColdBytes) / 2 ** 20;
          },
        },
        {
          key: `${layout.name}-${subscribers}-idle-cpu`,
          label: `${at}: servers idle, % of a core`,
          unit: '%',
          better: 'lower',
          headline: false,
          value: (r) => pct(level(r, layout.name, subscribers)?.idleServerCores),
        },
        {
          key: `${layout.name}-${subscribers}-redis-idle-cpu`,
          label: `${at}: redis-server idle, % of a core`,
          unit: '%',
          better: 'lower',
          headline: false,
          value: (r) => pct(level(r, layout.name, subscribers)?.idleRedisCores),
        },
        {
          key: `${layout.name}-${subscribers}-lost`,
          label: `${at}: lost`,
          unit: '',
          better: 'lower',
          headline: false,
          value: (r) => step(r)?.lost,
        },
        {
          key: `${layout.name}-${subscribers}-client-cpu`,
          label: `${at}: busiest client process, % of a core`,
          unit: '%',
          better: 'lower',
          headline: false,
          value: (r) => maxPct(step(r)?.cpu.clientCores),
        },
        {
          key: `${layout.name}-${subscribers}-machine-cpu`,
          label: `${at}: machine busy, % of all cores`,
          unit: '%',
          better: 'lower',
          headline: false,
          value: (r) => pct(step(r)?.cpu.machineBusy),
        },
      );
    }
  }
  return defs;
}

/** `1,000 subs, 1 room, 20 msg/s in bursts of 20` */
function describe(layout: Layout, subscribers: number): string {
  const n = (value: number) => value.toLocaleString('en-US');
  const rooms = layout.rooms === 1 ? '1 room' : `${n(layout.rooms)} rooms`;
  const burst = layout.burst === undefined ? '' : ` in bursts of ${layout.burst}`;
  return `${n(subscribers)} subs, ${rooms}, ${n(layout.rate ?? 0)} msg/s${burst}`;
}

function pct(share: number | undefined): number | undefined {
  return share === undefined ? undefined : share * 100;
}

function maxPct(shares: readonly number[] | undefined): number | undefined {
  return shares && shares.length > 0 ? Math.max(...shares) * 100 : undefined;
}

/** Figures that are counts or resource shares are not compared between targets. */
const NO_RATIO = /-lost$|messages-lost|-client-cpu$|-machine-cpu$/;

export function computeFigures(results: BenchResults): Figure[] {
  return figureDefs(results.profile, results.scenarios).map((def) => {
    const byTarget: Partial<Record<TargetName, Spread>> = {};
    for (const target of results.targets) {
      const spread = spreadOf(results.runs.map((run) => (run[target] ? def.value(run[target]) : undefined)));
      if (spread) byTarget[target] = spread;
    }
    const ratios: Partial<Record<RatioKey, Spread>> = {};
    if (!NO_RATIO.test(def.key)) {
      for (const roomcast of ROOMCAST_NAMES) {
        for (const baseline of BASELINE_NAMES) {
          const perRun = results.runs.map((run) => {
            const ours = run[roomcast] && def.value(run[roomcast]);
            const theirs = run[baseline] && def.value(run[baseline]);
            return ours === undefined || theirs === undefined || theirs === 0 ? undefined : ours / theirs;
          });
          const spread = spreadOf(perRun);
          if (spread) ratios[`${roomcast}/${baseline}`] = spread;
        }
      }
    }
    return { key: def.key, label: def.label, unit: def.unit, better: def.better, headline: def.headline, byTarget, ratios };
  });
}

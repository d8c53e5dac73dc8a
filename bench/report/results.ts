/** What a benchmark invocation produces, as measured (the JSON file holds this, plus the figures). */
import type { LadderResult } from '../harness/ladder.js';
import type { SaturationResult } from '../harness/saturation.js';
import type { Profile } from '../profile.js';
import type { TargetName } from '../targets/target.js';

export interface TargetRun {
  readonly target: TargetName;
  readonly ladders: LadderResult[];
  readonly saturation?: SaturationResult;
}

/** One pass over every selected target and scenario; ratios pair targets of the same run. */
export type Run = Partial<Record<TargetName, TargetRun>>;

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly kernel: string;
  readonly redis: string;
}

export interface BenchResults {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly machine: Machine;
  readonly profile: Profile;
  readonly targets: readonly TargetName[];
  readonly scenarios: readonly string[];
  readonly runs: Run[];
}

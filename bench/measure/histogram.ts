/**
 * Latency histogram in microseconds, log-linear like HdrHistogram: exact below 128 µs, then 64
 * buckets per power of two (under 1.6 % error), so a million deliveries cost a few KiB and the
 * histograms of several client processes add up exactly. Keeping every sample instead would cost
 * memory and IPC time in the processes whose CPU we try to keep low.
 */
const SUB = 64;
const LINEAR = 2 * SUB;
/** Covers up to 2^(BUCKETS/SUB - 1) · SUB µs, i.e. beyond an hour; larger values land in the last bucket. */
const BUCKETS = 64 * SUB;

export interface HistogramData {
  readonly counts: number[];
  readonly count: number;
  readonly maxUs: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private max = 0;

  record(us: number): void {
    const v = us < 0 ? 0 : Math.round(us);
    this.counts[indexOf(v)]!++;
    this.total++;
    if (v > this.max) this.max = v;
  }

  get count(): number {
    return this.total;
  }

  data(): HistogramData {
    return { counts: Array.from(this.counts), count: this.total, maxUs: this.max };
  }

  static merge(parts: readonly HistogramData[]): HistogramData {
    const counts = new Array<number>(BUCKETS).fill(0);
    let count = 0;
    let maxUs = 0;
    for (const part of parts) {
      part.counts.forEach((c, i) => (counts[i]! += c));
      count += part.count;
      maxUs = Math.max(maxUs, part.maxUs);
    }
    return { counts, count, maxUs };
  }
}

/** The value (µs) under which a fraction `q` of the samples lie; the exact maximum for q = 1. */
export function quantileUs(data: HistogramData, q: number): number | undefined {
  if (data.count === 0) return undefined;
  if (q >= 1) return data.maxUs;
  const rank = Math.ceil(q * data.count);
  let seen = 0;
  for (let i = 0; i < data.counts.length; i++) {
    seen += data.counts[i]!;
    if (seen >= rank) return Math.min(midpointOf(i), data.maxUs);
  }
  return data.maxUs;
}

function indexOf(v: number): number {
  if (v < LINEAR) return v;
  const shift = Math.floor(Math.log2(v)) - Math.log2(SUB);
  return Math.min(BUCKETS - 1, shift * SUB + Math.floor(v / 2 ** shift));
}

function midpointOf(index: number): number {
  if (index < LINEAR) return index;
  const shift = Math.floor(index / SUB) - 1;
  const low = (index - shift * SUB) * 2 ** shift;
  return low + (2 ** shift - 1) / 2;
}

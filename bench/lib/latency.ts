/** Latency samples in milliseconds (fractional), bounded in count, and their percentiles. */

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export class LatencyRecorder {
  private samples: Float64Array;
  private length = 0;
  private readonly maxSamples: number;
  /** Samples beyond maxSamples are counted but not kept (the run is then summarised from the kept ones). */
  dropped = 0;

  constructor(maxSamples = 4_000_000) {
    this.maxSamples = maxSamples;
    this.samples = new Float64Array(Math.min(65_536, maxSamples));
  }

  record(ms: number): void {
    if (this.length === this.samples.length) {
      if (this.length >= this.maxSamples) {
        this.dropped += 1;
        return;
      }
      const grown = new Float64Array(Math.min(this.samples.length * 2, this.maxSamples));
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.length++] = ms;
  }

  get count(): number {
    return this.length;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.length).sort();
    const at = (q: number) => (sorted.length === 0 ? Number.NaN : (sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN));
    let sum = 0;
    for (const value of sorted) sum += value;
    return {
      count: sorted.length,
      mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      p999: at(0.999),
      max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN),
    };
  }
}

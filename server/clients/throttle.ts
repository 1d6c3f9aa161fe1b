/**
 * Slows down secret guessing (RFC 6749 §2.3.1): after too many failures for one client id within a
 * window, further attempts for that id are refused with 429 until the window has passed. Keyed by
 * the presented id, known or not, so the answer does not reveal which ids exist.
 */
export class FailedAuthThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxTracked: number;

  constructor(maxFailures = 20, windowMs = 60_000, maxTracked = 10_000) {
    this.maxFailures = maxFailures;
    this.windowMs = windowMs;
    this.maxTracked = maxTracked;
  }

  recordFailure(key: string, now: number): void {
    const recent = (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
    recent.push(now);
    if (!this.failures.has(key) && this.failures.size >= this.maxTracked) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(key, recent.slice(-this.maxFailures));
  }

  /** 0 when attempts are allowed, else the seconds until they are. */
  retryAfterSeconds(key: string, now: number): number {
    const recent = this.failures.get(key);
    if (!recent || recent.length < this.maxFailures) return 0;
    const oldest = recent[0] ?? now;
    const until = oldest + this.windowMs;
    if (until <= now) return 0;
    return Math.ceil((until - now) / 1000);
  }
}

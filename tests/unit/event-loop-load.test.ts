/** The event-loop gauge that decides where signature checks run. */
import { describe, expect, it } from '@jest/globals';
import { watchEventLoopLoad } from '../../server/runtime/event-loop-load.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // keep the loop busy
  }
}

describe('event loop load', () => {
  it('is idle while the loop waits, busy while it is kept working, and idle again after', async () => {
    const load = watchEventLoopLoad({ intervalMs: 50, busyAbove: 0.5 });
    try {
      await sleep(120);
      expect(load.busy()).toBe(false);
      // ~90% busy: 45 ms of work in every 50 ms, for a few samples.
      for (let i = 0; i < 8; i++) {
        spin(45);
        await sleep(5);
      }
      expect(load.busy()).toBe(true);
      await sleep(160);
      expect(load.busy()).toBe(false);
    } finally {
      load.stop();
    }
  });
});

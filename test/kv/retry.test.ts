import { describe, expect, it } from 'vitest';
import { BACKOFF_INITIAL_MS, BLOCKING_BACKOFF_MAX_MS, BLOCKING_IMMEDIATE_RETRIES, BlockingBackoff } from '../../src/kv/retry.ts';

describe('BlockingBackoff (synchronous transactions)', () => {
  it('retries at once at first, then sleeps on the doubling schedule, jittered in its upper half, capped low', () => {
    for (let run = 0; run < 20; run++) {
      const slept: number[] = [];
      const backoff = new BlockingBackoff((ms) => slept.push(ms));
      const retries = 12;
      for (let i = 0; i < retries; i++) backoff.wait();
      expect(slept).toHaveLength(retries - BLOCKING_IMMEDIATE_RETRIES);
      slept.forEach((ms, i) => {
        const ceiling = Math.min(BACKOFF_INITIAL_MS * 2 ** i, BLOCKING_BACKOFF_MAX_MS);
        expect(ms).toBeGreaterThanOrEqual(ceiling / 2);
        expect(ms).toBeLessThanOrEqual(ceiling);
      });
    }
  });
});

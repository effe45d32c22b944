/**
 * The steps runners' contract beyond steps.test.ts: an asynchronous `all` starts every member before any
 * of them is answered (the engine's reads go to FoundationDB concurrently), and a member that throws
 * fails the whole `all` on either runner without leaving a rejection unhandled.
 */

import { describe, expect, it } from 'vitest';
import { all, runAsync, runSync, wait, type Steps } from '../../src/engine/steps.ts';

/** Records when it starts and finishes; waits for `gate` in between. */
function* member(name: string, log: string[], gate: Promise<void>): Steps<string> {
  log.push(`start ${name}`);
  yield* wait(gate);
  log.push(`end ${name}`);
  return name;
}

function* throwsAtOnce(): Steps<string> {
  throw new Error('at once');
}

describe('steps runners: all', () => {
  it('asynchronously, starts every member (nested ones too) before any is answered', async () => {
    const log: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    function* nested(): Steps<string[]> {
      return yield* all([member('b', log, gate), member('c', log, gate)]);
    }
    const result = runAsync(all([member('a', log, gate), nested()]));
    expect(log).toEqual(['start a', 'start b', 'start c']);
    open();
    expect(await result).toEqual(['a', ['b', 'c']]);
    expect(log.slice(3).sort()).toEqual(['end a', 'end b', 'end c']);
  });

  it('synchronously, runs the members in order', () => {
    const log: string[] = [];
    function* now(name: string): Steps<string> {
      log.push(name);
      return name;
    }
    expect(runSync(all([now('a'), now('b'), now('c')]))).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a', 'b', 'c']);
  });

  it('fails with the first error of a member that throws, on either runner, leaving no rejection unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      function* rejectsLater(): Steps<string> {
        yield* wait(new Promise((_, reject) => setTimeout(() => reject(new Error('later')), 1)));
        return 'no';
      }
      await expect(runAsync(all([rejectsLater(), throwsAtOnce()]))).rejects.toThrow('at once');
      expect(() => runSync(all([throwsAtOnce(), rejectsLater()]))).toThrow('at once');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { startProgress } from '../../src/cli/progress.ts';

function stream(isTTY: boolean) {
  let text = '';
  const s = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY, columns: 100 },
  );
  return { s, text: () => text };
}

describe('startProgress', () => {
  it('draws a bar with the count and phase on a terminal, and clears it when stopped', () => {
    const { s, text } = stream(true);
    const bar = startProgress(s, 200, 'pages', 'reading app.sqlite');
    bar.update(50);
    bar.stop();
    expect(text()).toContain('/200 pages | reading app.sqlite');
    expect(text()).toContain('\x1B[?25h'); // the cursor is shown again
  });

  it('writes nothing when stderr is not a terminal (pipes and logs stay clean)', () => {
    const { s, text } = stream(false);
    const bar = startProgress(s, 200, 'pages', 'reading');
    bar.update(100);
    bar.stop();
    expect(text()).toBe('');
  });
});

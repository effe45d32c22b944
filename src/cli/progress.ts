/** Progress bars for long work, drawn on stderr only when stderr is a terminal. */

import cliProgress from 'cli-progress';

export interface Progress {
  /** Sets how much of `total` is done. */
  update(done: number): void;
  /** Changes the label shown after the bar (e.g. the current phase). */
  phase(label: string): void;
  /** Removes the bar; call it whatever the outcome. */
  stop(): void;
}

const silent: Progress = { update() {}, phase() {}, stop() {} };

export interface ProgressStream extends NodeJS.WritableStream {
  isTTY?: boolean;
}

/** A bar for `total` units of `unit` (e.g. "pages"); a no-op when `stream` is not a TTY. */
export function startProgress(stream: ProgressStream, total: number, unit: string, label: string): Progress {
  if (!stream.isTTY || total <= 0) return silent;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `{bar} {percentage}% | {value}/{total} ${unit} | {phase}`,
      barsize: 30,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { phase: label });
  let stopped = false;
  return {
    update: (done) => bar.update(Math.min(done, total)),
    phase: (text) => bar.update({ phase: text }),
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

/** Progress bars for long work, drawn on stderr only when stderr is a terminal. */

import cliProgress from 'cli-progress';

export interface Progress {
  /** Sets how much of `total` is done. */
  update(done: number): void;
  /** Removes the bar; call it whatever the outcome. */
  stop(): void;
}

const silent: Progress = { update() {}, stop() {} };

export interface ProgressStream extends NodeJS.WritableStream {
  isTTY?: boolean;
}

/** A bar for `total` units of `unit` (e.g. "pages"); a no-op when `stream` is not a TTY. */
export function startProgress(stream: ProgressStream, total: number, unit: string, label: string): Progress {
  if (!stream.isTTY || total <= 0) return silent;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `{bar} {percentage}% | {value}/{total} ${unit} | ${label}`,
      barsize: 30,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let stopped = false;
  return {
    update: (done) => bar.update(Math.min(done, total)),
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

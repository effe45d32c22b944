/**
 * Bench work that needs a process of its own (cold open, multi-process writers, memory of many open
 * databases) runs in a child forked from bench/lib/child.ts; this is the parent's handle on one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
/** The V8 flags bench children run with (a wasm code cache for them is built with the same: V8 checks). */
export const CHILD_V8_FLAGS = ['--expose-gc'];

export interface ChildReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export class BenchChild {
  private readonly proc: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited: Error | undefined;

  /** `env`: added to this process's environment for the child. */
  constructor(env: Record<string, string> = {}) {
    this.proc = fork(CHILD, [], { execArgv: ['--import', 'tsx', ...CHILD_V8_FLAGS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
    this.proc.on('message', (msg: ChildReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error));
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = new Error(`bench child exited (code ${code}, signal ${signal})`);
      for (const p of this.pending.values()) p.reject(this.exited);
      this.pending.clear();
    });
  }

  /** Runs `task` in the child and resolves with its result (or rejects with its error message). */
  call<T>(task: string, args: Record<string, unknown>): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, task, args });
    });
  }

  /** Asks the child to exit and waits until it has. */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.send({ id: 0, task: 'exit', args: {} });
    await gone;
  }
}

/** Runs one task in a fresh child (with `env` added to its environment) and closes it. */
export async function inFreshChild<T>(task: string, args: Record<string, unknown>, env: Record<string, string> = {}): Promise<T> {
  const child = new BenchChild(env);
  try {
    return await child.call<T>(task, args);
  } finally {
    await child.close();
  }
}

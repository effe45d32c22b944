/** The shapes every system adapter and every workload share. */

export type Param = number | bigint | string | Uint8Array | null;
/** A result row as an array in column order: the cheapest form every system can return. */
export type Row = unknown[];

/** One open connection to one database, with the same async API on every system. */
export interface Conn {
  /** One or more statements; results are discarded. */
  exec(sql: string): Promise<void>;
  run(sql: string, params?: readonly Param[]): Promise<void>;
  get(sql: string, params?: readonly Param[]): Promise<Row | undefined>;
  all(sql: string, params?: readonly Param[]): Promise<Row[]>;
  /** BEGIN … COMMIT around `fn` (rolled back if it throws), retried on conflict as the system does. */
  transaction<T>(fn: (tx: Conn) => Promise<T>): Promise<T>;
  /** One write transaction, no retry: true if it committed, false if it lost a conflict (rolled back). */
  tryWrite(fn: (tx: Conn) => Promise<void>): Promise<boolean>;
  close(): Promise<void>;
  /** Versioned systems only: the head version, and a read-only connection at a past version. */
  version?(): string;
  at?(version: string): Promise<Conn>;
}

/** Where a database lives: a per-system scratch directory and a database name within it. */
export interface DbLocation {
  dir: string;
  name: string;
}

export interface System {
  /** Short id used on the command line and in results (e.g. `sqlite-file-full`). */
  id: string;
  /** Human label for tables and charts. */
  label: string;
  /** Survives the process: cold open and multi-process writers apply. */
  persistent: boolean;
  /** Has `version()` and `at()`. */
  versioned: boolean;
  /** How concurrent writers run: separate processes, connections in one process, or not at all. */
  writers: ReadonlyArray<'processes' | 'connections'>;
  /** Loads code the system would otherwise import on first open (cold open times the open, not module loading). */
  preload?(): Promise<void>;
  /** Opens (creating if needed) the database at `loc`. */
  open(loc: DbLocation): Promise<Conn>;
  /** Systems that close idle connections past a cap (an LRU): the cap and how to change it. */
  maxOpenConnections?: { default: number; set(max: number): void };
  /** SQLite version string this system runs, for the report header. */
  sqliteVersion(): Promise<string>;
}

/** One measured number from one repetition of one workload on one system. */
export interface Sample {
  /** Which variant of the workload (e.g. `100-row ranges`, `disjoint ×4 procs`). */
  case: string;
  value: number;
  unit: string;
  better: 'higher' | 'lower';
  /** Secondary facts shown next to the value (conflict rate, ops counted, …). */
  extra?: Record<string, number | string | boolean>;
}

export interface Sizes {
  quick: boolean;
  reps: number;
}

/** What a workload gets from the harness for one repetition on one system. */
export interface RunContext {
  sys: System;
  sizes: Sizes;
  rep: number;
  /** Scratch directory for this system (already exists). */
  dir: string;
  /** A database name not used before in this run. */
  freshName(prefix: string): string;
  /** A connection to a database built once per run and system by `build`, shared by workloads that ask for the same key. */
  fixture(key: string, build: (conn: Conn, loc: DbLocation) => Promise<void>): Promise<{ conn: Conn; loc: DbLocation }>;
  log(msg: string): void;
}

export interface Workload {
  id: string;
  title: string;
  /** One sentence: exactly what is timed. */
  describe(sizes: Sizes): string;
  applies(sys: System): boolean;
  /** Charts: one bar scale per unit (cases meant to be compared), or one per case (the default). */
  chartScale?: 'per-unit' | 'per-case';
  /** Repetitions for this workload (default: sizes.reps). */
  reps?(sizes: Sizes): number;
  run(ctx: RunContext): Promise<Sample[]>;
}

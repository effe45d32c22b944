/**
 * An opt-in cache of SQLite's compiled machine code, shared by the processes of one machine. Node 20
 * compiles SQLite's WebAssembly anew in every process: in a cold open, V8 validates the module (10-35
 * ms, off the main thread) and then compiles each function SQLite runs on its first call, on the main
 * thread (~50-100 ms for the first statement). V8 can serialize a compiled module, but Node exposes
 * neither that nor a cache for it (`v8.serialize` of a module keeps no code); V8's own test functions
 * %SerializeWasmModule / %DeserializeWasmModule do it, reachable from JavaScript only with
 * --allow-natives-syntax. So with MVDB_WASM_CODE_CACHE=<dir> set:
 *
 * - loading: the first module of each wa-sqlite build (wasm.ts) in a process comes from that build's cache
 *   file in <dir> when it was made by the
 *   same V8 (version, CPU features, flags: V8 checks) from the same wasm and is whole (we check both:
 *   lengths and CRC-32s); anything else, or any failure, falls back to compiling as without the cache.
 * - building: on a miss, a background child process (wasm-code-cache-builder.ts) compiles the
 *   functions a first query runs on that build with TurboFan (V8's optimizing tier) and writes the file,
 *   for the next processes. Or call buildWasmCodeCache() ahead (a deploy step).
 *
 * The file holds machine code that is run as is: <dir> must be as trusted as node_modules.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readSync, statSync, unlinkSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import zlib from 'node:zlib';
import type { SqliteBuild } from './wasm.ts';

/** The environment variable that turns the cache on: the directory of its files. */
export const CODE_CACHE_ENV = 'MVDB_WASM_CODE_CACHE';

const MAGIC = Buffer.from('mvdb-wasm-code-2');
/**
 * Magic; length and CRC-32 of the wasm the code was compiled from; length and CRC-32 of V8's serialized
 * module; that module. V8 checks its own header but not that its data is whole and unchanged (a
 * truncated or damaged file would be read past its end or run as code): we do. CRC-32 (zlib's, 1.5-2 ms
 * for both here, against 4-9 ms for SHA-256) is for accidents: whoever can write the file can run code.
 */
const HEADER_BYTES = MAGIC.length + 16;

/** How this process's SQLite code was obtained (tests, benchmarks). */
export const codeCacheStats = { loaded: 0, rejected: 0 };

/** The build's name in its cache file's name. */
const FILE_PREFIX: Record<SqliteBuild, string> = { sync: 'wa-sqlite-sync', asyncify: 'wa-sqlite-async' };

/**
 * The cache file of `build` for this V8, CPU architecture and V8 flags (V8 takes code only from a process
 * with the same flags: one file per set of flags, so processes run with different flags do not overwrite
 * each other's). V8 checks the rest itself (CPU features).
 */
export function codeCacheFile(dir: string, build: SqliteBuild, v8Flags: readonly string[] = processV8Flags()): string {
  const flags = v8Flags.length === 0 ? '' : `-${createHash('sha256').update(v8Flags.join(' ')).digest('hex').slice(0, 12)}`;
  return join(dir, `${FILE_PREFIX[build]}-${process.versions.v8}-${process.arch}${flags}.code`);
}

/** A function of `body`, compiled with V8's natives syntax on (off again after, unless the process runs with it). */
function nativesFunction(params: string[], body: string): ((...args: unknown[]) => unknown) | undefined {
  const keep = process.execArgv.includes('--allow-natives-syntax');
  try {
    v8.setFlagsFromString('--allow-natives-syntax');
    return new Function(...params, body) as (...args: unknown[]) => unknown;
  } catch {
    return undefined; // e.g. --disallow-code-generation-from-strings: no cache, nothing else changes
  } finally {
    if (!keep) v8.setFlagsFromString('--no-allow-natives-syntax');
  }
}

/** zlib.crc32: Node >= 20.15; without it there is no cache (loading misses, nothing is built). */
const crc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

function fingerprint(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32BE(bytes.length);
  out.writeUInt32BE(crc32!(bytes), 4);
  return out;
}

/**
 * The module compiled from `wasm` (the wasm of `build`), from the cache in `dir`; undefined when there is
 * no usable file (then one background build is started for the processes after this one). Synchronous: everything it does is
 * main-thread work (read 4 MB, two CRCs, deserialize: ~15-40 ms here depending on load), and the thread
 * pool answered reads up to 30 ms late while other processes loaded the machine.
 */
export function loadCachedModule(dir: string, wasm: Uint8Array, build: SqliteBuild): WebAssembly.Module | undefined {
  if (crc32 === undefined) return undefined;
  const file = codeCacheFile(dir, build);
  let found = false;
  let rebuild = true;
  let module: WebAssembly.Module | undefined;
  try {
    const fd = openSync(file, 'r');
    found = true;
    try {
      const code = readCheckedCode(fd, wasm);
      module = code === undefined ? undefined : deserialize(code, wasm);
      // A whole file that V8 refused (another CPU, or flags it was not built with): rebuilt at most hourly,
      // in case a rebuild cannot fix it, so that every process does not start a builder.
      if (code !== undefined && module === undefined) rebuild = Date.now() - fstatSync(fd).mtimeMs > REBUILD_REFUSED_MS;
    } finally {
      closeSync(fd);
    }
  } catch {
    // no file yet, or it cannot be read: compile
  }
  if (module !== undefined) codeCacheStats.loaded++;
  else {
    if (found) codeCacheStats.rejected++;
    if (rebuild) startBackgroundBuild(dir, build);
  }
  return module;
}

/** How old a file V8 refused must be before a process builds it again. */
const REBUILD_REFUSED_MS = 3_600_000;

/** V8's data in an open cache file, if the file is whole and was made from `wasm`; read into a buffer of its own (V8 takes a whole ArrayBuffer). */
function readCheckedCode(fd: number, wasm: Uint8Array): ArrayBuffer | undefined {
  const header = Buffer.alloc(HEADER_BYTES);
  if (readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES || !header.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  if (!header.subarray(MAGIC.length, MAGIC.length + 8).equals(fingerprint(wasm))) return undefined;
  const length = header.readUInt32BE(MAGIC.length + 8);
  if (fstatSync(fd).size !== HEADER_BYTES + length) return undefined;
  const code = new Uint8Array(length);
  for (let at = 0; at < length; ) {
    const n = readSync(fd, code, at, length - at, HEADER_BYTES + at);
    if (n === 0) return undefined;
    at += n;
  }
  return crc32!(code) === header.readUInt32BE(MAGIC.length + 12) ? code.buffer : undefined;
}

function deserialize(code: ArrayBuffer, wasm: Uint8Array): WebAssembly.Module | undefined {
  const fn = nativesFunction(['code', 'wasm'], 'return %DeserializeWasmModule(code, wasm)');
  if (fn === undefined) return undefined;
  try {
    // V8 returns undefined when the code is not for this V8 version, CPU or flags.
    const module = fn(code, wasm);
    return module instanceof WebAssembly.Module ? module : undefined;
  } catch {
    return undefined;
  }
}

/** The serialized code of `module` (what the builder writes after its workload). */
export function serializeModule(module: WebAssembly.Module): Uint8Array {
  const fn = nativesFunction(['module'], 'return %SerializeWasmModule(module)');
  if (fn === undefined) throw new Error('V8 natives syntax is unavailable here: cannot serialize the wasm code');
  return new Uint8Array(fn(module) as ArrayBuffer);
}

/** The cache file's contents for `code` compiled from `wasm`. */
export function cacheFileContents(wasm: Uint8Array, code: Uint8Array): Buffer {
  if (crc32 === undefined) throw new Error(`the wasm code cache needs zlib.crc32 (Node >= 20.15; this is ${process.version})`);
  return Buffer.concat([MAGIC, fingerprint(wasm), fingerprint(code), code]);
}

const BUILDER = fileURLToPath(new URL(`./wasm-code-cache-builder${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** Options with a value in the next argument that the builder gets too: module loaders (TypeScript sources). */
const LOADER_OPTIONS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
/** V8 flags that may be on a Node command line and change V8's flag hash (--expose-gc does). */
const V8_FLAG = /^--(no-)?(wasm|experimental-wasm|liftoff|max-old-space-size|max-semi-space-size|stack-size|expose[-_]gc)/;

/** The V8 flags of this process's command line that V8 keys compiled code to. */
export function processV8Flags(): string[] {
  return process.execArgv.filter((a) => V8_FLAG.test(a));
}

/** This process's module loaders, then `v8Flags`; nothing else (not -e, --watch, --test, debuggers, profilers). */
function builderExecArgv(v8Flags: readonly string[]): string[] {
  const loaders: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (LOADER_OPTIONS.has(a) && i + 1 < argv.length) loaders.push(a, argv[++i]!);
    else if ([...LOADER_OPTIONS].some((o) => a.startsWith(`${o}=`))) loaders.push(a);
  }
  // Running from TypeScript sources: the builder needs a TypeScript loader.
  if (BUILDER.endsWith('.ts') && !loaders.some((a) => a.includes('tsx'))) loaders.push('--import', 'tsx');
  return [...loaders, ...v8Flags];
}

/**
 * Builds the cache file of `build` in `dir` in a child process (a few seconds of CPU: the first query's
 * functions are compiled with TurboFan) and resolves with its path. `v8Flags`: the V8 flags on the command
 * line of the processes that will load it (default: this process's, as in process.execArgv).
 */
export function buildWasmCodeCache(dir: string, build: SqliteBuild, v8Flags: readonly string[] = processV8Flags()): Promise<string> {
  mkdirSync(dir, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...builderExecArgv(v8Flags), BUILDER, dir, build], { stdio: ['ignore', 'ignore', 'pipe'], env: withoutCacheEnv() });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve(codeCacheFile(dir, build, v8Flags)) : reject(new Error(`building the ${build} build's wasm code cache in ${dir} failed (exit ${code ?? signal}): ${stderr.trim().slice(-2000)}`)),
    );
  });
}

function withoutCacheEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env[CODE_CACHE_ENV]; // the builder compiles; it must not load a cache
  return env;
}

/** A build marker older than this is from a builder that died: another may start. */
const STALE_BUILD_MS = 120_000;
const backgroundBuildsStarted = new Set<SqliteBuild>();

/** Starts one detached builder of `build`'s file in `dir` unless another process is building it; errors are not reported. */
function startBackgroundBuild(dir: string, build: SqliteBuild): void {
  if (backgroundBuildsStarted.has(build)) return;
  backgroundBuildsStarted.add(build);
  try {
    mkdirSync(dir, { recursive: true });
    const marker = `${codeCacheFile(dir, build)}.building`;
    try {
      if (Date.now() - statSync(marker).mtimeMs < STALE_BUILD_MS) return;
      unlinkSync(marker);
    } catch {
      // no marker
    }
    closeSync(openSync(marker, 'wx')); // one builder at a time; the builder removes it
    const child = spawn(process.execPath, [...builderExecArgv(processV8Flags()), BUILDER, dir, build, marker], { stdio: 'ignore', detached: true, env: withoutCacheEnv() });
    child.on('error', () => {});
    child.unref();
  } catch {
    // no cache for now; the module is compiled as usual
  }
}

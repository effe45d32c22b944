/** The systems of a default run, in report order. The first is the reference for ratios. */
import type { System } from '../lib/types.ts';
import { sqliteFileFull, sqliteFileNormal, sqliteMemory } from './better-sqlite3.ts';
import { waSqliteAsyncVfsMemory, waSqliteJsVfsMemory, waSqliteMemory, waSqliteSyncMemory } from './wa-sqlite.ts';
import { mvdbFdb, mvdbLmdb, mvdbLmdbAsyncify, mvdbMemory } from './mvdb.ts';

export const REFERENCE_ID = 'sqlite-file-full';

export function allSystems(): System[] {
  const systems = [sqliteFileFull, sqliteFileNormal, sqliteMemory, waSqliteMemory, waSqliteSyncMemory, mvdbMemory, mvdbLmdb, mvdbLmdbAsyncify];
  // FoundationDB only where a cluster is configured (docker compose up -d sets one up).
  if (process.env.FDB_CLUSTER_FILE) systems.push(mvdbFdb);
  return systems;
}

/** Systems run only when named with --systems: references for profiling, not part of the report. */
export function extraSystems(): System[] {
  return [waSqliteJsVfsMemory, waSqliteAsyncVfsMemory];
}

export function getSystem(id: string): System {
  const known = [...allSystems(), ...extraSystems()];
  const sys = known.find((s) => s.id === id);
  if (!sys) throw new Error(`unknown system "${id}"; known: ${known.map((s) => s.id).join(', ')}`);
  return sys;
}

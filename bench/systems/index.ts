/** Every system the bench knows, in report order. The first is the reference for ratios. */
import type { System } from '../lib/types.ts';
import { sqliteFileFull, sqliteFileNormal, sqliteMemory } from './better-sqlite3.ts';
import { waSqliteMemory, waSqliteSyncMemory } from './wa-sqlite.ts';
import { mvdbFdb, mvdbLmdb, mvdbMemory } from './mvdb.ts';

export const REFERENCE_ID = 'sqlite-file-full';

export function allSystems(): System[] {
  const systems = [sqliteFileFull, sqliteFileNormal, sqliteMemory, waSqliteMemory, waSqliteSyncMemory, mvdbMemory, mvdbLmdb];
  // FoundationDB only where a cluster is configured (docker compose up -d sets one up).
  if (process.env.FDB_CLUSTER_FILE) systems.push(mvdbFdb);
  return systems;
}

export function getSystem(id: string): System {
  const sys = allSystems().find((s) => s.id === id);
  if (!sys) throw new Error(`unknown system "${id}"; known: ${allSystems().map((s) => s.id).join(', ')}`);
  return sys;
}

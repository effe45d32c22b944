/** Every system the bench knows, in report order. The first is the reference for ratios. */
import type { System } from '../lib/types.ts';
import { sqliteFileFull, sqliteFileNormal, sqliteMemory } from './better-sqlite3.ts';
import { waSqliteMemory, waSqliteSyncMemory } from './wa-sqlite.ts';

export const REFERENCE_ID = 'sqlite-file-full';

export function allSystems(): System[] {
  return [sqliteFileFull, sqliteFileNormal, sqliteMemory, waSqliteMemory, waSqliteSyncMemory];
}

export function getSystem(id: string): System {
  const sys = allSystems().find((s) => s.id === id);
  if (!sys) throw new Error(`unknown system "${id}"; known: ${allSystems().map((s) => s.id).join(', ')}`);
  return sys;
}

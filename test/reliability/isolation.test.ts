/**
 * Databases are isolated. For two databases whose names share a prefix, everything done through
 * one name (writes small and two-phase, conflicts, refused and failing statements, snapshot reads,
 * tag, fork to a third name and writes on both sides, GC, restore, commits under injected faults,
 * delete, create again) touches only that database's own keys and its fork's, as recorded key by
 * key at the kv, and leaves the other byte-identical.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { deleteDatabase, open } from '../../src/index.ts';
import { DatabaseNotFoundError, INLINE_CONTENT_BYTES, openDatabase } from '../../src/engine/index.ts';
import { DEFAULT_ROOT, databasesPrefix, nameKey, namespaceRange, type Range } from '../../src/engine/keys.ts';
import { compareBytes, toHex } from '../../src/kv/bytes.ts';
import { openKv, withFaults } from '../../src/kv/index.ts';
import type { Kv } from '../../src/kv/types.ts';
import { SEED, dumpRange, errorOf, pause, recordingKv, tempStore, type Access } from './helpers.ts';

const lmdb = tempStore();
afterAll(() => lmdb.remove());

async function namespaceOf(kv: Kv, name: string): Promise<Range | undefined> {
  try {
    return namespaceRange((await openDatabase(kv, name, { create: false })).prefix);
  } catch (error) {
    if (error instanceof DatabaseNotFoundError) return undefined;
    throw error;
  }
}

/** Everything a database is, as bytes and as SQL: its name key, every key of its namespace, its content at each version. */
async function fingerprint(kv: Kv, name: string): Promise<unknown> {
  const key = nameKey(DEFAULT_ROOT, name);
  const ns = (await namespaceOf(kv, name))!;
  const tx = kv.createTransaction();
  const nameValue = await tx.get(key);
  tx.cancel();
  const db = await open(name, { store: kv, create: false });
  try {
    const contents: unknown[] = [];
    for (const { version } of await db.log()) {
      const snapshot = await db.at(version);
      contents.push([version, await snapshot.query(`SELECT * FROM t ORDER BY rowid`)]);
      await snapshot.close();
    }
    return { nameValue: toHex(nameValue!), keys: await dumpRange(kv, ns.begin, ns.end), contents };
  } finally {
    await db.close();
  }
}

async function seed(kv: Kv, name: string): Promise<void> {
  const db = await open(name, { store: kv });
  await db.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)`);
  for (let i = 1; i <= 3; i++) await db.run(`INSERT INTO t(v) VALUES (?)`, [`${name} row ${i}`]);
  await db.close();
}

const DAY = 24 * 3600 * 1000;

/**
 * Every kind of operation through `name`, on `kv`; returns the names it used (its own and its
 * fork's) and the namespaces they had meanwhile.
 */
async function exercise(kv: Kv, name: string): Promise<{ names: string[]; namespaces: Range[] }> {
  const namespaces = [(await namespaceOf(kv, name))!];
  const db = await open(name, { store: kv });
  const peer = await open(name, { store: kv });
  try {
    await db.transaction(async (tx) => {
      for (let i = 0; i < 20; i++) await tx.run(`INSERT INTO t(v) VALUES (randomblob(300))`);
      await tx.run(`INSERT INTO t(v) VALUES (zeroblob(?))`, [INLINE_CONTENT_BYTES + 44_000]); // large: a two-phase commit
    });
    await db.run(`UPDATE t SET v = randomblob(100) WHERE id % 3 = 0`);
    await db.run(`DELETE FROM t WHERE id % 5 = 0`);
    // Two connections that conflict: one of them retries.
    await Promise.all(
      [db, peer].map((d) =>
        d.transaction(async (tx) => {
          const { n } = (await tx.get(`SELECT count(*) AS n FROM t`)) as { n: number };
          await pause(20);
          await tx.run(`INSERT INTO t(v) VALUES (?)`, [`count was ${n}`]);
        }),
      ),
    );
    // Refused and failing statements.
    await errorOf(db.exec(`PRAGMA journal_mode = WAL`));
    await errorOf(db.run(`INSERT INTO t VALUES (1, 'duplicate id')`));
    await errorOf(db.transaction(async (tx) => void (await tx.run(`DROP TABLE nowhere`))));
    // Reads of every version.
    for (const { version } of await db.log()) {
      const snapshot = await db.at(version);
      await snapshot.query(`SELECT count(*) FROM t`);
      await errorOf(snapshot.run(`DELETE FROM t`));
      await snapshot.close();
    }
    await db.versionAt('now');
    expect(await db.query(`PRAGMA integrity_check`)).toEqual([{ integrity_check: 'ok' }]);
  } finally {
    await db.close();
    await peer.close();
  }
  // History: a tag and a fork (to a third name) at an older version, writes on both sides, a
  // refused delete (the fork reads through to its source), GC of everything the tag and the fork
  // do not pin, a restore to the tag, and the fork deleted.
  const forkName = `${name}.fork`;
  const source = await open(name, { store: kv });
  try {
    const older = (await source.log())[3]!.version;
    await source.tag('kept', older);
    const fork = await source.fork(forkName, { at: older });
    namespaces.push((await namespaceOf(kv, forkName))!);
    try {
      await fork.run(`INSERT INTO t(v) VALUES ('fork only')`);
      await source.run(`INSERT INTO t(v) VALUES ('source only')`);
      expect(await errorOf(deleteDatabase(name, { store: kv }))).toMatchObject({ code: 'DATABASE_HAS_FORKS' });
      const gc = await source.gc({ now: new Date(Date.now() + 8 * DAY), contentGraceMs: 0 });
      expect(gc.pageVersions).toBeGreaterThan(0);
      await source.restoreTo('tag:kept');
      expect(await fork.query(`PRAGMA integrity_check`)).toEqual([{ integrity_check: 'ok' }]);
    } finally {
      await fork.close();
    }
    await deleteDatabase(forkName, { store: kv });
  } finally {
    await source.close();
  }
  // Commits under injected faults (some fail, some land after an unknown result).
  const faulty = withFaults(kv, { seed: SEED, notCommitted: 0.1, tooOld: 0.1, unknownCommitted: 0.15, unknownNotCommitted: 0.1, timeout: 0.1 });
  const shaky = await open(name, { store: faulty });
  for (let i = 0; i < 8; i++) await errorOf(shaky.run(`INSERT INTO t(v) VALUES (randomblob(500))`));
  await shaky.close();
  // Delete, and create again under the same name.
  await deleteDatabase(name, { store: kv });
  const again = await open(name, { store: kv });
  await again.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); INSERT INTO t(v) VALUES ('new life')`);
  await again.close();
  namespaces.push((await namespaceOf(kv, name))!);
  return { names: [name, forkName], namespaces };
}

/**
 * The accesses that fall outside the keys of `names`: their name keys and the namespaces they had.
 * A fork's reads of its source fall inside the source's namespace, so they need no exception.
 */
function strayAccesses(accesses: Access[], names: string[], namespaces: Range[]): string[] {
  const keys = names.map((name) => nameKey(DEFAULT_ROOT, name));
  const allowed = [...namespaces, ...keys.map((key) => ({ begin: key, end: new Uint8Array([...key, 0]) }))];
  const inside = (begin: Uint8Array, end: Uint8Array) =>
    allowed.some((r) => compareBytes(begin, r.begin) >= 0 && compareBytes(end, r.end) <= 0);
  const stray: string[] = [];
  for (const access of accesses) {
    if (access.kind === 'stamped-key') {
      const prefix = access.prefix;
      const own = namespaces.some((r) => compareBytes(prefix.subarray(0, r.begin.length), r.begin) === 0);
      // Creating a database: the versionstamp becomes the id of a brand-new namespace.
      const creation = compareBytes(prefix, databasesPrefix(DEFAULT_ROOT)) === 0;
      if (!own && !creation) stray.push(`stamped key under ${toHex(prefix)}`);
    } else if (!inside(access.begin, access.end)) {
      stray.push(`${access.kind} [${toHex(access.begin)}, ${toHex(access.end)})`);
    }
  }
  return stray.slice(0, 10);
}

describe.each([
  ['acct', 'acct2', 'lmdb'],
  ['a', 'a.b', 'lmdb'],
  ['.', '..', 'memory'],
  ['db-1', 'db-10', 'memory'],
])('"%s" and "%s" (%s)', (first, second, backend) => {
  it.each([
    [first, second],
    [second, first],
  ])('everything done through "%s" touches only its own keys and leaves "%s" byte-identical', async (name, other) => {
    const base = await openKv(backend === 'lmdb' ? lmdb.url : 'memory:');
    try {
      for (const each of [other, name]) if ((await namespaceOf(base, each)) === undefined) await seed(base, each);
      const before = await fingerprint(base, other);
      const { kv, accesses } = recordingKv(base);
      const { names, namespaces } = await exercise(kv, name);
      expect(accesses.length).toBeGreaterThan(100);
      expect(strayAccesses(accesses, names, namespaces)).toEqual([]);
      expect(await fingerprint(base, other)).toEqual(before);
    } finally {
      await base.close();
    }
  });
});

it('control: a read of another database, or of a fork\'s source, through the recorder is caught as a stray access', async () => {
  const base = await openKv('memory:');
  try {
    await seed(base, 'mine');
    await seed(base, 'theirs');
    const { kv, accesses } = recordingKv(base);
    const theirs = await open('theirs', { store: kv });
    await theirs.query(`SELECT * FROM t`);
    await theirs.close();
    expect(strayAccesses(accesses, ['mine'], [(await namespaceOf(base, 'mine'))!]).length).toBeGreaterThan(0);
    // And a fork's reads through to its source are seen: allowing only the fork's own keys catches them.
    const source = await open('theirs', { store: base });
    const fork = await source.fork('theirs.fork');
    await fork.close();
    await source.close();
    accesses.length = 0;
    const reader = await open('theirs.fork', { store: kv });
    expect(await reader.query(`SELECT count(*) AS n FROM t`)).toEqual([{ n: 3 }]);
    await reader.close();
    expect(strayAccesses(accesses, ['theirs.fork'], [(await namespaceOf(base, 'theirs.fork'))!]).length).toBeGreaterThan(0);
  } finally {
    await base.close();
  }
});

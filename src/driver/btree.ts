/**
 * Which pages belong to which b-tree, from the SQLite file format
 * (https://www.sqlite.org/fileformat2.html#b_tree_pages), read cheaply: a b-tree's leaves are all at the
 * same depth, so after one descent to find the depth only the interior pages are read; the leaves are
 * known from their parents' child pointers (with, for a table, the range of rowids each may hold).
 * The freelist is walked through its trunk pages. Overflow pages are not found this way.
 */

const INTERIOR_INDEX = 0x02;
const INTERIOR_TABLE = 0x05;
const LEAF_INDEX = 0x0a;
const LEAF_TABLE = 0x0d;

/** Rowids a table leaf may hold: (low, high], unbounded where undefined. */
export interface RowidRange {
  low?: bigint;
  high?: bigint;
}

export interface TreePages {
  interior: Set<number>;
  /** Leaf page -> the rowids it may hold (for an index b-tree, unbounded). */
  leaves: Map<number, RowidRange>;
}

/** Reads pages of one version (missing pages as undefined). */
export type PageReader = (pages: number[]) => Promise<(Uint8Array | undefined)[]>;

/** The b-tree page header starts after the 100-byte file header on page 1. */
const headerOffset = (page: number) => (page === 1 ? 100 : 0);

/** A page that is not a b-tree page (corrupt, or not what the schema says): the walk stops there. */
export class NotABtreePageError extends Error {}

interface Node {
  page: number;
  range: RowidRange;
}

/** The interior pages and leaves of the b-tree rooted at `root`. */
export async function walkTree(read: PageReader, root: number): Promise<TreePages> {
  const out: TreePages = { interior: new Set(), leaves: new Map() };
  const rootBytes = await readOne(read, root);
  // Depth: the leftmost descent (single reads); below the last interior level everything is a leaf.
  let depth = 0;
  for (let page = root, data = rootBytes; isInterior(data, page); depth++) {
    page = children(data, page)[0]!.page;
    data = await readOne(read, page);
  }
  let level: Node[] = [{ page: root, range: {} }];
  for (let d = 0; d < depth; d++) {
    const pages = d === 0 ? [rootBytes] : await read(level.map((n) => n.page));
    const next: Node[] = [];
    level.forEach((node, i) => {
      const data = pages[i];
      if (data === undefined || !isInterior(data, node.page)) {
        throw new NotABtreePageError(`page ${node.page} is not an interior b-tree page`);
      }
      out.interior.add(node.page);
      for (const child of children(data, node.page)) next.push({ page: child.page, range: narrow(node.range, child.range) });
    });
    level = next;
  }
  for (const node of level) out.leaves.set(node.page, node.range);
  return out;
}

async function readOne(read: PageReader, page: number): Promise<Uint8Array> {
  const [data] = await read([page]);
  if (data === undefined) throw new NotABtreePageError(`page ${page} is missing`);
  return data;
}

function isInterior(data: Uint8Array, page: number): boolean {
  const type = data[headerOffset(page)];
  if (type === INTERIOR_INDEX || type === INTERIOR_TABLE) return true;
  if (type === LEAF_INDEX || type === LEAF_TABLE) return false;
  throw new NotABtreePageError(`page ${page} has b-tree page type ${type}`);
}

/** The child pointers of an interior page, with the rowid range each child covers (table b-trees). */
function children(data: Uint8Array, page: number): { page: number; range: RowidRange }[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const at = headerOffset(page);
  const table = data[at] === INTERIOR_TABLE;
  const cells = view.getUint16(at + 3);
  const out: { page: number; range: RowidRange }[] = [];
  let low: bigint | undefined;
  for (let i = 0; i < cells; i++) {
    const cell = view.getUint16(at + 12 + 2 * i);
    const child = view.getUint32(cell);
    if (table) {
      // A table interior cell: child pointer, then the largest rowid in the child (a varint).
      const key = readVarint(data, cell + 4);
      out.push({ page: child, range: { ...(low !== undefined ? { low } : {}), high: key } });
      low = key;
    } else {
      out.push({ page: child, range: {} });
    }
  }
  out.push({ page: view.getUint32(at + 8), range: low !== undefined ? { low } : {} });
  return out;
}

/** The intersection of a parent's range and a child's. */
function narrow(outer: RowidRange, inner: RowidRange): RowidRange {
  const low = max(outer.low, inner.low);
  const high = min(outer.high, inner.high);
  return { ...(low !== undefined ? { low } : {}), ...(high !== undefined ? { high } : {}) };
}
const max = (a?: bigint, b?: bigint) => (a === undefined ? b : b === undefined ? a : a > b ? a : b);
const min = (a?: bigint, b?: bigint) => (a === undefined ? b : b === undefined ? a : a < b ? a : b);

/** SQLite's varint: 1..9 bytes, big-endian, 7 bits per byte (8 in the ninth); a rowid is signed 64-bit. */
function readVarint(data: Uint8Array, offset: number): bigint {
  let value = 0n;
  for (let i = 0; i < 8; i++) {
    const byte = data[offset + i]!;
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) return BigInt.asIntN(64, value);
  }
  value = (value << 8n) | BigInt(data[offset + 8]!);
  return BigInt.asIntN(64, value);
}

/** Every page on the freelist (trunk and leaf pages), from the header of page 1. */
export async function freelistPages(read: PageReader, pageOne: Uint8Array): Promise<Set<number>> {
  const view = new DataView(pageOne.buffer, pageOne.byteOffset, pageOne.byteLength);
  const out = new Set<number>();
  let trunk = view.getUint32(32);
  const total = view.getUint32(36);
  while (trunk !== 0 && out.size < total && !out.has(trunk)) {
    out.add(trunk);
    const [data] = await read([trunk]);
    if (data === undefined) break;
    const t = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const leaves = t.getUint32(4);
    for (let i = 0; i < leaves && 8 + 4 * i + 4 <= data.length; i++) out.add(t.getUint32(8 + 4 * i));
    trunk = t.getUint32(0);
  }
  return out;
}

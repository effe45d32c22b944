/**
 * Page 1 of an SQLite file starts with the 100-byte database header
 * (https://www.sqlite.org/fileformat2.html#the_database_header). The VFS
 * serves a template for a database nobody has written yet, virtualizes the
 * change counter per snapshot, and takes the file size from the page count.
 */

/** Bytes 24..28: file change counter. */
const CHANGE_COUNTER = 24;
/** Bytes 28..32: database size in pages. */
const PAGE_COUNT = 28;
/** Bytes 92..96: the change counter value for which the page count is valid. */
const VERSION_VALID_FOR = 92;

const MAGIC = 'SQLite format 3\0';

/** An empty database of one page: the header and an empty sqlite_schema leaf. */
export function emptyPageOne(pageSize: number): Uint8Array {
  const page = new Uint8Array(pageSize);
  const view = new DataView(page.buffer);
  page.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint16(16, pageSize === 65536 ? 1 : pageSize);
  page[18] = 1; // file format write version: rollback journal (2 would mean WAL)
  page[19] = 1; // read version
  page[20] = 0; // reserved bytes per page
  page[21] = 64; // max embedded payload fraction (fixed by the format)
  page[22] = 32; // min embedded payload fraction
  page[23] = 32; // leaf payload fraction
  view.setUint32(PAGE_COUNT, 1);
  // Schema format (44..48) stays 0 as in SQLite's own empty file: the first CREATE sets it to 4.
  view.setUint32(56, 1); // text encoding UTF-8
  view.setUint32(96, 3053000); // SQLITE_VERSION_NUMBER that wrote it
  // The sqlite_schema b-tree: an empty table leaf after the header.
  page[100] = 0x0d;
  view.setUint16(105, pageSize === 65536 ? 0 : pageSize); // cell content area starts at the end
  return page;
}

/** The page size in the header (bytes 16..18, where 1 means 65536). */
export function headerPageSize(page: Uint8Array): number {
  const raw = (page[16]! << 8) | page[17]!;
  return raw === 1 ? 65536 : raw;
}

/** Bytes 18/19 are 2 when the file is in WAL mode. */
export function isWalHeader(page: Uint8Array): boolean {
  return page[18] === 2 || page[19] === 2;
}

// Read on every page read and statement: plain byte arithmetic, no DataView per call.
export function headerPageCount(page: Uint8Array): number {
  return u32be(page, PAGE_COUNT);
}

export function headerChangeCounter(page: Uint8Array): number {
  return u32be(page, CHANGE_COUNTER);
}

export function headerVersionValidFor(page: Uint8Array): number {
  return u32be(page, VERSION_VALID_FOR);
}

function u32be(bytes: Uint8Array, at: number): number {
  if (at + 4 > bytes.length) throw new RangeError(`page 1 holds ${bytes.length} bytes: no header field at ${at}`);
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** A copy of page 1 showing `counter` as both the change counter and version-valid-for. */
export function withChangeCounter(page: Uint8Array, counter: number): Uint8Array {
  const copy = page.slice();
  writeChangeCounter(copy, 0, counter);
  return copy;
}

const COUNTER_FIELDS = [CHANGE_COUNTER, VERSION_VALID_FOR];

/**
 * Writes `counter` into both header counter fields where they fall inside out[start, end), which holds
 * page 1's bytes from offset `pageOffset` on (a partial read of page 1 gets only the bytes it covers).
 */
export function writeChangeCounter(out: Uint8Array, pageOffset: number, counter: number, start = 0, end = out.length): void {
  for (const field of COUNTER_FIELDS) {
    for (let i = 0; i < 4; i++) {
      const at = start + field + i - pageOffset;
      if (at >= start && at < end) out[at] = (counter >>> (24 - 8 * i)) & 0xff;
    }
  }
}

/**
 * Page 1 as stored: both counter fields zeroed, so a commit that changes
 * nothing but the counter leaves page 1 byte-identical and is not written.
 * (Zero in both keeps the header's page count valid for any reader.)
 */
export function normalizePageOne(page: Uint8Array): Uint8Array {
  return withChangeCounter(page, 0);
}

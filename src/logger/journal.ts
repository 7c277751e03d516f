// The in-process logger's journal (supervise/logjournal of the log
// service): what a host killed with SIGKILL leaves for the next one, so
// that no line is lost and none is written twice (docs/differences.md,
// `hosted-log-journal`). Pure: the file's layout and the recovery
// arithmetic; journal-input.ts does the I/O.
//
// Layout:
//   [0, SLOT)          record slot A  \ the record with the higher sequence
//   [SLOT, 2 * SLOT)   record slot B  / number and a valid checksum counts
//   [SPOOL_START, ...) the spool: bytes moved out of the log pipe by
//                      splice(2), in pipe order; the file's size is its end
// A record says: the input up to spool offset `x` is in the log
// directories, and for each directory, where that point lies in its files:
// `ino` and `keep`, the inode of `current` and the offset in it (negative:
// that many bytes before its start, in files rotated since), and, while a
// rotation is under way (written just before `current` is renamed),
// `next`: the offset of that point in the `current` that follows.
// Recovery replays the spool from `x` and, in each directory, leaves out
// as many bytes of the replayed output as the files already hold beyond
// that point. Output lengths do not depend on the time of writing (a stamp
// is always as long), so the bytes left out are exactly those written
// before the kill: a line is neither lost nor written twice, and a line
// already written keeps the stamp it was written with.

export const SLOT = 32 * 1024;
export const SPOOL_START = 2 * SLOT;
const MAGIC = 'runit-ts logjournal 1';

export interface DirRecord {
  /** the directory's name as given (log/run's argument) */
  name: string;
  /** inode of its `current` at that point, as a decimal string ('' when none was open) */
  ino: string;
  /** offset of the point in that `current` */
  keep: number;
  /** while `current` is being rotated: the offset of the point in the new `current` */
  next?: number;
}

export interface JournalRecord {
  seq: number;
  /** spool offset up to which the input is in every directory */
  x: number;
  dirs: DirRecord[];
}

/** FNV-1a, 32 bits: enough to tell a torn record (power loss) from a whole one. */
function checksum(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The slot bytes of `record` (without padding; ends in a NUL). */
export function encodeRecord(record: JournalRecord): Buffer {
  const json = JSON.stringify(record);
  const text = `${MAGIC}\n${json}\n${checksum(json)}\n\0`;
  const buf = Buffer.from(text, 'utf8');
  if (buf.length > SLOT) throw new RangeError('journal record too long');
  return buf;
}

/** The record in one slot's bytes, or undefined when it is empty, torn or foreign. */
export function decodeRecord(slot: Buffer): JournalRecord | undefined {
  const end = slot.indexOf(0);
  const text = slot.toString('utf8', 0, end < 0 ? slot.length : end);
  const lines = text.split('\n');
  if (lines.length < 3 || lines[0] !== MAGIC || checksum(lines[1]!) !== lines[2]) return undefined;
  try {
    const r = JSON.parse(lines[1]!) as JournalRecord;
    if (!Number.isSafeInteger(r.seq) || !Number.isSafeInteger(r.x) || !Array.isArray(r.dirs)) return undefined;
    return r;
  } catch {
    return undefined;
  }
}

/** Offset of the slot the record numbered `seq` goes to: they alternate, so a torn write leaves the other. */
export function slotOffset(seq: number): number {
  return (seq % 2) * SLOT;
}

/** The newer valid record of the two slots. */
export function newestRecord(a: Buffer, b: Buffer): JournalRecord | undefined {
  const ra = decodeRecord(a);
  const rb = decodeRecord(b);
  if (ra && rb) return ra.seq >= rb.seq ? ra : rb;
  return ra ?? rb;
}

/**
 * Where replay starts, given the record and the journal's size. A record
 * `x` beyond the end means a compaction was cut short: the pending bytes
 * had been copied to the spool's start and the file cut after them.
 */
export function replayFrom(record: JournalRecord | undefined, size: number): number {
  if (!record) return size > SPOOL_START ? SPOOL_START : Math.max(size, SPOOL_START);
  if (record.x > size) return SPOOL_START;
  return Math.max(record.x, SPOOL_START);
}

/**
 * How many bytes of the replayed output a directory already holds: its
 * `current` as found at start (`undefined`: there is none) against the
 * record. 0 when the directory is not in the record or its `current` is
 * not the one recorded (replaced by hand): then nothing is left out.
 */
export function bytesToSkip(dir: DirRecord | undefined, current: { ino: string; size: number } | undefined): number {
  if (!dir) return 0;
  let skip = 0;
  if (current && current.ino === dir.ino && dir.ino !== '') skip = current.size - dir.keep;
  else if (dir.next !== undefined) skip = (current?.size ?? 0) - dir.next;
  return Math.max(0, skip);
}

// utmp/wtmp records (glibc's struct utmp, the same as struct utmpx) and
// the two edits utmpset makes to them (utmpset(8)). Pure: buffers in,
// buffers out.

/** Where each field of a record is, for one ABI. */
export interface UtmpLayout {
  size: number;
  type: number;
  pid: number;
  line: number;
  id: number;
  user: number;
  host: number;
  exit: number;
  session: number;
  /** tv_sec and tv_usec: 4 bytes each, or 8 */
  tvSec: number;
  tvUsec: number;
  timeBytes: 4 | 8;
  addr: number;
}

export const LINE_SIZE = 32;
export const ID_SIZE = 4;
export const USER_SIZE = 32;
export const HOST_SIZE = 256;

/**
 * x86-64 (glibc's __WORDSIZE_TIME64_COMPAT32): 32-bit session and time
 * fields, 384 bytes, the same as on 32-bit x86.
 */
export const LAYOUT_X86_64: UtmpLayout = {
  size: 384,
  type: 0,
  pid: 4,
  line: 8,
  id: 40,
  user: 44,
  host: 76,
  exit: 332,
  session: 336,
  tvSec: 340,
  tvUsec: 344,
  timeBytes: 4,
  addr: 348,
};

/** Other 64-bit ABIs (aarch64...): long session and struct timeval, 400 bytes. */
export const LAYOUT_LP64: UtmpLayout = {
  size: 400,
  type: 0,
  pid: 4,
  line: 8,
  id: 40,
  user: 44,
  host: 76,
  exit: 332,
  session: 336,
  tvSec: 344,
  tvUsec: 352,
  timeBytes: 8,
  addr: 360,
};

export function layoutFor(arch: string = process.arch): UtmpLayout {
  return arch === 'x64' || arch === 'ia32' ? LAYOUT_X86_64 : LAYOUT_LP64;
}

export const UT = { EMPTY: 0, RUN_LVL: 1, BOOT_TIME: 2, INIT_PROCESS: 5, LOGIN_PROCESS: 6, USER_PROCESS: 7, DEAD_PROCESS: 8 } as const;

/** A record's fields, strings up to their first NUL. */
export interface UtmpEntry {
  type: number;
  pid: number;
  line: string;
  id: string;
  user: string;
  host: string;
  exitTermination: number;
  exitStatus: number;
  session: number;
  seconds: number;
  microseconds: number;
  /** ut_addr_v6, 16 bytes */
  addr: Buffer;
}

function cString(buf: Buffer, start: number, size: number): string {
  const field = buf.subarray(start, start + size);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? size : nul).toString('latin1');
}

function putString(buf: Buffer, start: number, size: number, value: string): void {
  buf.fill(0, start, start + size);
  Buffer.from(value, 'latin1').copy(buf, start, 0, size);
}

function readTime(buf: Buffer, at: number, bytes: 4 | 8): number {
  return bytes === 4 ? buf.readInt32LE(at) : Number(buf.readBigInt64LE(at));
}

function writeTime(buf: Buffer, at: number, bytes: 4 | 8, value: number): void {
  // C assigns time_t to int32_t by keeping the low 32 bits
  if (bytes === 4) buf.writeUInt32LE(((value % 2 ** 32) + 2 ** 32) % 2 ** 32, at);
  else buf.writeBigInt64LE(BigInt(value), at);
}

export function decodeUtmp(record: Buffer, layout: UtmpLayout = layoutFor()): UtmpEntry {
  return {
    type: record.readInt16LE(layout.type),
    pid: record.readInt32LE(layout.pid),
    line: cString(record, layout.line, LINE_SIZE),
    id: cString(record, layout.id, ID_SIZE),
    user: cString(record, layout.user, USER_SIZE),
    host: cString(record, layout.host, HOST_SIZE),
    exitTermination: record.readInt16LE(layout.exit),
    exitStatus: record.readInt16LE(layout.exit + 2),
    session: readTime(record, layout.session, layout.timeBytes),
    seconds: readTime(record, layout.tvSec, layout.timeBytes),
    microseconds: readTime(record, layout.tvUsec, layout.timeBytes),
    addr: Buffer.from(record.subarray(layout.addr, layout.addr + 16)),
  };
}

export function encodeUtmp(entry: Partial<UtmpEntry>, layout: UtmpLayout = layoutFor()): Buffer {
  const record = Buffer.alloc(layout.size);
  record.writeInt16LE(entry.type ?? 0, layout.type);
  record.writeInt32LE(entry.pid ?? 0, layout.pid);
  putString(record, layout.line, LINE_SIZE, entry.line ?? '');
  putString(record, layout.id, ID_SIZE, entry.id ?? '');
  putString(record, layout.user, USER_SIZE, entry.user ?? '');
  putString(record, layout.host, HOST_SIZE, entry.host ?? '');
  record.writeInt16LE(entry.exitTermination ?? 0, layout.exit);
  record.writeInt16LE(entry.exitStatus ?? 0, layout.exit + 2);
  writeTime(record, layout.session, layout.timeBytes, entry.session ?? 0);
  writeTime(record, layout.tvSec, layout.timeBytes, entry.seconds ?? 0);
  writeTime(record, layout.tvUsec, layout.timeBytes, entry.microseconds ?? 0);
  entry.addr?.copy(record, layout.addr, 0, 16);
  return record;
}

/**
 * Whether runit's utmpset logs this record out for `line`: a non-empty
 * user, and ut_line equal to `line` compared as C strings (runit's
 * str_diff, which reads past a full 32-byte ut_line into the next fields).
 */
export function matchesLogin(record: Buffer, line: Buffer, layout: UtmpLayout = layoutFor()): boolean {
  if (record[layout.user] === 0) return false;
  let end = record.indexOf(0, layout.line);
  if (end < 0) end = record.length;
  return record.subarray(layout.line, end).equals(line);
}

/** The record logged out: user and host cleared, time set, DEAD_PROCESS; the rest kept. */
export function loggedOut(record: Buffer, seconds: number, layout: UtmpLayout = layoutFor()): Buffer {
  const out = Buffer.from(record);
  out.fill(0, layout.user, layout.user + USER_SIZE);
  out.fill(0, layout.host, layout.host + HOST_SIZE);
  writeTime(out, layout.tvSec, layout.timeBytes, seconds);
  out.writeInt16LE(UT.DEAD_PROCESS, layout.type);
  return out;
}

/** The wtmp record utmpset -w appends: line, time, DEAD_PROCESS, all else zero. */
export function wtmpLogout(line: Buffer, seconds: number, layout: UtmpLayout = layoutFor()): Buffer {
  const out = Buffer.alloc(layout.size);
  // runit's off-by-two for a line longer than ut_line
  const len = line.length > LINE_SIZE ? LINE_SIZE - 2 : line.length;
  line.copy(out, layout.line, 0, len);
  writeTime(out, layout.tvSec, layout.timeBytes, seconds);
  out.writeInt16LE(UT.DEAD_PROCESS, layout.type);
  return out;
}

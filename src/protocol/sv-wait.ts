// sv's view of a supervise/status record: the status-line body and the
// per-letter wait predicates (sv(8): -w, check). Pure functions; the
// record is kept as raw bytes because sv tests them byte by byte (a state
// byte of 7 prints no state word, a TERM byte of 2 is "got TERM" but not
// "once without TERM", ...).
import { TAI_OFFSET, type Tai64n } from './tai64n.js';

export interface SvRecord {
  /** TAI64N timestamp: start of run, or when the service went down */
  time: Tai64n;
  /** pid, little-endian bytes 12-15 */
  pid: number;
  /** byte 16: paused flag */
  paused: number;
  /** byte 17: want byte ('u' = 0x75, 'd' = 0x64) */
  want: number;
  /** byte 18: got-TERM flag */
  term: number;
  /** byte 19: 0 down, 1 run, 2 finish (anything else is printed as nothing) */
  state: number;
}

/** The first 20 bytes as a record; undefined when there are fewer. */
export function parseRecord(buf: Buffer): SvRecord | undefined {
  if (buf.length < 20) return undefined;
  return {
    time: { sec: buf.readBigUInt64BE(0), nsec: buf.readUInt32BE(8) },
    pid: buf.readUInt32LE(12),
    paused: buf.readUInt8(16),
    want: buf.readUInt8(17),
    term: buf.readUInt8(18),
    state: buf.readUInt8(19),
  };
}

const WANT_UP = 0x75;
const WANT_DOWN = 0x64;

/** runit's TAI64N for a wall-clock time in milliseconds (never later than the real instant). */
export function taiFromMillis(ms: number): Tai64n {
  const sec = Math.floor(ms / 1000);
  return { sec: TAI_OFFSET + BigInt(sec), nsec: (ms - sec * 1000) * 1e6 };
}

/** a < b, comparing seconds and nanoseconds. */
export function taiBefore(a: Tai64n, b: Tai64n): boolean {
  return a.sec < b.sec || (a.sec === b.sec && a.nsec < b.nsec);
}

const statePrefix: Record<number, string> = { 0: 'down: ', 1: 'run: ', 2: 'finish: ' };

/**
 * The status body as sv prints it (svstatus_print):
 * `<state>: NAME: [(pid P) ]Ns[, normally down|up][, paused][, want up|down][, got TERM]`.
 * `nowSec` is sv's current TAI seconds; `normallyUp` is "no down file".
 */
export function statusBody(name: string, rec: SvRecord, nowSec: bigint, normallyUp: boolean): string {
  let s = `${(statePrefix[rec.state] ?? '') + name}: `;
  if (rec.state !== 0) s += `(pid ${rec.pid}) `;
  s += `${nowSec < rec.time.sec ? 0n : nowSec - rec.time.sec}s`;
  const pid = rec.pid !== 0;
  if (pid && !normallyUp) s += ', normally down';
  if (!pid && normallyUp) s += ', normally up';
  if (pid && rec.paused) s += ', paused';
  if (!pid && rec.want === WANT_UP) s += ', want up';
  if (pid && rec.want === WANT_DOWN) s += ', want down';
  if (pid && rec.term) s += ', got TERM';
  return s;
}

/** svstatus_print's return value: 1 if there is a process, 2 if not. */
export function isRunning(rec: SvRecord): boolean {
  return rec.pid !== 0;
}

/**
 * Whether `control` skips sending: the want byte already equals the first
 * letter, except that `d` is re-sent unless the TERM byte is exactly 1
 * (a service taken up with `o` wants down but got no TERM).
 */
export function controlSkips(letters: string, rec: SvRecord): boolean {
  const first = letters.charCodeAt(0);
  if (rec.want !== first) return false;
  return letters[0] !== 'd' || rec.term === 1;
}

/**
 * One wait letter against a record: 'pass', 'fail', or 'check' (passes iff
 * the ./check script passes). `start` is the TAI64N time sv captured before
 * sending; unlike runit, it is compared with full precision.
 * `C` (the check command) is upstream 2.3.0's: `d` if the service wants down,
 * else `u` (runit 2.1.2 passed any down service).
 */
export function letterState(letter: string, rec: SvRecord, start: Tai64n): 'pass' | 'fail' | 'check' {
  const pid = rec.pid !== 0;
  let c = letter;
  if (c === 'C') c = rec.want === WANT_DOWN ? 'd' : 'u';
  switch (c) {
    case 'x':
      return 'fail';
    case 'u':
      return pid && rec.state === 1 ? 'check' : 'fail';
    case 'd':
      return !pid && rec.state === 0 ? 'pass' : 'fail';
    case 't':
    case 'k':
      if (!pid && rec.want === WANT_DOWN) return 'pass';
      if (taiBefore(rec.time, start) || !pid || rec.term) return 'fail';
      return 'check';
    case 'o':
      if ((!pid && taiBefore(rec.time, start)) || (pid && rec.want !== WANT_DOWN)) return 'fail';
      return 'pass';
    case 'p':
      return pid && !rec.paused ? 'fail' : 'pass';
    case 'c':
      return pid && rec.paused ? 'fail' : 'pass';
    default:
      return 'pass';
  }
}

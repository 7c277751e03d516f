// svlogd's selection patterns (svlogd(8)): not regular expressions.
// Pure functions over bytes.
import type { Instruction } from './config.js';

const STAR = 0x2a;
const PLUS = 0x2b;

/**
 * runit's pmatch(): does `pattern` match all of `line[start, start + len)`?
 * An ordinary byte matches itself; `*` at the end matches the rest; `*c`
 * skips up to the first `c` (which must be there); `+c` matches one or more
 * `c`, and if the line ends during that run the match succeeds whatever
 * pattern is left (runit's quirk: `a+bc` matches `abb`).
 */
export function pmatch(pattern: Uint8Array, line: Uint8Array, start: number, len: number): boolean {
  let p = 0;
  let s = start;
  const plen = pattern.length;
  for (;;) {
    if (p >= plen) return len === 0;
    const c = pattern[p++]!;
    if (c === STAR) {
      if (p >= plen) return true;
      const next = pattern[p]!;
      for (;;) {
        if (len === 0) return false;
        if (line[s] === next) break;
        s++;
        len--;
      }
      continue;
    }
    if (c === PLUS) {
      // runit compares the next pattern byte with the line byte without
      // checking for the end of either; an empty rest or a trailing `+` is
      // treated as no match here (runit read stale memory)
      if (p >= plen || len === 0) return false;
      const want = pattern[p++]!;
      if (line[s] !== want) return false;
      for (;;) {
        if (len === 0) return true;
        if (line[s] !== want) break;
        s++;
        len--;
      }
      continue;
    }
    if (len === 0) return false;
    if (line[s] !== c) return false;
    s++;
    len--;
  }
}

export const SELECT = 0x2b; // '+'
export const DESELECT = 0x2d; // '-'
export const ALERT = 0x65; // 'e'
export const NO_ALERT = 0x45; // 'E'

/**
 * Apply a directory's instructions to one line (the replaced first `len`
 * bytes, without timestamp): bit 1 = selected for the directory, bit 2 =
 * selected for stderr. The last matching instruction of each class wins.
 */
export function selectLine(instructions: readonly Instruction[], line: Uint8Array, start: number, len: number): number {
  let dir = true;
  let err = false;
  for (const { kind, pattern } of instructions) {
    if (kind === SELECT || kind === DESELECT) {
      if (pmatch(pattern, line, start, len)) dir = kind === SELECT;
    } else if (pmatch(pattern, line, start, len)) {
      err = kind === ALERT;
    }
  }
  return (dir ? 1 : 0) | (err ? 2 : 0);
}

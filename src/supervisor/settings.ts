// The optional files of a service directory that tune its supervision,
// read when they are used, so an edit takes effect at the next use. Where
// s6-supervise has a file for the same knob, the name and meaning are s6's.
import { readFileSync, statSync } from 'node:fs';
import { errorCode } from '../sys/errors.js';
import { errorTextOf } from '../sys/errstr.js';

/** An unsigned decimal integer, surrounding whitespace allowed; undefined for anything else. */
export function parseUnsignedInteger(text: string): number | undefined {
  const m = /^\s*(\d{1,15})\s*$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** An optional file's text: undefined when absent (or unreadable, with a warning `unable to read NAME: ...`). */
export function readOptional(dir: string, name: string, warn: (message: string) => void): string | undefined {
  const path = `${dir}/${name}`;
  try {
    // read at each use: the usual absence without an exception
    if (!statSync(path, { throwIfNoEntry: false })) return undefined;
    return readFileSync(path, 'latin1');
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') warn(`unable to read ${name}: ${errorTextOf(err)}`);
    return undefined;
  }
}

/**
 * `timeout-kill` (s6): milliseconds after a stop's signal until SIGKILL.
 * Absent or 0: never. Unreadable or not a number: never, with a warning.
 */
export function readTimeoutKill(dir: string, warn: (message: string) => void): number | undefined {
  const text = readOptional(dir, 'timeout-kill', warn);
  if (text === undefined) return undefined;
  const ms = parseUnsignedInteger(text);
  if (ms === undefined) warn('invalid timeout-kill: not a number of milliseconds');
  return ms || undefined;
}

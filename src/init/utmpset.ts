// utmpset [-w] line: log a terminal line out of utmp, and of wtmp with -w
// (utmpset(8)).
import { openSync, closeSync, readSync, writeSync, fstatSync, ftruncateSync, constants } from 'node:fs';
import { flockExclusive } from '../sys/fd.js';
import { errorTextOf } from '../sys/errstr.js';
import { layoutFor, matchesLogin, loggedOut, wtmpLogout, type UtmpLayout } from './utmp.js';

export const DEFAULT_UTMP = '/var/run/utmp';
export const DEFAULT_WTMP = '/var/log/wtmp';

/** A fatal error, with utmpset's message (without the `utmpset: ` prefix). */
export class UtmpsetError extends Error {}

/**
 * `file` opened and locked (waiting for the lock), or utmpset's fatal error;
 * runit words the lock failure differently for utmp (`lock: `) and wtmp.
 */
function openLocked(file: string, flags: number, lockFailure: string): number {
  let fd: number;
  try {
    fd = openSync(file, flags, 0o600);
  } catch (err) {
    throw new UtmpsetError(`fatal: unable to open ${file}: ${errorTextOf(err)}`);
  }
  try {
    flockExclusive(fd, true, file);
  } catch (err) {
    closeSync(fd);
    throw new UtmpsetError(`fatal: ${lockFailure}${file}: ${errorTextOf(err)}`);
  }
  return fd;
}

/**
 * Log `line` out in the utmp file: the first record with a user on that
 * line. False when there is none (or it could not be written back). A line
 * longer than ut_line is not refused (runit 2.1.2 did not): it can match a
 * full ut_line continued by ut_id, as runit compares.
 */
export function utmpLogout(file: string, line: Buffer, seconds: number, layout: UtmpLayout = layoutFor()): boolean {
  const fd = openLocked(file, constants.O_RDWR, 'unable to lock: ');
  try {
    const record = Buffer.alloc(layout.size);
    for (let offset = 0; ; offset += layout.size) {
      let n: number;
      try {
        n = readSync(fd, record, 0, layout.size, offset);
      } catch {
        return false;
      }
      if (n !== layout.size) return false;
      if (!matchesLogin(record, line, layout)) continue;
      try {
        return writeSync(fd, loggedOut(record, seconds, layout), 0, layout.size, offset) === layout.size;
      } catch {
        return false;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Append a logout record for `line` to the wtmp file. Returns the error
 * text when the record could not be written (the file is left as it was).
 */
export function wtmpAppend(file: string, line: Buffer, seconds: number, layout: UtmpLayout = layoutFor()): string | undefined {
  const fd = openLocked(file, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_APPEND | constants.O_CREAT, 'unable to lock ');
  try {
    let size: number;
    try {
      size = fstatSync(fd).size;
    } catch (err) {
      return errorTextOf(err);
    }
    const record = wtmpLogout(line, seconds, layout);
    try {
      if (writeSync(fd, record) === record.length) return undefined;
      ftruncateSync(fd, size);
      return errorTextOf({ code: 'ENOSPC' });
    } catch (err) {
      try {
        ftruncateSync(fd, size);
      } catch {}
      return errorTextOf(err);
    }
  } finally {
    closeSync(fd);
  }
}

// The client side of supervise/: is a runsv there, send it letters, read its
// status. Paths are relative to a service directory (or absolute).
import { openSync, closeSync, writeSync, readSync, constants } from 'node:fs';

/** Every letter runsv acts on; anything else is ignored. */
export const CONTROL_LETTERS = 'udoxtkpchaiq12';

const WRITE_NONBLOCK = constants.O_WRONLY | constants.O_NONBLOCK;

/**
 * True when a runsv holds `supervise/ok` open, false on ENXIO; throws the
 * open error otherwise (a missing supervise/, permissions).
 */
export function supervisorRunning(superviseDir: string): boolean {
  try {
    closeSync(openSync(`${superviseDir}/ok`, WRITE_NONBLOCK));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw err;
  }
}

export class ShortWriteError extends Error {
  readonly code = 'EAGAIN';
}

/** Write `letters` to `supervise/control` without blocking; ENXIO: no runsv. */
export function sendControl(superviseDir: string, letters: string): void {
  const fd = openSync(`${superviseDir}/control`, WRITE_NONBLOCK);
  try {
    const bytes = Buffer.from(letters, 'latin1');
    if (writeSync(fd, bytes) !== bytes.length) throw new ShortWriteError('short write');
  } finally {
    closeSync(fd);
  }
}

/** Read up to 21 bytes of `supervise/status` (more than 20 means bad format). */
export function readStatusBytes(superviseDir: string): Buffer {
  const fd = openSync(`${superviseDir}/status`, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(21);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

// Facts about processes read from /proc.
import { readSync, statSync, openSync, closeSync, constants } from 'node:fs';
import { setNonblock } from './fd.js';

/** /proc/PID/stat is at most 52 numbers and a 64-byte name: well under this. */
const statBuffer = Buffer.alloc(4096);

/**
 * Field 22 of /proc/PID/stat: when the process started, in clock ticks after
 * boot. With the pid it identifies a process: a reused pid has another.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  let fd: number | undefined;
  try {
    // one read into a buffer kept for it (readFileSync also fstats and reads twice)
    fd = openSync(`/proc/${pid}/stat`, constants.O_RDONLY);
    const n = readSync(fd, statBuffer, 0, statBuffer.length, null);
    stat = statBuffer.toString('latin1', 0, n);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  // the command name may contain spaces and parentheses: skip past the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

/**
 * New read and write ends of the pipe that `path` (/proc/PID/fd/N) refers
 * to, both blocking and close-on-exec; undefined when it is not a pipe.
 * The read end is opened first, so that the write end's open finds a reader.
 */
export function reopenPipe(path: string): { read: number; write: number } | undefined {
  let read: number | undefined;
  try {
    if (!statSync(path).isFIFO()) return undefined;
    read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const write = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    setNonblock(read, false);
    setNonblock(write, false);
    return { read, write };
  } catch {
    if (read !== undefined) closeSync(read);
    return undefined;
  }
}

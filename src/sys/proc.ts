// Facts about processes read from /proc.
import { readdirSync, statSync, openSync, closeSync, constants } from 'node:fs';
import { setNonblock } from './fd.js';
import { readSmall } from './small-file.js';

/**
 * Field 22 of /proc/PID/stat: when the process started, in clock ticks after
 * boot. With the pid it identifies a process: a reused pid has another.
 */
export function processStartTime(pid: number): string | undefined {
  const fields = statFields(pid);
  if (!fields || fields[0] === 'Z' || fields[0] === 'X') return undefined;
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

/**
 * Whether a process other than a zombie is in process group `pgid`. A
 * zombie still counts for kill(-pgid, 0) until whoever inherited it reaps
 * it, so the processes are looked at in /proc when that says yes.
 */
export function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    // EPERM: someone (of another user) is in it
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  for (const pid of pids) {
    const fields = statFields(Number(pid));
    // fields[0] is the state, fields[2] the process group
    if (fields && fields[2] === String(pgid) && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

/** The fields of /proc/PID/stat after the command name (field 3 first); undefined when it is gone. */
function statFields(pid: number): string[] | undefined {
  let stat: string;
  try {
    stat = readSmall(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // the command name may contain spaces and parentheses: skip past the last ')'
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

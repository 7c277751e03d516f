// Resource limits (getrlimit/setrlimit), which Node cannot change itself.
import { libcFunction, checkSyscall } from './libc.js';

const getrlimitC = libcFunction('int getrlimit(int resource, _Out_ uint64_t *rlim)');
const setrlimitC = libcFunction('int setrlimit(int resource, const uint64_t *rlim)');

export const RLIMIT = {
  CPU: 0,
  FSIZE: 1,
  DATA: 2,
  STACK: 3,
  CORE: 4,
  RSS: 5,
  NPROC: 6,
  NOFILE: 7,
  MEMLOCK: 8,
  AS: 9,
} as const;

/** RLIM_INFINITY */
export const UNLIMITED = 0xffffffffffffffffn;

export interface Limit {
  soft: bigint;
  hard: bigint;
}

export function getrlimit(resource: number): Limit {
  const buf = Buffer.alloc(16);
  checkSyscall(getrlimitC(resource, buf), 'getrlimit');
  return { soft: buf.readBigUInt64LE(0), hard: buf.readBigUInt64LE(8) };
}

export function setrlimit(resource: number, limit: Limit): void {
  const buf = Buffer.alloc(16);
  buf.writeBigUInt64LE(limit.soft, 0);
  buf.writeBigUInt64LE(limit.hard, 8);
  checkSyscall(setrlimitC(resource, buf), 'setrlimit');
}

/** The hard RLIMIT_NOFILE this process started with, once raiseNofile raised it (for its children). */
let startHardNofile: bigint | undefined;

/** The hard NOFILE limit children are to get back, when this process raised its own (else undefined). */
export function childHardNofile(): bigint | undefined {
  return startHardNofile;
}

/**
 * Raise this process's RLIMIT_NOFILE as far as it may: the soft limit to
 * the hard one always; the hard one, too, up to the kernel's ceiling
 * (fs.nr_open, read from /proc/sys/fs/nr_open as `nrOpen`) when the
 * process may (CAP_SYS_RESOURCE; EPERM otherwise, and the hard limit stays).
 * Children get the start limits back (spawn.ts reads childHardNofile).
 * Returns the limit now in force.
 */
export function raiseNofile(nrOpen: bigint | undefined): Limit {
  const start = getrlimit(RLIMIT.NOFILE);
  if (nrOpen !== undefined && start.hard !== UNLIMITED && start.hard < nrOpen) {
    try {
      setrlimit(RLIMIT.NOFILE, { soft: nrOpen, hard: nrOpen });
      startHardNofile = start.hard;
      return { soft: nrOpen, hard: nrOpen };
    } catch {
      // not allowed (no CAP_SYS_RESOURCE): as far as the hard limit
    }
  }
  if (start.soft < start.hard) setrlimit(RLIMIT.NOFILE, { soft: start.hard, hard: start.hard });
  return { soft: start.hard, hard: start.hard };
}

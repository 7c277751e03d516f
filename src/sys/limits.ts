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

// Waiting for children that Node's child_process does not know: orphans
// that the kernel hands to process 1 (or to a subreaper). libuv reaps only
// its own children, one pid at a time (waitpid(pid, WNOHANG)), so a caller
// that peeks first and reaps only pids it does not own never steals an exit
// status that Node is waiting for.
import { libcFunction, lastErrno } from './libc.js';
import { SysError } from './errors.js';

const waitidC = libcFunction('int waitid(int idtype, uint32_t id, _Out_ uint8_t *info, int options)');
const waitpidC = libcFunction('int waitpid(int pid, _Out_ int *status, int options)');

const P_ALL = 0;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const ECHILD = 10;
const EINTR = 4;
/** siginfo_t is 128 bytes; si_pid follows si_signo, si_errno, si_code and padding. */
const SIGINFO_SIZE = 128;
const SI_PID = 16;

/**
 * The pid of a child that has exited and is waiting to be reaped, without
 * reaping it (waitid WNOWAIT); 0 when there is none.
 */
export function peekExitedChild(): number {
  const info = Buffer.alloc(SIGINFO_SIZE);
  for (;;) {
    const result: number = waitidC(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT);
    if (result === 0) return info.readInt32LE(SI_PID);
    const errno = lastErrno();
    if (errno === EINTR) continue;
    if (errno === ECHILD) return 0;
    throw new SysError('waitid', errno);
  }
}

/** A wait status: how a reaped child ended. */
/** `core`: a core was dumped (known only when reaped here, not by libuv). */
export type WaitStatus = { code: number; signal: 0 } | { code: null; signal: number; core?: boolean };

/** Reap child `pid` if it has exited (waitpid WNOHANG); undefined when it has not. */
export function reapChild(pid: number): WaitStatus | undefined {
  const status = Buffer.alloc(4);
  for (;;) {
    const result: number = waitpidC(pid, status, WNOHANG);
    if (result === pid) {
      const raw = status.readInt32LE(0);
      const signal = raw & 0x7f;
      return signal === 0 ? { code: (raw >> 8) & 0xff, signal: 0 } : { code: null, signal, core: (raw & 0x80) !== 0 };
    }
    if (result === 0) return undefined;
    const errno = lastErrno();
    if (errno === EINTR) continue;
    throw new SysError('waitpid', errno);
  }
}

// What only process 1 does: reboot(2), sync(2) and kill(-1, sig). Each call
// refuses to run in any process other than 1: as root in a test or a
// shell, kill(-1) or reboot() would take the whole machine down.
import { libcFunction, lastErrno, checkSyscall } from './libc.js';
import { SysError } from './errors.js';

const rebootC = libcFunction('int reboot(int howto)');
const syncC = libcFunction('void sync(void)');
const killC = libcFunction('int kill(int pid, int sig)');

/** reboot(2) commands (glibc's RB_* values, as signed ints). */
export const RB = {
  AUTOBOOT: 0x01234567,
  HALT_SYSTEM: 0xcdef0123 | 0,
  POWER_OFF: 0x4321fedc,
  ENABLE_CAD: 0x89abcdef | 0,
  DISABLE_CAD: 0,
} as const;

const EPERM = 1;
const ESRCH = 3;

function mustBeProcessOne(syscall: string): void {
  if (process.pid !== 1) throw new SysError(syscall, EPERM);
}

/**
 * reboot(howto). In a PID namespace other than the host's the kernel ends
 * that namespace instead of the machine, and answers EINVAL for the CAD
 * commands. Returns only when the call failed or did not stop the system.
 */
export function reboot(howto: number): void {
  mustBeProcessOne('reboot');
  checkSyscall(rebootC(howto), 'reboot');
}

export function sync(): void {
  syncC();
}

/**
 * kill(-1, sig): every process this one may signal, except itself (and, in
 * a PID namespace, except its process 1). Returns false when there was no
 * process to signal (ESRCH); sig 0 asks whether any is left.
 */
export function killAll(sig: number): boolean {
  mustBeProcessOne('kill');
  if (killC(-1, sig) === 0) return true;
  const errno = lastErrno();
  if (errno === ESRCH) return false;
  throw new SysError('kill', errno);
}

// Process-wide state a program inherits: session, scheduling priority,
// working and root directory.
import { libcFunction, lastErrno, koffiModule, checkSyscall } from './libc.js';
import { SysError } from './errors.js';

const setsidC = libcFunction('int setsid(void)');
const niceC = libcFunction('int nice(int inc)');
const chdirC = libcFunction('int chdir(const char *path)');
const fchdirC = libcFunction('int fchdir(int fd)');
const chrootC = libcFunction('int chroot(const char *path)');

/** setsid(); false when it failed (this process already leads a group). */
export function setsid(): boolean {
  return setsidC() >= 0;
}

/**
 * nice(inc). The new nice value may be -1, so as in C a failure is told
 * apart by errno, cleared before the call. The nice value of a Linux thread
 * is its own: this must run on the thread that will exec (the main one).
 */
export function nice(inc: number): number {
  (koffiModule() as unknown as { errno(value: number): number }).errno(0);
  const result: number = niceC(inc);
  if (result === -1) {
    const errno = lastErrno();
    if (errno !== 0) throw new SysError('nice', errno);
  }
  return result;
}

export function chdir(path: string): void {
  checkSyscall(chdirC(path), 'chdir', path);
}

export function fchdir(fd: number): void {
  checkSyscall(fchdirC(fd), 'fchdir');
}

export function chroot(path: string): void {
  checkSyscall(chrootC(path), 'chroot', path);
}

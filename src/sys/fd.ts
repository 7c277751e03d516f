// Descriptors: pipes, flags (the one fcntl binding), locks, FIFOs, dups,
// waiting for room to write.
import { libcFunction, checkSyscall as check } from './libc.js';

const pipe2 = libcFunction('int pipe2(_Out_ int *fds, int flags)');
const fcntl = libcFunction('int fcntl(int fd, int cmd, long arg)');
const flock = libcFunction('int flock(int fd, int op)');
const mkfifoC = libcFunction('int mkfifo(const char *path, uint32_t mode)');
const dup2C = libcFunction('int dup2(int oldfd, int newfd)');
const dup3C = libcFunction('int dup3(int oldfd, int newfd, int flags)');
const pollC = libcFunction('int poll(uint8_t *fds, unsigned long nfds, int timeout)');

const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const F_DUPFD_CLOEXEC = 1030;
const FD_CLOEXEC = 1;
const POLLOUT = 4;
/** the reader is gone: a write fails at once (EPIPE), it does not block */
const POLLERR_HUP = 8 | 16;

/** A kernel pipe (not a socketpair), both ends close-on-exec. */
export function pipe(options: { nonblock?: boolean } = {}): { read: number; write: number } {
  const fds = Buffer.alloc(8);
  check(pipe2(fds, O_CLOEXEC | (options.nonblock ? O_NONBLOCK : 0)), 'pipe2');
  return { read: fds.readInt32LE(0), write: fds.readInt32LE(4) };
}

/** Whether `fd` is open, and then whether it is close-on-exec. */
export function descriptorState(fd: number): { open: false } | { open: true; cloexec: boolean } {
  const flags: number = fcntl(fd, F_GETFD, 0);
  return flags < 0 ? { open: false } : { open: true, cloexec: (flags & FD_CLOEXEC) !== 0 };
}

export function setCloexec(fd: number, on: boolean): void {
  const flags = check(fcntl(fd, F_GETFD, 0), 'fcntl');
  check(fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC), 'fcntl');
}

export function setNonblock(fd: number, on: boolean): void {
  const flags = check(fcntl(fd, F_GETFL, 0), 'fcntl');
  check(fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK), 'fcntl');
}

export function isNonblocking(fd: number): boolean {
  return (check(fcntl(fd, F_GETFL, 0), 'fcntl') & O_NONBLOCK) !== 0;
}

/** A close-on-exec copy of `fd` on the lowest free descriptor from `lowest` up (F_DUPFD_CLOEXEC). */
export function dupCloexec(fd: number, lowest: number): number {
  return check(fcntl(fd, F_DUPFD_CLOEXEC, lowest), 'fcntl');
}

const LOCK_EX = 2;
const LOCK_NB = 4;

/** BSD flock(), exclusive; `wait: false` fails with EAGAIN when held elsewhere. */
export function flockExclusive(fd: number, wait: boolean, path?: string): void {
  check(flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)), 'flock', path);
}

export function mkfifo(path: string, mode: number): void {
  check(mkfifoC(path, mode), 'mkfifo', path);
}

export function dup2(oldfd: number, newfd: number): void {
  check(dup2C(oldfd, newfd), 'dup2');
}

/** dup3(): `oldfd` onto `newfd`, close-on-exec or inheritable. */
export function dup3(oldfd: number, newfd: number, cloexec: boolean): void {
  check(dup3C(oldfd, newfd, cloexec ? O_CLOEXEC : 0), 'dup3');
}

/**
 * poll(2) on one descriptor for writing, waiting up to `timeoutMs` (-1:
 * as long as it takes): true when a write would not block now (there is
 * room, or the reader is gone and it fails at once).
 */
export function pollWritable(fd: number, timeoutMs: number): boolean {
  const pollfd = Buffer.alloc(8);
  pollfd.writeInt32LE(fd, 0);
  pollfd.writeInt16LE(POLLOUT, 4);
  if (pollC(pollfd, 1, timeoutMs) < 0) return false;
  return (pollfd.readInt16LE(6) & (POLLOUT | POLLERR_HUP)) !== 0;
}

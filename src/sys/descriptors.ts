// Which descriptors a program started by execProgram would inherit.
import { libcFunction } from './libc.js';

const fcntl = libcFunction('int fcntl(int fd, int cmd, long arg)');
const F_GETFD = 1;
const FD_CLOEXEC = 1;

/**
 * The lowest descriptor that a program exec'd now would not have: closed,
 * or (above 2) close-on-exec. Node marks 0-2 close-on-exec, but
 * execProgram clears that, so they count as inherited while open. This is
 * the descriptor that open() would return in a C program in our place.
 */
export function lowestFreeAfterExec(): number {
  for (let fd = 0; ; fd++) {
    const flags: number = fcntl(fd, F_GETFD, 0);
    if (flags < 0) return fd;
    if (fd > 2 && flags & FD_CLOEXEC) return fd;
  }
}

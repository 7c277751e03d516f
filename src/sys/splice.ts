// splice(2) from a pipe into a regular file: the bytes leave the pipe and
// are in the file (the page cache) in one system call, so no moment exists
// at which they are in neither. The in-process logger's journal is built
// on it (logger/journal-input.ts).
import { libcFunction, lastErrno } from './libc.js';
import { SysError } from './errors.js';

const spliceC = libcFunction('long splice(int fd_in, void *off_in, int fd_out, uint8_t *off_out, size_t len, unsigned int flags)');

const SPLICE_F_NONBLOCK = 2;
/** the loff_t the kernel reads the file offset from */
const off = Buffer.alloc(8);
const EAGAIN = 11;
const EINTR = 4;

/**
 * Move up to `len` bytes from the pipe `pipeFd` into `fileFd` at `offset`
 * (the file's own offset is left alone), without waiting on the pipe.
 * Returns the bytes moved, 0 at end of input (no writer left), or -1 when
 * the pipe is empty now. A kill in the middle moves a prefix: the file
 * holds exactly what the pipe lost.
 */
export function spliceToFile(pipeFd: number, fileFd: number, offset: number, len: number): number {
  for (;;) {
    off.writeBigInt64LE(BigInt(offset));
    const n = Number(spliceC(pipeFd, null, fileFd, off, len, SPLICE_F_NONBLOCK));
    if (n >= 0) return n;
    const errno = lastErrno();
    if (errno === EAGAIN) return -1;
    if (errno !== EINTR) throw new SysError('splice', errno);
  }
}

const fcntlC = libcFunction('int fcntl(int fd, int cmd, long arg)');
const F_SETPIPE_SZ = 1031;

/**
 * Ask for a pipe capacity of `bytes` (F_SETPIPE_SZ); returns the capacity
 * now, or -1 when refused (above /proc/sys/fs/pipe-max-size, or the
 * user's pipe pages are used up).
 */
export function setPipeSize(fd: number, bytes: number): number {
  return Number(fcntlC(fd, F_SETPIPE_SZ, bytes));
}

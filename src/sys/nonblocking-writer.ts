// Writing to a descriptor shared with other processes (runsvdir's stderr)
// without ever waiting on its reader. O_NONBLOCK cannot simply be set on
// it: the open file description is shared with every service, which would
// then see EAGAIN, and each spawn makes it blocking again (posix-spawn.ts).
// So: a pipe, FIFO or terminal is opened again through /proc/self/fd, which
// gives a description of our own, non-blocking; a socket is written with
// MSG_DONTWAIT; a regular file is written as it is (a disk write, as every
// log write of ours). Where /proc is missing, a write is made only while
// poll() says there is room, and only PIPE_BUF bytes at a time.
import { fstatSync, openSync, writeSync, constants } from 'node:fs';
import { libcFunction, lastErrno } from './libc.js';
import { SysError, errorCode } from './errors.js';
import { pollWritable } from './fd.js';

/** Write what can be written of `data` at once: bytes written, 0 when it would block. Throws on failure (EPIPE, EIO, ...). */
export type TryWrite = (data: Buffer) => number;

const sendC = libcFunction('long send(int fd, const uint8_t *buf, unsigned long len, int flags)');

const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const EAGAIN = 11;
/** the most a pipe takes at once without blocking once poll() said POLLOUT */
const PIPE_BUF = 4096;

/**
 * A TryWrite for `fd`, chosen at its first call (so that nothing is
 * opened by a process that never writes). A closed `fd` takes everything
 * and keeps nothing.
 */
export function nonblockingWriter(fd: number): TryWrite {
  let write: TryWrite | undefined;
  return (data) => {
    write ??= chooseWriter(fd);
    return write(data);
  };
}

function chooseWriter(fd: number): TryWrite {
  let st: ReturnType<typeof fstatSync>;
  try {
    st = fstatSync(fd);
  } catch {
    return (data) => data.length;
  }
  if (st.isFile() || st.isBlockDevice()) return (data) => writeSync(fd, data);
  if (st.isSocket()) return (data) => send(fd, data);
  try {
    const own = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    return (data) => writeOrZero(own, data);
  } catch (err) {
    // a pipe without a reader: every write would fail
    if (errorCode(err) === 'ENXIO') return (data) => data.length;
    return (data) => (pollWritable(fd, 0) ? writeSync(fd, data, 0, Math.min(data.length, PIPE_BUF)) : 0);
  }
}

function writeOrZero(fd: number, data: Buffer): number {
  try {
    return writeSync(fd, data);
  } catch (err) {
    if (errorCode(err) === 'EAGAIN') return 0;
    throw err;
  }
}

function send(fd: number, data: Buffer): number {
  const n = Number(sendC(fd, data, data.length, MSG_DONTWAIT | MSG_NOSIGNAL));
  if (n >= 0) return n;
  const errno = lastErrno();
  if (errno === EAGAIN) return 0;
  throw new SysError('send', errno);
}

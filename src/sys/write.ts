// Writing a whole buffer to a descriptor, synchronously: runit's programs
// write their messages with blocking writes, and so do these.
import { writeSync } from 'node:fs';
import { pollWritable } from './fd.js';

/**
 * Write all of `data` to `fd`. An interrupted write is retried. A
 * non-blocking descriptor that is full (EAGAIN) is waited for when
 * `waitWhenFull` (a pipe shared with other writers, made non-blocking by
 * one of them), else the rest is dropped. Any other error (closed,
 * EPIPE) drops the rest. Returns whether everything was written.
 */
export function writeAll(fd: number, data: string | Uint8Array, options: { waitWhenFull?: boolean } = {}): boolean {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EINTR') continue;
      if (code === 'EAGAIN' && options.waitWhenFull) {
        pollWritable(fd, -1);
        continue;
      }
      return false;
    }
  }
  return true;
}

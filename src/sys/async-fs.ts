// Promise forms of the fs calls that log directories need, on raw
// descriptors (fs.promises would wrap every fd in a FileHandle), with
// runit's open modes. They run on libuv's thread pool, so a slow disk delays
// one caller, never the event loop. `extra` flags: O_NOFOLLOW where a
// symbolic link must not be followed.
import * as fs from 'node:fs';

function call<T>(fn: (cb: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

const { O_WRONLY, O_RDONLY, O_APPEND, O_CREAT, O_TRUNC, O_NONBLOCK, O_NOFOLLOW } = fs.constants;

/** runit's open_append: O_WRONLY|O_NDELAY|O_APPEND|O_CREAT, 0600. */
export const openAppend = (path: string, extra = 0) => call<number>((cb) => fs.open(path, O_WRONLY | O_NONBLOCK | O_APPEND | O_CREAT | extra, 0o600, cb));
export const openAppendSync = (path: string, extra = 0) => fs.openSync(path, O_WRONLY | O_NONBLOCK | O_APPEND | O_CREAT | extra, 0o600);
/** runit's open_trunc: O_WRONLY|O_NDELAY|O_TRUNC|O_CREAT, 0644. */
export const openTrunc = (path: string, extra = 0) => call<number>((cb) => fs.open(path, O_WRONLY | O_NONBLOCK | O_TRUNC | O_CREAT | extra, 0o644, cb));
/** runit's open_read: O_RDONLY|O_NDELAY. */
export const openRead = (path: string, extra = 0) => call<number>((cb) => fs.open(path, O_RDONLY | O_NONBLOCK | extra, cb));
/** chmod that does not follow a symbolic link (open it O_NOFOLLOW, fchmod). */
export async function chmodNoFollow(path: string, mode: number): Promise<void> {
  const fd = await openRead(path, O_NOFOLLOW);
  try {
    await fchmod(fd, mode);
  } finally {
    closeQuietly(fd);
  }
}
export const close = (fd: number) => call<void>((cb) => fs.close(fd, (err) => cb(err, undefined)));
export const fsync = (fd: number) => call<void>((cb) => fs.fsync(fd, (err) => cb(err, undefined)));
export const fchmod = (fd: number, mode: number) => call<void>((cb) => fs.fchmod(fd, mode, (err) => cb(err, undefined)));
export const chmod = (path: string, mode: number) => call<void>((cb) => fs.chmod(path, mode, (err) => cb(err, undefined)));
export const fstat = (fd: number) => call<fs.Stats>((cb) => fs.fstat(fd, cb));
export const stat = (path: string) => call<fs.Stats>((cb) => fs.stat(path, cb));
export const rename = (from: string, to: string) => call<void>((cb) => fs.rename(from, to, (err) => cb(err, undefined)));
export const unlink = (path: string) => call<void>((cb) => fs.unlink(path, (err) => cb(err, undefined)));
export const readdir = (path: string) => call<string[]>((cb) => fs.readdir(path, cb));
// (Node takes numeric flags here too; its types say string)
export const readFile = (path: string, extra = 0) => call<Buffer>((cb) => fs.readFile(path, { flag: (O_RDONLY | extra) as unknown as string }, cb));
export const lstat = (path: string) => call<fs.Stats>((cb) => fs.lstat(path, cb));
export const access = (path: string, mode: number) => call<void>((cb) => fs.access(path, mode, (err) => cb(err, undefined)));
export const writev = (fd: number, bufs: Buffer[]) => call<number>((cb) => fs.writev(fd, bufs, (err, n) => cb(err, n)));

/** Close and ignore errors (the descriptor is gone either way). */
export function closeQuietly(fd: number): void {
  if (fd >= 0) fs.close(fd, () => {});
}

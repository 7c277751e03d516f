// Opening a service's supervise/ directory as runsv 2.1.2 does: the
// directory (or the target of a supervise symlink), the lock, the control
// and ok FIFOs. Errors carry runit's fatal message.
import { mkdirSync, readlinkSync, openSync, closeSync, statSync, constants } from 'node:fs';
import { flockExclusive, mkfifo } from '../sys/fd.js';
import { errorTextOf } from '../sys/errstr.js';
import { errorCode } from '../sys/errors.js';

/** A start-up failure; `message` is runit's text after `fatal: `. */
export class SetupError extends Error {}

function fail(what: string, err: unknown): never {
  throw new SetupError(`${what}: ${errorTextOf(err)}`);
}

/**
 * Make `base/supervise` exist: mkdir 0700, or when it is a symlink, mkdir its
 * target (one level, relative to base). `label` is `supervise` or `log/supervise`.
 */
export function ensureSuperviseDir(base: string, label: string): void {
  const path = `${base}/supervise`;
  try {
    mkdirSync(path, 0o700);
    return;
  } catch {}
  let target: string;
  try {
    target = readlinkSync(path);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'EINVAL') return;
    fail(`unable to readlink ./${label}`, err);
  }
  if (Buffer.byteLength(target) >= 256) throw new SetupError(`unable to readlink ./${label}: name too long`);
  try {
    // not path.resolve: base may be /proc/self/fd/N, where `..` is physical
    mkdirSync(target.startsWith('/') ? target : `${base}/${target}`, 0o700);
  } catch {}
}

/** Open and flock `supervise/lock` without waiting; the fd is kept for the supervisor's life. */
export function takeLock(superviseDir: string, label: string): number {
  let fd: number;
  try {
    // not O_APPEND (runsv's): runit-ts's record is rewritten in place from offset 0 (status-files.ts)
    fd = openSync(`${superviseDir}/lock`, constants.O_WRONLY | constants.O_CREAT | constants.O_NONBLOCK, 0o600);
  } catch (err) {
    fail(`unable to open ${label}/lock`, err);
  }
  try {
    flockExclusive(fd, false);
  } catch (err) {
    closeSync(fd);
    fail(`unable to lock ${label}/lock`, err);
  }
  return fd;
}

/**
 * Create (or reuse) `supervise/control` and open it read-write non-blocking,
 * so that its reader never sees end-of-file. `typeCheckPath` is the FIFO
 * whose type is checked.
 */
export function openControlFifo(superviseDir: string, label: string): number {
  const path = `${superviseDir}/control`;
  try {
    mkfifo(path, 0o600);
  } catch {}
  let isFifo: boolean;
  try {
    isFifo = statSync(path).isFIFO();
  } catch (err) {
    fail(`unable to stat ${label}/control`, err);
  }
  if (!isFifo) throw new SetupError(`${label}/control exists but is not a fifo`);
  try {
    return openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  } catch (err) {
    fail(`unable to open ${label}/control`, err);
  }
}

/** Create (or reuse) `supervise/ok` and hold it open for reading: clients probe it. */
export function openOkFifo(superviseDir: string, label: string): number {
  const path = `${superviseDir}/ok`;
  try {
    mkfifo(path, 0o600);
  } catch {}
  try {
    return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    fail(`unable to read ${label}/ok`, err);
  }
}

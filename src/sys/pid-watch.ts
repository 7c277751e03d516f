// Waiting for the exit of processes that are not our children (services
// adopted after a supervisor restart): one pidfd each, and a single poll()
// over all of them running in libuv's thread pool (koffi's async calls), so
// the event loop never blocks and a thousand watched pids cost one thread.
import { libcFunction, lastErrno } from './libc.js';
import { pipe } from './fd.js';
import { closeSync, readSync, writeSync } from 'node:fs';

const SYS_PIDFD_OPEN = 434;
const POLLIN = 1;
const syscall2 = libcFunction('long syscall(long number, int pid, unsigned int flags)');
const poll = libcFunction('int poll(_Inout_ uint8_t *fds, uint64_t count, int timeout)');

interface Watch {
  pid: number;
  onExit: () => void;
}

const watches = new Map<number, Watch>(); // by pidfd
let wake: { read: number; write: number } | undefined;
let polling = false;
/** pids watched by the fallback timer, where pidfd_open is missing */
const fallback = new Map<number, () => void>();
let fallbackTimer: NodeJS.Timeout | undefined;
const FALLBACK_INTERVAL_MS = 1000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Call `onExit` once `pid` has exited. Returns a function that cancels the
 * watch. A pid that is already gone is reported on the next tick.
 */
export function watchExit(pid: number, onExit: () => void): () => void {
  const pidfd = Number(syscall2(SYS_PIDFD_OPEN, pid, 0));
  if (pidfd < 0) {
    const errno = lastErrno();
    if (errno === 3 /* ESRCH */) {
      process.nextTick(onExit);
      return () => {};
    }
    return watchByTimer(pid, onExit);
  }
  watches.set(pidfd, { pid, onExit });
  restartPoll();
  return () => {
    if (!watches.delete(pidfd)) return;
    closeSync(pidfd);
    restartPoll();
  };
}

function watchByTimer(pid: number, onExit: () => void): () => void {
  fallback.set(pid, onExit);
  fallbackTimer ??= setInterval(() => {
    for (const [p, cb] of fallback) {
      if (alive(p)) continue;
      fallback.delete(p);
      cb();
    }
    if (fallback.size === 0) {
      clearInterval(fallbackTimer);
      fallbackTimer = undefined;
    }
  }, FALLBACK_INTERVAL_MS);
  return () => fallback.delete(pid);
}

/** Make the poll in flight (if any) return, so the next one sees the new set. */
function restartPoll(): void {
  if (polling) {
    try {
      writeSync(wake!.write, Buffer.from([1]));
    } catch {
      // the pipe is full: a wake-up is already pending
    }
    return;
  }
  if (watches.size === 0) return;
  wake ??= pipe({ nonblock: true });
  const fds = [...watches.keys()];
  const buf = Buffer.alloc(8 * (fds.length + 1));
  buf.writeInt32LE(wake.read, 0);
  buf.writeInt16LE(POLLIN, 4);
  fds.forEach((fd, i) => {
    buf.writeInt32LE(fd, 8 * (i + 1));
    buf.writeInt16LE(POLLIN, 8 * (i + 1) + 4);
  });
  polling = true;
  poll.async(buf, fds.length + 1, -1, () => {
    polling = false;
    drainWake();
    fds.forEach((fd, i) => {
      if (buf.readInt16LE(8 * (i + 1) + 6) === 0) return;
      const watch = watches.get(fd);
      if (!watch) return;
      watches.delete(fd);
      closeSync(fd);
      watch.onExit();
    });
    restartPoll();
  });
}

function drainWake(): void {
  const scratch = Buffer.alloc(64);
  try {
    while (readSync(wake!.read, scratch) === scratch.length);
  } catch {
    // EAGAIN: drained
  }
}

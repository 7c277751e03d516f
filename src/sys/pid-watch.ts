// Waiting for processes to exit without SIGCHLD: our own children started
// by posix_spawn (not libuv's, so Node does not reap them) and services
// adopted after a supervisor restart (not our children at all). One pidfd
// each (it becomes readable when the process exits), watched in the one
// epoll set of fd-watch.ts: the event loop never blocks, a thousand
// watched pids cost no more than one, and adding one is one epoll_ctl.
import { closeSync } from 'node:fs';
import { libcFunction, lastErrno } from './libc.js';
import { watchReadable } from './fd-watch.js';

const SYS_PIDFD_OPEN = 434;
const pidfdOpen = libcFunction('long syscall(long number, int pid, unsigned int flags)');
const ESRCH = 3;
const FALLBACK_INTERVAL_MS = 1000;

/** pids watched by the fallback timer, where pidfd_open is missing */
const fallback = new Map<number, () => void>();
let fallbackTimer: NodeJS.Timeout | undefined;
let pidfdWorks: boolean | undefined;

function openPidfd(pid: number): number {
  return Number(pidfdOpen(SYS_PIDFD_OPEN, pid, 0));
}

/** Whether exits can be watched through pidfds (Linux 5.3 and later). */
export function pidfdAvailable(): boolean {
  if (pidfdWorks === undefined) {
    const fd = openPidfd(process.pid);
    pidfdWorks = fd >= 0;
    if (pidfdWorks) closeSync(fd);
  }
  return pidfdWorks;
}

/**
 * Call `onExit` once `pid` has exited (for a child of ours: once it can be
 * reaped; it is not reaped here). Returns a function that cancels the
 * watch. A pid that is already gone is reported on the next tick.
 */
export function watchExit(pid: number, onExit: () => void): () => void {
  const pidfd = openPidfd(pid);
  if (pidfd < 0) {
    if (lastErrno() === ESRCH) {
      process.nextTick(onExit);
      return () => {};
    }
    return watchByTimer(pid, onExit);
  }
  let done = false;
  let stop: () => void;
  try {
    stop = watchReadable(pidfd, () => {
      // readable once: the process has exited
      if (done) return;
      done = true;
      stop();
      closeSync(pidfd);
      onExit();
    });
  } catch (err) {
    closeSync(pidfd);
    throw err;
  }
  return () => {
    if (done) return;
    done = true;
    stop();
    closeSync(pidfd);
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Waiting for processes to exit without SIGCHLD: our own children started
// by posix_spawn (not libuv's, so Node does not reap them) and services
// adopted after a supervisor restart (not our children at all). One pidfd
// each, all in one epoll set; a single epoll_wait runs in libuv's thread
// pool (koffi's async calls), so the event loop never blocks, a thousand
// watched pids cost one thread, and adding one is one epoll_ctl.
import { closeSync, readSync, writeSync } from 'node:fs';
import { libcFunction, lastErrno, checkSyscall } from './libc.js';

const SYS_PIDFD_OPEN = 434;
const pidfdOpen = libcFunction('long syscall(long number, int pid, unsigned int flags)');
const epollCreate1 = libcFunction('int epoll_create1(int flags)');
const epollCtl = libcFunction('int epoll_ctl(int epfd, int op, int fd, const uint8_t *event)');
const epollWait = libcFunction('int epoll_wait(int epfd, _Out_ uint8_t *events, int maxevents, int timeout)');
const eventfd = libcFunction('int eventfd(unsigned int initval, int flags)');

const EPOLL_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLLIN = 1;
const ESRCH = 3;
// struct epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere
const EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const DATA_OFFSET = process.arch === 'x64' ? 4 : 8;
const MAX_EVENTS = 64;
/** an eventfd counts in 8-byte native integers */
const EVENTFD_ONE = new BigUint64Array([1n]);
const FALLBACK_INTERVAL_MS = 1000;

interface Watch {
  pidfd: number;
  onExit: () => void;
}

/**
 * By a number of their own, not by pidfd: an event already returned for a
 * pidfd closed since must not be taken for a new one with the same number.
 */
const watches = new Map<number, Watch>();
const WAKE_ID = 0;
let lastId = WAKE_ID;
let epoll: { fd: number; wake: number } | undefined;
let waiting = false;
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

function epollSet(): { fd: number; wake: number } {
  if (epoll) return epoll;
  const fd = checkSyscall(epollCreate1(EPOLL_CLOEXEC), 'epoll_create1');
  const wake = checkSyscall(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), 'eventfd');
  epoll = { fd, wake };
  add(wake, WAKE_ID);
  // process.exit waits for the thread pool: the wait in flight must end
  process.on('exit', wakeUp);
  return epoll;
}

/** epoll_ctl's argument, and epoll_wait's result (one wait is in flight at a time): allocated once */
const event = Buffer.alloc(EVENT_SIZE);
const events = Buffer.alloc(EVENT_SIZE * MAX_EVENTS);
const counter = Buffer.alloc(8);

function add(fd: number, id: number): void {
  event.writeUInt32LE(EPOLLIN, 0);
  event.writeUInt32LE(id, DATA_OFFSET);
  checkSyscall(epollCtl(epoll!.fd, EPOLL_CTL_ADD, fd, event), 'epoll_ctl');
}

function wakeUp(): void {
  if (epoll && waiting) writeSync(epoll.wake, EVENTFD_ONE);
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
  const id = ++lastId;
  try {
    epollSet();
    add(pidfd, id);
  } catch (err) {
    closeSync(pidfd);
    throw err;
  }
  watches.set(id, { pidfd, onExit });
  waitForExits();
  return () => {
    if (!watches.delete(id)) return;
    closeSync(pidfd); // which also takes it out of the epoll set
    if (watches.size === 0) wakeUp();
  };
}

/** One epoll_wait in flight while anything is watched. */
function waitForExits(): void {
  if (waiting || watches.size === 0) return;
  waiting = true;
  epollWait.async(epoll!.fd, events, MAX_EVENTS, -1, (err: unknown, count: number) => {
    waiting = false;
    const ready: Watch[] = [];
    for (let i = 0; i < (err ? 0 : count); i++) {
      const id = events.readUInt32LE(i * EVENT_SIZE + DATA_OFFSET);
      if (id === WAKE_ID) {
        readSync(epoll!.wake, counter);
        continue;
      }
      const watch = watches.get(id);
      if (!watch) continue;
      watches.delete(id);
      closeSync(watch.pidfd);
      ready.push(watch);
    }
    waitForExits();
    for (const watch of ready) watch.onExit();
  });
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

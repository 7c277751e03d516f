// Waiting for descriptors that Node cannot wait on (an AF_UNIX datagram
// socket: net.Socket refuses it, dgram only takes UDP) without blocking the
// event loop and without a thread per descriptor: every watched descriptor
// is in one epoll set, and a single epoll_wait runs in libuv's thread pool
// (koffi's asynchronous call) while anything is watched, as in
// pid-watch.ts. Level-triggered: the callbacks run on the main thread, and
// the next epoll_wait is started only after they have returned, so a
// callback that reads what is there now (or a bounded part of it) is
// called again for the rest on the next turn, never in a busy loop.
//
// pid-watch.ts keeps an epoll set of its own (one more pool thread while
// both have something to wait for); a pidfd is a descriptor that becomes
// readable on exit, so pid-watch can move onto watchReadable.
import { readSync, writeSync } from 'node:fs';
import { libcFunction, checkSyscall } from './libc.js';

const epollCreate1 = libcFunction('int epoll_create1(int flags)');
const epollCtl = libcFunction('int epoll_ctl(int epfd, int op, int fd, const uint8_t *event)');
const epollWait = libcFunction('int epoll_wait(int epfd, _Out_ uint8_t *events, int maxevents, int timeout)');
const eventfd = libcFunction('int eventfd(unsigned int initval, int flags)');

const EPOLL_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
export const EPOLLIN = 0x001;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
// struct epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere
const EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const DATA_OFFSET = process.arch === 'x64' ? 4 : 8;
const MAX_EVENTS = 64;
const EVENTFD_ONE = new BigUint64Array([1n]);

/** Called with the epoll event bits (EPOLLIN, EPOLLHUP, EPOLLERR). */
export type ReadableCallback = (events: number) => void;

interface Watch {
  fd: number;
  onReadable: ReadableCallback;
}

/** By a number of their own: an event returned for a watch cancelled since is dropped, even if its fd was reused. */
const watches = new Map<number, Watch>();
const WAKE_ID = 0;
let lastId = WAKE_ID;
let epoll: { fd: number; wake: number } | undefined;
let waiting = false;

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

function add(fd: number, id: number): void {
  const event = Buffer.alloc(EVENT_SIZE);
  event.writeUInt32LE(EPOLLIN, 0);
  event.writeUInt32LE(id, DATA_OFFSET);
  checkSyscall(epollCtl(epoll!.fd, EPOLL_CTL_ADD, fd, event), 'epoll_ctl');
}

function wakeUp(): void {
  if (epoll && waiting) writeSync(epoll.wake, EVENTFD_ONE);
}

/**
 * Call `onReadable` whenever `fd` has something to read (or has hung up),
 * until the returned function is called. The descriptor stays the
 * caller's: cancel before closing it. Throws (epoll_ctl's error) when the
 * descriptor cannot be watched (EPERM for a regular file, EEXIST when it is
 * watched already).
 */
export function watchReadable(fd: number, onReadable: ReadableCallback): () => void {
  epollSet();
  const id = ++lastId;
  add(fd, id);
  watches.set(id, { fd, onReadable });
  startWait();
  return () => {
    const watch = watches.get(id);
    if (!watch) return;
    watches.delete(id);
    // the fd may be closed already (then the kernel dropped it from the set)
    epollCtl(epoll!.fd, EPOLL_CTL_DEL, fd, Buffer.alloc(EVENT_SIZE));
    if (watches.size === 0) wakeUp();
  };
}

/** How many descriptors are watched (for tests and status). */
export function watchedCount(): number {
  return watches.size;
}

/** One epoll_wait in flight while anything is watched. */
function startWait(): void {
  if (waiting || watches.size === 0) return;
  waiting = true;
  const events = Buffer.alloc(EVENT_SIZE * MAX_EVENTS);
  epollWait.async(epoll!.fd, events, MAX_EVENTS, -1, (err: unknown, count: number) => {
    waiting = false;
    let failure: unknown;
    let failed = false;
    for (let i = 0; i < (err ? 0 : count); i++) {
      const bits = events.readUInt32LE(i * EVENT_SIZE);
      const id = events.readUInt32LE(i * EVENT_SIZE + DATA_OFFSET);
      if (id === WAKE_ID) {
        readSync(epoll!.wake, Buffer.alloc(8));
        continue;
      }
      // looked up now: an earlier callback of this batch may have cancelled it
      const watch = watches.get(id);
      if (!watch) continue;
      try {
        watch.onReadable(bits);
      } catch (e) {
        if (!failed) [failed, failure] = [true, e];
      }
    }
    startWait();
    if (failed) throw failure;
  });
}

// Waiting for descriptors that Node cannot (or must not) watch itself,
// without blocking the event loop, in one place: pidfds (a process's
// exit, pid-watch.ts), an AF_UNIX datagram socket (net.Socket refuses it,
// dgram only takes UDP: unix-dgram.ts), and the log pipe an in-process
// logger must leave unread until it moves the bytes itself
// (logger/journal-input.ts: Node reads whatever it watches). Every watched
// descriptor is in one epoll set, and a single epoll_wait runs in libuv's
// thread pool (koffi's asynchronous call) while anything is watched: any
// number of descriptors, of every kind, cost one pool thread, and only
// while one of them waits. The callbacks run on the main thread; the next
// epoll_wait starts after they have returned.
//
// Two kinds of watch: level-triggered (watchReadable: called whenever the
// descriptor is readable, so a callback that reads a bounded part is called
// again for the rest on the next turn), and armed (watchReadableOnce:
// called once per arm(), EPOLLONESHOT, for a reader that re-arms when it
// has found the descriptor empty).
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
const EPOLL_CTL_MOD = 3;
export const EPOLLIN = 0x001;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
const EPOLLONESHOT = 1 << 30;
// struct epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere
const EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const DATA_OFFSET = process.arch === 'x64' ? 4 : 8;
const MAX_EVENTS = 64;
const EVENTFD_ONE = new BigUint64Array([1n]);

/** Called with the epoll event bits (EPOLLIN, EPOLLHUP, EPOLLERR). */
export type ReadableCallback = (events: number) => void;

interface Watch {
  fd: number;
  onEvent: ReadableCallback;
  /** a once-watch: armed for one event; a level watch is always active */
  once: boolean;
  armed: boolean;
}

/** By a number of their own: an event returned for a watch cancelled since is dropped, even if its fd was reused. */
const watches = new Map<number, Watch>();
const WAKE_ID = 0;
let lastId = WAKE_ID;
let epoll: { fd: number; wake: number } | undefined;
let waiting = false;
/** level watches plus armed once-watches: a wait is in flight while there are any */
let active = 0;
/** epoll_ctl's argument and epoll_wait's result (one wait is in flight at a time), allocated once */
const event = Buffer.alloc(EVENT_SIZE);
const events = Buffer.alloc(EVENT_SIZE * MAX_EVENTS);
const counter = Buffer.alloc(8);

function ctl(op: number, fd: number, id: number, bits: number): number {
  event.writeUInt32LE(bits, 0);
  event.writeUInt32LE(id, DATA_OFFSET);
  return epollCtl(epoll!.fd, op, fd, event);
}

function epollSet(): void {
  if (epoll) return;
  const fd = checkSyscall(epollCreate1(EPOLL_CLOEXEC), 'epoll_create1');
  const wake = checkSyscall(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), 'eventfd');
  epoll = { fd, wake };
  checkSyscall(ctl(EPOLL_CTL_ADD, wake, WAKE_ID, EPOLLIN), 'epoll_ctl');
  // process.exit waits for the thread pool: the wait in flight must end
  process.on('exit', wakeUp);
}

function wakeUp(): void {
  if (epoll && waiting) writeSync(epoll.wake, EVENTFD_ONE);
}

function register(fd: number, onEvent: ReadableCallback, once: boolean): { id: number; watch: Watch } {
  epollSet();
  const id = ++lastId;
  // a once-watch is registered disarmed: one-shot with no events
  checkSyscall(ctl(EPOLL_CTL_ADD, fd, id, once ? EPOLLONESHOT : EPOLLIN), 'epoll_ctl');
  const watch: Watch = { fd, onEvent, once, armed: false };
  watches.set(id, watch);
  if (!once) active++;
  return { id, watch };
}

function cancel(id: number): void {
  const watch = watches.get(id);
  if (!watch) return;
  watches.delete(id);
  if (!watch.once || watch.armed) active--;
  // the fd may be closed already (then the kernel dropped it from the set)
  ctl(EPOLL_CTL_DEL, watch.fd, id, 0);
  if (active === 0) wakeUp();
}

/**
 * Call `onReadable` whenever `fd` has something to read (or has hung up),
 * until the returned function is called. The descriptor stays the
 * caller's: cancel before closing it. Throws (epoll_ctl's error) when the
 * descriptor cannot be watched (EPERM for a regular file, EEXIST when it is
 * watched already).
 */
export function watchReadable(fd: number, onReadable: ReadableCallback): () => void {
  const { id } = register(fd, onReadable, false);
  startWait();
  return () => cancel(id);
}

export interface ReadableWatch {
  /** Call the callback once, when the descriptor is readable (or at its end, or now if it is already). */
  arm(): void;
  /** Stop watching (before the descriptor is closed). */
  close(): void;
}

/** Watch `fd` for one event per arm(); unarmed at first. */
export function watchReadableOnce(fd: number, onReadable: () => void): ReadableWatch {
  const { id, watch } = register(fd, () => onReadable(), true);
  return {
    arm() {
      if (watch.armed || !watches.has(id)) return;
      watch.armed = true;
      active++;
      checkSyscall(ctl(EPOLL_CTL_MOD, fd, id, EPOLLIN | EPOLLONESHOT), 'epoll_ctl');
      startWait();
    },
    close: () => cancel(id),
  };
}

/** How many descriptors are watched (for tests and status). */
export function watchedCount(): number {
  return watches.size;
}

/** One epoll_wait in flight while anything is active. */
function startWait(): void {
  if (waiting || active === 0) return;
  waiting = true;
  epollWait.async(epoll!.fd, events, MAX_EVENTS, -1, (err: unknown, count: number) => {
    waiting = false;
    const ready: { id: number; bits: number }[] = [];
    for (let i = 0; i < (err ? 0 : count); i++) {
      const id = events.readUInt32LE(i * EVENT_SIZE + DATA_OFFSET);
      if (id === WAKE_ID) {
        try {
          readSync(epoll!.wake, counter);
        } catch {}
        continue;
      }
      ready.push({ id, bits: events.readUInt32LE(i * EVENT_SIZE) });
    }
    let failure: unknown;
    let failed = false;
    for (const { id, bits } of ready) {
      // looked up now: an earlier callback of this batch may have cancelled it
      const watch = watches.get(id);
      if (!watch || (watch.once && !watch.armed)) continue;
      if (watch.once) {
        watch.armed = false;
        active--;
      }
      try {
        watch.onEvent(bits);
      } catch (e) {
        if (!failed) [failed, failure] = [true, e];
      }
    }
    startWait();
    if (failed) throw failure;
  });
}

// Being told that a descriptor has become readable, without reading it and
// without blocking the event loop: Node reads whatever it watches, but the
// in-process logger must leave the log pipe's bytes where they are until it
// moves them itself (logger/journal-input.ts). One epoll set for every
// watched descriptor, each armed once (EPOLLONESHOT) and re-armed by its
// owner when it has found the descriptor empty again; a single epoll_wait
// runs in libuv's thread pool (koffi's async call) while anything is
// armed, as sys/pid-watch.ts does for process exits: any number of
// watched descriptors cost one thread, and only while one of them waits.
import { readSync, writeSync } from 'node:fs';
import { libcFunction, checkSyscall } from './libc.js';

const epollCreate1 = libcFunction('int epoll_create1(int flags)');
const epollCtl = libcFunction('int epoll_ctl(int epfd, int op, int fd, const uint8_t *event)');
const epollWait = libcFunction('int epoll_wait(int epfd, _Out_ uint8_t *events, int maxevents, int timeout)');
const eventfd = libcFunction('int eventfd(unsigned int initval, int flags)');

const CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const EPOLLIN = 1;
const EPOLLONESHOT = 1 << 30;
// struct epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere
const EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const DATA_OFFSET = process.arch === 'x64' ? 4 : 8;
const MAX_EVENTS = 64;
const EVENTFD_ONE = new BigUint64Array([1n]);
const WAKE_ID = 0;

interface Watch {
  fd: number;
  armed: boolean;
  onReadable: () => void;
}

const watches = new Map<number, Watch>();
let lastId = WAKE_ID;
let epoll: { fd: number; wake: number } | undefined;
let waiting = false;
let armedCount = 0;
const event = Buffer.alloc(EVENT_SIZE);

function ctl(op: number, fd: number, id: number, events: number): void {
  event.writeUInt32LE(events, 0);
  event.writeUInt32LE(id, DATA_OFFSET);
  checkSyscall(epollCtl(epoll!.fd, op, fd, event), 'epoll_ctl');
}

function epollSet(): { fd: number; wake: number } {
  if (epoll) return epoll;
  const fd = checkSyscall(epollCreate1(CLOEXEC), 'epoll_create1');
  const wake = checkSyscall(eventfd(0, EFD_NONBLOCK | CLOEXEC), 'eventfd');
  epoll = { fd, wake };
  ctl(EPOLL_CTL_ADD, wake, WAKE_ID, EPOLLIN);
  // process.exit waits for the thread pool: the wait in flight must end
  process.on('exit', wakeUp);
  return epoll;
}

function wakeUp(): void {
  if (epoll && waiting) writeSync(epoll.wake, EVENTFD_ONE);
}

export interface ReadableWatch {
  /** Call onReadable once, when the descriptor is readable (or at its end, or now if it is already). */
  arm(): void;
  /** Stop watching (before the descriptor is closed). */
  close(): void;
}

/** Watch `fd` (a pipe, FIFO or socket) for readability; unarmed at first. */
export function watchReadable(fd: number, onReadable: () => void): ReadableWatch {
  epollSet();
  const id = ++lastId;
  const watch: Watch = { fd, armed: false, onReadable };
  // registered disarmed: a one-shot watch with no events
  ctl(EPOLL_CTL_ADD, fd, id, EPOLLONESHOT);
  watches.set(id, watch);
  return {
    arm() {
      if (watch.armed || !watches.has(id)) return;
      watch.armed = true;
      armedCount++;
      ctl(EPOLL_CTL_MOD, fd, id, EPOLLIN | EPOLLONESHOT);
      waitForEvents();
    },
    close() {
      if (!watches.delete(id)) return;
      if (watch.armed) armedCount--;
      watch.armed = false;
      try {
        ctl(EPOLL_CTL_DEL, fd, id, 0);
      } catch {}
      if (armedCount === 0) wakeUp();
    },
  };
}

/** One epoll_wait in flight while anything is armed. */
function waitForEvents(): void {
  if (waiting || armedCount === 0) return;
  waiting = true;
  const events = Buffer.alloc(EVENT_SIZE * MAX_EVENTS);
  epollWait.async(epoll!.fd, events, MAX_EVENTS, -1, (err: unknown, count: number) => {
    waiting = false;
    const ready: Watch[] = [];
    for (let i = 0; i < (err ? 0 : count); i++) {
      const id = events.readUInt32LE(i * EVENT_SIZE + DATA_OFFSET);
      if (id === WAKE_ID) {
        try {
          readSync(epoll!.wake, Buffer.alloc(8));
        } catch {}
        continue;
      }
      const watch = watches.get(id);
      if (!watch?.armed) continue;
      watch.armed = false;
      armedCount--;
      ready.push(watch);
    }
    waitForEvents();
    for (const watch of ready) watch.onReadable();
  });
}

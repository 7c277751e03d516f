// Reading the logger's input without blocking the event loop. Pipes, FIFOs
// and sockets are read through epoll (net.Socket on the fd: up to 64 KiB per
// read, no thread-pool thread parked per logger, docs/architecture.md, "Threads"); a tty
// through tty.ReadStream, also epoll. Only what epoll cannot wait for (a
// regular file, /dev/null) is read with fs.read in 256 KiB steps.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tty from 'node:tty';

export interface InputHandlers {
  /** `chunk` is only valid during the call (its memory is reused) */
  data(chunk: Buffer): void;
  end(): void;
  error(err: unknown): void;
}

export interface Input {
  pause(): void;
  resume(): void;
  /** Stop reading for good and release the descriptor (if owned). */
  close(): void;
}

const FILE_READ_SIZE = 256 * 1024;

/**
 * Read `fd`, initially paused. With `keepFd`, the descriptor stays open
 * for its owner: a pipe or FIFO is read through a descriptor of its own,
 * opened through /proc/self/fd, and the caller's is never closed (the host
 * of an in-process logger holds the log pipe across restarts, as runsv does).
 */
export function openInput(fd: number, handlers: InputHandlers, keepFd = false): Input {
  const st = fs.fstatSync(fd);
  if (st.isFIFO() || st.isSocket() || tty.isatty(fd)) {
    let readFd = fd;
    if (keepFd && st.isFIFO()) readFd = fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (!keepFd || readFd !== fd) return streamInput(readFd, handlers, tty.isatty(readFd));
  }
  return fileInput(fd, handlers, !keepFd);
}

/** Bytes per read from a pipe: at most its default capacity, at first 4 KiB. */
const STREAM_READ_SIZE = 64 * 1024;
const MIN_READ_SIZE = 4096;

function streamInput(fd: number, handlers: InputHandlers, isTty: boolean): Input {
  let closed = false;
  let socket: net.Socket;
  if (isTty) {
    socket = new tty.ReadStream(fd);
    socket.on('data', (chunk: Buffer) => {
      if (!closed) handlers.data(chunk);
    });
  } else {
    // One buffer, reused for every read: no allocation per read, no stream
    // queue. It starts small (an idle logger costs little) and doubles up to
    // STREAM_READ_SIZE while reads fill it.
    let size = MIN_READ_SIZE;
    let buffer = Buffer.allocUnsafe(size);
    // `onread` is documented for net.Socket but missing from its constructor's type
    socket = new net.Socket({
      fd,
      readable: true,
      writable: false,
      onread: {
        buffer: () => {
          if (buffer.length < size) buffer = Buffer.allocUnsafe(size);
          return buffer;
        },
        callback: (n: number, buf: Uint8Array) => {
          if (n === buf.length && size < STREAM_READ_SIZE) size *= 2;
          if (!closed) handlers.data(buf.subarray(0, n) as Buffer);
          return true;
        },
      },
    } as net.SocketConstructorOpts);
  }
  socket.pause();
  socket.on('end', () => {
    if (!closed) handlers.end();
  });
  socket.on('error', (err) => {
    if (!closed) handlers.error(err);
  });
  return {
    pause: () => socket.pause(),
    resume: () => {
      if (!closed) socket.resume();
    },
    close: () => {
      if (closed) return;
      closed = true;
      socket.destroy();
    },
  };
}

function fileInput(fd: number, handlers: InputHandlers, closeFd: boolean): Input {
  let paused = true;
  let reading = false;
  let closed = false;
  const next = (): void => {
    if (paused || reading || closed) return;
    reading = true;
    const buf = Buffer.allocUnsafe(FILE_READ_SIZE);
    fs.read(fd, buf, 0, buf.length, null, (err, n) => {
      reading = false;
      if (closed) {
        release();
        return;
      }
      if (err) {
        if (err.code === 'EAGAIN') {
          setTimeout(next, 50);
          return;
        }
        handlers.error(err);
        return;
      }
      if (n === 0) {
        handlers.end();
        return;
      }
      handlers.data(buf.subarray(0, n));
      next();
    });
  };
  const release = (): void => {
    if (!closeFd) return;
    try {
      fs.closeSync(fd);
    } catch {}
  };
  return {
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      next();
    },
    close: () => {
      if (closed) return;
      closed = true;
      // a read in flight still uses the descriptor: release it afterwards
      if (!reading) release();
    },
  };
}

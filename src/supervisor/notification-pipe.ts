// s6's readiness protocol, the supervisor's side: `run` gets the write end
// of a pipe on the descriptor named in `notification-fd`; the service is
// ready at the first newline read from it. Bytes before the newline are
// ignored (a daemon may print a line there); end of file without a newline
// means the service never said it was ready (it stays up, not ready). Once
// the newline is read the read end is closed, as s6-supervise does, so a
// service that writes again gets EPIPE/SIGPIPE.
//
// Read through epoll (net.Socket on the non-blocking read end, as
// logger/input.ts does for the log pipe): no thread-pool thread waits, and
// an idle service costs nothing. Usage:
//   const pipe = notificationPipe();          // both ends close-on-exec
//   spawn run with pipe.write dup'ed onto the notification-fd number
//   closeSync(pipe.write);                    // else end of file never comes
//   const watch = watchReadiness(pipe.read, { ready, eof, error });
//   ... watch.close() when the process is gone or the service is stopped.
import * as net from 'node:net';
import { closeSync } from 'node:fs';
import { pipe } from '../sys/fd.js';

/** A pipe for one start of `run`: both ends close-on-exec and blocking (the read end becomes non-blocking when watched). */
export function notificationPipe(): { read: number; write: number } {
  return pipe();
}

export interface ReadinessHandlers {
  /** the first newline arrived (called at most once) */
  ready(): void;
  /** end of file before any newline: this start will never be ready */
  eof(): void;
  /** reading failed (the service is treated as not ready) */
  error(err: unknown): void;
}

export interface ReadinessWatch {
  /** Stop reading and close the read end (idempotent; done already after ready, eof or error). */
  close(): void;
}

const NEWLINE = 0x0a;

/**
 * Watch the read end `readFd` (taken over: it is closed when done) for the
 * first newline. At most one of the handlers is called, once.
 */
export function watchReadiness(readFd: number, handlers: ReadinessHandlers): ReadinessWatch {
  let done = false;
  let socket: net.Socket;
  try {
    // one small buffer reused: what comes before the newline is not kept
    const buffer = Buffer.allocUnsafe(512);
    socket = new net.Socket({
      fd: readFd,
      readable: true,
      writable: false,
      onread: {
        buffer,
        callback: (n: number, buf: Uint8Array) => {
          if (!done && buf.subarray(0, n).includes(NEWLINE)) finish(handlers.ready);
          return !done;
        },
      },
    } as net.SocketConstructorOpts);
  } catch (err) {
    try {
      closeSync(readFd);
    } catch {}
    throw err;
  }
  const finish = (report: () => void): void => {
    if (done) return;
    done = true;
    socket.destroy();
    report();
  };
  socket.on('end', () => finish(handlers.eof));
  socket.on('error', (err) => finish(() => handlers.error(err)));
  return {
    close: () => {
      if (done) return;
      done = true;
      socket.destroy();
    },
  };
}

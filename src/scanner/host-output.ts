// The one way out for every message of a runsvdir process: its own, its
// supervisors' (`runsv NAME: warning: ...`) and its in-process loggers'
// (`svlogd: ...`, lines selected by `e`). Under runit each of those
// processes blocks on a full stderr by itself; here they share one event
// loop, so a blocked write would stop every service's supervision, and with
// the log argument (runsvdir reads its own fd 2) it would never end. So
// nothing here waits. A message is written at once if the destination takes
// it; what it does not take is kept, in order, up to a bound, and written
// later (retried on a timer that backs off, never a loop); beyond the bound
// whole lines are dropped and counted, and the count is said where they
// would have been (`runsvdir DIR: warning: N bytes of messages dropped`)
// once half the queue has been written.
import type { TryWrite } from '../sys/nonblocking-writer.js';

/** Bytes of messages kept while the destination takes none. */
const QUEUE_LIMIT = 64 * 1024;
const RETRY_MIN_MS = 10;
const RETRY_MAX_MS = 250;
const NL = 10;

export class HostOutput {
  private queue: Buffer[] = [];
  private queued = 0;
  /** bytes dropped since the queue was full; while non-zero, every new message is dropped too */
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private delay = RETRY_MIN_MS;

  constructor(
    private readonly destination: TryWrite,
    /** the line saying that `bytes` were dropped */
    private readonly droppedLine: (bytes: number) => string,
    private readonly limit = QUEUE_LIMIT,
  ) {}

  /** Write `data` (whole lines) now, later, or not at all; never waits. */
  write(data: string | Buffer): void {
    let buf = typeof data === 'string' ? Buffer.from(data) : data;
    if (buf.length === 0) return;
    if (this.dropped > 0) {
      this.dropped += buf.length;
      return;
    }
    if (this.queued === 0) {
      const n = this.attempt(buf);
      if (n === buf.length) return;
      // the line begun is finished whatever the bound: no line is cut
      const eol = buf.indexOf(NL, n);
      const end = eol < 0 ? buf.length : eol + 1;
      this.push(buf.subarray(n, end));
      buf = buf.subarray(end);
    }
    this.keep(buf);
    this.arm();
  }

  /** At exit: one last try, without waiting, for what is still kept. */
  flushAtExit(): void {
    clearTimeout(this.timer);
    this.writeQueue();
    if (this.dropped > 0) this.attempt(Buffer.from(this.droppedLine(this.dropped)));
  }

  /** Keep the lines of `buf` that fit; drop the rest. */
  private keep(buf: Buffer): void {
    if (buf.length === 0) return;
    const room = this.limit - this.queued;
    if (buf.length <= room) return this.push(buf);
    const end = room > 0 ? buf.lastIndexOf(NL, room - 1) + 1 : 0;
    if (end > 0) this.push(buf.subarray(0, end));
    this.dropped += buf.length - end;
  }

  /** Queue a copy: the caller may reuse its buffer. */
  private push(buf: Buffer): void {
    if (buf.length === 0) return;
    this.queue.push(Buffer.from(buf));
    this.queued += buf.length;
  }

  /** Bytes the destination took; a failed destination (closed, EIO) takes everything and keeps nothing, as a write to a closed stderr. */
  private attempt(buf: Buffer): number {
    try {
      return this.destination(buf);
    } catch {
      return buf.length;
    }
  }

  private writeQueue(): void {
    if (this.queued === 0) return;
    const all = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue);
    const n = this.attempt(all);
    this.queued -= n;
    this.queue = n < all.length ? [all.subarray(n)] : [];
  }

  private arm(): void {
    if (this.timer || (this.queued === 0 && this.dropped === 0)) return;
    this.timer = setTimeout(() => this.retry(), this.delay);
    this.timer.unref();
  }

  private retry(): void {
    this.timer = undefined;
    const before = this.queued;
    this.writeQueue();
    if (this.dropped > 0 && this.queued <= this.limit / 2) {
      this.push(Buffer.from(this.droppedLine(this.dropped)));
      this.dropped = 0;
      this.writeQueue();
    }
    this.delay = this.queued < before ? RETRY_MIN_MS : Math.min(this.delay * 2, RETRY_MAX_MS);
    this.arm();
  }
}

/** A destination that takes everything at once (the process title of the log argument). */
export function takesAll(show: (data: Buffer) => void): TryWrite {
  return (data) => {
    show(data);
    return data.length;
  };
}

// The write queue of one log directory: operations (write these bytes,
// rotate, tell me when done) run one at a time, in order. A chunk of input
// becomes one writev. Writes go to the page cache, so they are made
// directly (writevSync, up to DIRECT_TURN_BYTES in one go) while they are
// quick; after a slow one (a disk that throttles its writers) they run on
// libuv's thread pool for a while, so a slow or full disk never blocks the
// event loop for long. A rotation runs between writes, and what was queued
// during its fsync follows at once, in the same turn. A failing write
// pauses (retry.ts); a step given up after TERM ends all writing, and the
// bytes that were not written are counted for the closing message.
import * as fs from 'node:fs';
import * as fsp from '../sys/async-fs.js';
import { skipBytes } from '../sys/iovec.js';
import { GiveUp, type PausingRetry } from './retry.js';
import type { PlannedOutput } from './output-plan.js';

/** The directory's `current`, open for appending, or -1. Shared with the rotation, which replaces it. */
export interface CurrentFile {
  fd: number;
}

export interface WriteQueueHooks {
  /** rotate `current`, which holds `size` bytes */
  rotate(size: number, processor: string): Promise<void>;
  /** a write failed with `err`: resolves true to write again at once (room was made on a full disk) */
  recover(err: unknown): Promise<boolean>;
  /** `n` more bytes of the stream are in `current` */
  wrote(n: number): void;
  /** the queue got shorter */
  drained(): void;
}

type Op = { kind: 'write'; bufs: Buffer[]; bytes: number } | { kind: 'rotate'; size: number; processor: string } | { kind: 'barrier'; resolve: () => void };

/**
 * Bytes written directly (writevSync) in one go: a chunk's output as it is
 * planned, or what was queued during a rotation's fsync once it is done.
 * More goes through the thread pool.
 */
const DIRECT_TURN_BYTES = 1024 * 1024;
/** A direct write that took longer than this sends writes to the thread pool... */
const SLOW_WRITE_MS = 20;
/** ...for this long. */
const DIRECT_BACKOFF_MS = 2000;
const MAX_WRITEV_BUFS = 512;
const MAX_WRITEV_BYTES = 8 * 1024 * 1024;

export class WriteQueue implements PlannedOutput {
  /** bytes waiting to be written */
  queuedBytes = 0;
  private queue: Op[] = [];
  private running = false;
  /** a step was given up after terminate(): nothing more is written */
  private givenUp = false;
  private lost = 0;
  private lostError: unknown;
  /** performance.now() until which writes go to the thread pool (a direct write was slow) */
  private directOffUntil = 0;
  /** after abort(), called once no write is in flight any more */
  private whenStopped: (() => void) | undefined;
  /** bytes at the head of the stream the files already hold (journal recovery): left out, counted as written */
  private toSkip = 0;

  constructor(
    private readonly current: CurrentFile,
    private readonly retry: PausingRetry,
    private readonly hooks: WriteQueueHooks,
  ) {}

  /** Bytes that a step given up after TERM left unwritten, and why; undefined while nothing was given up. */
  get loss(): { bytes: number; error: unknown } | undefined {
    return this.givenUp ? { bytes: this.lost, error: this.lostError } : undefined;
  }

  private get stopped(): boolean {
    return this.givenUp || this.retry.aborted;
  }

  /** Leave out the next `n` bytes given to write(): the files hold them already. */
  skip(n: number): void {
    this.toSkip = n;
  }

  write(bufs: Buffer[], bytes: number): void {
    if (this.stopped) {
      this.lost += bytes;
      return;
    }
    if (this.toSkip > 0) {
      const n = Math.min(this.toSkip, bytes);
      this.toSkip -= n;
      this.hooks.wrote(n);
      if (n === bytes) return;
      bufs = skipBytes(bufs, n);
      bytes -= n;
    }
    if (bytes <= DIRECT_TURN_BYTES && !this.running && this.queue.length === 0) {
      // Nothing is waiting: the write is made at once, in the same turn as
      // the read that brought it, as runit writes each line. What the
      // process holds unwritten stays small, even if it is killed.
      const n = this.writeDirect(bufs);
      if (n === bytes) return;
      bufs = skipBytes(bufs, n);
      bytes -= n;
    }
    this.queuedBytes += bytes;
    this.enqueue({ kind: 'write', bufs, bytes });
  }

  rotate(size: number, processor: string): void {
    this.enqueue({ kind: 'rotate', size, processor });
  }

  /** Resolves when everything queued so far has been done (or given up), rotations included. */
  async drain(): Promise<void> {
    if (this.running || this.queue.length > 0) await new Promise<void>((resolve) => this.enqueue({ kind: 'barrier', resolve }));
  }

  /** Drop everything queued (the retry was aborted); `stopped` runs once no write is in flight. */
  abort(stopped: () => void): void {
    this.dropQueue();
    if (this.running) this.whenStopped = stopped;
    else stopped();
  }

  /**
   * Write `bufs` directly if writes are quick here; returns how many bytes
   * were written (0 when not tried). A failure or a short write leaves the
   * rest to the retrying way, which reports it.
   */
  private writeDirect(bufs: Buffer[]): number {
    const fd = this.current.fd;
    if (fd < 0) return 0;
    const t0 = performance.now();
    if (t0 < this.directOffUntil) return 0;
    let n = 0;
    try {
      n = fs.writevSync(fd, bufs);
    } catch {
      n = 0;
    }
    const t1 = performance.now();
    if (t1 - t0 > SLOW_WRITE_MS) this.directOffUntil = t1 + DIRECT_BACKOFF_MS;
    this.hooks.wrote(n);
    return n;
  }

  private enqueue(op: Op): void {
    if (this.stopped) {
      if (op.kind === 'barrier') op.resolve();
      return;
    }
    this.queue.push(op);
    if (!this.running) {
      this.running = true;
      void this.run();
    }
  }

  private async run(): Promise<void> {
    try {
      // bytes that may still be written directly before the next await
      let direct = DIRECT_TURN_BYTES;
      while (this.queue.length > 0) {
        const op = this.queue[0]!;
        if (op.kind === 'barrier') {
          this.queue.shift();
          op.resolve();
        } else if (op.kind === 'rotate') {
          await this.hooks.rotate(op.size, op.processor);
          this.queue.shift();
          direct = DIRECT_TURN_BYTES;
        } else {
          let count = 0;
          let bytes = 0;
          const bufs: Buffer[] = [];
          for (const next of this.queue) {
            if (next.kind !== 'write' || bufs.length + next.bufs.length > MAX_WRITEV_BUFS || (count > 0 && bytes + next.bytes > MAX_WRITEV_BYTES)) break;
            bufs.push(...next.bufs);
            bytes += next.bytes;
            count++;
          }
          const n = bytes <= direct ? this.writeDirect(bufs) : 0;
          this.queuedBytes -= n;
          direct -= n;
          if (n < bytes) {
            await this.writeAll(n ? skipBytes(bufs, n) : bufs, bytes - n);
            direct = DIRECT_TURN_BYTES;
          }
          this.queue.splice(0, count);
          this.hooks.drained();
        }
      }
    } catch (err) {
      this.giveUp(err instanceof GiveUp ? err.reason : err);
    } finally {
      this.running = false;
      const stopped = this.whenStopped;
      this.whenStopped = undefined;
      stopped?.();
    }
  }

  /** On the thread pool, retrying (and pausing) until every byte is written. */
  private async writeAll(bufs: Buffer[], bytes: number): Promise<void> {
    let left = bufs;
    let remaining = bytes;
    while (remaining > 0) {
      const n = await this.retry.retry(
        'unable to write to current',
        () => fsp.writev(this.current.fd, left),
        (err) => this.hooks.recover(err),
      );
      remaining -= n;
      this.queuedBytes -= n;
      this.hooks.wrote(n);
      if (remaining > 0) left = skipBytes(left, n);
    }
  }

  /** Stop writing: count every queued byte as lost, release waiters. */
  private giveUp(cause: unknown): void {
    this.givenUp = true;
    this.lostError = cause;
    this.lost += this.queuedBytes;
    this.dropQueue();
    this.hooks.drained();
  }

  private dropQueue(): void {
    const queue = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const op of queue) if (op.kind === 'barrier') op.resolve();
  }
}

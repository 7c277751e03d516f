// The in-process logger's input when it keeps a journal (journal.ts): the
// log pipe's bytes are moved into the journal's spool by splice(2) — out
// of the pipe and into the page cache in one system call, so a kill at any
// moment leaves each byte in one of the two — and read back from there.
// The logger records, at each rotation and when the spool is compacted,
// how far its output has been written (record()); a logger started after
// a kill replays the spool from that point (recovered, replayFrom()).
// Readiness of the pipe comes from sys/fd-watch.ts (the one epoll set on
// the thread pool), since Node would read what it watches.
import * as fs from 'node:fs';
import { spliceToFile, setPipeSize } from '../sys/splice.js';
import { watchReadableOnce, type ReadableWatch } from '../sys/fd-watch.js';
import { encodeRecord, newestRecord, replayFrom, slotOffset, SLOT, SPOOL_START, type DirRecord, type JournalRecord } from './journal.js';
import type { Input, InputHandlers } from './input.js';

/** The point up to which every directory holds the output: an input offset (bytes delivered before it). */
export interface Ack {
  input: number;
  dirs: DirRecord[];
}

/** Bytes moved from the pipe per splice (a grown pipe holds up to 1 MiB). */
const SPLICE_SIZE = 256 * 1024;
/**
 * Bytes read back per read: one chunk for the logger. Larger chunks cost
 * more than they save: the bulk path's strings (Logger.inBulk) then land
 * in V8's large-object space (measured: 64 KiB ~35% less CPU than 256 KiB).
 */
const READ_SIZE = 64 * 1024;
/** Reads before the event loop gets a turn (as libuv's 32 per wake-up). */
const READS_PER_TURN = 32;
/** Compact once the spool is this long and what is still needed is short. */
const COMPACT_AT = 1024 * 1024;
/**
 * A pipe found full (a splice took its whole default capacity) is grown to
 * this (F_SETPIPE_SZ, within /proc/sys/fs/pipe-max-size): a busy service
 * then waits less often for its logger, and each wake-up moves more. Its
 * pages are only taken while bytes are in it.
 */
const BUSY_PIPE_SIZE = 1024 * 1024;
const DEFAULT_PIPE_SIZE = 64 * 1024;

export class JournalInput implements Input {
  /** the record found at start (the previous logger's), if any */
  readonly recovered: JournalRecord | undefined;
  /** set by the logger: the point its output has reached */
  ack: (() => Ack | undefined) | undefined;

  private readonly jfd: number;
  private readonly pipeFd: number;
  private readonly watch: ReadableWatch;
  private readonly buf = Buffer.allocUnsafe(READ_SIZE);
  private seq: number;
  /** spool offset of the next byte to deliver */
  private readPos: number;
  /** end of the spool (the file's size) */
  private spoolEnd: number;
  /** bytes delivered since start */
  private delivered = 0;
  private paused = true;
  private pumping = false;
  private scheduled = false;
  private eof = false;
  private ended = false;
  private closed = false;
  private grown = false;

  constructor(
    pipeFd: number,
    private readonly path: string,
    private readonly handlers: InputHandlers,
  ) {
    this.jfd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      const slots = Buffer.alloc(2 * SLOT);
      const n = fs.readSync(this.jfd, slots, 0, slots.length, 0);
      slots.fill(0, n);
      this.recovered = newestRecord(slots.subarray(0, SLOT), slots.subarray(SLOT));
      this.seq = (this.recovered?.seq ?? 0) + 1;
      const size = fs.fstatSync(this.jfd).size;
      this.readPos = replayFrom(this.recovered, size);
      this.spoolEnd = Math.max(size, SPOOL_START);
      // a pipe of our own: the host's descriptor stays as it is
      this.pipeFd = fs.openSync(`/proc/self/fd/${pipeFd}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      this.watch = watchReadableOnce(this.pipeFd, () => this.pump());
    } catch (err) {
      fs.closeSync(this.jfd);
      throw err;
    }
  }

  /** Whether bytes from before this start are waiting in the spool. */
  get replaying(): boolean {
    return this.readPos < this.spoolEnd;
  }

  /** Spool offset of input offset `input` (input offsets count bytes delivered). */
  private spoolPos(input: number): number {
    return this.readPos - (this.delivered - input);
  }

  /**
   * Write a record: the output of everything before input offset
   * `ack.input` is in the directories, where `ack.dirs` say. Synchronous
   * (a small write to the page cache).
   */
  record(ack: Ack): void {
    const record: JournalRecord = { seq: this.seq++, x: this.spoolPos(ack.input), dirs: ack.dirs };
    const bytes = encodeRecord(record);
    fs.writeSync(this.jfd, bytes, 0, bytes.length, slotOffset(record.seq));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (this.closed || this.ended) return;
    this.paused = false;
    this.pump();
  }

  /** Stop reading; the journal stays open for records until finished(). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch.close();
    try {
      fs.closeSync(this.pipeFd);
    } catch {}
  }

  /**
   * The logger is done. `clean`: it ended normally with everything it was
   * given written: a final record, and the journal goes when nothing is
   * left in it. Else the journal stays for the next logger.
   */
  finished(clean: boolean): void {
    this.close();
    try {
      if (clean) {
        const ack = this.ack?.();
        if (ack) this.record(ack);
        if (ack && this.spoolPos(ack.input) >= this.spoolEnd) fs.unlinkSync(this.path);
      }
    } catch {
    } finally {
      try {
        fs.closeSync(this.jfd);
      } catch {}
    }
  }

  private pump(): void {
    if (this.pumping || this.paused || this.closed || this.ended) return;
    this.pumping = true;
    try {
      for (let reads = 0; reads < READS_PER_TURN && !this.paused && !this.closed && !this.ended; reads++) {
        if (!this.eof && this.readPos >= this.spoolEnd) {
          const k = spliceToFile(this.pipeFd, this.jfd, this.spoolEnd, SPLICE_SIZE);
          if (k >= DEFAULT_PIPE_SIZE && !this.grown) {
            this.grown = true;
            setPipeSize(this.pipeFd, BUSY_PIPE_SIZE);
          }
          if (k > 0) this.spoolEnd += k;
          else if (k === 0) this.eof = true;
          else {
            // empty: wait for the writer
            this.watch.arm();
            return;
          }
        }
        if (this.readPos < this.spoolEnd) {
          const want = Math.min(READ_SIZE, this.spoolEnd - this.readPos);
          const n = fs.readSync(this.jfd, this.buf, 0, want, this.readPos);
          if (n <= 0) throw new Error('journal shorter than expected');
          this.readPos += n;
          this.delivered += n;
          this.handlers.data(this.buf.subarray(0, n));
          this.compact();
        } else if (this.eof) {
          this.ended = true;
          this.handlers.end();
          return;
        }
      }
      if (!this.paused && !this.closed && !this.ended && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    } catch (err) {
      this.ended = true;
      this.handlers.error(err);
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Keep the spool short: once it is long, and the part still needed (from
   * the acknowledged point on) fits before that point, copy that part to
   * the spool's start, cut the file after it, then record. A kill between
   * the cut and the record leaves a record pointing beyond the end, which
   * replayFrom() reads as "replay from the start".
   */
  private compact(): void {
    if (this.spoolEnd < SPOOL_START + COMPACT_AT) return;
    const ack = this.ack?.();
    if (!ack) return;
    const from = this.spoolPos(ack.input);
    const keep = this.spoolEnd - from;
    if (from <= SPOOL_START + keep) return;
    if (keep > 0) {
      const copy = Buffer.allocUnsafe(keep);
      const n = fs.readSync(this.jfd, copy, 0, keep, from);
      if (n !== keep) throw new Error('journal shorter than expected');
      fs.writeSync(this.jfd, copy, 0, keep, SPOOL_START);
    }
    fs.ftruncateSync(this.jfd, SPOOL_START + keep);
    const shift = from - SPOOL_START;
    this.readPos -= shift;
    this.spoolEnd -= shift;
    this.record(ack);
  }
}

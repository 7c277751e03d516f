// One log directory (reference §6.2, §6.5): its lock, config, `current`,
// rotation, old-file limits, time rotation, and the queue of writes.
//
// Two halves. The planning half is synchronous and runs as lines are cut:
// it appends the bytes of selected lines to an output buffer and asks the
// WriteModel where runit would have rotated. The executing half is a queue
// of operations (write these bytes, rotate) run one at a time: a chunk of
// input becomes one writev per directory. Writes go to the page cache, so
// they are made directly (writevSync, up to DIRECT_TURN_BYTES in one go)
// while they are quick; after a slow one (a disk that throttles its
// writers) they run on libuv's thread pool for a while, so a slow or full
// disk never blocks the event loop for long. A rotation's fsync
// runs on the thread pool while input goes on being read and planned; its
// metadata steps (chmod, rename, open) are direct calls, and the writes
// queued meanwhile follow at once, in the same turn. Any failing
// step pauses this directory: message, 3-second timer, retry — nothing
// dropped. Once the logger is told to terminate, a pausing directory gets
// one more try, then gives up and says how many bytes it could not write.
import { join } from 'node:path';
import * as fs from 'node:fs';
import { flockExclusive } from '../sys/fd.js';
import { errorTextOf } from '../sys/errstr.js';
import { errorCode } from '../sys/errors.js';
import { taiLabel, taiNow } from '../protocol/tai64n.js';
import type { SpawnOptions } from '../sys/spawn.js';
import { defaultConfig, parseConfig, type LogDirConfig } from './config.js';
import { WriteModel } from './write-model.js';
import { STAMP_LENGTH } from './timestamp.js';
import { Processors } from './processor.js';
import { UdpSender } from './udp.js';
import type { Reporter } from './report.js';
import * as fsp from './fsp.js';

export interface LogDirContext {
  readonly reporter: Reporter;
  readonly verbose: boolean;
  readonly lineMax: number;
  readonly bufLen: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly processorStderr: number | 'ignore';
  readonly spawnOptions?: Partial<SpawnOptions>;
  /** the write queue of `dir` got shorter */
  drained(dir: LogDir): void;
  /** the `t` deadline of `dir` has come */
  timeUp(dir: LogDir): void;
}

/** Thrown out of a retry loop that gave up (TERM while pausing, or kill). */
class GiveUp extends Error {
  constructor(readonly reason: unknown) {
    super('given up');
  }
}

type Op = { kind: 'write'; bufs: Buffer[]; bytes: number } | { kind: 'rotate'; size: number; processor: string } | { kind: 'barrier'; resolve: () => void };

const PAUSE_MS = 3000;
const MIN_BLOCK_SIZE = 16 * 1024;
/** Written blocks kept for reuse: up to SPARE_BUSY while they are being used again (a rotation's fsync lets a few fill up)... */
const SPARE_BUSY = 8;
/** ...and SPARE_BLOCKS once a second has passed without needing the others. */
const SPARE_BLOCKS = 2;
const SPARE_TRIM_MS = 1000;
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
const EMPTY = Buffer.alloc(0);
const UDP_FAILURE = Buffer.from('warning: failure sending through udp: ');
const NO_UDP = Buffer.from('warning: no udp socket available: ');
const DOTS_NL = Buffer.from('...\n');
const NL = Buffer.from('\n');

/** An `@<tai64n>.<c>` old-file name: 27 bytes starting with `@`. */
function isOldName(name: string): boolean {
  return name.length === 27 && name[0] === '@';
}

export class LogDir {
  /** usable for writing (opened and locked) */
  functional = false;
  config: LogDirConfig = defaultConfig();
  /** bytes waiting in the write queue */
  queuedBytes = 0;
  /** selection of the long line in progress: written here */
  longSelected = false;
  /** every line goes to `current`, nothing to stderr or UDP (no + - e E u U lines) */
  simple = true;

  private model: WriteModel | undefined;
  // planned output, in absolute stream positions: sealed pieces, plus the
  // piece being filled at the end of the current block. A block also holds
  // a copy of the input chunk being cut (with the stamp and prefix), so
  // each line is placed with copyWithin: no view object, no allocation.
  private pieces: Array<{ buf: Buffer; start: number }> = [];
  private block: Buffer = EMPTY;
  private blockPos = 0;
  private pieceOff = 0;
  private pieceStart = 0;
  private appended = 0;
  private committed = 0;
  private src: Buffer | undefined;
  private srcStamp: Buffer = EMPTY;
  private srcOff = 0;
  private stampOff = 0;
  private prefixOff = 0;
  private view: DataView = new DataView(new ArrayBuffer(0));
  /** full blocks and the stream position after their last byte; reusable once written */
  private retired: Array<{ block: Buffer; end: number }> = [];
  private spare: Buffer[] = [];
  /** the fewest spare blocks there were since the trim timer was armed */
  private spareLow = 0;
  private spareTimer: NodeJS.Timeout | undefined;
  /** stream position of the bytes written so far */
  private written = 0;
  /** the newest file rotated for a processor (runit's pending `.u`) */
  private lastPending: string | undefined;
  /** old-file limits and processor starts after rotations, in order */
  private housekeeping: Promise<void> = Promise.resolve();
  /** the staged stamp (26 bytes) as six int32 and one uint16, little-endian */
  private readonly stampWords = new Int32Array(7);
  private markers: Array<{ pos: number; size: number }> = [];
  private accepting = false;

  // execution
  private queue: Op[] = [];
  private running = false;
  private fdCur = -1;
  private fdLock = -1;
  private terminating = false;
  private aborted = false;
  private pauseTimer: NodeJS.Timeout | undefined;
  private pauseWake: (() => void) | undefined;
  /** a step was given up after terminate(): nothing more is written */
  private givenUp = false;
  private lost = 0;
  private lostError: unknown;

  /**
   * O_NOFOLLOW when a user other than this process's can write the
   * directory (it is not ours, or group or others may write it): a
   * symbolic link there may have been planted to make svlogd write, create,
   * truncate or chmod a file elsewhere with its privileges. Else 0, and
   * links are followed as runit follows them.
   */
  private noFollow = 0;

  private timer: NodeJS.Timeout | undefined;
  private deadline = 0;
  private udp: UdpSender | undefined;
  readonly processors: Processors;

  constructor(
    /** the name as given, for messages */
    readonly name: string,
    /** the directory's absolute path */
    readonly path: string,
    private readonly ctx: LogDirContext,
  ) {
    const self = this;
    this.processors = new Processors({
      name,
      path,
      verbose: ctx.verbose,
      info: (t) => ctx.reporter.info(t),
      warning: (t) => ctx.reporter.warning(t),
      retry: (m, s) => self.retry(m, s),
      processed: () => {
        // processed files count as old files once they are done
        self.housekeeping = self.housekeeping.then(() => self.removeOld()).catch(() => {});
      },
      env: ctx.env,
      stderr: ctx.processorStderr,
      spawnOptions: ctx.spawnOptions,
      get noFollow() {
        return self.noFollow;
      },
    });
  }

  private info(text: string): void {
    if (this.ctx.verbose) this.ctx.reporter.info(text);
  }

  private warn(what: string, err: unknown): void {
    this.ctx.reporter.warning(`${what}: ${this.name}: ${errorTextOf(err)}`);
  }

  private file(name: string): string {
    return join(this.path, name);
  }

  // ---- opening and closing -------------------------------------------

  /**
   * runit's logdir_open: check the directory, lock it, read `config`, save
   * an unfinished `current` as `.u`, open `current`. False (with runit's
   * warning) when the directory cannot be used.
   */
  async open(): Promise<boolean> {
    const ctx = this.ctx;
    let dirFd: number;
    try {
      dirFd = await fsp.openRead(this.path);
    } catch (err) {
      this.warn('unable to open log directory', err);
      return false;
    }
    try {
      const st = await fsp.fstat(dirFd);
      if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      await fsp.access(this.path, fs.constants.X_OK);
      this.noFollow = st.uid !== process.geteuid?.() || st.mode & 0o022 ? fs.constants.O_NOFOLLOW : 0;
    } catch (err) {
      this.warn('unable to change directory', err);
      return false;
    } finally {
      fsp.closeQuietly(dirFd);
    }
    try {
      this.fdLock = await fsp.openAppend(this.file('lock'), this.noFollow);
      flockExclusive(this.fdLock, false, this.file('lock'));
    } catch (err) {
      if (this.fdLock >= 0) fsp.closeQuietly(this.fdLock);
      this.fdLock = -1;
      this.warn('unable to lock directory', err);
      return false;
    }

    this.config = defaultConfig();
    let data: Buffer | undefined;
    try {
      data = await fsp.readFile(this.file('config'), this.noFollow);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') {
        this.warn('unable to read config', err);
        this.info(`read: ${this.name}/config`);
      }
    }
    if (data) {
      this.info(`read: ${this.name}/config`);
      this.config = parseConfig(data, (m) => ctx.reporter.warning(m));
    }
    this.armTimer();

    let size = 0;
    let isNew = true;
    try {
      // a symbolic link where it must not be followed is moved aside like an unfinished current
      const st = this.noFollow ? await fsp.lstat(this.file('current')) : await fsp.stat(this.file('current'));
      if (st.isSymbolicLink() || (st.size > 0 && !(st.mode & 0o100))) {
        const saved = this.uniqueName('u');
        await this.retry('unable to rename current', () => fsp.rename(this.file('current'), this.file(saved)));
        await this.removeOld();
      } else {
        size = st.size;
        isNew = false;
      }
    } catch (err) {
      if (err instanceof GiveUp) return this.failOpen();
      if (errorCode(err) !== 'ENOENT') {
        this.warn('unable to stat current', err);
        return this.failOpen();
      }
    }
    try {
      this.fdCur = await this.retry('unable to open current', () => fsp.openAppend(this.file('current'), this.noFollow));
      await this.retry('unable to set mode of current', () => fsp.fchmod(this.fdCur, 0o644));
    } catch {
      return this.failOpen();
    }
    this.info(`${isNew ? 'new' : 'append'}: ${this.name}/current`);

    this.model = new WriteModel(this.config.sizeMax, ctx.lineMax, ctx.bufLen, size, (pos, rotated) => this.planRotation(pos, rotated));
    this.model.pos = this.appended;
    this.committed = this.appended;
    this.simple = this.config.instructions.length === 0 && !this.config.udp && !this.config.udpOnly;
    this.functional = true;
    this.accepting = true;
    return true;
  }

  private failOpen(): false {
    this.disarmTimer();
    if (this.fdCur >= 0) fsp.closeQuietly(this.fdCur);
    if (this.fdLock >= 0) fsp.closeQuietly(this.fdLock);
    this.fdCur = this.fdLock = -1;
    return false;
  }

  /**
   * runit's logdir_close: `current` gets mode 0744 (complete) and the lock
   * is released. Call after drain().
   */
  async close(): Promise<void> {
    if (!this.functional) return;
    this.functional = false;
    this.accepting = false;
    this.disarmTimer();
    this.dropSpare();
    this.udp?.close();
    this.udp = undefined;
    this.info(`close: ${this.name}`);
    if (this.fdCur >= 0) {
      const fd = this.fdCur;
      this.fdCur = -1;
      if (!this.givenUp) {
        try {
          await this.retry('unable to fsync current logfile', () => fsp.fsync(fd));
          await this.retry('unable to set mode of current', () => fsp.fchmod(fd, 0o744));
        } catch {
          // given up: `current` keeps mode 0644, so it is saved as `.u` at the next start
        }
      }
      await fsp.close(fd).catch(() => {});
    }
    if (this.fdLock >= 0) await fsp.close(this.fdLock).catch(() => {});
    this.fdLock = -1;
    if (this.givenUp) {
      this.ctx.reporter.warning(`giving up after sigterm, ${this.lost} bytes not written: ${this.name}: ${errorTextOf(this.lostError)}`);
    }
  }

  /** End of the logger: write everything, wait for processors, close. */
  async finish(): Promise<void> {
    this.flushHeld();
    this.accepting = false;
    await this.drain();
    this.processors.finish();
    this.processors.start();
    await this.processors.idle();
    await this.close();
  }

  /** From now on a pausing step is retried once more, then given up. */
  terminate(): void {
    this.terminating = true;
  }

  /** Stop at once: nothing more is written, processors are killed, `current` stays as it is. */
  kill(): void {
    this.aborted = true;
    this.accepting = false;
    this.functional = false;
    this.disarmTimer();
    this.udp?.close();
    this.processors.kill();
    this.wakePause();
    this.dropQueue();
    this.dropSpare();
    // a write in flight still uses `current`: close once it is back
    if (!this.running) this.closeFds();
  }

  private closeFds(): void {
    if (this.fdCur >= 0) fsp.closeQuietly(this.fdCur);
    if (this.fdLock >= 0) fsp.closeQuietly(this.fdLock);
    this.fdCur = this.fdLock = -1;
  }

  // ---- time rotation ---------------------------------------------------

  private armTimer(): void {
    this.disarmTimer();
    if (!this.config.tMax) return;
    this.deadline = performance.now() + this.config.tMax * 1000;
    this.schedule();
  }

  private schedule(): void {
    const delay = Math.min(Math.max(this.deadline - performance.now(), 0), 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (performance.now() + 1 < this.deadline) this.schedule();
      else this.ctx.timeUp(this);
    }, delay);
  }

  private disarmTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The deadline came (called by the logger when it may plan): rotate if non-empty, re-arm. */
  timeRotate(): void {
    if (!this.functional) return;
    this.model!.forceRotate();
    this.armTimer();
    this.commit();
  }

  // ---- planning ----------------------------------------------------------

  private planRotation(pos: number, size: number): void {
    this.markers.push({ pos, size });
    // runit re-arms `t` on any rotation once its deadline has passed
    if (this.config.tMax && performance.now() >= this.deadline) this.armTimer();
  }

  get prefix(): Buffer {
    return this.config.prefix;
  }

  /** End the piece being filled; the next one starts at the block's free space. */
  private seal(): void {
    if (this.blockPos > this.pieceOff) this.pieces.push({ buf: this.block.subarray(this.pieceOff, this.blockPos), start: this.pieceStart });
    this.pieceOff = this.blockPos;
    this.pieceStart = this.appended;
  }

  private stagedLength(): number {
    return this.src ? this.src.length + this.srcStamp.length + this.config.prefix.length : 0;
  }

  /** A new block with room for `n` bytes of output (the staged chunk is copied again). */
  private newBlock(n: number): void {
    this.seal();
    if (this.block.length) this.retired.push({ block: this.block, end: this.appended });
    // sized by the input: small for a quiet service, a few chunks (each
    // staged, with its output) when busy
    const staged = this.stagedLength();
    const size = Math.max(MIN_BLOCK_SIZE, staged + n, 8 * staged);
    const reuse = this.spare.findIndex((b) => b.length >= size);
    if (reuse >= 0) {
      this.block = this.spare.splice(reuse, 1)[0]!;
      if (this.spare.length < this.spareLow) this.spareLow = this.spare.length;
    } else {
      // spare blocks too small for this input are from quieter times
      this.spare = this.spare.filter((b) => b.length >= size);
      this.block = Buffer.allocUnsafe(size);
    }
    this.view = new DataView(this.block.buffer, this.block.byteOffset, this.block.length);
    this.blockPos = 0;
    this.placeStage();
  }

  private placeStage(): void {
    const src = this.src;
    if (src) {
      const blk = this.block;
      let o = this.blockPos;
      this.srcOff = o;
      blk.set(src, o);
      o += src.length;
      this.stampOff = o;
      blk.set(this.srcStamp, o);
      o += this.srcStamp.length;
      this.prefixOff = o;
      blk.set(this.config.prefix, o);
      o += this.config.prefix.length;
      this.blockPos = o;
    }
    this.pieceOff = this.blockPos;
    this.pieceStart = this.appended;
  }

  /** The input chunk about to be cut into lines, and its stamp (see appendLine). */
  stage(chunk: Buffer, stamp: Buffer): void {
    this.src = chunk;
    if (stamp !== this.srcStamp && stamp.length === STAMP_LENGTH) {
      const w = this.stampWords;
      for (let i = 0; i < 6; i++) w[i] = stamp.readInt32LE(4 * i);
      w[6] = stamp.readUInt16LE(24);
    }
    this.srcStamp = stamp;
    const need = this.stagedLength();
    if (this.block.length - this.blockPos < need + 2 * chunk.length) {
      this.newBlock(2 * chunk.length);
    } else {
      this.seal();
      this.placeStage();
    }
  }

  /** The chunk is done (it may be reused by its owner). */
  unstage(): void {
    this.src = undefined;
  }

  private appendBytes(parts: readonly Buffer[], total: number): void {
    if (this.block.length - this.blockPos < total) this.newBlock(total);
    const blk = this.block;
    let o = this.blockPos;
    for (const part of parts) {
      blk.set(part, o);
      o += part.length;
    }
    this.blockPos = o;
    this.appended += total;
  }

  /** A selected line shorter than `-l`: stamp, prefix, line, newline. */
  appendLine(stamp: Buffer, buf: Buffer, start: number, end: number): void {
    const prefix = this.config.prefix;
    const len = end - start;
    const sl = stamp.length;
    const pl = prefix.length;
    const total = sl + pl + len + 1;
    if (this.block.length - this.blockPos < total) this.newBlock(total);
    const blk = this.block;
    let o = this.blockPos;
    if (buf === this.src && stamp === this.srcStamp) {
      // everything is in this block already
      if (sl) {
        blk.copyWithin(o, this.stampOff, this.stampOff + sl);
        o += sl;
      }
      if (pl) {
        blk.copyWithin(o, this.prefixOff, this.prefixOff + pl);
        o += pl;
      }
      const from = this.srcOff + start;
      blk.copyWithin(o, from, from + len);
      o += len;
    } else {
      blk.set(stamp, o);
      o += sl;
      blk.set(prefix, o);
      o += pl;
      buf.copy(blk, o, start, end);
      o += len;
    }
    blk[o] = 10;
    this.blockPos = o + 1;
    this.appended += total;
    this.model!.line(sl, pl, len);
  }

  /**
   * `count` complete lines shorter than `-l` (see LineSink.lines), all
   * selected: the hot path. Lines of the staged chunk are copied with their
   * newline; without stamp and prefix a run of lines is one copy.
   */
  appendLines(stamp: Buffer, buf: Buffer, start: number, ends: Int32Array, count: number): void {
    if (buf !== this.src || stamp !== this.srcStamp) {
      let s = start;
      for (let i = 0; i < count; i++) {
        const e = ends[i]!;
        this.appendLine(stamp, buf, s, e);
        s = e + 1;
      }
      return;
    }
    const sl = stamp.length;
    const pl = this.config.prefix.length;
    const extra = sl + pl;
    const total = ends[count - 1]! + 1 - start + count * extra;
    if (this.block.length - this.blockPos < total) this.newBlock(total);
    const blk = this.block;
    const model = this.model!;
    const srcOff = this.srcOff;
    let o = this.blockPos;
    let s = start;
    if (extra === 0) {
      const stop = ends[count - 1]! + 1;
      blk.copyWithin(o, srcOff + s, srcOff + stop);
      o += stop - s;
      for (let i = 0; i < count; i++) {
        const e = ends[i]!;
        model.line(0, 0, e - s);
        s = e + 1;
      }
    } else if (sl === STAMP_LENGTH && pl === 0) {
      // the stamp as six 32-bit and one 16-bit store: cheaper than a copy
      const view = this.view;
      const w = this.stampWords;
      const w0 = w[0]!;
      const w1 = w[1]!;
      const w2 = w[2]!;
      const w3 = w[3]!;
      const w4 = w[4]!;
      const w5 = w[5]!;
      const w6 = w[6]!;
      for (let i = 0; i < count; i++) {
        const e = ends[i]!;
        view.setInt32(o, w0, true);
        view.setInt32(o + 4, w1, true);
        view.setInt32(o + 8, w2, true);
        view.setInt32(o + 12, w3, true);
        view.setInt32(o + 16, w4, true);
        view.setInt32(o + 20, w5, true);
        view.setUint16(o + 24, w6, true);
        o += STAMP_LENGTH;
        blk.copyWithin(o, srcOff + s, srcOff + e + 1);
        o += e + 1 - s;
        model.line(STAMP_LENGTH, 0, e - s);
        s = e + 1;
      }
    } else {
      const stampOff = this.stampOff;
      const prefixOff = this.prefixOff;
      for (let i = 0; i < count; i++) {
        const e = ends[i]!;
        if (sl) {
          blk.copyWithin(o, stampOff, stampOff + sl);
          o += sl;
        }
        if (pl) {
          blk.copyWithin(o, prefixOff, prefixOff + pl);
          o += pl;
        }
        blk.copyWithin(o, srcOff + s, srcOff + e + 1);
        o += e + 1 - s;
        model.line(sl, pl, e - s);
        s = e + 1;
      }
    }
    this.blockPos = o;
    this.appended += total;
  }

  /** The first `-l` bytes of a selected long line, with stamp and prefix. */
  appendHead(stamp: Buffer, head: Buffer): void {
    const prefix = this.config.prefix;
    this.appendBytes([stamp, prefix, head], stamp.length + prefix.length + head.length);
    this.model!.head(stamp.length, prefix.length, head.length);
  }

  /** Bytes of the long line beyond `-l`, written as they are; `offset` = input offset of the first. */
  appendRest(buf: Buffer, start: number, end: number, offset: number): void {
    this.appendBytes([buf.subarray(start, end)], end - start);
    this.model!.rest(end - start, offset);
  }

  /** The newline of the long line, at input offset `offset`. */
  appendEnd(offset: number): void {
    this.appendBytes([NL], 1);
    this.model!.end(offset);
  }

  /** UDP for a selected line: `[stamp][prefix]line[...]\n`. */
  sendUdp(stamp: Buffer, line: Buffer, long: boolean): void {
    const udp = this.config.udp;
    if (!udp) return;
    const datagram = Buffer.concat([stamp, this.config.prefix, line, long ? DOTS_NL : NL]);
    this.udp ??= new UdpSender((failed) => this.udpFailed(failed));
    if (!this.udp.send(udp.address, udp.port, datagram)) {
      const parts = [NO_UDP, stamp, this.config.prefix, line, NL];
      this.appendBytes(
        parts,
        parts.reduce((n, p) => n + p.length, 0),
      );
      this.model!.message(parts.map((p) => p.length));
    }
  }

  /** A datagram could not be sent: say so in the log (runit's warning line), between lines. */
  private udpFailed(datagram: Buffer): void {
    if (!this.accepting || !this.model || this.model.held > 0) return;
    this.appendBytes([UDP_FAILURE, datagram], UDP_FAILURE.length + datagram.length);
    this.model.message([UDP_FAILURE.length, datagram.length]);
    this.commit();
  }

  /** ALRM: rotate now if `current` is not empty. */
  forceRotate(): void {
    if (!this.functional) return;
    this.model!.forceRotate();
    this.commit();
  }

  /** Write out what the model still buffers inside an unfinished long line (before HUP). */
  flushHeld(): void {
    if (!this.functional) return;
    this.model!.flush(false);
    this.commit();
  }

  /** The absolute range [from, to) of planned bytes, as views. */
  private range(from: number, to: number): Buffer[] {
    const views: Buffer[] = [];
    const add = (buf: Buffer, start: number): void => {
      const end = start + buf.length;
      if (end <= from || start >= to) return;
      views.push(buf.subarray(Math.max(from, start) - start, Math.min(to, end) - start));
    };
    for (const { buf, start } of this.pieces) add(buf, start);
    if (this.blockPos > this.pieceOff) add(this.block.subarray(this.pieceOff, this.blockPos), this.pieceStart);
    return views;
  }

  /** Hand what the model has written so far to the queue, cut at rotations. */
  commit(): void {
    if (!this.model) return;
    const end = this.model.pos;
    if (end === this.committed && this.markers.length === 0) return;
    let from = this.committed;
    for (const marker of this.markers) {
      if (marker.pos > from) this.enqueueWrite(this.range(from, marker.pos), marker.pos - from);
      this.enqueue({ kind: 'rotate', size: marker.size, processor: this.config.processor });
      from = marker.pos;
    }
    this.markers = [];
    if (end > from) this.enqueueWrite(this.range(from, end), end - from);
    this.committed = end;
    // queued bytes are never written over: later lines go after them
    this.pieces = this.pieces.filter((p) => p.start + p.buf.length > end);
  }

  // ---- execution -----------------------------------------------------------

  /** `n` more bytes are in `current`: blocks whose bytes all are can be filled again. */
  private wrote(n: number): void {
    this.written += n;
    while (this.retired.length && this.retired[0]!.end <= this.written) {
      const { block } = this.retired.shift()!;
      if (this.spare.length < SPARE_BUSY) this.spare.push(block);
    }
    if (this.spare.length > SPARE_BLOCKS && !this.spareTimer) {
      this.spareLow = this.spare.length;
      this.spareTimer = setTimeout(() => this.trimSpare(), SPARE_TRIM_MS);
      this.spareTimer.unref();
    }
  }

  private dropSpare(): void {
    if (this.spareTimer) clearTimeout(this.spareTimer);
    this.spareTimer = undefined;
    this.spare = [];
  }

  /** Let go of the spare blocks not needed for a second (beyond SPARE_BLOCKS). */
  private trimSpare(): void {
    this.spareTimer = undefined;
    const drop = Math.min(this.spareLow, this.spare.length - SPARE_BLOCKS);
    if (drop > 0) this.spare.splice(0, drop);
    if (this.spare.length > SPARE_BLOCKS) {
      this.spareLow = this.spare.length;
      this.spareTimer = setTimeout(() => this.trimSpare(), SPARE_TRIM_MS);
      this.spareTimer.unref();
    }
  }

  private enqueueWrite(bufs: Buffer[], bytes: number): void {
    if (this.givenUp || this.aborted) {
      this.lost += bytes;
      return;
    }
    if (bytes <= DIRECT_TURN_BYTES && !this.running && this.queue.length === 0) {
      // Nothing is waiting: the write is made at once, in the same turn as
      // the read that brought it, as runit writes each line. What the
      // process holds unwritten stays small, even if it is killed.
      const n = this.writeDirect(bufs);
      if (n === bytes) return;
      bufs = advance(bufs, n);
      bytes -= n;
    }
    this.queuedBytes += bytes;
    this.enqueue({ kind: 'write', bufs, bytes });
  }

  /** performance.now() until which writes go to the thread pool (a direct write was slow). */
  private directOffUntil = 0;

  /**
   * Write `bufs` directly if writes are quick here; returns how many bytes
   * were written (0 when not tried). A failure or a short write leaves the
   * rest to the retrying way, which reports it.
   */
  private writeDirect(bufs: Buffer[]): number {
    if (this.fdCur < 0) return 0;
    const t0 = performance.now();
    if (t0 < this.directOffUntil) return 0;
    let n = 0;
    try {
      n = fs.writevSync(this.fdCur, bufs);
    } catch {
      n = 0;
    }
    const t1 = performance.now();
    if (t1 - t0 > SLOW_WRITE_MS) this.directOffUntil = t1 + DIRECT_BACKOFF_MS;
    this.wrote(n);
    return n;
  }

  private enqueue(op: Op): void {
    if (this.givenUp || this.aborted) {
      if (op.kind === 'barrier') op.resolve();
      return;
    }
    this.queue.push(op);
    if (!this.running) {
      this.running = true;
      void this.run();
    }
  }

  /** Resolves when everything queued so far has been done (or given up), rotations included. */
  async drain(): Promise<void> {
    if (this.running || this.queue.length > 0) await new Promise<void>((resolve) => this.enqueue({ kind: 'barrier', resolve }));
    await this.housekeeping;
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
          await this.rotate(op.size, op.processor);
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
            await this.writeAll(n ? advance(bufs, n) : bufs, bytes - n);
            direct = DIRECT_TURN_BYTES;
          }
          this.queue.splice(0, count);
          this.ctx.drained(this);
        }
      }
    } catch (err) {
      this.giveUp(err instanceof GiveUp ? err.reason : err);
    } finally {
      this.running = false;
      if (this.aborted) this.closeFds();
    }
  }

  /** Stop writing: count every queued byte as lost, release waiters. */
  private giveUp(cause: unknown): void {
    this.givenUp = true;
    this.lostError = cause;
    this.lost += this.queuedBytes;
    this.dropQueue();
    this.ctx.drained(this);
  }

  private dropQueue(): void {
    const queue = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const op of queue) if (op.kind === 'barrier') op.resolve();
  }

  private async writeAll(bufs: Buffer[], bytes: number): Promise<void> {
    let left = bufs;
    let remaining = bytes;
    while (remaining > 0) {
      const n = await this.retry(
        'unable to write to current',
        () => fsp.writev(this.fdCur, left),
        (err) => this.diskFull(err),
      );
      remaining -= n;
      this.queuedBytes -= n;
      this.wrote(n);
      if (remaining > 0) left = advance(left, n);
    }
  }

  /**
   * ENOSPC with N < n: delete the oldest old file while more than N remain
   * (runit's "out of disk space, delete"), then write again at once.
   */
  private async diskFull(err: unknown): Promise<boolean> {
    const { nMin, nMax } = this.config;
    if (errorCode(err) !== 'ENOSPC' || nMin >= nMax) return false;
    let names: string[];
    try {
      names = await fsp.readdir(this.path);
    } catch (e) {
      this.warn('unable to read directory, want remove old logfile', e);
      return false;
    }
    const old = names.filter(isOldName);
    if (old.length <= nMin) return false;
    const inUse = this.processors.inUse();
    const oldest = old.filter((n) => !inUse.has(n)).sort()[0];
    if (!oldest) return false;
    this.ctx.reporter.warning(`out of disk space, delete: ${this.name}/${oldest}`);
    try {
      await fsp.unlink(this.file(oldest));
    } catch (e) {
      this.warn('unable to unlink oldest logfile', e);
      return false;
    }
    return true;
  }

  /**
   * Run `step` until it succeeds. After a failure: `recover` may ask for an
   * immediate retry; otherwise `pausing: <message>: DIR: <error>` and a retry
   * in 3 s. After terminate() one retry is left; then GiveUp is thrown.
   */
  async retry<T>(message: string, step: () => Promise<T>, recover?: (err: unknown) => Promise<boolean>): Promise<T> {
    let afterPause = false;
    for (;;) {
      if (this.aborted) throw new GiveUp(new Error('killed'));
      const afterTerm = this.terminating;
      try {
        return await step();
      } catch (err) {
        if (!this.aborted && recover && (await recover(err))) continue;
        if (this.aborted || (afterTerm && afterPause)) throw new GiveUp(err);
        this.ctx.reporter.pausing(`${message}: ${this.name}: ${errorTextOf(err)}`);
        await this.pause();
        afterPause = true;
      }
    }
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      this.pauseWake = resolve;
      this.pauseTimer = setTimeout(() => this.wakePause(), PAUSE_MS);
    });
  }

  private wakePause(): void {
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    const wake = this.pauseWake;
    this.pauseWake = undefined;
    wake?.();
  }

  /** A fresh `@<tai64n>.<suffix>` name; the time is taken again while the name exists. */
  private uniqueName(suffix: string): string {
    for (;;) {
      const name = `${taiLabel(taiNow())}.${suffix}`;
      if (!fs.existsSync(this.file(name))) return name;
    }
  }

  /**
   * runit's rotate(), for a `current` of `size` bytes, in runit's order.
   * fsync may wait for the disk and runs on the thread pool; the other
   * steps are quick metadata calls made directly, so a rotation costs one
   * trip through the event loop, not ten.
   */
  private async rotate(size: number, processor: string): Promise<void> {
    const name = this.uniqueName(processor ? 'u' : 's');
    const fd = this.fdCur;
    await this.retry('unable to fsync current logfile', () => fsp.fsync(fd));
    // runit removes old files inside each rotation: the last one's are gone
    // (and said so with -v) before this one renames
    await this.housekeeping;
    await this.retry('unable to set mode of current', async () => fs.fchmodSync(fd, 0o744));
    this.fdCur = -1;
    fsp.closeQuietly(fd);
    this.info(`rename: ${this.name}/current ${name} ${size}`);
    await this.retry('unable to rename current', async () => fs.renameSync(this.file('current'), this.file(name)));
    this.fdCur = await this.retry('unable to create new current', async () => fsp.openAppendSync(this.file('current'), this.noFollow));
    await this.retry('unable to set mode of current', async () => fs.fchmodSync(this.fdCur, 0o644));
    this.lastPending = processor ? name : undefined;
    if (processor) this.processors.add(name, processor);
    // old files and the processor: in order, but writing does not wait for them
    this.housekeeping = this.housekeeping
      .then(() => this.removeOld())
      .then(() => {
        if (processor) this.processors.start();
      })
      .catch(() => {});
  }

  /**
   * Old-file limit: remove processor leftovers (`.t`), then, with n > 0,
   * delete the oldest files until at most n remain — all of the excess,
   * where runit deleted one per rotation. As in runit, a file rotated for
   * a processor is not counted while it waits (runit keeps n files plus
   * that one); here that holds for every file still queued, and for the
   * newest rotated file until the next rotation. Files a processor needs
   * are never deleted.
   */
  private async removeOld(): Promise<void> {
    let names: string[];
    try {
      names = await this.retry('unable to open directory, want rotate', async () => fs.readdirSync(this.path));
    } catch {
      return;
    }
    const pending = this.processors.inUse();
    if (this.lastPending) {
      pending.add(this.lastPending);
      pending.add(`${this.lastPending.slice(0, 26)}s`);
    }
    const candidates: string[] = [];
    for (const name of names) {
      if (!isOldName(name) || pending.has(name)) continue;
      if (name[26] === 't') {
        try {
          await fsp.unlink(this.file(name));
        } catch (err) {
          this.ctx.reporter.warning(`unable to unlink processor leftover: ${name}: ${errorTextOf(err)}`);
        }
        continue;
      }
      candidates.push(name);
    }
    const { nMax } = this.config;
    if (!nMax || candidates.length <= nMax) return;
    candidates.sort();
    for (const name of candidates.slice(0, candidates.length - nMax)) {
      this.info(`delete: ${this.name}/${name}`);
      try {
        await fsp.unlink(this.file(name));
      } catch (err) {
        this.warn('unable to unlink oldest logfile', err);
      }
    }
  }
}

/** `bufs` without their first `n` bytes. */
function advance(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < bufs.length && n >= bufs[i]!.length) n -= bufs[i++]!.length;
  const rest = bufs.slice(i);
  if (n > 0 && rest.length) rest[0] = rest[0]!.subarray(n);
  return rest;
}

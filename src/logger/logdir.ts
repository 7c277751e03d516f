// One log directory (svlogd(8)): the front that the Logger drives. It
// opens the directory (lock, config, `current`) and closes it, and puts
// together the parts that do the work:
//   output-plan.ts    what goes where, as lines are cut (the hot path)
//   write-queue.ts    writing it out, directly or on the thread pool
//   rotation.ts       rotating `current`, removing old files
//   time-rotation.ts  the `t` deadline
//   processor.ts      `!` processors on rotated files
//   retry.ts          pausing and retrying a failing step
// Any failing step pauses this directory: message, 3-second timer, retry —
// nothing dropped. Once the logger is told to terminate, a pausing
// directory gets one more try, then gives up and says how many bytes it
// could not write.
import { join } from 'node:path';
import * as fs from 'node:fs';
import * as fsp from '../sys/async-fs.js';
import { flockExclusive } from '../sys/fd.js';
import { errorTextOf } from '../sys/errstr.js';
import { errorCode } from '../sys/errors.js';
import type { SpawnOptions } from '../sys/spawn.js';
import { defaultConfig, parseConfig, type LogDirConfig } from './config.js';
import { OutputPlan } from './output-plan.js';
import { WriteQueue, type CurrentFile } from './write-queue.js';
import { Rotation } from './rotation.js';
import { RotationDeadline } from './time-rotation.js';
import { Processors } from './processor.js';
import { GiveUp, PausingRetry } from './retry.js';
import { DirMessages, type Reporter } from './report.js';
import { bytesToSkip, type DirRecord } from './journal.js';

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
  /** with a journal: `current` of `dir` is about to be renamed, record where the output stands */
  journal?(dir: LogDir): void;
}

export class LogDir {
  /** usable for writing (opened and locked) */
  functional = false;
  config: LogDirConfig = defaultConfig();
  /** selection of the long line in progress: written here */
  longSelected = false;
  /** stream position where the long line in progress begins (journal) */
  lineStartPos = 0;
  /** every line goes to `current`, nothing to stderr or UDP (no + - e E u U lines) */
  simple = true;
  /** where the Logger puts selected lines */
  readonly plan: OutputPlan;
  readonly processors: Processors;

  private readonly messages: DirMessages;
  private readonly retry: PausingRetry;
  private readonly queue: WriteQueue;
  private readonly rotation: Rotation;
  private readonly deadline: RotationDeadline;
  private readonly current: CurrentFile = { fd: -1 };
  private fdLock = -1;
  private noFollowFlag = 0;
  // for the journal (journal.ts), in stream positions (OutputPlan's bytes)
  /** bytes of the stream in the files */
  written = 0;
  /** stream position of the first byte of `current` (negative: it was there before) */
  private currentStart = 0;
  /** inode of `current` */
  private currentIno = '';
  /** stream position at which `current` is being rotated */
  private rotatingAt: number | undefined;
  /** the previous logger's record of this directory, applied at the first open (null: none) */
  private recovery: DirRecord | null | undefined;

  constructor(
    /** the name as given, for messages */
    readonly name: string,
    /** the directory's absolute path */
    readonly path: string,
    private readonly ctx: LogDirContext,
  ) {
    const self = this;
    this.messages = new DirMessages(ctx.reporter, name, ctx.verbose);
    this.retry = new PausingRetry(ctx.reporter, name);
    this.processors = new Processors({
      name,
      path,
      verbose: ctx.verbose,
      info: (t) => ctx.reporter.info(t),
      warning: (t) => ctx.reporter.warning(t),
      retry: (m, s) => self.retry.retry(m, s),
      processed: () => self.rotation.processed(),
      env: ctx.env,
      stderr: ctx.processorStderr,
      spawnOptions: ctx.spawnOptions,
      get noFollow() {
        return self.noFollowFlag;
      },
    });
    this.rotation = new Rotation(this, this.current, this.retry, this.processors, this.messages);
    this.queue = new WriteQueue(this.current, this.retry, {
      rotate: (size, processor) => this.rotation.rotate(size, processor),
      recover: (err) => this.rotation.makeRoom(err),
      wrote: (n) => {
        this.written += n;
        this.plan.pool.written(n);
      },
      drained: () => ctx.drained(this),
    });
    this.deadline = new RotationDeadline(() => ctx.timeUp(this));
    this.plan = new OutputPlan(ctx.lineMax, ctx.bufLen, this.queue, () => this.deadline.rotated(this.config.tMax));
  }

  /**
   * O_NOFOLLOW when a user other than this process's can write the
   * directory (it is not ours, or group or others may write it): a
   * symbolic link there may have been planted to make svlogd write, create,
   * truncate or chmod a file elsewhere with its privileges. Else 0, and
   * links are followed as runit follows them.
   */
  get noFollow(): number {
    return this.noFollowFlag;
  }

  /** bytes waiting in the write queue */
  get queuedBytes(): number {
    return this.queue.queuedBytes;
  }

  private file(name: string): string {
    return join(this.path, name);
  }

  // ---- journal -------------------------------------------------------------

  /** Before the first open: what the previous logger recorded of this directory (undefined: nothing). */
  recoverFrom(record: DirRecord | undefined): void {
    this.recovery = record ?? null;
  }

  /** Where stream position `pos` (written already) lies in this directory's files, for a record. */
  journalRecord(pos: number): DirRecord {
    const record: DirRecord = { name: this.name, ino: this.currentIno, keep: pos - this.currentStart };
    if (this.rotatingAt !== undefined) record.next = pos - this.rotatingAt;
    return record;
  }

  /** Rotation: `current` is about to be renamed. */
  renaming(): void {
    this.rotatingAt = this.written;
    this.ctx.journal?.(this);
  }

  /** Rotation: the new `current` is open. */
  renamed(fd: number): void {
    this.currentStart = this.written;
    this.rotatingAt = undefined;
    if (this.ctx.journal) this.currentIno = inodeOf(fd);
  }

  // ---- opening and closing -------------------------------------------

  /**
   * runit's logdir_open: check the directory, lock it, read `config`, save
   * an unfinished `current` as `.u`, open `current`. False (with runit's
   * warning) when the directory cannot be used.
   */
  async open(): Promise<boolean> {
    const messages = this.messages;
    let dirFd: number;
    try {
      dirFd = await fsp.openRead(this.path);
    } catch (err) {
      messages.warn('unable to open log directory', err);
      return false;
    }
    try {
      const st = await fsp.fstat(dirFd);
      if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      await fsp.access(this.path, fs.constants.X_OK);
      this.noFollowFlag = st.uid !== process.geteuid?.() || st.mode & 0o022 ? fs.constants.O_NOFOLLOW : 0;
    } catch (err) {
      messages.warn('unable to change directory', err);
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
      messages.warn('unable to lock directory', err);
      return false;
    }

    this.rotation.dropProcessedLeftovers();
    this.config = defaultConfig();
    let data: Buffer | undefined;
    try {
      data = await fsp.readFile(this.file('config'), this.noFollow);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') {
        messages.warn('unable to read config', err);
        messages.info(`read: ${this.name}/config`);
      }
    }
    if (data) {
      messages.info(`read: ${this.name}/config`);
      this.config = parseConfig(data, (m) => this.ctx.reporter.warning(m));
    }
    this.deadline.arm(this.config.tMax);

    let size = 0;
    let isNew = true;
    // journal recovery: the bytes of the replayed output that the files hold already
    let skip = 0;
    const recovery = this.recovery;
    this.recovery = undefined;
    try {
      // a symbolic link where it must not be followed is moved aside like an unfinished current
      const st = this.noFollow ? await fsp.lstat(this.file('current')) : await fsp.stat(this.file('current'));
      if (recovery !== undefined && !st.isSymbolicLink()) skip = bytesToSkip(recovery ?? undefined, { ino: String(st.ino), size: st.size });
      if (st.isSymbolicLink() || (st.size > 0 && !(st.mode & 0o100))) {
        await this.rotation.setAsideCurrent();
      } else {
        size = st.size;
        isNew = false;
      }
    } catch (err) {
      if (err instanceof GiveUp) return this.failOpen();
      if (errorCode(err) !== 'ENOENT') {
        messages.warn('unable to stat current', err);
        return this.failOpen();
      }
      if (recovery) skip = bytesToSkip(recovery, undefined);
    }
    const current = this.current;
    try {
      current.fd = await this.retry.retry('unable to open current', () => fsp.openAppend(this.file('current'), this.noFollow));
      await this.retry.retry('unable to set mode of current', () => fsp.fchmod(current.fd, 0o644));
    } catch {
      return this.failOpen();
    }
    messages.info(`${isNew ? 'new' : 'append'}: ${this.name}/current`);

    if (recovery !== undefined || this.ctx.journal) {
      this.currentIno = inodeOf(current.fd);
      this.currentStart = this.written + skip - size;
      this.rotatingAt = undefined;
      this.queue.skip(skip);
    }
    // the model counts the bytes left out as written before: `current` may start below 0
    this.plan.begin(this.config, size - skip);
    this.simple = this.config.instructions.length === 0 && !this.config.udp && !this.config.udpOnly;
    this.functional = true;
    return true;
  }

  private failOpen(): false {
    this.deadline.disarm();
    this.closeFds();
    return false;
  }

  /**
   * runit's logdir_close: `current` gets mode 0744 (complete) and the lock
   * is released. Call after drain().
   */
  async close(): Promise<void> {
    if (!this.functional) return;
    this.functional = false;
    this.deadline.disarm();
    this.plan.release();
    this.messages.info(`close: ${this.name}`);
    if (this.current.fd >= 0) {
      const fd = this.current.fd;
      this.current.fd = -1;
      if (!this.queue.loss) {
        try {
          await this.retry.retry('unable to fsync current logfile', () => fsp.fsync(fd));
          await this.retry.retry('unable to set mode of current', () => fsp.fchmod(fd, 0o744));
        } catch {
          // given up: `current` keeps mode 0644, so it is saved as `.u` at the next start
        }
      }
      await fsp.close(fd).catch(() => {});
    }
    if (this.fdLock >= 0) await fsp.close(this.fdLock).catch(() => {});
    this.fdLock = -1;
    const lost = this.queue.loss;
    if (lost) this.ctx.reporter.warning(`giving up after sigterm, ${lost.bytes} bytes not written: ${this.name}: ${errorTextOf(lost.error)}`);
  }

  /** End of the logger: write everything, wait for processors, close. */
  async finish(): Promise<void> {
    this.flushHeld();
    this.plan.stop();
    await this.drain();
    this.processors.finish();
    this.processors.start();
    await this.processors.idle();
    await this.close();
  }

  /** Resolves when everything queued so far has been written (or given up), rotations and their old-file removals included. */
  async drain(): Promise<void> {
    await this.queue.drain();
    await this.rotation.settled();
  }

  /** From now on a pausing step is retried once more, then given up. */
  terminate(): void {
    this.retry.terminate();
  }

  /** Stop at once: nothing more is written, processors are killed, `current` stays as it is. */
  kill(): void {
    this.retry.abort();
    this.functional = false;
    this.plan.release();
    this.deadline.disarm();
    this.processors.kill();
    // a write in flight still uses `current`: close once it is back
    this.queue.abort(() => this.closeFds());
  }

  private closeFds(): void {
    if (this.current.fd >= 0) fsp.closeQuietly(this.current.fd);
    if (this.fdLock >= 0) fsp.closeQuietly(this.fdLock);
    this.current.fd = this.fdLock = -1;
  }

  // ---- rotation on demand ----------------------------------------------

  /** The `t` deadline came (called by the logger when it may plan): rotate if non-empty, re-arm. */
  timeRotate(): void {
    if (!this.functional) return;
    this.deadline.arm(this.config.tMax);
    this.plan.rotateNow();
  }

  /** ALRM: rotate now if `current` is not empty. */
  forceRotate(): void {
    if (this.functional) this.plan.rotateNow();
  }

  /** Write out what is held inside an unfinished long line (before HUP). */
  flushHeld(): void {
    if (this.functional) this.plan.flushHeld();
  }
}

function inodeOf(fd: number): string {
  try {
    return String(fs.fstatSync(fd).ino);
  } catch {
    return '';
  }
}

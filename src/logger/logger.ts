// The svlogd engine: one input, one or more log directories. Hostable in
// any process: no process.exit, no signal handlers, no global state, no
// blocking calls; messages go to an injected Reporter. The owner maps its
// events to the methods: HUP -> reopen(), ALRM -> rotate(), TERM ->
// terminate(); `done` resolves when the logger has finished.
//
// Reading is paused (the writer then blocks on its pipe, nothing is lost)
// while directories are being opened, while a directory's write queue is
// long (a slow or full disk), and during HUP.
import { resolve as resolvePath } from 'node:path';
import type { SpawnOptions } from '../sys/spawn.js';
import { errorTextOf } from '../sys/errstr.js';
import { nowMicros } from '../protocol/tai64n.js';
import { LineFramer, replacementMap, type LineSink } from './lines.js';
import { selectLine } from './pattern.js';
import { StampFormatter, type StampMode } from './timestamp.js';
import { LogDir, type LogDirContext } from './logdir.js';
import { openInput, type Input } from './input.js';
import { JournalInput, type Ack } from './journal-input.js';
import type { Reporter } from './report.js';

export interface LoggerOptions {
  /** readable descriptor: a pipe or FIFO (read through epoll), socket, tty, or file */
  input: number;
  /**
   * Leave `input` open when done (default false: it is closed). For a pipe
   * the logger then reads through a descriptor of its own.
   */
  keepInput?: boolean;
  /** log directories, as given (messages use these names) */
  dirs: readonly string[];
  /** base for relative directory names (default: process.cwd() at construction) */
  cwd?: string;
  /** 0 none, 1 -t TAI64N, 2 -tt, 3 -ttt */
  timestamp?: StampMode;
  /** -v */
  verbose?: boolean;
  /** -r: the replacement byte (or -R without -r: `_`) */
  replacement?: number;
  /** -R: further bytes to replace */
  replaceBytes?: Uint8Array;
  /** -l, default 1000 */
  lineMax?: number;
  /** -b, default 1024 (it only decides where runit's writes, and so rotations, fall) */
  bufLen?: number;
  reporter: Reporter;
  /** environment of processors (default process.env when they start) */
  env?: NodeJS.ProcessEnv;
  /** standard error of processors (default 2) */
  processorStderr?: number | 'ignore';
  /** more spawn options for processors (e.g. the NOFILE limit the host was started with) */
  spawnOptions?: Partial<SpawnOptions>;
  /**
   * A journal file (the in-process logger's `supervise/logjournal`): the
   * pipe `input` is read through it, so that a kill of the process loses
   * and duplicates nothing (journal.ts). Only for a pipe.
   */
  journal?: string;
  /** plan complete short lines in bulk (default: when V8 runs interpreted, see interpreted()) */
  bulk?: boolean;
}

export interface LoggerExit {
  /** 0: input ended or terminate(); 111: no functional log directories */
  code: 0 | 111;
  /** kill() ended it */
  killed: boolean;
}

type State = 'new' | 'starting' | 'running' | 'reopening' | 'finishing' | 'done';

/** Pause reading when a directory has this much waiting to be written; resume below LOW_WATER. */
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
/** After TERM in the middle of a line, how long to wait for its end. */
const TERM_LINE_WAIT_MS = 1000;
/** Bytes read and processed before the event loop gets a turn. */
const BURST_BYTES = 256 * 1024;
const EMPTY = Buffer.alloc(0);
const DOTS_NL = Buffer.from('...\n');
/**
 * V8 runs without its optimising compilers (runsvdir's, runsv's and
 * runit's `--lite-mode`, which implies `--jitless`): lines are then planned
 * in bulk (Logger.inBulk), where with the compilers a loop per line is
 * faster (measured per 100-byte line with -tt: 0.08 µs compiled against
 * 0.33 µs in bulk; interpreted 0.5-0.7 µs against 0.37 µs).
 */
let interpretedFlag: boolean | undefined;
function interpreted(): boolean {
  interpretedFlag ??= [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a === '--lite-mode' || a === '--jitless');
  return interpretedFlag;
}
const NL = Buffer.from('\n');

export class Logger implements LineSink {
  /** Resolves once the logger has finished (never rejects). */
  readonly done: Promise<LoggerExit>;
  private resolveDone!: (exit: LoggerExit) => void;

  private readonly dirs: LogDir[];
  private readonly framer: LineFramer;
  private readonly stamper: StampFormatter;
  private readonly reporter: Reporter;
  private readonly verbose: boolean;
  private readonly lineMax: number;
  private input: Input | undefined;
  private state: State = 'new';
  private held: Buffer[] = [];
  private flowing = false;
  private eof = false;
  private terminating = false;
  private wantReopen = false;
  private wantRotate = false;
  private timeUps = new Set<LogDir>();
  private termTimer: NodeJS.Timeout | undefined;
  private alerts: Buffer[] = [];
  /** the directories usable now, in argument order */
  private active: LogDir[] = [];
  private journal: JournalInput | undefined;
  /**
   * With a journal: points the output may be acknowledged at, oldest
   * first: an input offset where no line is in progress, and each
   * directory's stream position there (by index in `dirs`).
   */
  private checkpoints: Array<{ input: number; pos: number[] }> = [];
  private recorded = false;
  /** -r or -R: bytes are replaced, line by line */
  private readonly replacing: boolean;
  /** plan lines in bulk where possible (interpreted(), or LoggerOptions.bulk) */
  private readonly bulk: boolean;

  constructor(private readonly options: LoggerOptions) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.reporter = options.reporter;
    this.verbose = options.verbose ?? false;
    this.lineMax = options.lineMax || 1000;
    const bufLen = options.bufLen || 1024;
    if (bufLen <= this.lineMax) throw new RangeError('bufLen must be greater than lineMax');
    const cwd = options.cwd ?? process.cwd();
    const ctx: LogDirContext = {
      reporter: options.reporter,
      verbose: this.verbose,
      lineMax: this.lineMax,
      bufLen,
      env: options.env,
      processorStderr: options.processorStderr ?? 2,
      spawnOptions: options.spawnOptions,
      drained: () => this.updateFlow(),
      timeUp: (dir) => this.contain(() => this.timeUp(dir)),
    };
    if (options.journal) ctx.journal = () => this.record();
    this.dirs = options.dirs.map((name) => new LogDir(name, resolvePath(cwd, name), ctx));
    this.stamper = new StampFormatter(options.timestamp ?? 0);
    const map = replacementMap(options.replacement, options.replaceBytes);
    this.replacing = map !== undefined;
    this.bulk = options.bulk ?? interpreted();
    this.framer = new LineFramer(this.lineMax, map, this);
  }

  /** Open the directories, then read. Call once. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'starting';
    const handlers = {
      data: (chunk: Buffer) => this.contain(() => this.onData(chunk)),
      end: () => this.contain(() => this.onEnd()),
      error: (err: unknown) => {
        this.reporter.warning(`unable to read standard input: ${errorTextOf(err)}`);
        this.onEnd();
      },
    };
    if (this.options.journal) {
      try {
        const journal = new JournalInput(this.options.input, this.options.journal, handlers);
        journal.ack = () => this.ack();
        const records = journal.recovered?.dirs ?? [];
        for (const dir of this.dirs) dir.recoverFrom(records.find((r) => r.name === dir.name));
        this.checkpoints.push({ input: 0, pos: this.dirs.map(() => 0) });
        this.journal = journal;
        this.input = journal;
      } catch (err) {
        this.reporter.warning(`unable to open journal: ${this.options.journal}: ${errorTextOf(err)}`);
      }
    }
    try {
      this.input ??= openInput(this.options.input, handlers, this.options.keepInput ?? false);
    } catch (err) {
      this.reporter.warning(`unable to read standard input: ${errorTextOf(err)}`);
      this.eof = true;
    }
    this.guard(
      this.openAll().then((ok) => {
        if (ok) this.enterRunning();
      }),
    );
  }

  /** HUP: close and reopen every directory, rereading its config. */
  reopen(): void {
    // once terminating, the directories stay as they are until closed
    if (this.terminating) return;
    if (this.state === 'running') this.guard(this.doReopen());
    else if (this.state === 'starting' || this.state === 'reopening') this.wantReopen = true;
  }

  /** ALRM: rotate every directory whose `current` is not empty. */
  rotate(): void {
    if (this.state === 'running') this.contain(() => this.rotateAll());
    else if (this.state === 'starting' || this.state === 'reopening') this.wantRotate = true;
  }

  /**
   * TERM: finish. A line in progress may complete within a second (what
   * arrives with it is written too), else it gets a newline; everything
   * read is written; a directory that is pausing gets one more try; then
   * processors are waited for and the directories closed.
   */
  terminate(): void {
    if (this.terminating || this.state === 'done') return;
    this.terminating = true;
    if (this.state === 'running') this.contain(() => this.beginTerm());
    else if (this.state === 'finishing') for (const dir of this.dirs) dir.terminate();
  }

  /** Stop now: no more reading or writing, processors killed, queued bytes dropped. */
  kill(): void {
    if (this.state === 'done') return;
    this.input?.close();
    if (this.termTimer) clearTimeout(this.termTimer);
    for (const dir of this.dirs) dir.kill();
    this.conclude({ code: 0, killed: true });
  }

  // ---- states ------------------------------------------------------------

  /**
   * A bug must not take the host down (docs/architecture.md): an unexpected
   * error ends this logger with a message and code 111.
   */
  private contain(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.internalError(err);
    }
  }

  private guard(promise: Promise<unknown>): void {
    promise.catch((err: unknown) => this.internalError(err));
  }

  private internalError(err: unknown): void {
    if (this.state === 'done') return;
    this.reporter.fatal(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    this.input?.close();
    for (const dir of this.dirs) dir.kill();
    this.conclude({ code: 111, killed: false });
  }

  private async openAll(): Promise<boolean> {
    let ok = false;
    for (const dir of this.dirs) if (await dir.open()) ok = true;
    this.active = this.dirs.filter((d) => d.functional);
    if (!ok) this.fatal('no functional log directories.');
    return ok;
  }

  /** No directory left: end with 111. Processors still running finish on their own, as under runit. */
  private fatal(text: string): void {
    this.reporter.fatal(text);
    this.input?.close();
    this.conclude({ code: 111, killed: false });
  }

  private conclude(exit: LoggerExit): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.flowing = false;
    try {
      this.journal?.finished(exit.code === 0 && !exit.killed);
    } catch {}
    this.resolveDone(exit);
  }

  // ---- journal -------------------------------------------------------------

  /** After a chunk: the point where it leaves the output (no line in progress), to acknowledge once written. */
  private checkpoint(): void {
    const long = this.framer.inLongLine;
    const pos = this.dirs.map((d) => (long ? d.lineStartPos : d.plan.planned));
    this.checkpoints.push({ input: this.framer.lineStart, pos });
    // usually written at once (direct writes): keep only the newest then
    if (this.checkpoints.length > 1 && this.written(pos)) this.checkpoints.splice(0, this.checkpoints.length - 1);
  }

  private written(pos: number[]): boolean {
    for (let d = 0; d < this.dirs.length; d++) {
      const dir = this.dirs[d]!;
      if (dir.functional && dir.written < pos[d]!) return false;
    }
    return true;
  }

  /** The newest point that every directory has written, as the journal records it. */
  private ack(): Ack | undefined {
    const cps = this.checkpoints;
    for (let i = cps.length - 1; i >= 0; i--) {
      const cp = cps[i]!;
      if (!this.written(cp.pos)) continue;
      if (i > 0) cps.splice(0, i);
      const dirs = [];
      for (let d = 0; d < this.dirs.length; d++) {
        const dir = this.dirs[d]!;
        if (dir.functional) dirs.push(dir.journalRecord(cp.pos[d]!));
      }
      return { input: cp.input, dirs };
    }
    return undefined;
  }

  /** Record in the journal where the output stands (before a rename, at the start). */
  private record(): void {
    const journal = this.journal;
    if (!journal) return;
    const ack = this.ack();
    if (ack) journal.record(ack);
  }

  private enterRunning(): void {
    if (this.state === 'done') return;
    this.state = 'running';
    if (!this.recorded) {
      // before reading anything: where the replay starts, and what the files hold of it
      this.recorded = true;
      this.record();
    }
    const held = this.held;
    this.held = [];
    for (const chunk of held) this.process(chunk);
    if (this.wantRotate) {
      this.wantRotate = false;
      this.rotateAll();
    }
    for (const dir of this.timeUps) dir.timeRotate();
    this.timeUps.clear();
    if (this.eof) {
      this.guard(this.finish());
      return;
    }
    if (this.wantReopen) {
      this.wantReopen = false;
      this.guard(this.doReopen());
      return;
    }
    if (this.terminating) {
      this.beginTerm();
      if (this.state !== 'running') return;
    }
    this.updateFlow();
  }

  private async doReopen(): Promise<void> {
    this.state = 'reopening';
    this.updateFlow();
    for (const dir of this.dirs) dir.flushHeld();
    let ok = false;
    for (const dir of this.dirs) {
      await dir.drain();
      await dir.close();
      if (await dir.open()) ok = true;
    }
    this.active = this.dirs.filter((d) => d.functional);
    if (!ok) {
      this.fatal('no functional log directories.');
      return;
    }
    this.enterRunning();
  }

  private beginTerm(): void {
    if (!this.framer.pending) {
      this.guard(this.finish());
      return;
    }
    this.termTimer = setTimeout(() => {
      this.termTimer = undefined;
      this.guard(this.finish());
    }, TERM_LINE_WAIT_MS);
    this.updateFlow();
  }

  private async finish(): Promise<void> {
    if (this.state === 'finishing' || this.state === 'done') return;
    this.state = 'finishing';
    if (this.termTimer) clearTimeout(this.termTimer);
    this.termTimer = undefined;
    this.flowing = false;
    this.input?.close();
    const held = this.held;
    this.held = [];
    for (const chunk of held) this.process(chunk);
    this.framer.finish();
    this.afterChunk();
    if (this.journal) this.checkpoint();
    if (this.terminating) for (const dir of this.dirs) dir.terminate();
    for (const dir of this.dirs) await dir.finish();
    this.conclude({ code: 0, killed: false });
  }

  private rotateAll(): void {
    for (const dir of this.active) dir.forceRotate();
  }

  private timeUp(dir: LogDir): void {
    if (this.state === 'running') dir.timeRotate();
    else if (this.state === 'starting' || this.state === 'reopening') this.timeUps.add(dir);
  }

  // ---- input -------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state !== 'running') {
      // the input's buffer is reused for the next read
      this.held.push(Buffer.from(chunk));
      this.updateFlow();
      return;
    }
    this.process(chunk);
    if (this.terminating && !this.framer.pending && this.state === 'running') {
      this.guard(this.finish());
      return;
    }
    this.updateFlow();
    if (this.flowing) this.yieldSoon(chunk.length);
  }

  private onEnd(): void {
    this.eof = true;
    if (this.state === 'running') this.guard(this.finish());
  }

  /** Read while running and no directory has too much queued. */
  private updateFlow(): void {
    if (!this.input) return;
    let want = this.state === 'running' && !this.eof;
    if (want) {
      const limit = this.flowing ? HIGH_WATER : LOW_WATER;
      for (const dir of this.active) {
        if (dir.queuedBytes > limit) {
          want = false;
          break;
        }
      }
    }
    if (want === this.flowing) return;
    this.flowing = want;
    if (want && !this.yielding) this.input.resume();
    else if (!want) this.input.pause();
  }

  /**
   * Give the event loop a turn after this many bytes in one go (libuv reads
   * up to 32 times 64 KiB per wake-up): write completions and rotations of
   * this logger, and other loggers and services in the process, wait
   * meanwhile.
   */
  private burst = 0;
  private yielding = false;

  private yieldSoon(bytes: number): void {
    this.burst += bytes;
    if (this.burst < BURST_BYTES || this.yielding || !this.input) return;
    this.yielding = true;
    this.input.pause();
    setImmediate(() => {
      this.yielding = false;
      this.burst = 0;
      if (this.flowing) this.input?.resume();
    });
  }

  private process(chunk: Buffer): void {
    const stamp = this.stamper.mode ? this.stamper.format(nowMicros()) : EMPTY;
    if (!this.bulkPossible()) this.processLines(chunk, stamp);
    else if (this.framer.pending) {
      // the line in progress is ended the usual way, the lines after it in bulk
      const nl = chunk.indexOf(10);
      if (nl < 0) this.processLines(chunk, stamp);
      else {
        this.processLines(chunk.subarray(0, nl + 1), stamp);
        const rest = chunk.subarray(nl + 1);
        if (rest.length > 0 && !this.inBulk(rest, stamp)) this.processLines(rest, stamp);
      }
    } else if (!this.inBulk(chunk, stamp)) this.processLines(chunk, stamp);
    if (this.journal) this.checkpoint();
  }

  /** Cut `chunk` into lines, each planned on its own. */
  private processLines(chunk: Buffer, stamp: Buffer): void {
    this.framer.prepare(chunk);
    for (const dir of this.active) dir.plan.stage(chunk, stamp);
    this.framer.push(chunk, stamp);
    this.afterChunk();
  }

  /** Every directory takes every line: no patterns, no UDP, no replacement. */
  private bulkPossible(): boolean {
    const dirs = this.active;
    if (!this.bulk || this.replacing || dirs.length === 0) return false;
    for (let d = 0; d < dirs.length; d++) if (!dirs[d]!.simple) return false;
    return true;
  }

  /**
   * The common case in bulk (bulkPossible()): no line is in progress, and
   * the chunk's complete lines are short. Their output is put together by
   * split and join (native code, one call each, where a loop would run
   * per line: runsvdir runs V8 without its optimising compilers) and
   * planned with one copy; the unfinished line after them, if any, goes
   * the usual way. False (nothing done) when a condition does not hold or
   * a rotation would fall among these lines (WriteModel.canBulk).
   */
  private inBulk(chunk: Buffer, stamp: Buffer): boolean {
    const dirs = this.active;
    if (this.framer.pending) return false;
    const last = chunk.lastIndexOf(10);
    if (last < 0) return false;
    const lines = chunk.toString('latin1', 0, last).split('\n');
    let longest = 0;
    for (let i = 0; i < lines.length; i++) {
      const len = lines[i]!.length;
      if (len > longest) longest = len;
    }
    if (longest >= this.lineMax) return false;
    const stampText = stamp.length ? stamp.toString('latin1') : '';
    const texts: string[] = [];
    let lead = '';
    let text = '';
    for (let d = 0; d < dirs.length; d++) {
      const plan = dirs[d]!.plan;
      const dirLead = plan.prefix.length ? stampText + plan.prefix.toString('latin1') : stampText;
      if (d === 0 || dirLead !== lead) {
        lead = dirLead;
        text = `${lead}${lines.join(`\n${lead}`)}\n`;
      }
      if (!plan.canBulk(text.length, longest + lead.length + 1)) return false;
      texts.push(text);
    }
    for (let d = 0; d < dirs.length; d++) dirs[d]!.plan.appendText(texts[d]!, texts[d]!.length);
    this.framer.skip(last + 1);
    if (last + 1 < chunk.length) this.processLines(chunk.subarray(last + 1), stamp);
    else this.afterChunk();
    return true;
  }

  private afterChunk(): void {
    for (const dir of this.active) {
      dir.plan.unstage();
      dir.plan.commit();
    }
    if (this.alerts.length) {
      const data = this.alerts.length === 1 ? this.alerts[0]! : Buffer.concat(this.alerts);
      this.alerts = [];
      this.reporter.alert(data);
    }
  }

  // ---- lines (LineSink) ------------------------------------------------------

  /** A line selected for stderr: `[stamp][prefix]line[...]\n`. */
  private alert(stamp: Buffer, dir: LogDir, line: Buffer, long: boolean): void {
    this.alerts.push(stamp, dir.plan.prefix, line, long ? DOTS_NL : NL);
  }

  line(buf: Buffer, start: number, end: number, stamp: Buffer): void {
    const dirs = this.active;
    let selective = false;
    for (let d = 0; d < dirs.length; d++) {
      const dir = dirs[d]!;
      if (dir.simple) dir.plan.appendLine(stamp, buf, start, end);
      else selective = true;
    }
    if (selective) this.selectiveLine(buf, start, end, stamp);
  }

  lines(buf: Buffer, start: number, ends: Int32Array, count: number, stamp: Buffer): void {
    const dirs = this.active;
    let selective = false;
    for (let d = 0; d < dirs.length; d++) {
      const dir = dirs[d]!;
      if (dir.simple) dir.plan.appendLines(stamp, buf, start, ends, count);
      else selective = true;
    }
    if (!selective) return;
    // line by line, directory by directory: the order of stderr and UDP is runit's
    let s = start;
    for (let i = 0; i < count; i++) {
      const e = ends[i]!;
      this.selectiveLine(buf, s, e, stamp);
      s = e + 1;
    }
  }

  /** A short line for the directories with patterns or UDP. */
  private selectiveLine(buf: Buffer, start: number, end: number, stamp: Buffer): void {
    for (const dir of this.active) {
      if (dir.simple) continue;
      const config = dir.config;
      const selected = selectLine(config.instructions, buf, start, end - start);
      if (selected & 2) this.alert(stamp, dir, Buffer.from(buf.subarray(start, end)), false);
      if (!(selected & 1)) continue;
      if (config.udp) dir.plan.sendUdp(stamp, buf.subarray(start, end), false);
      if (!config.udpOnly) dir.plan.appendLine(stamp, buf, start, end);
    }
  }

  head(head: Buffer, stamp: Buffer): void {
    for (const dir of this.active) {
      dir.lineStartPos = dir.plan.planned;
      const config = dir.config;
      const selected = config.instructions.length ? selectLine(config.instructions, head, 0, head.length) : 1;
      if (selected & 2) this.alert(stamp, dir, Buffer.from(head), true);
      dir.longSelected = (selected & 1) !== 0 && !config.udpOnly;
      if (!(selected & 1)) continue;
      if (config.udp) dir.plan.sendUdp(stamp, head, true);
      if (dir.longSelected) dir.plan.appendHead(stamp, head);
    }
  }

  rest(buf: Buffer, start: number, end: number, offset: number): void {
    for (const dir of this.active) if (dir.longSelected) dir.plan.appendRest(buf, start, end, offset);
  }

  end(offset: number): void {
    for (const dir of this.active) {
      if (dir.longSelected) dir.plan.appendEnd(offset);
      dir.longSelected = false;
    }
  }
}

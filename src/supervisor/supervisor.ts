// runsv's state machine for one service directory: the service, its
// optional log service, the pipe between them and the control FIFOs
// (reference §3). Nothing here blocks: the restart throttle is a timer and
// custom control programs are awaited, so many supervisors can share one
// event loop (runsvdir) as well as run alone (runsv).
import { closeSync, openSync, readFileSync, readlinkSync, realpathSync, statSync, constants } from 'node:fs';
import { Socket } from 'node:net';
import { State } from '../protocol/status.js';
import { nowMicros, taiNow, unixSeconds, type Tai64n } from '../protocol/tai64n.js';
import { pipe } from '../sys/fd.js';
import { spawnChild, type ExitStatus } from '../sys/spawn.js';
import { errorCode } from '../sys/errors.js';
import { errorText, errorTextOf } from '../sys/errstr.js';
import { Unit } from './unit.js';
import { findAdoptable } from './adopt.js';
import { writeAtomic } from '../protocol/atomic-write.js';
import { processStartTime, reopenPipe } from '../sys/proc.js';
import { watchExit } from '../sys/pid-watch.js';
import { findCustomControl, runCustomControl } from './custom-control.js';
import { SetupError, ensureSuperviseDir, takeLock, openControlFifo, openOkFifo } from './supervise-dir.js';

export { SetupError };

/** How children are started, where the host differs from plain runsv. */
export interface SupervisorOptions {
  /** each run, finish and log/run in its own session (runsvdir -P) */
  newSession?: boolean;
  /** the soft RLIMIT_NOFILE children get, when the host raised its own */
  childNofile?: bigint;
  /**
   * A log service this host can run in its own process instead of running
   * `log/run` (runsvdir's in-process svlogd); undefined: run log/run.
   */
  hostLog?: (logDir: string) => InProcessLog | undefined;
  /** the log pipe's read end was opened (fd) or closed (undefined): hold it elsewhere too */
  onLogPipe?: (owner: object, read: number | undefined) => void;
  /** a path (/proc/PID/fd/N) through which a pipe (`pipe:[inode]`) still held elsewhere can be reopened */
  findLogPipe?: (inode: string) => string | undefined;
}

/** A log service running inside the supervisor's process. */
export interface InProcessLog {
  /** read the log pipe from `input`; `onExit` once it has finished */
  start(input: number, onExit: (status: ExitStatus) => void): void;
  /** what the signal would do to a logger process */
  signal(signal: NodeJS.Signals): void;
}

/** Where a supervisor's messages go; lines are prefixed `runsv NAME: `. */
export interface Reporter {
  warn(message: string): void;
  /** a child-side failure runit reports as fatal; the supervisor goes on */
  fatal(message: string): void;
}

const SIGNAL_OF: Record<string, NodeJS.Signals> = {
  h: 'SIGHUP',
  a: 'SIGALRM',
  i: 'SIGINT',
  q: 'SIGQUIT',
  '1': 'SIGUSR1',
  '2': 'SIGUSR2',
};

/** run restarts at most once a second (runit: a blocking sleep(1)). */
const RESTART_INTERVAL_US = 1_000_000;
/** Longest run of control letters applied without a turn of the event loop. */
const LETTER_SLICE_MS = 2;
/** After a failed fork, try again this much later (runit: a blocking sleep(5)). */
const FORK_RETRY_MS = 5000;
/**
 * Spawn errors that come from this process running short of a resource
 * (fork failing, no descriptor for libuv's pipe), not from the program:
 * nothing ran, so there is no exit status and no ./finish.
 */
const RESOURCE_ERRORS = new Set(['EAGAIN', 'ENOMEM', 'EMFILE', 'ENFILE']);

function micros(t: Tai64n): number {
  return unixSeconds(t) * 1e6 + Math.floor(t.nsec / 1000);
}

export class Supervisor {
  readonly main: Unit;
  readonly log: Unit | undefined;
  /** resolves when the supervisor has exited (`x` or SIGTERM completed) */
  readonly done: Promise<void>;

  private readonly dir: string;
  private logPipe: { read: number; write: number } | undefined;
  private readonly fds: number[] = [];
  private readonly sockets: Socket[] = [];
  private readonly cleanups: (() => void)[] = [];
  private readonly starting = new Set<Unit>();
  private readonly throttleTimers = new Map<Unit, NodeJS.Timeout>();
  /** units asked to run once (`o`) while they could not start yet */
  private readonly onceRequested = new Set<Unit>();
  private logPipeClosed = false;
  private exited = false;
  private queue: Promise<void> = Promise.resolve();
  private pendingLetters = 0;
  /** when the event loop last had a turn while letters were waiting */
  private lastTurn = 0;
  private resolveDone!: () => void;

  /**
   * Set up `dir` as runsv does at start-up; throws SetupError with runit's
   * fatal message when the directory cannot be supervised.
   */
  constructor(
    dir: string,
    private readonly reporter: Reporter,
    private readonly options: SupervisorOptions = {},
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    // Like runsv's cwd, the directory is held by an fd and reached through
    // /proc/self/fd/N: renaming it (or the link to it) changes nothing.
    let dirFd: number;
    try {
      dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (err) {
      throw new SetupError(`unable to change to directory: ${errorTextOf(err)}`);
    }
    this.fds.push(dirFd);
    this.dir = exists(`/proc/self/fd/${dirFd}/.`) ? `/proc/self/fd/${dirFd}` : realpathSync(dir);
    const warn = (m: string) => reporter.warn(m);
    this.main = new Unit(`${this.dir}/supervise`, 'supervise', false, warn);
    if (exists(`${this.dir}/down`)) this.main.want = 'down';

    let hasLog = false;
    try {
      if (statSync(`${this.dir}/log`).isDirectory()) hasLog = true;
      else warn('./log: not a directory.');
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') warn(`unable to stat() ./log: : ${errorTextOf(err)}`);
    }
    try {
      if (hasLog) {
        this.log = new Unit(`${this.dir}/log/supervise`, 'log/supervise', true, warn);
        if (exists(`${this.dir}/log/down`)) this.log.want = 'down';
      }
      this.openSuperviseDirs();
    } catch (err) {
      this.closeAll();
      throw err;
    }
  }

  /** Start supervising: the main loop's first iteration. */
  start(): void {
    this.tick();
  }

  /** SIGTERM: runsv treats it as `x` for the service. */
  terminate(): void {
    this.enqueue(this.main, 'x');
  }

  private openSuperviseDirs(): void {
    ensureSuperviseDir(this.dir, 'supervise');
    this.fds.push(takeLock(this.main.superviseDir, 'supervise'));
    if (this.log) {
      ensureSuperviseDir(`${this.dir}/log`, 'log/supervise');
      // runit waits for this lock; a shared event loop cannot (runsv-log-lock)
      this.fds.push(takeLock(this.log.superviseDir, 'log/supervise'));
    }
    // The locks are ours, so whoever wrote these files is gone: adopt what it left running.
    for (const unit of this.units()) this.adopt(unit);
    if (this.log) this.openLogPipe();
    for (const unit of this.units()) {
      this.listen(unit, openControlFifo(unit.superviseDir, unit.label));
      unit.writeStatus();
    }
    for (const unit of this.units()) this.fds.push(openOkFifo(unit.superviseDir, unit.label));
  }

  /** Take over a process a dead supervisor left running (runsv-adopt). */
  private adopt(unit: Unit): void {
    const found = findAdoptable(unit.superviseDir);
    if (!found) return;
    const { status } = found;
    unit.setPid(found.pid, found.startTime);
    unit.state = status.state;
    unit.time = status.time;
    unit.paused = status.paused;
    unit.gotTerm = status.gotTerm;
    unit.want = status.wantUp ? 'up' : found.wantExit && !unit.isLog ? 'exit' : 'down';
    this.reporter.warn(`adopted running ${unit.isLog ? 'log/' : ''}${status.state === State.Finish ? 'finish' : 'run'} (pid ${found.pid})`);
    const cancel = watchExit(found.pid, () => this.guard(() => this.reap(unit, { code: null, signal: 0 })));
    this.cleanups.push(cancel);
  }

  /**
   * The pipe between service and log: the one adopted processes still hold
   * (so nothing buffered in it is lost), else a new one.
   */
  private openLogPipe(): void {
    const record = `${this.main.superviseDir}/logpipe`;
    let fds: { read: number; write: number } | undefined;
    if (this.main.pid) fds = reopenPipe(`/proc/${this.main.pid}/fd/1`);
    if (!fds && this.log?.pid) fds = reopenPipe(`/proc/${this.log.pid}/fd/0`);
    if (!fds) {
      const inode = readTextFile(record)?.trim();
      const held = inode ? this.options.findLogPipe?.(inode) : undefined;
      if (held) fds = reopenPipe(held);
    }
    if (!fds) {
      try {
        fds = pipe();
      } catch (err) {
        throw new SetupError(`unable to create log pipe: ${errorTextOf(err)}`);
      }
    }
    this.logPipe = fds;
    this.fds.push(fds.read, fds.write);
    // runit-ts's own record (runit ignores it): which pipe to recover
    try {
      writeAtomic(record, `${readlinkSync(`/proc/self/fd/${fds.read}`)}\n`);
    } catch {}
    this.options.onLogPipe?.(this, fds.read);
  }

  private units(): Unit[] {
    return this.log ? [this.main, this.log] : [this.main];
  }

  private listen(unit: Unit, fd: number): void {
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.on('data', (bytes: Buffer) => {
      for (const byte of bytes) this.enqueue(unit, String.fromCharCode(byte));
    });
    socket.on('error', (err) => this.reporter.warn(`unable to read ${unit.label}/control: ${errorTextOf(err)}`));
    this.sockets.push(socket);
  }

  /**
   * Control letters are applied one at a time, in the order they arrived.
   * While more are waiting, the event loop gets a turn every couple of
   * milliseconds: a flood of bytes on a FIFO (a chain of promise
   * callbacks) must not keep this supervisor from reaping its children,
   * nor the host from serving every other service.
   */
  private enqueue(unit: Unit, letter: string): void {
    this.pendingLetters++;
    this.queue = this.queue
      .then(() => (this.exited ? undefined : this.control(unit, letter)))
      .catch((err) => this.internalError(err))
      .then(() => {
        this.pendingLetters--;
        this.guard(() => this.tick());
        if (this.pendingLetters > 0 && performance.now() - this.lastTurn >= LETTER_SLICE_MS) {
          return new Promise<void>((resolve) => setImmediate(resolve)).then(() => void (this.lastTurn = performance.now()));
        }
      });
  }

  /** The main loop's body: start what should run, then see if runsv is done. */
  private tick(): void {
    if (this.exited) return;
    const { main, log } = this;
    if (log && this.shouldStart(log)) this.launch(log).catch((err) => this.internalError(err));
    if (this.shouldStart(main)) this.launch(main).catch((err) => this.internalError(err));
    this.checkExit();
  }

  private shouldStart(unit: Unit): boolean {
    return unit.pid === 0 && (unit.want === 'up' || unit.state === State.Finish || this.onceRequested.has(unit));
  }

  private checkExit(): void {
    const { main, log } = this;
    if (main.want !== 'exit' || main.state !== State.Down || this.starting.has(main)) return;
    if (!log || log.pid === 0) return this.exit();
    if (log.want !== 'exit') {
      log.want = 'exit';
      log.writeStatus();
      this.closeLogPipe();
    }
  }

  private closeLogPipe(): void {
    if (!this.logPipe || this.logPipeClosed) return;
    this.logPipeClosed = true;
    this.options.onLogPipe?.(this, undefined);
    for (const [end, fd] of [
      ['1', this.logPipe.write],
      ['0', this.logPipe.read],
    ] as const) {
      try {
        closeSync(fd);
      } catch (err) {
        this.reporter.warn(`unable to close logpipe[${end}]: ${errorTextOf(err)}`);
      }
      this.fds.splice(this.fds.indexOf(fd), 1);
    }
  }

  private exit(): void {
    this.exited = true;
    this.closeAll();
    this.resolveDone();
  }

  private closeAll(): void {
    if (this.logPipe && !this.logPipeClosed) this.options.onLogPipe?.(this, undefined);
    for (const cancel of this.cleanups) cancel();
    this.cleanups.length = 0;
    for (const timer of this.throttleTimers.values()) clearTimeout(timer);
    this.throttleTimers.clear();
    for (const socket of this.sockets) socket.destroy();
    for (const fd of this.fds) {
      try {
        closeSync(fd);
      } catch {}
    }
    this.fds.length = 0;
  }

  /**
   * A fault while handling this service (a bug, an unexpected error) is
   * reported under its name and never reaches the host's event loop.
   */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.internalError(err);
    }
  }

  private internalError(err: unknown): void {
    this.reporter.warn(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }

  /** runsv's startservice(): run (after control/u), finish, or log/run. */
  private async launch(unit: Unit): Promise<void> {
    if (unit.pid !== 0 || this.starting.has(unit) || this.throttleTimers.has(unit)) return;
    const finishing = unit.state === State.Finish;
    const before = { state: unit.state, time: unit.time, once: this.onceRequested.has(unit) };
    this.starting.add(unit);
    if (!finishing) {
      this.onceRequested.delete(unit);
      const handled = this.custom(unit, 'u');
      if (handled) {
        unit.writeStatus();
        await handled;
      }
    }
    const file = finishing ? './finish' : './run';
    const args = finishing ? finishArgs(unit.lastExit) : [];
    const cwd = unit.isLog ? `${this.dir}/log` : this.dir;
    const logFds = this.logPipeClosed ? undefined : this.logPipe;
    const stdout = unit.isLog ? 1 : (logFds?.write ?? 1);
    const stdin = unit.isLog ? (logFds?.read ?? 'ignore') : 0;
    const onExit = (status: ExitStatus) =>
      this.guard(() =>
        'execError' in status && RESOURCE_ERRORS.has(status.execError) ? this.forkFailed(unit, status.execError, before) : this.reap(unit, status),
      );
    const hosted = unit.isLog && typeof stdin === 'number' ? this.options.hostLog?.(cwd) : undefined;
    let pid: number | undefined;
    if (hosted) {
      // the host's own pid stands for the logger in supervise/ (README)
      pid = process.pid;
      unit.hosted = hosted;
      hosted.start(stdin as number, onExit);
    } else {
      pid = spawnChild(file, args, { ...this.spawnOptions(), cwd, stdio: [stdin, stdout, 2] }, onExit);
    }
    const startTime = pid === undefined ? undefined : processStartTime(pid);
    if (!finishing) {
      unit.time = taiNow();
      unit.state = State.Run;
    }
    unit.paused = false;
    unit.gotTerm = false;
    if (pid === undefined) return; // reap() reports the exec failure as exit 111
    this.starting.delete(unit);
    unit.setPid(pid, startTime);
    unit.writeStatus();
  }

  /**
   * No child could be started for want of a resource (RLIMIT_NPROC, memory,
   * descriptors): runit's `unable to fork, sleeping`, then a retry; the
   * state is left as it was.
   */
  private forkFailed(unit: Unit, code: string, before: { state: State; time: Tai64n; once: boolean }): void {
    if (this.exited) return;
    this.starting.delete(unit);
    unit.state = before.state;
    unit.time = before.time;
    if (before.once) this.onceRequested.add(unit);
    this.reporter.warn(`unable to fork, sleeping: ${errorText(code)}`);
    this.throttleTimers.set(
      unit,
      setTimeout(() => {
        this.throttleTimers.delete(unit);
        this.guard(() => this.tick());
      }, FORK_RETRY_MS),
    );
    this.checkExit();
  }

  /** A child of `unit` ended (or never started: exec failure). */
  private reap(unit: Unit, status: ExitStatus): void {
    if (this.exited) return;
    if ('execError' in status) {
      const what = unit.isLog ? 'log/./run' : unit.state === State.Finish ? './finish' : './run';
      this.reporter.fatal(`unable to start ${what}: ${errorText(status.execError)}`);
      status = { code: 111, signal: 0 };
      this.starting.delete(unit);
    }
    unit.setPid(0);
    unit.hosted = undefined;
    unit.lastExit = status;
    unit.gotTerm = false;
    if (!unit.isLog && unit.state !== State.Finish && readable(`${this.dir}/finish`)) {
      unit.state = State.Finish;
      unit.writeStatus();
      return this.tick();
    }
    unit.state = State.Down;
    const startedAt = micros(unit.time);
    unit.time = taiNow();
    const wait = startedAt + RESTART_INTERVAL_US - nowMicros();
    // a service started again at once is published once, running: the
    // down in between would only delay its start (launch() writes it
    // should a control/u script run first)
    if (wait > 0 || !this.shouldStart(unit)) unit.writeStatus();
    if (wait > 0) {
      this.throttleTimers.set(
        unit,
        setTimeout(
          () => {
            this.throttleTimers.delete(unit);
            this.guard(() => this.tick());
          },
          Math.ceil(wait / 1000),
        ),
      );
    }
    this.tick();
  }

  /**
   * Run control/<letter> when the service has one: a promise of "handled".
   * Without one the answer is a plain false, so the default action is taken
   * in the same turn of the event loop.
   */
  private custom(unit: Unit, letter: string): Promise<boolean> | false {
    if (unit.isLog) return false;
    const ctx = {
      spawn: this.spawnOptions(),
      serviceDir: this.dir,
      stdout: this.logPipeClosed ? undefined : this.logPipe?.write,
      warn: (m: string) => this.reporter.warn(m),
      fatal: (m: string) => this.reporter.fatal(m),
    };
    const program = findCustomControl(ctx, letter);
    return program === undefined ? false : runCustomControl(ctx, program);
  }

  private spawnOptions(): { newSession?: boolean; nofile?: bigint } {
    return { newSession: this.options.newSession, nofile: this.options.childNofile };
  }

  private signal(unit: Unit, signal: NodeJS.Signals): void {
    if (unit.pid === 0) return;
    if (unit.hosted) return unit.hosted.signal(signal);
    try {
      process.kill(unit.pid, signal);
    } catch {
      // already gone: its reap is on the way
    }
  }

  /** runsv's stopservice(): TERM (unless control/t handled it), then CONT. */
  private async stop(unit: Unit): Promise<void> {
    if (unit.pid !== 0 && !(await this.custom(unit, 't')) && unit.pid !== 0) {
      this.signal(unit, 'SIGTERM');
      unit.gotTerm = true;
      unit.writeStatus();
    }
    if (unit.want === 'down' || unit.want === 'exit') {
      this.signal(unit, 'SIGCONT');
      await this.custom(unit, unit.want === 'down' ? 'd' : 'x');
    }
  }

  /** Apply one control letter (reference §3.4). */
  private async control(unit: Unit, letter: string): Promise<void> {
    const running = unit.pid !== 0 && unit.state === State.Run;
    switch (letter) {
      case 'u':
        unit.want = 'up';
        unit.writeStatus();
        return;
      case 'o':
        unit.want = 'down';
        unit.writeStatus();
        if (unit.pid === 0) this.onceRequested.add(unit);
        return;
      case 'd':
        this.onceRequested.delete(unit);
        unit.want = 'down';
        unit.writeStatus();
        if (running) await this.stop(unit);
        return;
      case 'x':
        if (unit.isLog) return;
        this.onceRequested.delete(unit);
        unit.want = 'exit';
        unit.writeStatus();
        if (running) await this.stop(unit);
        return;
      case 't':
        if (running) await this.stop(unit);
        return;
      case 'k':
        // runit also forces the state to down here, which corrupts it
        // (docs/differences.md: kill-keeps-state); the reap updates it.
        if (unit.pid !== 0 && !(await this.custom(unit, 'k'))) this.signal(unit, 'SIGKILL');
        return;
      case 'p':
        if (running && !(await this.custom(unit, 'p'))) this.signal(unit, 'SIGSTOP');
        unit.paused = true;
        unit.writeStatus();
        return;
      case 'c':
        if (running && !(await this.custom(unit, 'c'))) this.signal(unit, 'SIGCONT');
        unit.paused = false;
        unit.writeStatus();
        return;
      default: {
        const signal = SIGNAL_OF[letter];
        if (signal && running && !(await this.custom(unit, letter))) this.signal(unit, signal);
      }
    }
  }
}

/** finish's arguments: run's exit code (-1 if killed) and the signal number. */
function finishArgs(status: ExitStatus): string[] {
  if ('execError' in status) return ['111', '0'];
  // the low byte of the wait status: the signal, +128 when a core was dumped
  return status.code === null ? ['-1', String(status.signal + (status.core ? 128 : 0))] : [String(status.code), '0'];
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readable(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
    return true;
  } catch {
    return false;
  }
}

function readTextFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

// runsv for one service directory (runsv(8)): the service's program and
// its log service's, the pipe between them, the supervise/ directories
// and their control FIFOs. The Programs own their states; this file routes
// control letters to them, holds the shared resources and decides when
// the supervisor is done. Nothing here blocks, so many supervisors share
// one event loop (runsvdir) as well as run alone (runsv).
import { closeSync, openSync, readFileSync, readlinkSync, realpathSync, statSync, constants } from 'node:fs';
import { Socket } from 'node:net';
import { State, type Want } from '../protocol/status.js';
import { pipe } from '../sys/fd.js';
import { errorCode } from '../sys/errors.js';
import { errorTextOf } from '../sys/errstr.js';
import { reopenPipe } from '../sys/proc.js';
import { pathExists } from '../sys/access.js';
import { watchExit } from '../sys/pid-watch.js';
import { findAdoptable } from './adopt.js';
import { Program } from './program.js';
import { ProcessPlatform, processChild, type Reporter, type ServiceContext, type SupervisorOptions } from './platform.js';
import { StatusFiles } from './status-files.js';
import { SetupError, ensureSuperviseDir, takeLock, openControlFifo, openOkFifo } from './supervise-dir.js';
import { resolve } from 'node:path';
import { getUser } from '../sys/identity.js';
import { grantSearch } from '../sys/acl.js';
import { openDatagramSocket, type DatagramSocket } from '../sys/unix-dgram.js';
import { parseNotifyDatagram, NOTIFY_MAX_DATAGRAM } from './notify-message.js';
import { readNeeds, readNotifySocket } from './readiness-files.js';
import { watchNeeds, type NeededService } from './needs-wait.js';

/** notify socket warnings (garbage, oversize): at most this many per window, then one line saying the rest are dropped */
const NOTIFY_WARNINGS = 5;
const NOTIFY_WARNING_WINDOW_MS = 10_000;
/** the file that binds a service to its needs (docs/readiness.md) */
export const NEEDS_BOUND = 'needs-bound';

export { SetupError };

/**
 * In a runsv's environment (runsvdir --isolate sets it): ms after which a
 * stop by SIGTERM kills what ignores its stop signal, as runsvdir's own
 * stop-all does for the supervisors in its process. Not handed on to services.
 */
export const STOP_KILL_AFTER_ENV = 'RUNIT_TS_STOP_KILL_AFTER_MS';
export type { InProcessLog, Reporter, SupervisorOptions } from './platform.js';

/** Longest run of control letters applied without a turn of the event loop. */
const LETTER_SLICE_MS = 2;

interface Supervised {
  program: Program;
  files: StatusFiles;
  /** `supervise` or `log/supervise` */
  label: string;
}

export class Supervisor {
  readonly main: Program;
  readonly log: Program | undefined;
  /** resolves when the supervisor has exited (`x` or SIGTERM completed) */
  readonly done: Promise<void>;

  private readonly dir: string;
  private readonly supervised: Supervised[] = [];
  private logPipe: { read: number; write: number } | undefined;
  private logPipeClosed = false;
  private readonly fds: number[] = [];
  private readonly sockets: Socket[] = [];
  private readonly cleanups: (() => void)[] = [];
  private exited = false;
  private queue: Promise<void> = Promise.resolve();
  private pendingLetters = 0;
  /** when the event loop last had a turn while letters were waiting */
  private lastTurn = 0;
  private resolveDone!: () => void;
  /** the directory as given (needs/ siblings are named relative to it) */
  private readonly givenDir: string;
  private notifySocket: DatagramSocket | undefined;
  private notifyWarnings = 0;
  private notifyWindow = 0;

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
    this.givenDir = resolve(dir);
    // Like runsv's cwd, the directory is held by an fd and reached through
    // /proc/self/fd/N: renaming it (or the link to it) changes nothing.
    let dirFd: number;
    try {
      dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (err) {
      throw new SetupError(`unable to change to directory: ${errorTextOf(err)}`);
    }
    this.fds.push(dirFd);
    this.dir = pathExists(`/proc/self/fd/${dirFd}/.`) ? `/proc/self/fd/${dirFd}` : realpathSync(dir);
    this.main = this.addProgram(false, pathExists(`${this.dir}/down`) ? 'down' : 'up');
    if (this.hasLogDir()) this.log = this.addProgram(true, pathExists(`${this.dir}/log/down`) ? 'down' : 'up');
    try {
      this.openSuperviseDirs();
    } catch (err) {
      this.closeAll();
      throw err;
    }
  }

  /** Start supervising: the log service first, so the service's output has a reader. */
  start(): void {
    this.log?.begin();
    this.holdForNeeds();
    this.main.begin();
  }

  /**
   * needs/: ./run first starts once the needed services are up and ready
   * (docs/readiness.md). The needs stay watched: while the service
   * directory holds NEEDS_BOUND, a needed service that stops being up and
   * ready (or restarts) stops ./run as `sv term` would, and it starts again
   * once every need is up and ready.
   */
  private holdForNeeds(): void {
    const needs = this.options.needs ?? this.readNeeds();
    if (needs.length === 0) return;
    let first = true;
    /** run held back until every need is up and ready */
    let held = false;
    const cancel = watchNeeds(
      needs,
      ({ waiting, lost }) => {
        if (first) {
          held = waiting.length > 0;
          this.main.readiness.waiting = waiting;
          return;
        }
        if (held) {
          held = waiting.length > 0;
          this.main.waitFor(waiting);
          return;
        }
        if (lost.length === 0 || this.main.want === 'exit' || !pathExists(`${this.dir}/${NEEDS_BOUND}`)) return;
        held = waiting.length > 0;
        if (held) this.main.waitFor(waiting);
        // a run being started is stopped once it is known (control waits for the spawn)
        const { state, pid, isStarting } = this.main;
        if (!(state === State.Run && pid !== 0) && !(state === State.Down && isStarting)) return;
        const why = lost.map(({ name, why }) => `needed service ${name} ${why === 'restarted' ? 'restarted' : `is ${why}`}`);
        this.reporter.warn(`stopping: ${why.join(', ')}`);
        this.enqueue(this.main, 't');
      },
      { keep: true },
    );
    first = false;
    this.cleanups.push(cancel);
  }

  /** Standalone runsv: needs/ as the directory says, itself left out. */
  private readNeeds(): NeededService[] {
    const warn = (m: string) => this.reporter.warn(m);
    const self = safeRealpath(this.givenDir);
    const needs: NeededService[] = [];
    for (const need of readNeeds(this.givenDir, warn)) {
      if (need.dir === self) warn(`${need.name}: needs itself: ignored`);
      else if (!need.exists) warn(`needs ${need.name}, which is not a service directory: not waited for`);
      else needs.push({ name: need.name, dir: need.dir });
    }
    return needs;
  }

  /**
   * notify-socket: supervise/notify, a datagram socket speaking sd_notify,
   * for the supervisor's lifetime; NOTIFY_SOCKET names it in run's environment.
   */
  private openNotifySocket(): void {
    const warn = (m: string) => this.reporter.warn(m);
    const options = readNotifySocket(this.dir, warn);
    if (!options) return;
    const supervise = `${safeRealpath(this.dir)}/supervise`;
    let owner: { uid: number; gid: number } | undefined;
    if (options.owner && process.getuid?.() === 0) {
      const m = /^(\d+):(\d+)$/.exec(options.owner);
      owner = m ? { uid: Number(m[1]), gid: Number(m[2]) } : getUser(options.owner);
      if (!owner) return warn(`unable to create supervise/notify: unknown account: ${options.owner}`);
      try {
        grantSearch(supervise, owner.uid, 0o700);
      } catch (err) {
        return warn(`unable to let ${options.owner} reach supervise/notify: ${errorTextOf(err)}`);
      }
    }
    try {
      this.notifySocket = openDatagramSocket(
        `${supervise}/notify`,
        {
          message: (datagram) => {
            const parsed = parseNotifyDatagram(datagram, NOTIFY_MAX_DATAGRAM);
            const who = datagram.sender ? ` from pid ${datagram.sender.pid}` : '';
            if (!parsed.accepted) return this.notifyWarn(`notify: ${parsed.reason}${who}: ignored`);
            for (const w of parsed.warnings) this.notifyWarn(`notify: ${w}`);
            if (parsed.effects.length) this.main.notify(parsed.effects);
          },
          error: (err) => this.notifyWarn(`unable to read supervise/notify: ${errorTextOf(err)}`),
        },
        { mode: 0o600, owner, maxSize: NOTIFY_MAX_DATAGRAM },
      );
    } catch (err) {
      warn(`unable to create supervise/notify: ${errorTextOf(err)}`);
    }
  }

  /** A bounded number of notify warnings per window: a flood of garbage costs a few lines. */
  private notifyWarn(message: string): void {
    const now = performance.now();
    if (now - this.notifyWindow > NOTIFY_WARNING_WINDOW_MS) {
      this.notifyWindow = now;
      this.notifyWarnings = 0;
    }
    this.notifyWarnings++;
    if (this.notifyWarnings <= NOTIFY_WARNINGS) this.reporter.warn(message);
    else if (this.notifyWarnings === NOTIFY_WARNINGS + 1) this.reporter.warn('notify: more warnings in the next 10 seconds are not shown');
  }

  /**
   * SIGTERM: `x` for the service. With `killAfterMs` (runsvdir's shutdown),
   * a service or log service that has not exited that long after its stop
   * signal (or a finish that long after it started) is killed, unless the
   * directory's timeout-kill says otherwise.
   */
  terminate(killAfterMs?: number): void {
    if (killAfterMs !== undefined) for (const { program } of this.supervised) program.escalateStops(killAfterMs);
    this.enqueue(this.main, 'x');
  }

  private addProgram(isLog: boolean, want: Want): Program {
    const label = isLog ? 'log/supervise' : 'supervise';
    const files = new StatusFiles(`${this.dir}/${label}`, label, !isLog, (m) => this.reporter.warn(m));
    const service: ServiceContext = {
      dir: this.dir,
      options: this.options,
      reporter: this.reporter,
      logPipe: () => (this.logPipeClosed ? undefined : this.logPipe),
      notifySocket: () => this.notifySocket?.path,
    };
    const program = new Program(new ProcessPlatform(service, isLog, files), isLog, want, () => this.checkExit());
    this.supervised.push({ program, files, label });
    return program;
  }

  private hasLogDir(): boolean {
    try {
      if (statSync(`${this.dir}/log`).isDirectory()) return true;
      this.reporter.warn('./log: not a directory.');
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') this.reporter.warn(`unable to stat() ./log: : ${errorTextOf(err)}`);
    }
    return false;
  }

  private openSuperviseDirs(): void {
    for (const { files, label } of this.supervised) {
      ensureSuperviseDir(label === 'supervise' ? this.dir : `${this.dir}/log`, label);
      // runit waits for the log's lock; a shared event loop cannot (runsv-log-lock)
      const lock = takeLock(files.dir, label);
      this.fds.push(lock);
      files.holdLock(lock);
    }
    // The locks are ours, so whoever wrote these files is gone: adopt what it left running.
    let logPipe: string | undefined;
    for (const s of this.supervised) {
      const recorded = this.adopt(s);
      if (!s.program.isLog) logPipe = recorded;
    }
    if (this.log) this.openLogPipe(logPipe);
    this.openNotifySocket();
    for (const { program, files, label } of this.supervised) this.listen(program, label, openControlFifo(files.dir, label));
    // no status is written here: start() follows in the same turn and
    // publishes each program once, already running where it starts
    for (const { files, label } of this.supervised) this.fds.push(openOkFifo(files.dir, label));
  }

  /**
   * Take over a process a dead supervisor left running (runsv-adopt).
   * Returns the log pipe it recorded.
   */
  private adopt({ program, files }: Supervised): string | undefined {
    const { found, logPipe } = findAdoptable(files.dir);
    if (!found) return logPipe;
    const { status } = found;
    const child = processChild(found.pid, found.startTime);
    const want: Want = status.wantUp ? 'up' : found.wantExit && !program.isLog ? 'exit' : 'down';
    program.adopt({ child, state: status.state, time: status.time, paused: status.paused, gotTerm: status.gotTerm, want });
    const what = `${program.isLog ? 'log/' : ''}${status.state === State.Finish ? 'finish' : 'run'}`;
    this.reporter.warn(`adopted running ${what} (pid ${found.pid})`);
    this.cleanups.push(watchExit(found.pid, () => program.adoptedExited(child)));
    return logPipe;
  }

  /**
   * The pipe between service and log: the one adopted processes still hold
   * (so nothing buffered in it is lost), else a new one.
   */
  private openLogPipe(recorded: string | undefined): void {
    let fds: { read: number; write: number } | undefined;
    if (this.main.pid) fds = reopenPipe(`/proc/${this.main.pid}/fd/1`);
    if (!fds && this.log?.pid) fds = reopenPipe(`/proc/${this.log.pid}/fd/0`);
    if (!fds) {
      // an older runit-ts kept it in a file of its own
      const inode = recorded ?? readTextFile(`${this.dir}/supervise/logpipe`)?.trim();
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
      this.supervised[0]!.files.recordLogPipe(readlinkSync(`/proc/self/fd/${fds.read}`), this.main.pid, this.main.startTime);
    } catch {}
    this.options.onLogPipe?.(this, fds.read);
  }

  private listen(program: Program, label: string, fd: number): void {
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.on('data', (bytes: Buffer) => {
      for (const byte of bytes) this.enqueue(program, String.fromCharCode(byte));
    });
    socket.on('error', (err) => this.reporter.warn(`unable to read ${label}/control: ${errorTextOf(err)}`));
    this.sockets.push(socket);
  }

  /**
   * Control letters are applied one at a time, in the order they arrived.
   * While more are waiting, the event loop gets a turn every couple of
   * milliseconds: a flood of bytes on a FIFO (a chain of promise
   * callbacks) must not keep this supervisor from reaping its children,
   * nor the host from serving every other service.
   */
  private enqueue(program: Program, letter: string): void {
    this.pendingLetters++;
    this.queue = this.queue
      .then(() => (this.exited ? undefined : program.control(letter)))
      .catch((err) => this.reporter.warn(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`))
      .then(() => {
        this.pendingLetters--;
        if (this.pendingLetters > 0 && performance.now() - this.lastTurn >= LETTER_SLICE_MS) {
          return new Promise<void>((resolve) => setImmediate(resolve)).then(() => void (this.lastTurn = performance.now()));
        }
      });
  }

  /** runsv exits once the service wants exit and is down, and its log service has read all and exited. */
  private checkExit(): void {
    const { main, log } = this;
    if (this.exited || main.want !== 'exit' || main.state !== State.Down || main.isStarting) return;
    if (!log || log.pid === 0) return this.exit();
    log.exitAfterInput();
    this.closeLogPipe();
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
    for (const { program } of this.supervised) program.close();
    // what was decided in this turn is published while the lock is still held
    for (const { files } of this.supervised) files.close();
    this.notifySocket?.close();
    this.notifySocket = undefined;
    for (const cancel of this.cleanups) cancel();
    this.cleanups.length = 0;
    for (const socket of this.sockets) socket.destroy();
    for (const fd of this.fds) {
      try {
        closeSync(fd);
      } catch {}
    }
    this.fds.length = 0;
  }
}

function readTextFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

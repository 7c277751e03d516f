// What a supervised program does to the world, in one place: starting and
// signalling its process, control/ programs, the service directory's
// optional files, the clock and timers, and publishing supervise/. The
// real one is here; the unit tests give Program a fake.
import { closeSync, statSync } from 'node:fs';
import { taiNow, type Tai64n } from '../protocol/tai64n.js';
import { spawnChild, spawnChildAsync, type ExitStatus } from '../sys/spawn.js';
import { processStartTime } from '../sys/proc.js';
import { canOpenForReading } from '../sys/access.js';
import { errorTextOf } from '../sys/errstr.js';
import { findCustomControl, runCustomControl, type CustomControlContext } from './custom-control.js';
import { readTimeoutKill } from './settings.js';
import { readBackoff, readDeathTally, readDownSignal, readGiveUp, readTimeoutFinish, type RestartPolicy } from './restart-policy.js';
import { signalName } from '../util/signals.js';
import type { ProgramView, StatusFiles } from './status-files.js';
import type { ReadinessConfig } from './readiness.js';
import { readNotificationFd, readTimeoutReady, readWatchdog } from './readiness-files.js';
import { notificationPipe, watchReadiness, type ReadinessWatch } from './notification-pipe.js';
import { Containment, NO_UNIT, type Unit } from './containment.js';
import { readMemoryRestart } from './restart-policy.js';
import { readCgroupFile } from '../sys/cgroup.js';
import { ProcessTable } from '../sys/process-table.js';
import { hostedChpst } from './hosted-chpst.js';
import type { HostedExec } from '../chpst/hosted.js';

/** A running process of a program, as far as the program needs to know it. */
export interface Child {
  readonly pid: number;
  /** its start time in /proc (undefined if it could not be read) */
  readonly startTime: string | undefined;
  /** errors ignored: a process already gone is reaped soon */
  signal(signal: NodeJS.Signals): void;
}

export interface ProgramPlatform {
  /**
   * Start ./run, ./finish (with its arguments) or log/run. `onExit` runs
   * once, asynchronously, with how it ended or why it could not be started;
   * undefined when no process was started (`onExit` says why). A promise
   * of that when the start completes later (the service's ./run, spawned
   * off the event loop).
   */
  start(
    what: 'run' | 'finish',
    args: readonly string[],
    onExit: (status: ExitStatus) => void,
    extra?: StartExtra,
  ): Child | undefined | Promise<Child | undefined>;
  /** what this start of ./run declares for readiness (read at each start); undefined: nothing */
  readiness?(): ReadinessConfig | undefined;
  /** control/<letter>: a promise of "handled", or a plain false at once when there is none */
  custom(letter: string): Promise<boolean> | false;
  /** ./finish exists and can be opened (runsv checks before running it) */
  hasFinish(): boolean;
  /** the directory's timeout-kill in ms (s6's file), undefined when unset or 0 */
  timeoutKill(): number | undefined;
  /** backoff, give-up and max-death-tally, read at each death (restart-policy.ts) */
  restartPolicy(): RestartPolicy;
  /** the signal a stop sends (s6's down-signal), undefined: SIGTERM */
  downSignal(): NodeJS.Signals | undefined;
  /** ms a ./finish may run (s6's timeout-finish), undefined: no limit */
  timeoutFinish(): number | undefined;
  /** containment (containment.ts): anything left of the process that just exited */
  leftovers(): boolean;
  /** `signal` to everything of the current start's unit */
  signalLeftovers(signal: NodeJS.Signals): void;
  /** `onEmpty` once nothing of the unit is left; returns the cancel */
  whenNoLeftovers(onEmpty: () => void): () => void;
  /** the program is down for good or its supervisor ends: its cgroup goes once empty */
  release(): void;
  /** a process a dead supervisor left running is now this program's */
  adopted(pid: number): void;
  /** what contains the current process: `cgroup PATH`, `pgrp` or `none` */
  containment(): string;
  /** memory-restart in bytes, read at each start of run; undefined: none */
  memoryLimit(): number | undefined;
  /** the memory of run's process (its cgroup's, or its process tree's resident set), undefined when unknown */
  memoryUsage(pid: number): number | undefined;
  now(): Tai64n;
  /** call `fn` once after `ms`; returns its cancel */
  setTimer(ms: number, fn: () => void): () => void;
  /**
   * Write what changed of the program's supervise/ files: at the end of
   * this turn of the event loop, or with `now`, at once.
   */
  publish(view: ProgramView, now?: boolean): void;
  warn(message: string): void;
  /** a child-side failure runit reports as fatal; the supervisor goes on */
  fatal(message: string): void;
  /** a bug while handling this service: reported, never thrown into the event loop */
  internalError(err: unknown): void;
}

/** Readiness's part in a start (docs/readiness.md). */
export interface StartExtra {
  /** ./run: the notification-fd pipe's news (the first newline, or end of file before it) */
  onReadiness?: (what: 'ready' | 'eof') => void;
  /** ./finish: why the supervisor ended run (SERVICE_RESULT in finish's environment) */
  serviceResult?: string;
}

/** A log service running inside the supervisor's process. */
export interface InProcessLog {
  /** read the log pipe from `input`; `onExit` once it has finished */
  start(input: number, onExit: (status: ExitStatus) => void): void;
  /** what the signal would do to a logger process */
  signal(signal: NodeJS.Signals): void;
}

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
  /**
   * The needed services to wait for before ./run first starts (runsvdir,
   * from its needs graph: cycles and missing services left out); undefined:
   * the supervisor reads needs/ itself (standalone runsv).
   */
  needs?: readonly { name: string; dir: string }[];
}

/** Where a supervisor's messages go; lines are prefixed `runsv NAME: `. */
export interface Reporter {
  warn(message: string): void;
  /** a child-side failure runit reports as fatal; the supervisor goes on */
  fatal(message: string): void;
}

/** The service a program belongs to, as its platform sees it. */
export interface ServiceContext {
  /** the service directory (reached through /proc/self/fd/N) */
  readonly dir: string;
  readonly options: SupervisorOptions;
  readonly reporter: Reporter;
  /** the pipe between service and log, while it is open */
  logPipe(): { read: number; write: number } | undefined;
  /** the notify socket's path (NOTIFY_SOCKET), when the service has one */
  notifySocket?(): string | undefined;
}

/**
 * A process known by its pid: one this supervisor started, or one it
 * adopted. Its start time is read from /proc when first asked for (as the
 * state is published, at the end of the turn): a read right after the
 * spawn waits while the child is still in its exec.
 */
export function processChild(pid: number, knownStartTime?: string): Child {
  let startTime = knownStartTime;
  let read = knownStartTime !== undefined;
  return {
    pid,
    get startTime() {
      if (!read) {
        read = true;
        startTime = processStartTime(pid);
      }
      return startTime;
    },
    signal(signal) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone: its exit is on the way
      }
    },
  };
}

export class ProcessPlatform implements ProgramPlatform {
  private readonly cwd: string;
  /** readiness as read for the current start of run */
  private notificationFd: number | undefined;
  private watchdogUsec: number | undefined;
  private readinessWatch: ReadinessWatch | undefined;
  private readonly containing: Containment;
  /** the containment of the current (or last) process */
  private unit: Unit = NO_UNIT;

  constructor(
    private readonly service: ServiceContext,
    private readonly isLog: boolean,
    private readonly files: StatusFiles,
  ) {
    this.cwd = isLog ? `${service.dir}/log` : service.dir;
    this.containing = new Containment(this.cwd, (m) => this.warn(m));
  }

  start(
    what: 'run' | 'finish',
    args: readonly string[],
    onExit: (status: ExitStatus) => void,
    extra: StartExtra = {},
  ): Child | undefined | Promise<Child | undefined> {
    const pipe = this.service.logPipe();
    if (this.isLog) {
      const hosted = pipe ? this.service.options.hostLog?.(this.cwd) : undefined;
      if (hosted && pipe) {
        this.unit = NO_UNIT;
        hosted.start(pipe.read, onExit);
        // the host's own pid stands for the logger in supervise/ (README)
        const host = processChild(process.pid);
        return {
          pid: host.pid,
          get startTime() {
            return host.startTime;
          },
          signal: (signal) => hosted.signal(signal),
        };
      }
    }
    const stdio: [number | 'ignore', number | 'ignore', number | 'ignore', ...(number | 'ignore')[]] = this.isLog
      ? [pipe?.read ?? 'ignore', 1, 2]
      : [0, pipe?.write ?? 1, 2];
    const env = this.isLog ? undefined : this.childEnv(what, extra);
    const unit = (this.unit = this.containing.unit(this.service.options.newSession ?? false));
    const options = { ...this.spawnOptions(), newGroup: unit.newGroup, cgroup: unit.cgroup, cwd: this.cwd, stdio, ...(env ? { env } : {}) };
    const notify = !this.isLog && what === 'run' && extra.onReadiness ? this.readinessPipe(stdio, extra.onReadiness) : undefined;
    // ./run off the event loop: the log pipe it gets stays open until it is
    // started (the supervisor closes it only once the service is down and not starting)
    if (!this.isLog && what === 'run') {
      // a chpst line the supervisor applies itself starts its program without a chpst process
      const spawnRun = (exec: HostedExec | undefined) =>
        exec ? spawnChildAsync(exec.argv[0]!, exec.argv.slice(1), { ...options, setup: exec.setup }, onExit) : spawnChildAsync('./run', args, options, onExit);
      const hosted = hostedChpst(this.cwd, env ?? process.env);
      return (hosted instanceof Promise ? hosted.then(spawnRun) : spawnRun(hosted)).then(
        (pid) => {
          notify?.spawned(pid !== undefined);
          if (pid !== undefined) unit.joined(pid);
          return pid === undefined ? undefined : processChild(pid);
        },
        (err) => {
          notify?.spawned(false);
          throw err;
        },
      );
    }
    const pid = spawnChild(`./${what}`, args, options, onExit);
    if (pid !== undefined) unit.joined(pid);
    return pid === undefined ? undefined : processChild(pid);
  }

  readiness(): ReadinessConfig | undefined {
    if (this.isLog) return undefined;
    const warn = (m: string) => this.warn(m);
    this.notificationFd = readNotificationFd(this.cwd, warn);
    const declared = this.notificationFd !== undefined || this.service.notifySocket?.() !== undefined;
    if (!declared) return undefined;
    this.watchdogUsec = readWatchdog(this.cwd, warn);
    return { declared, watchdogUsec: this.watchdogUsec, timeoutReady: readTimeoutReady(this.cwd, warn) };
  }

  /** run's environment when it differs from ours: NOTIFY_SOCKET, WATCHDOG_USEC; finish's SERVICE_RESULT. */
  private childEnv(what: 'run' | 'finish', extra: StartExtra): NodeJS.ProcessEnv | undefined {
    const socket = this.service.notifySocket?.();
    if (what === 'finish') return extra.serviceResult ? { ...process.env, SERVICE_RESULT: extra.serviceResult } : undefined;
    if (socket === undefined) return undefined;
    const env: NodeJS.ProcessEnv = { ...process.env, NOTIFY_SOCKET: socket };
    // sd_watchdog_enabled() ignores WATCHDOG_USEC when WATCHDOG_PID is not its pid: none is given (docs/readiness.md)
    delete env.WATCHDOG_PID;
    if (this.watchdogUsec) env.WATCHDOG_USEC = String(this.watchdogUsec);
    else delete env.WATCHDOG_USEC;
    return env;
  }

  /**
   * notification-fd: a pipe whose write end run gets on that number; its
   * read end is watched once the spawn is done (the write end closed here).
   */
  private readinessPipe(stdio: (number | 'ignore')[], report: (what: 'ready' | 'eof') => void): { spawned(ok: boolean): void } | undefined {
    const fd = this.notificationFd;
    if (fd === undefined) return undefined;
    let ends: { read: number; write: number };
    try {
      ends = notificationPipe();
    } catch (err) {
      this.warn(`unable to create the notification-fd pipe: ${errorTextOf(err)}`);
      return undefined;
    }
    while (stdio.length < fd) stdio.push('ignore');
    stdio[fd] = ends.write;
    this.readinessWatch?.close();
    this.readinessWatch = undefined;
    return {
      spawned: (ok) => {
        closeSync(ends.write);
        if (!ok) return closeSync(ends.read);
        this.readinessWatch = watchReadiness(ends.read, {
          ready: () => report('ready'),
          eof: () => report('eof'),
          error: (err) => this.warn(`unable to read the notification-fd pipe: ${errorTextOf(err)}`),
        });
      },
    };
  }

  custom(letter: string): Promise<boolean> | false {
    if (this.isLog) return false;
    const ctx: CustomControlContext = {
      spawn: this.spawnOptions(),
      serviceDir: this.service.dir,
      stdout: this.service.logPipe()?.write,
      warn: (m) => this.warn(m),
      fatal: (m) => this.fatal(m),
    };
    const program = findCustomControl(ctx, letter);
    return program === undefined ? false : runCustomControl(ctx, program);
  }

  hasFinish(): boolean {
    if (this.isLog) return false;
    const path = `${this.cwd}/finish`;
    // checked at every exit: the usual absence without an exception, then runit's open_read
    try {
      if (!statSync(path, { throwIfNoEntry: false })) return false;
    } catch {
      return false; // what open would fail on too (EACCES, ENOTDIR, ELOOP)
    }
    return canOpenForReading(path);
  }

  timeoutKill(): number | undefined {
    return readTimeoutKill(this.cwd, (m) => this.warn(m));
  }

  restartPolicy(): RestartPolicy {
    const warn = (m: string) => this.warn(m);
    return { backoff: readBackoff(this.cwd, warn), giveUp: readGiveUp(this.cwd, warn), deathTally: readDeathTally(this.cwd, warn) };
  }

  downSignal(): NodeJS.Signals | undefined {
    const signal = readDownSignal(this.cwd, (m) => this.warn(m));
    return signal === undefined ? undefined : (signalName(signal) as NodeJS.Signals);
  }

  timeoutFinish(): number | undefined {
    return this.isLog ? undefined : readTimeoutFinish(this.cwd, (m) => this.warn(m));
  }

  leftovers(): boolean {
    return this.unit.leftovers();
  }

  signalLeftovers(signal: NodeJS.Signals): void {
    this.unit.signal(signal);
  }

  whenNoLeftovers(onEmpty: () => void): () => void {
    return this.unit.whenEmpty(onEmpty);
  }

  release(): void {
    this.containing.release();
  }

  adopted(pid: number): void {
    // a hosted logger's pid is the host's own: nothing to contain
    if (pid === process.pid) return;
    this.unit = this.containing.unit(this.service.options.newSession ?? false);
    this.unit.joined(pid, true);
  }

  containment(): string {
    return this.unit.cgroup ? `cgroup ${this.unit.cgroup}` : this.unit.kind;
  }

  memoryLimit(): number | undefined {
    return readMemoryRestart(this.cwd, (m) => this.warn(m));
  }

  memoryUsage(pid: number): number | undefined {
    const current = this.unit.cgroup ? readCgroupFile(this.unit.cgroup, 'memory.current') : undefined;
    if (current !== undefined) return Number(current);
    return new ProcessTable().usage(pid)?.rssBytes;
  }

  now(): Tai64n {
    return taiNow();
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  }

  publish(view: ProgramView, now = false): void {
    if (now) this.files.writeNow(view);
    else this.files.write(view);
  }

  warn(message: string): void {
    this.service.reporter.warn(message);
  }

  fatal(message: string): void {
    this.service.reporter.fatal(message);
  }

  internalError(err: unknown): void {
    this.warn(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }

  private spawnOptions(): { newSession?: boolean; nofile?: bigint } {
    return { newSession: this.service.options.newSession, nofile: this.service.options.childNofile };
  }
}

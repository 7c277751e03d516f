// One supervised program, a service's ./run (with its ./finish) or its
// log/run, as a state machine: runsv(8)'s behaviour for one of the two.
// It owns its state and every transition; what it does to the world goes
// through ProgramPlatform (platform.ts), so the unit tests drive it with a
// fake clock and fake children. After each event it publishes its state;
// the platform writes supervise/ once per turn of the event loop.
import { State, type Want } from '../protocol/status.js';
import { unixSeconds, type Tai64n } from '../protocol/tai64n.js';
import type { ExitStatus } from '../sys/spawn.js';
import { errorText } from '../sys/errstr.js';
import { addDeath, deathsWithin, type Death, type Deaths } from '../protocol/deaths.js';
import type { Child, ProgramPlatform } from './platform.js';
import type { ProgramView } from './status-files.js';
import { nextBackoffMs } from './restart-policy.js';
import { Readiness } from './readiness.js';
import type { NotifyEffect } from './notify-message.js';

/** A process a dead supervisor left running, and the state it published. */
export interface Adopted {
  child: Child;
  state: State;
  time: Tai64n;
  paused: boolean;
  gotTerm: boolean;
  want: Want;
}

/** run restarts at most once a second (runit: a blocking sleep(1)). */
export const RESTART_INTERVAL_US = 1_000_000;
/** s6's permanent failure: ./finish exiting with it stops the restarts. */
export const PERMANENT_FAILURE = 125;
/** memory-restart: how often a running service's memory is looked at. */
export const MEMORY_CHECK_MS = 1000;
/** What is left of a service after its process: TERM, then SIGKILL after this (ms) unless timeout-kill says. */
export const LEFTOVER_KILL_MS = 2000;
/** After SIGKILL, how long what is left of a service may take to disappear before the supervisor goes on without it. */
export const LEFTOVER_GRACE_MS = 1000;
/** After a failed fork, try again this much later (runit: a blocking sleep(5)). */
export const FORK_RETRY_MS = 5000;
/**
 * Spawn errors that come from this process running short of a resource
 * (fork failing, no descriptor), not from the program: nothing ran, so
 * there is no exit status and no ./finish.
 */
const RESOURCE_ERRORS = new Set(['EAGAIN', 'ENOMEM', 'EMFILE', 'ENFILE']);

const SIGNAL_OF: Readonly<Record<string, NodeJS.Signals>> = {
  h: 'SIGHUP',
  a: 'SIGALRM',
  i: 'SIGINT',
  q: 'SIGQUIT',
  '1': 'SIGUSR1',
  '2': 'SIGUSR2',
};

/** One launch: what it starts, when, and whether it was a once-request. */
interface Attempt {
  finishing: boolean;
  time: Tai64n;
  once: boolean;
}

export class Program implements ProgramView {
  state = State.Down;
  want: Want;
  paused = false;
  gotTerm = false;
  time: Tai64n;
  private child: Child | undefined;
  /** how the last run (or finish) ended, for finish's arguments */
  private lastExit: ExitStatus = { code: 0, signal: 0 };
  /** a launch is under way (control/u running, the spawn under way, or an exec failure not yet reported) */
  private starting = false;
  /** settles when a spawn that completes later has completed: letters wait for it */
  private spawning: Promise<unknown> | undefined;
  /** `o` arrived while the program could not start yet */
  private onceRequested = false;
  /** the restart throttle or the fork retry */
  private restartTimer: (() => void) | undefined;
  /** SIGKILL after a stop that was not obeyed in time */
  private killTimer: (() => void) | undefined;
  /** when killTimer fires (ms on the platform's clock), for EXTEND_TIMEOUT_USEC */
  private killDue = 0;
  /** the memory-restart check while run runs */
  private memoryTimer: (() => void) | undefined;
  /** the process has exited, what it left is being stopped: its cancels */
  private clearing: (() => void)[] | undefined;
  /** a stop's SIGKILL delay when the service sets none (runsvdir's shutdown) */
  private killAfterDefaultMs: number | undefined;
  /** SIGKILL for a ./finish that outlives timeout-finish */
  private finishTimer: (() => void) | undefined;
  /** how run ended, each time (supervise/deaths) */
  deaths: Deaths = { total: 0, records: [] };
  /** restarts stopped (finish exited 125, or the give-up tally) until `u` */
  givenUp = false;
  /** deaths before then do not count for give-up: `sv up` after a give-up */
  private tallySince: Tai64n | undefined;
  /** the backoff's last delay (ms) while the service keeps dying */
  private backoffMs: number | undefined;
  /** when a pending backoff restart is due (published), undefined when none */
  restartAt: Tai64n | undefined;
  private closed = false;
  /** ./run's readiness and the needs it waits for (readiness.ts) */
  readonly readiness: Readiness;

  constructor(
    private readonly platform: ProgramPlatform,
    readonly isLog: boolean,
    want: Want,
    /** called after every event this program handled (the supervisor's exit check) */
    private readonly onSettled: () => void = () => {},
  ) {
    this.want = want;
    this.time = platform.now();
    this.readiness = new Readiness({
      now: () => platform.now(),
      setTimer: (ms, fn) => platform.setTimer(ms, () => this.event(fn)),
      signal: (signal) => this.signal(signal),
      warn: (message) => platform.warn(message),
    });
  }

  /** What one sd_notify datagram asked for (readiness.ts). */
  notify(effects: readonly NotifyEffect[]): void {
    this.event(() => {
      this.readiness.notify(effects);
      for (const e of effects) if (e.kind === 'extend-timeout') this.extendKill(e.usec / 1000);
    });
  }

  /** ./run is held back while `names` (needed services) are not up and ready. */
  waitFor(names: readonly string[]): void {
    this.event(() => (this.readiness.waiting = names));
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  get startTime(): string | undefined {
    return this.child?.startTime;
  }

  /** What contains the process (supervise/lock's record): `cgroup PATH`, `pgrp` or `none`. */
  get containment(): string {
    return this.platform.containment();
  }

  /** Busy starting: the supervisor must not consider the program down yet. */
  get isStarting(): boolean {
    return this.starting;
  }

  /** The first step: start if wanted, publish. */
  begin(): void {
    this.settle();
  }

  /** Take over a process a dead supervisor left running (runsv-adopt). */
  adopt(found: Adopted): void {
    this.child = found.child;
    this.state = found.state;
    this.time = found.time;
    this.paused = found.paused;
    this.gotTerm = found.gotTerm;
    this.want = found.want;
    this.platform.adopted(found.child.pid);
  }

  /** The exit status of an adopted process cannot be known. */
  adoptedExited(child: Child): void {
    this.event(() => {
      if (this.child === child) this.clearLeftovers({ code: null, signal: 0 });
    });
  }

  /** Stops that follow escalate to SIGKILL after `ms` unless the service sets timeout-kill. */
  escalateStops(ms: number): void {
    this.killAfterDefaultMs = ms;
    // a finish already running is bounded too; a running run is stopped by the `x` that follows
    if (this.child && this.state === State.Finish) this.armKill();
  }

  /** The log service's end: its input is closed next, it runs until it has read it. */
  exitAfterInput(): void {
    if (this.want === 'exit') return;
    this.want = 'exit';
    if (this.killAfterDefaultMs !== undefined) this.armKill();
    this.publish();
  }

  /** The supervisor is gone: no timer fires, no event is handled. */
  close(): void {
    this.closed = true;
    this.restartTimer?.();
    this.restartTimer = undefined;
    this.killTimer?.();
    this.killTimer = undefined;
    this.finishTimer?.();
    this.finishTimer = undefined;
    this.memoryTimer?.();
    this.memoryTimer = undefined;
    for (const cancel of this.clearing ?? []) cancel();
    this.clearing = undefined;
    this.platform.release();
  }

  /** Apply one control letter (runsv(8)); resolves when its action is done. */
  async control(letter: string): Promise<void> {
    // a letter applies to the process being started, once it is known (runit forks at once)
    if (this.spawning) await this.spawning;
    if (this.closed) return;
    await this.applyLetter(letter);
    this.settle();
  }

  private async applyLetter(letter: string): Promise<void> {
    const running = this.child !== undefined && this.state === State.Run;
    switch (letter) {
      case 'u':
        this.want = 'up';
        this.operatorStart();
        return;
      case 'o':
        this.want = 'down';
        if (!this.child) this.onceRequested = true;
        this.operatorStart();
        return;
      case 'd':
      case 'x':
        if (letter === 'x' && this.isLog) return;
        this.onceRequested = false;
        this.cancelBackoff();
        this.want = letter === 'd' ? 'down' : 'exit';
        if (running) await this.stop();
        return;
      case 't':
        if (running) await this.stop();
        return;
      case 'k':
        // runit also forces the state to down here, which corrupts it
        // (docs/differences.md: runsv-kill-keeps-state); the exit updates it.
        if (this.child && !(await this.custom('k'))) this.signal('SIGKILL');
        return;
      case 'p':
        if (running && !(await this.custom('p'))) this.signal('SIGSTOP');
        this.paused = true;
        return;
      case 'c':
        if (running && !(await this.custom('c'))) this.signal('SIGCONT');
        this.paused = false;
        return;
      default: {
        const signal = SIGNAL_OF[letter];
        if (signal && running && !(await this.custom(letter))) this.signal(signal);
      }
    }
  }

  /**
   * An operator asked for a start (`u`, `o`): a given-up service may start
   * again, and a backoff does not make them wait (runit's one-second
   * throttle still applies).
   */
  private operatorStart(): void {
    // a fresh chance: the deaths that made it give up count no more
    if (this.givenUp) this.tallySince = this.platform.now();
    this.givenUp = false;
    this.backoffMs = undefined;
    this.cancelBackoff();
  }

  private cancelBackoff(): void {
    if (!this.restartAt) return;
    this.restartAt = undefined;
    this.restartTimer?.();
    this.restartTimer = undefined;
  }

  /** runsv's stopservice(): TERM or the down-signal (unless control/t handled it), then CONT. */
  private async stop(): Promise<void> {
    if (this.child && !(await this.custom('t')) && this.child) {
      this.signal(this.platform.downSignal() ?? 'SIGTERM');
      this.gotTerm = true;
    }
    this.armKill();
    if (this.want === 'down' || this.want === 'exit') {
      this.signal('SIGCONT');
      await this.custom(this.want === 'down' ? 'd' : 'x');
    }
  }

  /** After a stop: SIGKILL once the service's timeout-kill (or the host's default) has passed. */
  private armKill(): void {
    const ms = this.platform.timeoutKill() ?? this.killAfterDefaultMs;
    const child = this.child;
    if (ms === undefined || !child || this.killTimer) return;
    this.setKillTimer(child, ms);
  }

  private setKillTimer(child: Child, ms: number): void {
    this.killDue = micros(this.platform.now()) / 1000 + ms;
    this.killTimer = this.platform.setTimer(ms, () =>
      this.event(() => {
        this.killTimer = undefined;
        if (this.child !== child) return;
        // to the whole containment unit: what the service started dies with it
        child.signal('SIGKILL');
        this.platform.signalLeftovers('SIGKILL');
      }),
    );
  }

  /** EXTEND_TIMEOUT_USEC while a stop waits: its SIGKILL comes no earlier than `ms` from now. */
  private extendKill(ms: number): void {
    const child = this.child;
    if (!this.killTimer || !child || this.killDue - micros(this.platform.now()) / 1000 >= ms) return;
    this.killTimer();
    this.setKillTimer(child, ms);
  }

  /**
   * control/<letter>, published before it runs (it may read supervise/). A
   * plain false without one, so the default action is taken in this turn.
   */
  private custom(letter: string): Promise<boolean> | false {
    const handled = this.platform.custom(letter);
    if (handled !== false) this.publish(true);
    return handled;
  }

  private signal(signal: NodeJS.Signals): void {
    this.child?.signal(signal);
  }

  /** Handle one event from the world, then start what should run and publish. */
  private event(fn: () => void): void {
    if (this.closed) return;
    try {
      fn();
    } catch (err) {
      this.platform.internalError(err);
    }
    this.settle();
  }

  private settle(): void {
    if (this.closed) return;
    if (this.shouldStart()) this.launch().catch((err) => this.platform.internalError(err));
    this.publish();
    this.onSettled();
  }

  /**
   * While a spawn is under way nothing changes: its completion publishes
   * (so a service's first state written is run, not down then run).
   */
  private publish(now = false): void {
    if (!this.closed && (now || !this.spawning)) this.platform.publish(this, now);
  }

  private shouldStart(): boolean {
    if (this.clearing) return false;
    if (this.state !== State.Finish && this.readiness.waiting.length > 0) return false;
    return !this.child && !this.starting && !this.restartTimer && (this.want === 'up' || this.state === State.Finish || this.onceRequested);
  }

  /** runsv's startservice(): run (after control/u), finish, or log/run. */
  private async launch(): Promise<void> {
    const finishing = this.state === State.Finish;
    const once = this.onceRequested;
    this.starting = true;
    if (!finishing) {
      this.onceRequested = false;
      const handled = this.custom('u');
      if (handled) {
        await handled;
        if (this.closed) return;
      }
    }
    const attempt: Attempt = { finishing, time: this.platform.now(), once };
    // readiness: reset at each start of run; finish learns why the supervisor ended run
    const generation = finishing || this.isLog ? 0 : this.readiness.starting(this.platform.readiness?.());
    const extra = finishing
      ? { serviceResult: this.readiness.takeReason() }
      : { onReadiness: generation ? (what: 'ready' | 'eof') => this.event(() => this.readiness.pipe(generation, what)) : undefined };
    const child = this.platform.start(
      finishing ? 'finish' : 'run',
      finishing ? finishArgs(this.lastExit) : [],
      (status) => this.event(() => this.exited(status, attempt)),
      extra,
    );
    if (!(child instanceof Promise)) return this.spawned(child, attempt);
    // letters wait for this promise: it settles once the child is known
    const spawning = child.then(
      (c) => {
        this.spawning = undefined;
        if (!this.closed) this.spawned(c, attempt);
      },
      (err) => {
        this.spawning = undefined;
        this.platform.internalError(err);
      },
    );
    this.spawning = spawning;
    await spawning;
  }

  private spawned(child: Child | undefined, attempt: Attempt): void {
    // a start that failed: exited() says why, and it may have come while
    // the spawn was still under way, when nothing could be published
    if (!child) return this.publish();
    this.started(attempt);
    this.starting = false;
    this.child = child;
    if (attempt.finishing && this.killAfterDefaultMs !== undefined) this.armKill();
    if (attempt.finishing) this.boundFinish(child);
    else if (!this.isLog) this.watchMemory(child);
    this.publish();
  }

  /**
   * memory-restart (PM2's max_memory_restart): run's memory looked at every
   * MEMORY_CHECK_MS; over the limit, it is stopped as by `sv term` and so
   * restarted. Nothing is looked at for a service without the file.
   */
  private watchMemory(child: Child): void {
    const limit = this.platform.memoryLimit();
    if (limit === undefined) return;
    this.memoryTimer = this.platform.setTimer(MEMORY_CHECK_MS, () =>
      this.event(() => {
        this.memoryTimer = undefined;
        if (this.child !== child || this.state !== State.Run) return;
        const used = this.platform.memoryUsage(child.pid);
        if (used === undefined || used <= limit) return this.watchMemory(child);
        this.platform.warn(`memory ${used} bytes over memory-restart ${limit}: restarting`);
        this.readiness.stoppedFor('oom-kill');
        this.control('t').catch((err) => this.platform.internalError(err));
      }),
    );
  }

  /** timeout-finish (s6): a ./finish still running after it is killed. */
  private boundFinish(child: Child): void {
    const ms = this.platform.timeoutFinish();
    if (ms === undefined) return;
    this.finishTimer = this.platform.setTimer(ms, () =>
      this.event(() => {
        this.finishTimer = undefined;
        if (this.child !== child) return;
        this.platform.warn(`./finish still running after timeout-finish (${ms} ms): killed`);
        child.signal('SIGKILL');
      }),
    );
  }

  /** A run starts (finish leaves the state and time of the run it follows). */
  private started(attempt: Attempt): void {
    if (!attempt.finishing) {
      this.time = attempt.time;
      this.state = State.Run;
    }
    this.paused = false;
    this.gotTerm = false;
  }

  private exited(status: ExitStatus, attempt: Attempt): void {
    if ('execError' in status) {
      if (RESOURCE_ERRORS.has(status.execError)) return this.forkFailed(status.execError, attempt);
      // as runit: the program was started and exited 111 at once
      this.started(attempt);
      this.starting = false;
      const what = this.isLog ? 'log/./run' : attempt.finishing ? './finish' : './run';
      this.platform.fatal(`unable to start ${what}: ${errorText(status.execError)}`);
      status = { code: 111, signal: 0 };
    }
    this.clearLeftovers(status);
  }

  /**
   * Containment (docs/containment.md): once the process has exited, what
   * it left running is stopped before anything else happens (./finish, the
   * restart, down): TERM and CONT, then SIGKILL after timeout-kill (or
   * LEFTOVER_KILL_MS). Meanwhile the program still shows the process that
   * exited, as it is not down yet, and the letters find nothing to signal.
   */
  private clearLeftovers(status: ExitStatus): void {
    this.memoryTimer?.();
    this.memoryTimer = undefined;
    const exited = this.child;
    if (!exited || !this.platform.leftovers()) return this.ended(status);
    this.child = { pid: exited.pid, startTime: exited.startTime, signal() {} };
    this.platform.signalLeftovers('SIGTERM');
    this.platform.signalLeftovers('SIGCONT');
    const done = (): void => {
      for (const cancel of this.clearing ?? []) cancel();
      this.clearing = undefined;
      this.ended(status);
    };
    const killAfter = this.platform.timeoutKill() ?? this.killAfterDefaultMs ?? LEFTOVER_KILL_MS;
    this.clearing = [
      this.platform.whenNoLeftovers(() => this.event(done)),
      this.platform.setTimer(killAfter, () =>
        this.event(() => {
          this.platform.signalLeftovers('SIGKILL');
          this.clearing?.push(
            this.platform.setTimer(LEFTOVER_GRACE_MS, () =>
              this.event(() => {
                this.platform.warn(`processes left by pid ${exited.pid} still there ${LEFTOVER_GRACE_MS} ms after SIGKILL: going on without them`);
                done();
              }),
            ),
          );
        }),
      ),
    ];
  }

  /**
   * No child could be started for want of a resource (RLIMIT_NPROC, memory,
   * descriptors): runit's `unable to fork, sleeping`, then a retry; the
   * state is left as it was.
   */
  private forkFailed(code: string, attempt: Attempt): void {
    this.starting = false;
    if (attempt.once) this.onceRequested = true;
    this.platform.warn(`unable to fork, sleeping: ${errorText(code)}`);
    this.restartTimer = this.platform.setTimer(FORK_RETRY_MS, () => this.event(() => (this.restartTimer = undefined)));
  }

  /**
   * The program's process ended: finish next, or down and a restart —
   * throttled to one a second as runit's, or after the backoff's delay, or
   * none once given up.
   */
  private ended(status: ExitStatus): void {
    this.child = undefined;
    if (this.state !== State.Finish) this.readiness.ended();
    this.killTimer?.();
    this.killTimer = undefined;
    this.finishTimer?.();
    this.finishTimer = undefined;
    const finishEnded = this.state === State.Finish;
    const policy = finishEnded ? undefined : this.platform.restartPolicy();
    // an adopted process's end cannot be known (code null, no signal): nothing to record
    const known = 'execError' in status || status.code !== null || status.signal !== 0;
    if (policy && known) this.deaths = addDeath(this.deaths, deathOf(status, this.platform.now()), policy.deathTally);
    else if (!('execError' in status) && status.code === PERMANENT_FAILURE) this.giveUp('./finish exited 125');
    this.lastExit = status;
    this.gotTerm = false;
    if (!this.isLog && !finishEnded && this.platform.hasFinish()) {
      this.state = State.Finish;
      this.judge(policy!);
      return;
    }
    if (policy) this.judge(policy);
    this.state = State.Down;
    const startedAt = micros(this.time);
    this.time = this.platform.now();
    const ranMs = (micros(this.time) - startedAt) / 1000;
    const backoff = this.lastPolicy?.backoff;
    if (this.givenUp || this.want !== 'up') {
      this.platform.release();
      return this.throttle(startedAt);
    }
    if (!backoff) return this.throttle(startedAt);
    const delay = nextBackoffMs(backoff, this.backoffMs, ranMs);
    this.backoffMs = delay;
    this.restartAt = addMicros(this.time, delay * 1000);
    this.restartTimer = this.platform.setTimer(delay, () =>
      this.event(() => {
        this.restartTimer = undefined;
        this.restartAt = undefined;
      }),
    );
  }

  /** The policy read at the last death: its backoff applies when the program goes down. */
  private lastPolicy: ReturnType<ProgramPlatform['restartPolicy']> | undefined;

  /** After a death: give up when the tally says so. */
  private judge(policy: ReturnType<ProgramPlatform['restartPolicy']>): void {
    this.lastPolicy = policy;
    const g = policy.giveUp;
    if (g && !this.givenUp && deathsWithin(this.deaths, g.seconds, unixSeconds(this.platform.now()), this.tallySince) >= g.deaths) {
      this.giveUp(`${g.deaths} deaths in ${g.seconds} seconds`);
    }
  }

  /** Restarts stop until `sv up` (or `o`): the service stays down. */
  private giveUp(why: string): void {
    if (this.givenUp) return;
    this.givenUp = true;
    this.want = 'down';
    this.cancelBackoff();
    this.platform.warn(`given up after ${why}: sv up starts it again`);
  }

  /** runit's throttle: a run that started less than a second ago is restarted when the second is over. */
  private throttle(startedAt: number): void {
    const wait = startedAt + RESTART_INTERVAL_US - micros(this.time);
    if (wait > 0) this.restartTimer = this.platform.setTimer(Math.ceil(wait / 1000), () => this.event(() => (this.restartTimer = undefined)));
  }
}

function micros(t: Tai64n): number {
  return unixSeconds(t) * 1e6 + Math.floor(t.nsec / 1000);
}

function addMicros(t: Tai64n, us: number): Tai64n {
  const nsec = t.nsec + Math.round(us % 1e6) * 1000;
  return { sec: t.sec + BigInt(Math.floor(us / 1e6)) + BigInt(Math.floor(nsec / 1e9)), nsec: nsec % 1e9 };
}

/** A death as supervise/deaths records it; an exec failure is runit's exit 111. */
function deathOf(status: ExitStatus, time: Tai64n): Death {
  if ('execError' in status) return { time, code: 111 };
  return status.code === null ? { time, signal: status.signal } : { time, code: status.code };
}

/** finish's arguments: run's exit code (-1 if killed) and the signal number. */
export function finishArgs(status: ExitStatus): string[] {
  if ('execError' in status) return ['111', '0'];
  // the low byte of the wait status: the signal, +128 when a core was dumped
  return status.code === null ? ['-1', String(status.signal + (status.core ? 128 : 0))] : [String(status.code), '0'];
}

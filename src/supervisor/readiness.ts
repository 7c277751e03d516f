// A service's readiness while it runs (docs/readiness.md): what the
// notification-fd pipe and the notify socket said, the watchdog and the
// timeout-ready timers. Program (program.ts) owns one for its ./run and
// drives it at each start and end of run; its contact with the world is
// the ReadinessDeps below, so the unit tests drive it with Program's fake
// clock. Timers are armed only while something is due: an idle ready
// service without a watchdog costs nothing.
import type { ReadinessRecord, ReadinessState } from '../protocol/readiness.js';
import { unixSeconds, type Tai64n } from '../protocol/tai64n.js';
import type { NotifyEffect } from './notify-message.js';
import type { TimeoutReady } from './readiness-files.js';

/** What a start of ./run declares, read from the service directory at each start. */
export interface ReadinessConfig {
  /** notification-fd or notify-socket is there: `up` means ready */
  declared: boolean;
  /** watchdog (µs), undefined: off */
  watchdogUsec?: number;
  timeoutReady?: TimeoutReady;
}

export interface ReadinessDeps {
  now(): Tai64n;
  /** a timer whose callback runs as one of the program's events */
  setTimer(ms: number, fn: () => void): () => void;
  /** signal the running ./run */
  signal(signal: NodeJS.Signals): void;
  warn(message: string): void;
}

/** Why the supervisor itself ended a run, told to ./finish as SERVICE_RESULT (systemd's name). */
export type StopReason = 'watchdog' | 'timeout' | 'oom-kill';

export class Readiness {
  /** readiness declared by the current (or last) start */
  declared = false;
  state: ReadinessState = 'none';
  since: Tai64n | undefined;
  status = '';
  errno: number | undefined;
  exitStatus: number | undefined;
  mainPid: number | undefined;
  /** needed services not up and ready: ./run is held back while not empty */
  waiting: readonly string[] = [];
  private config: ReadinessConfig = { declared: false };
  /** each start's number: events of an earlier start are ignored */
  private generation = 0;
  private watchdogUsec: number | undefined;
  private watchdogTimer: (() => void) | undefined;
  private timeoutTimer: (() => void) | undefined;
  private timeoutDue = 0;
  /** why the supervisor ended the last run, until ./finish is started */
  private reason: StopReason | undefined;

  constructor(private readonly deps: ReadinessDeps) {}

  /** A start of ./run; returns its generation (for the notification pipe's events). */
  starting(config: ReadinessConfig | undefined): number {
    this.cancelTimers();
    this.config = config ?? { declared: false };
    this.declared = this.config.declared;
    this.state = this.declared ? 'starting' : 'none';
    this.since = undefined;
    this.status = '';
    this.errno = this.exitStatus = this.mainPid = undefined;
    this.reason = undefined;
    this.watchdogUsec = this.config.watchdogUsec;
    this.generation++;
    const t = this.config.timeoutReady;
    if (this.declared && t) this.armTimeout(t.usec);
    return this.generation;
  }

  /** ./run is gone (its finish, if any, comes next). */
  ended(): void {
    this.cancelTimers();
    this.generation++;
    if (this.declared) this.state = 'down';
  }

  /** The supervisor stops run for `reason` (told to ./finish). */
  stoppedFor(reason: StopReason): void {
    this.reason = reason;
  }

  /** SERVICE_RESULT for the ./finish that follows, once. */
  takeReason(): StopReason | undefined {
    const r = this.reason;
    this.reason = undefined;
    return r;
  }

  /** The notification-fd pipe of start `generation`: a newline, or end of file before one. */
  pipe(generation: number, what: 'ready' | 'eof'): void {
    if (generation !== this.generation || !this.declared) return;
    if (what === 'ready') this.becomeReady();
    else if (this.state === 'starting' || this.state === 'late') this.state = 'never';
  }

  /** What one sd_notify datagram asked for. */
  notify(effects: readonly NotifyEffect[]): void {
    if (!this.declared || this.state === 'down') return;
    for (const e of effects) {
      switch (e.kind) {
        case 'ready':
          this.becomeReady();
          break;
        case 'reloading':
          this.state = 'reloading';
          this.since = undefined;
          break;
        case 'stopping':
          this.state = 'stopping';
          this.since = undefined;
          break;
        case 'status':
          this.status = e.text;
          break;
        case 'errno':
          this.errno = e.errno;
          break;
        case 'exit-status':
          this.exitStatus = e.status;
          break;
        case 'main-pid':
          this.mainPid = e.pid;
          break;
        case 'extend-timeout':
          if (this.timeoutTimer) this.armTimeout(Math.max(e.usec, this.timeoutDue - this.micros()));
          break;
        case 'watchdog-ping':
          if (this.watchdogTimer) this.armWatchdog();
          break;
        case 'watchdog-trigger':
          this.watchdogExpired();
          break;
        case 'watchdog-usec':
          this.watchdogUsec = e.usec || undefined;
          this.watchdogTimer?.();
          this.watchdogTimer = undefined;
          if (this.state === 'ready' || this.state === 'reloading') this.armWatchdog();
          break;
      }
    }
  }

  record(): ReadinessRecord | undefined {
    if (!this.declared && this.waiting.length === 0) return undefined;
    return {
      state: this.declared ? this.state : 'none',
      since: this.since,
      status: this.status,
      waiting: this.waiting,
      errno: this.errno,
      exitStatus: this.exitStatus,
      mainPid: this.mainPid,
    };
  }

  private becomeReady(): void {
    if (this.state === 'ready') return;
    this.state = 'ready';
    this.since = this.deps.now();
    this.timeoutTimer?.();
    this.timeoutTimer = undefined;
    if (!this.watchdogTimer) this.armWatchdog();
  }

  private armWatchdog(): void {
    this.watchdogTimer?.();
    this.watchdogTimer = undefined;
    const usec = this.watchdogUsec;
    if (!usec) return;
    const generation = this.generation;
    this.watchdogTimer = this.deps.setTimer(Math.ceil(usec / 1000), () => {
      this.watchdogTimer = undefined;
      if (generation === this.generation) this.watchdogExpired();
    });
  }

  private watchdogExpired(): void {
    if (this.state === 'down') return;
    this.watchdogTimer?.();
    this.watchdogTimer = undefined;
    this.deps.warn(`watchdog: no WATCHDOG=1 in time: sending SIGABRT`);
    this.reason = 'watchdog';
    this.deps.signal('SIGABRT');
  }

  private armTimeout(usec: number): void {
    this.timeoutTimer?.();
    this.timeoutDue = this.micros() + usec;
    const gen = this.generation;
    this.timeoutTimer = this.deps.setTimer(Math.ceil(usec / 1000), () => {
      this.timeoutTimer = undefined;
      if (gen !== this.generation || this.state === 'ready' || this.state === 'down') return;
      const t = this.config.timeoutReady;
      this.state = 'late';
      this.deps.warn(`not ready after timeout-ready${t?.restart ? ': restarting' : ''}`);
      if (t?.restart) {
        this.reason = 'timeout';
        this.deps.signal('SIGTERM');
        this.deps.signal('SIGCONT');
      }
    });
  }

  private cancelTimers(): void {
    this.watchdogTimer?.();
    this.watchdogTimer = undefined;
    this.timeoutTimer?.();
    this.timeoutTimer = undefined;
  }

  private micros(): number {
    const t = this.deps.now();
    return unixSeconds(t) * 1e6 + Math.floor(t.nsec / 1000);
  }
}

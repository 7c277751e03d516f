// runit's stage runner (runit(8)): stage 1 once, stage 2 supervised
// (restarted when it crashes or exits 111), stage 3 at the end; CONT, INT
// and Debian's PWR in stage 2; then halt or reboot. In container mode TERM
// and INT stop everything in order within a grace period and the runner
// exits with a status instead. Event-driven: waits are timers, never sleeps.
import type { WaitStatus } from '../sys/reap.js';
import { errorText } from '../sys/errstr.js';
import { RB } from '../sys/reboot.js';
import { flagFiles } from './flags.js';
import type { Mode } from './mode.js';
import type { Platform } from './platform.js';

const SIGKILL = 9;
const SIGTERM = 15;
const SIGCONT = 18;

/** How long stage 2 waits before it is restarted, and before it is killed on a stop. */
export const STAGE2_RESTART_MS = 5000;
export const STAGE2_STOP_MS = 5000;
/** power off, then halt if the power is still on (runit sleeps 2 s) */
export const HALT_AFTER_POWEROFF_MS = 2000;

/** Container mode exit statuses. */
export const EXIT = {
  /** every process ended by itself within the grace period, no stage failed */
  CLEAN: 0,
  /** every process ended within the grace period, but a stage failed */
  STAGE_FAILED: 1,
  /** the grace period ran out: what was left got SIGKILL */
  KILLED: 2,
} as const;

/** Exit statuses in system mode (RUNIT_CONTAINER=0 in a PID namespace). */
export const SYSTEM_EXIT = { HALT: 0, REBOOT: 6 } as const;

export type Signal = 'CONT' | 'INT' | 'PWR' | 'TERM';

export interface RunnerOptions {
  /** the stage directory (/etc/runit) */
  dir: string;
  mode: Mode;
  /** container mode: how long a stop may take */
  graceMs: number;
  /** the `$Id: ... $` text of the booting message */
  version: string;
}

export class StageRunner {
  private readonly p: Platform;
  private readonly o: RunnerOptions;
  /** current stage: 0, 1, 2 for /1, /2, /3 */
  private st = 0;
  /** whether the current stage's process is running */
  private running = false;
  private pid: number | undefined;
  private cancelRestart: (() => void) | undefined;
  // runit's signal counters
  private sigc = 0;
  private sigi = 0;
  private sigp = 0;
  /** what runit would be blocked in while stage 2 runs: ctrlaltdel, or stopping stage 2 */
  private action: 'ctrlaltdel' | 'stop' | undefined;
  /** stage 2 ended during ctrlaltdel */
  private pendingExit: WaitStatus | undefined;
  private stopDone: (() => void) | undefined;
  private poweroff = false;
  // container mode
  private stopping = false;
  private cancelGrace: (() => void) | undefined;
  private killed = false;
  private failed = false;
  private waitingForLeftovers = false;
  private ended = false;

  constructor(platform: Platform, options: RunnerOptions) {
    this.p = platform;
    this.o = options;
  }

  private get container(): boolean {
    return this.o.mode === 'container';
  }

  private path(st: number): string {
    return `${this.o.dir}/${st + 1}`;
  }

  private info(text: string): void {
    this.p.print(`- runit: ${text}`);
  }

  private warn(text: string): void {
    this.p.print(`- runit: warning: ${text}`);
  }

  start(): void {
    this.info(`${this.o.version}: booting.`);
    this.runStage(0);
  }

  private runStage(st: number): void {
    this.st = st;
    this.running = true;
    const path = this.path(st);
    this.info(`enter stage: ${path}`);
    const pid = this.p.start(path, st as 0 | 1 | 2, (status) => {
      if ('execError' in status) {
        // runit's child reports and exits 0
        this.p.print(`- runit: fatal: unable to start child: ${path}: ${errorText(status.execError)}`);
        this.stageExit(st, pid, { code: 0, signal: 0 });
      } else {
        this.stageExit(st, pid, status);
      }
    });
    this.pid = pid;
    if (st === 1) this.handleSignals();
  }

  private stageExit(st: number, pid: number | undefined, status: WaitStatus): void {
    this.running = false;
    this.pid = undefined;
    if (this.action === 'stop') {
      this.stopDone?.();
      return;
    }
    if (this.action === 'ctrlaltdel') {
      this.pendingExit = status;
      return;
    }
    this.p.regetConsole();
    const path = this.path(st);
    if (this.killed) {
      // container: the grace period ran out, whatever is left was killed
      this.info(`leave stage: ${path}`);
      this.end();
      return;
    }
    if (this.container && this.stopping && st < 2) {
      // stopped on request: not a failure
      this.info(`leave stage: ${path}`);
      this.runStage(2);
      return;
    }
    const crashed = status.code === null;
    if (crashed || status.code !== 0) {
      this.warn(`${crashed ? 'child crashed' : 'child failed'}: ${path}`);
      if (st === 0 && (crashed || status.code === 100)) {
        this.info(`leave stage: ${path}`);
        this.warn('skipping stage 2...');
        this.failed = true;
        this.beginShutdown();
        this.runStage(2);
        return;
      }
      if (st === 1 && (crashed || status.code === 111)) {
        this.warn('killing all processes in stage 2...');
        if (pid !== undefined) this.p.kill(-pid, SIGKILL);
        this.cancelRestart = this.p.setTimer(STAGE2_RESTART_MS, () => {
          this.cancelRestart = undefined;
          this.warn('restarting.');
          this.runStage(1);
        });
        return;
      }
      this.failed = true;
    }
    this.info(`leave stage: ${path}`);
    if (st === 2) {
      this.end();
      return;
    }
    if (st === 1) this.beginShutdown();
    this.runStage(st + 1);
  }

  /** A signal arrived (the CLI listens to TERM only in container mode). */
  signal(sig: Signal): void {
    if (this.ended) return;
    if (this.container && (sig === 'TERM' || sig === 'INT')) {
      this.requestStop();
      return;
    }
    if (sig === 'CONT') this.sigc++;
    else if (sig === 'INT') this.sigi++;
    else if (sig === 'PWR') this.sigp++;
    else return;
    this.handleSignals();
  }

  /** runit's signal handling after a wake-up: stage 2 only. */
  private handleSignals(): void {
    if (this.action || this.ended) return;
    if (!this.sigc && !this.sigi && !this.sigp) return;
    // runit sleeps through the restart delay; the signals wait for stage 2
    if (this.cancelRestart) return;
    if (this.st !== 1 || !this.running) {
      this.warn('signals only work in stage 2.');
      this.sigc = this.sigi = this.sigp = 0;
      return;
    }
    const ctrlaltdel = `${this.o.dir}/ctrlaltdel`;
    if (this.sigi && !this.container && this.p.ownerExecutable(ctrlaltdel)) {
      this.info('ctrl-alt-del request...');
      this.action = 'ctrlaltdel';
      this.info(`enter stage: ${ctrlaltdel}`);
      this.p.start(ctrlaltdel, 'ctrlaltdel', (status) => {
        if ('execError' in status) this.p.print(`- runit: fatal: unable to start child: ${ctrlaltdel}: ${errorText(status.execError)}`);
        else if (status.code === null) this.warn(`child crashed: ${ctrlaltdel}`);
        this.info(`leave stage: ${ctrlaltdel}`);
        this.sigi = 0;
        this.sigc++;
        this.action = undefined;
        this.checkStop();
      });
      return;
    }
    this.checkStop();
  }

  /** CONT with the stop file, or PWR: leave stage 2. */
  private checkStop(): void {
    const flags = flagFiles(this.o.dir);
    const stopFile = this.sigc > 0 && this.p.ownerExecutable(flags.stopit);
    const power = this.sigp > 0;
    this.sigc = this.sigi = this.sigp = 0;
    const pending = this.pendingExit;
    this.pendingExit = undefined;
    if (!stopFile && !power) {
      if (pending) this.stageExit(1, undefined, pending);
      return;
    }
    if (stopFile) this.p.chmod(flags.stopit, 0);
    if (power) this.poweroff = true;
    if (this.container) {
      if (pending) this.stageExit(1, undefined, pending);
      else this.requestStop();
      return;
    }
    this.action = 'stop';
    let cancelKill: (() => void) | undefined;
    this.stopDone = () => {
      cancelKill?.();
      this.action = undefined;
      this.stopDone = undefined;
      this.p.regetConsole();
      this.info(`leave stage: ${this.path(1)}`);
      // Debian's runit says this after a PWR (verified)
      if (power) this.warn('signals only work in stage 2.');
      this.runStage(2);
    };
    if (pending || !this.running) {
      this.stopDone();
      return;
    }
    const pid = this.pid;
    if (pid !== undefined) this.p.kill(pid, SIGTERM);
    cancelKill = this.p.setTimer(STAGE2_STOP_MS, () => {
      cancelKill = undefined;
      if (!this.running) return;
      this.warn('stage 2 not terminated, sending sigkill...');
      if (pid !== undefined) this.p.kill(pid, SIGKILL);
    });
  }

  /** Container mode: the grace period starts with the stop. */
  private beginShutdown(): void {
    if (!this.container || this.stopping) return;
    this.stopping = true;
    this.cancelGrace = this.p.setTimer(this.o.graceMs, () => this.graceOver());
  }

  /** Container mode: TERM or INT (or CONT with the stop file, or PWR). */
  private requestStop(): void {
    if (this.stopping) return;
    this.beginShutdown();
    if (this.cancelRestart) {
      this.cancelRestart();
      this.cancelRestart = undefined;
      this.info(`leave stage: ${this.path(1)}`);
      this.runStage(2);
      return;
    }
    // the stage only, not its process group: runsvdir stops each service
    // before its logger, so the last lines are written
    if (this.running && this.st < 2 && this.pid !== undefined) {
      this.p.kill(this.pid, SIGTERM);
      this.p.kill(this.pid, SIGCONT);
    }
  }

  private graceOver(): void {
    this.cancelGrace = undefined;
    this.killed = true;
    this.warn('grace period over, sending KILL signal to all processes...');
    this.p.killAll(SIGKILL);
    // a running stage ends now, and then the runner; else end here
    if (!this.running) this.end();
  }

  /** After stage 3 (or the grace period's KILL). */
  private end(): void {
    if (this.ended && !this.waitingForLeftovers) return;
    this.ended = true;
    if (!this.container) {
      this.finishClassic();
      return;
    }
    if (this.killed) {
      this.finishContainer();
      return;
    }
    this.p.reapOrphans();
    if (!this.p.killAll(0)) {
      this.finishContainer();
      return;
    }
    if (!this.waitingForLeftovers) {
      this.waitingForLeftovers = true;
      this.info('sending TERM signal to all processes...');
      this.p.killAll(SIGTERM);
      this.p.killAll(SIGCONT);
    }
  }

  /** Something was reaped: in container mode, maybe the last process. */
  reaped(): void {
    if (this.waitingForLeftovers && !this.killed && !this.p.killAll(0)) this.finishContainer();
  }

  private finishContainer(): void {
    this.waitingForLeftovers = false;
    this.cancelGrace?.();
    this.cancelGrace = undefined;
    this.p.exit(this.killed ? EXIT.KILLED : this.failed ? EXIT.STAGE_FAILED : EXIT.CLEAN);
  }

  private finishClassic(): void {
    this.p.regetConsole();
    this.info('sending KILL signal to all processes...');
    this.p.killAll(SIGKILL);
    const flags = flagFiles(this.o.dir);
    const system = this.o.mode === 'system';
    const syncIfNeeded = () => {
      // Debian: /etc/runit/nosync skips sync()
      if (!this.p.exists(`${this.o.dir}/nosync`)) this.p.sync();
    };
    if (!this.poweroff && this.p.ownerExecutable(flags.reboot)) {
      this.info('system reboot.');
      if (system) return this.p.exit(SYSTEM_EXIT.REBOOT);
      syncIfNeeded();
      this.p.reboot(RB.AUTOBOOT);
      return;
    }
    this.info('power off...');
    if (system) return this.p.exit(SYSTEM_EXIT.HALT);
    syncIfNeeded();
    this.p.reboot(RB.POWER_OFF);
    this.p.setTimer(HALT_AFTER_POWEROFF_MS, () => {
      this.info('system halt.');
      syncIfNeeded();
      this.p.reboot(RB.HALT_SYSTEM);
    });
  }
}

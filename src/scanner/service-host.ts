// How runsvdir runs the supervisor of one service: in this process (the
// default) or as a separate runsv process (--isolate, runit's layout).
// Either way a supervisor that ends while its directory is still there is
// started again a second later, as runsvdir's next scan would.
import { Supervisor, SetupError, STOP_KILL_AFTER_ENV, type SupervisorOptions } from '../supervisor/supervisor.js';
import { spawnChild } from '../sys/spawn.js';
import { commandInvocation } from '../sys/launch.js';
import { errorText, errorTextOf } from '../sys/errstr.js';
import { errorCode } from '../sys/errors.js';
import type { FdBudget } from './fd-budget.js';

export const RESTART_DELAY_MS = 1000;
/**
 * At shutdown, a service (or log service, or finish) still running this
 * long after its stop signal is killed, unless its timeout-kill says
 * otherwise: `sv force-stop`'s default wait.
 */
export const STOP_KILL_AFTER_MS = 7000;

export interface HostContext {
  /** the scanned directory, absolute */
  dir: string;
  supervisor: SupervisorOptions;
  /** print a line on runsvdir's stderr */
  print(line: string): void;
  /** `runsvdir D: warning: ...` */
  warn(message: string): void;
  /** descriptors shared by in-process supervisors: a service starts only while enough stay free */
  fdBudget?: FdBudget;
}

export interface ServiceHost {
  readonly name: string;
  /**
   * Stop the service (and its log) as `sv x` would; resolves when it is
   * down. With `killAfterMs`, what ignores its stop signal that long is killed.
   */
  stop(killAfterMs?: number): Promise<void>;
}

abstract class RestartingHost implements ServiceHost {
  private retry: NodeJS.Timeout | undefined;
  protected stopping = false;

  constructor(
    readonly name: string,
    protected readonly ctx: HostContext,
  ) {}

  /** Start now; called again after RESTART_DELAY_MS whenever the supervisor ends. */
  abstract start(): void;
  abstract stop(killAfterMs?: number): Promise<void>;

  protected ended(): void {
    if (this.stopping) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.stopping) this.start();
    }, RESTART_DELAY_MS);
  }

  protected cancelRestart(): void {
    this.stopping = true;
    clearTimeout(this.retry);
  }
}

/** A Supervisor in this process's event loop. */
export class HostedService extends RestartingHost {
  private supervisor: Supervisor | undefined;
  /** refused for want of descriptors (said once, until it starts) */
  private waitingForFds = false;
  /** the needed services run waits for (runsvdir's needs graph) */
  needs: readonly { name: string; dir: string }[] = [];

  start(): void {
    const prefix = `runsv ${this.name}: `;
    const budget = this.ctx.fdBudget;
    if (budget && !budget.admit()) {
      if (!this.waitingForFds) this.ctx.print(`${prefix}warning: waiting for file descriptors: ${errorText('EMFILE')} (limit ${budget.max})`);
      this.waitingForFds = true;
      return this.ended();
    }
    this.waitingForFds = false;
    try {
      this.supervisor = new Supervisor(
        `${this.ctx.dir}/${this.name}`,
        {
          warn: (m) => this.ctx.print(`${prefix}warning: ${m}`),
          fatal: (m) => this.ctx.print(`${prefix}fatal: ${m}`),
        },
        { ...this.ctx.supervisor, needs: this.needs },
      );
    } catch (err) {
      this.supervisor = undefined;
      const message = err instanceof SetupError ? err.message : `unable to supervise: ${errorCode(err) ? errorTextOf(err) : String(err)}`;
      this.ctx.print(`${prefix}fatal: ${message}`);
      return this.ended();
    }
    const supervisor = this.supervisor;
    supervisor.done.then(() => {
      if (this.supervisor === supervisor) this.supervisor = undefined;
      this.ended();
    });
    supervisor.start();
  }

  stop(killAfterMs?: number): Promise<void> {
    this.cancelRestart();
    if (!this.supervisor) return Promise.resolve();
    this.supervisor.terminate(killAfterMs);
    return this.supervisor.done;
  }
}

/** A runsv process per service, as runit's runsvdir starts them. */
export class IsolatedService extends RestartingHost {
  private pid: number | undefined;
  private exited: Promise<void> = Promise.resolve();

  start(): void {
    let resolveExit!: () => void;
    this.exited = new Promise((resolve) => (resolveExit = resolve));
    const { newSession, childNofile } = this.ctx.supervisor;
    // runsv as its launcher would start it, handing on the limit services get
    const runsv = commandInvocation('runsv', process.env, childNofile);
    // a stop by runsvdir (HUP, the directory removed) is bounded as in this process
    const env = { ...runsv.env, [STOP_KILL_AFTER_ENV]: String(STOP_KILL_AFTER_MS) };
    this.pid = spawnChild(runsv.file, [...runsv.args, this.name], { cwd: this.ctx.dir, stdio: [0, 1, 2], newSession, env }, (status) => {
      if ('execError' in status) this.ctx.warn(`unable to start runsv ${this.name}: ${errorText(status.execError)}`);
      this.pid = undefined;
      resolveExit();
      this.ended();
    });
  }

  stop(): Promise<void> {
    this.cancelRestart();
    this.signal('SIGTERM');
    return this.exited;
  }

  /** runit's runsvdir on HUP: TERM every runsv and do not wait. */
  signal(signal: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    try {
      process.kill(this.pid, signal);
    } catch {}
  }
}

// svlogd's answer to a failing step (opening, writing, rotating, removing
// old files): say `pausing: <what>: <dir>: <error>`, wait 3 seconds, try
// again — nothing is dropped. Once the logger is told to terminate, a
// pausing step gets one more try, then is given up; a kill gives up at once.
import { errorTextOf } from '../sys/errstr.js';
import type { Reporter } from './report.js';

const PAUSE_MS = 3000;

/** Thrown out of retry() when a step is given up (TERM while pausing, or kill). */
export class GiveUp extends Error {
  constructor(readonly reason: unknown) {
    super('given up');
  }
}

export class PausingRetry {
  /** kill(): every retry ends, now and from now on */
  aborted = false;
  private terminating = false;
  private pauseTimer: NodeJS.Timeout | undefined;
  private pauseWake: (() => void) | undefined;

  constructor(
    private readonly reporter: Reporter,
    /** the directory, as named in messages */
    private readonly name: string,
  ) {}

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
        this.reporter.pausing(`${message}: ${this.name}: ${errorTextOf(err)}`);
        await this.pause();
        afterPause = true;
      }
    }
  }

  /** From now on a pausing step is retried once more, then given up. */
  terminate(): void {
    this.terminating = true;
  }

  /** Give up everything, including the pause in progress. */
  abort(): void {
    this.aborted = true;
    this.wake();
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      this.pauseWake = resolve;
      this.pauseTimer = setTimeout(() => this.wake(), PAUSE_MS);
    });
  }

  private wake(): void {
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    const wake = this.pauseWake;
    this.pauseWake = undefined;
    wake?.();
  }
}

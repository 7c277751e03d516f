// The state of one supervised program (a service or its log service) and
// how it is published in supervise/: pid, stat, status (reference §2).
import { encodeStatus, statText, State, type Want } from '../protocol/status.js';
import { taiNow, type Tai64n } from '../protocol/tai64n.js';
import { writeAtomic, AtomicWriteError } from '../protocol/atomic-write.js';
import { errorTextOf } from '../sys/errstr.js';
import type { ExitStatus } from '../sys/spawn.js';
import type { InProcessLog } from './supervisor.js';

export class Unit {
  state = State.Down;
  want: Want = 'up';
  paused = false;
  gotTerm = false;
  pid = 0;
  /** the logger, when this log service runs inside the host process */
  hosted: InProcessLog | undefined;
  /** the pid's start time in /proc, so that a reused pid is never adopted */
  startTime: string | undefined;
  /** run's start, or when the unit last went down */
  time: Tai64n = taiNow();
  /** how the last run (or finish) ended, for finish's arguments */
  lastExit: ExitStatus = { code: 0, signal: 0 };
  private pidChanged: boolean;
  /** what stat and status last said, so an unchanged state is not written again */
  private lastStat: string | undefined;
  private lastStatus: Buffer | undefined;

  constructor(
    /** absolute path of this unit's supervise/ directory */
    readonly superviseDir: string,
    /** `supervise` or `log/supervise`, as runit's messages name it */
    readonly label: string,
    readonly isLog: boolean,
    private readonly warn: (message: string) => void,
  ) {
    // runsv writes the main pid file at start-up, the log's only once it runs
    this.pidChanged = !isLog;
  }

  setPid(pid: number, startTime?: string): void {
    if (pid !== this.pid) this.pidChanged = true;
    this.pid = pid;
    this.startTime = startTime;
  }

  /**
   * Publish pid, stat and status, each atomically, when they changed (a
   * burst of letters that change nothing costs no writes; runit rewrote
   * them for every letter).
   */
  writeStatus(): void {
    const base = this.superviseDir;
    const write = (name: string, data: string | Buffer): boolean => {
      try {
        writeAtomic(`${base}/${name}`, data);
        return true;
      } catch (err) {
        this.reportWriteError(name, err);
        return false;
      }
    };
    if (this.pidChanged) {
      if (!write('pid', this.pid ? `${this.pid}\n` : '')) return;
      // runit-ts's own record (runit ignores it): which process the pid is
      write('pidstart', this.pid && this.startTime ? `${this.pid} ${this.startTime}\n` : '');
      this.pidChanged = false;
    }
    const stat = statText(this.state, this.want, this.paused, this.gotTerm);
    if (stat !== this.lastStat) this.lastStat = write('stat', stat) ? stat : undefined;
    const status = encodeStatus({
      time: this.time,
      pid: this.pid,
      paused: this.paused,
      wantUp: this.want === 'up',
      gotTerm: this.gotTerm,
      state: this.state,
    });
    if (!this.lastStatus?.equals(status)) this.lastStatus = write('status', status) ? status : undefined;
  }

  private reportWriteError(name: string, err: unknown): void {
    if (!(err instanceof AtomicWriteError)) throw err;
    const file = `${this.label}/${name}`;
    switch (err.step) {
      case 'open':
        return this.warn(`unable to open ${file}.new: ${errorTextOf(err.reason)}`);
      case 'rename':
        return this.warn(`unable to rename ${name}.new to ${file}: ${errorTextOf(err.reason)}`);
      case 'write':
        return this.warn(`unable to write ${file}.new: ${errorTextOf(err.reason)}`);
      case 'partial':
        return this.warn(`unable to write ${file}.new: partial write.`);
    }
  }
}

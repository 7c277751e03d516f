// Publishing a program's state in supervise/ as runsv 2.1.2 does: pid,
// stat and status, each written atomically (.new + rename), plus runit-ts's
// own pidstart record (runit ignores it). Only what changed is written: a
// burst of letters that change nothing costs no writes (runit rewrote the
// files for every letter).
import { encodeStatus, statText, type State, type Want } from '../protocol/status.js';
import { writeAtomic, AtomicWriteError } from '../protocol/atomic-write.js';
import { errorTextOf } from '../sys/errstr.js';
import type { Tai64n } from '../protocol/tai64n.js';

/** What supervise/ shows of a program (status, stat, pid, pidstart). */
export interface ProgramView {
  readonly state: State;
  readonly want: Want;
  readonly paused: boolean;
  readonly gotTerm: boolean;
  readonly pid: number;
  /** the pid's start time in /proc, so that a reused pid is never adopted */
  readonly startTime: string | undefined;
  /** run's start, or when the program last went down */
  readonly time: Tai64n;
}

export class StatusFiles {
  private lastPid: number | undefined;
  private lastStat: string | undefined;
  private lastStatus: Buffer | undefined;

  constructor(
    /** absolute path of the supervise/ directory */
    readonly dir: string,
    /** `supervise` or `log/supervise`, as runit's messages name it */
    private readonly label: string,
    /** runsv writes the service's pid file at start-up, the log's only once it runs */
    pidAtStart: boolean,
    private readonly warn: (message: string) => void,
  ) {
    this.lastPid = pidAtStart ? undefined : 0;
  }

  write(view: ProgramView): void {
    if (view.pid !== this.lastPid) {
      if (!this.writeFile('pid', view.pid ? `${view.pid}\n` : '')) return;
      // which process the pid is, so that a reused pid is never adopted
      this.writeFile('pidstart', view.pid && view.startTime ? `${view.pid} ${view.startTime}\n` : '');
      this.lastPid = view.pid;
    }
    const stat = statText(view.state, view.want, view.paused, view.gotTerm);
    if (stat !== this.lastStat) this.lastStat = this.writeFile('stat', stat) ? stat : undefined;
    const status = encodeStatus({
      time: view.time,
      pid: view.pid,
      paused: view.paused,
      wantUp: view.want === 'up',
      gotTerm: view.gotTerm,
      state: view.state,
    });
    if (!this.lastStatus?.equals(status)) this.lastStatus = this.writeFile('status', status) ? status : undefined;
  }

  private writeFile(name: string, data: string | Buffer): boolean {
    try {
      writeAtomic(`${this.dir}/${name}`, data);
      return true;
    } catch (err) {
      if (!(err instanceof AtomicWriteError)) throw err;
      this.warn(this.errorMessage(name, err));
      return false;
    }
  }

  private errorMessage(name: string, err: AtomicWriteError): string {
    const file = `${this.label}/${name}`;
    switch (err.step) {
      case 'open':
        return `unable to open ${file}.new: ${errorTextOf(err.reason)}`;
      case 'rename':
        return `unable to rename ${name}.new to ${file}: ${errorTextOf(err.reason)}`;
      case 'write':
        return `unable to write ${file}.new: ${errorTextOf(err.reason)}`;
      case 'partial':
        return `unable to write ${file}.new: partial write.`;
    }
  }
}

// Publishing a program's state in supervise/ as runsv 2.1.2 does: pid,
// stat and status, each written atomically (.new + rename), plus runit-ts's
// own record (pid and start time, the log pipe) in the held lock file
// (supervise-record.ts). Only what changed is written, and at most once per
// turn of the event loop: a program that changes state several times while
// handling one batch of events (exits, control letters, timers) publishes
// its last state once. The record is written before the status that names
// its pid, so a host killed at any point leaves what the next one needs to
// adopt. Pending writes are flushed when the supervisor exits and when the
// process exits.
import { fstatSync, ftruncateSync, unlinkSync, writeSync } from 'node:fs';
import { errorCode } from '../sys/errors.js';
import { encodeStatus, statText, type State, type Want } from '../protocol/status.js';
import { writeAtomic, AtomicWriteError } from '../protocol/atomic-write.js';
import { errorTextOf } from '../sys/errstr.js';
import type { Tai64n } from '../protocol/tai64n.js';
import { encodeRecord } from '../protocol/supervise-record.js';
import { encodeReadiness, READINESS_FILE, type ReadinessRecord } from '../protocol/readiness.js';
import { formatDeaths, type Deaths } from '../protocol/deaths.js';
import { policyText } from '../protocol/policy-state.js';

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
  /** how run ended, each time (supervise/deaths, written once there is one) */
  readonly deaths: Deaths;
  /** restarts stopped until `sv up` (supervise/policy) */
  readonly givenUp: boolean;
  /** a backoff's pending restart (supervise/policy) */
  readonly restartAt: Tai64n | undefined;
  /** supervise/readiness (protocol/readiness.ts), for a service that declares readiness or needs */
  readonly readiness?: { record(): ReadinessRecord | undefined };
  /** what contains the process (the record in supervise/lock) */
  readonly containment?: string;
}

/** StatusFiles with a publication waiting for the end of this turn. */
const pending = new Set<StatusFiles>();
let scheduled = false;
let exitHooked = false;

function schedule(files: StatusFiles): void {
  pending.add(files);
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushPending);
  if (!exitHooked) {
    exitHooked = true;
    // process.exit() from anywhere: what was decided is still published
    process.on('exit', flushPending);
  }
}

/** Write every pending publication now. */
export function flushPending(): void {
  scheduled = false;
  for (const files of pending) {
    pending.delete(files);
    files.flush();
  }
}

export class StatusFiles {
  private lastPid: number | undefined;
  private lastStat: string | undefined;
  private lastStatus: Buffer | undefined;
  private lockFd: number | undefined;
  /** the record's length in the lock file, as last written (or found) */
  private recordLength: number | undefined;
  private logPipe: string | undefined;
  private lastRecord: string | undefined;
  private containment: string | undefined;
  /** supervise/readiness as last written; null: absent; undefined: not known yet (one left by an earlier supervisor is removed) */
  private lastReadiness: string | null | undefined;
  private lastDeaths = 0;
  /** supervise/policy as written ('' when there is none) */
  private lastPolicy = '';
  /** the view to publish at the end of this turn */
  private view: ProgramView | undefined;
  private closed = false;

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

  /** The held fd of supervise/lock, where the record is kept. */
  holdLock(fd: number): void {
    this.lockFd = fd;
  }

  /** The log pipe (`pipe:[INODE]`) to record beside the process `pid` (adopted or 0), written at once. */
  recordLogPipe(name: string, pid: number, startTime: string | undefined): void {
    this.logPipe = name;
    this.writeRecord(pid, startTime);
  }

  /** Publish `view` at the end of this turn of the event loop. */
  write(view: ProgramView): void {
    if (this.closed) return;
    this.view = view;
    schedule(this);
  }

  /** Publish `view` now (a control/ program about to run may read supervise/). */
  writeNow(view: ProgramView): void {
    if (this.closed) return;
    this.view = view;
    pending.delete(this);
    this.flush();
  }

  /** Publish what is pending, then nothing more (before the lock fd is closed). */
  close(): void {
    pending.delete(this);
    this.flush();
    this.closed = true;
  }

  flush(): void {
    const view = this.view;
    if (!view || this.closed) return;
    if (view.pid !== this.lastPid) {
      if (!this.writeFile('pid', view.pid ? `${view.pid}\n` : '')) return;
      // which process the pid is, so that a reused pid is never adopted
      this.writeRecord(view.pid, view.startTime, view.containment);
      this.lastPid = view.pid;
    }
    // before the status it goes with: a client seeing a new run finds its readiness
    this.writeReadiness(view.readiness?.record());
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
    // runit-ts's own files, only once there is something to say (runit has none)
    if (view.deaths.total !== this.lastDeaths && this.writeFile('deaths', formatDeaths(view.deaths))) this.lastDeaths = view.deaths.total;
    const policy = policyText(view);
    if (policy !== this.lastPolicy) this.writePolicy(policy);
  }

  private writePolicy(text: string): void {
    if (text !== '') {
      if (this.writeFile('policy', text)) this.lastPolicy = text;
      return;
    }
    try {
      unlinkSync(`${this.dir}/policy`);
      this.lastPolicy = '';
    } catch (err) {
      if (errorCode(err) === 'ENOENT') this.lastPolicy = '';
      else this.warn(`unable to remove ${this.label}/policy: ${errorTextOf(err)}`);
    }
  }

  private writeReadiness(record: ReadinessRecord | undefined): void {
    const text = record ? encodeReadiness(record) : null;
    if (text === this.lastReadiness) return;
    if (text !== null) {
      this.lastReadiness = this.writeFile(READINESS_FILE, text) ? text : undefined;
      return;
    }
    try {
      unlinkSync(`${this.dir}/${READINESS_FILE}`);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') this.warn(`unable to remove ${this.label}/${READINESS_FILE}: ${errorTextOf(err)}`);
    }
    this.lastReadiness = null;
  }

  /**
   * Replace the record so that a kill at any point leaves a whole one (the
   * old or the new): the new text is written over the old from offset 0,
   * padded with newlines to the old length (a parser skips them), and only
   * then is the file cut to the new length. A truncate first would leave
   * an empty lock, and the next supervisor nothing to adopt.
   */
  private writeRecord(pid: number, startTime: string | undefined, containment = this.containment): void {
    if (this.lockFd === undefined) return;
    this.containment = containment;
    const text = encodeRecord({ pid, startTime, logPipe: this.logPipe, containment });
    if (text === this.lastRecord) return;
    try {
      const bytes = Buffer.from(text, 'latin1');
      const length = (this.recordLength ??= fstatSync(this.lockFd).size);
      const padded = length > bytes.length ? Buffer.concat([bytes, Buffer.alloc(length - bytes.length, 0x0a)]) : bytes;
      writeSync(this.lockFd, padded, 0, padded.length, 0);
      if (padded.length > bytes.length) ftruncateSync(this.lockFd, bytes.length);
      this.recordLength = bytes.length;
      this.lastRecord = text;
    } catch (err) {
      this.recordLength = undefined;
      this.lastRecord = undefined;
      this.warn(`unable to write ${this.label}/lock: ${errorTextOf(err)}`);
    }
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

// runsvdir hosts every supervisor in one process, so one RLIMIT_NOFILE is
// shared by all of them. A service is taken on only while enough
// descriptors stay free for the ones already running: each needs a few now
// and then (a status file written by rename, libuv's pipe for a spawn, a
// logger's rotation), and a service started into the last free descriptors
// would leave those unable to publish their state or restart.
//
// What one service holds is learnt, not assumed: a count of /proc/self/fd
// also counts the services (their supervise/lock), and once none is still
// starting, (open - what the host held before any) / services is the
// figure (12 to 16 with a logger as the code stands; FD_PER_SERVICE at the
// least). Until a count tells, a service is taken to hold what one with a
// logger does, so that the first services, all taken on at once, do not
// overrun.
//
// A count sees only what a service holds already: one taken on a moment
// ago has opened its lock, control and ok files but not yet its log pipe,
// pidfd or log files. So a count is read as if the services taken on since
// the descriptors last stopped growing had opened nothing yet (counting
// twice what they did open: it errs on the side of the reserve). Measured
// with 10,000 services with loggers against a limit of 20,000 on 2 busy
// cores: the first 1,600 took 15-25 s to open all theirs; without this,
// each retry a second later found their descriptors still unopened, the
// process ran into its limit, and the scan itself (opendir), log files and
// restarts failed with EMFILE.
import { readdirSync, readlinkSync } from 'node:fs';
import { getrlimit, RLIMIT } from '../sys/limits.js';

/** Descriptors kept free for the supervisors already running, at the least. */
export const FD_RESERVE = 16;
/** What one service holds at the least: directory, locks, FIFOs, log pipe, a pidfd, an in-process logger's files. */
export const FD_PER_SERVICE = 12;
/**
 * What a service is taken to hold until a count tells: one with an
 * in-process logger, as measured (14 at rest, 16 for a moment as it starts).
 */
export const FD_FIRST_GUESS = 16;
/** A service taken on this long ago has opened what it holds, however busy the host. */
export const PENDING_MS = 60000;
/** ...or sooner: once the count stayed put this long with nothing taken on. */
export const SETTLED_MS = 3000;
/** Counting /proc/self/fd costs a few ms with thousands open: at most this often... */
const RECOUNT_MS = 100;
/** ...and, as the count grows dearer (30-90 ms at 19,000 fds), at most this share of the time. */
const RECOUNT_SHARE = 0.02;

/**
 * The reserve for a limit: what a thousand services busy at once (status
 * files written, a spawn's pidfd, rotations) may hold for a moment, not
 * just a few (2% of the limit, at least FD_RESERVE, at most 1,024).
 */
export const reserveFor = (limit: number): number => Math.min(1024, Math.max(FD_RESERVE, Math.floor(limit / 50)));

export interface FdCount {
  /** descriptors open */
  open: number;
  /** services (not log services) whose supervisor holds supervise/lock */
  services: number;
}

/** This process's descriptors, and how many of them are a service's supervise/lock. */
export function countDescriptors(): FdCount {
  const fds = readdirSync('/proc/self/fd');
  let services = 0;
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.endsWith('/supervise/lock') && !target.endsWith('/log/supervise/lock')) services++;
    } catch {}
  }
  return { open: fds.length - 1, services }; // less the directory being read
}

export class FdBudget {
  /** descriptors free at the last count, less what services taken on since may hold */
  private free = 0;
  private countedAt = -Infinity;
  private recountMs = RECOUNT_MS;
  private reserve = FD_RESERVE;
  /** what the host held with no service */
  private base: number | undefined;
  /** learnt: what one service holds once started (FD_FIRST_GUESS until a count tells) */
  private perService = FD_FIRST_GUESS;
  /** the last count, to see it stay put */
  private last: { at: number; open: number } | undefined;
  /** when the services taken on lately were, oldest first, from `first` on */
  private pending: number[] = [];
  private first = 0;

  constructor(
    private readonly count: () => FdCount = countDescriptors,
    private readonly limit: () => number = () => Number(getrlimit(RLIMIT.NOFILE).soft),
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Whether one more service may be supervised now (and, if so, count it).
   * The estimate is checked against a fresh count only when it says no, so
   * a thousand services starting at once cost a few counts, not a thousand.
   */
  admit(): boolean {
    const now = this.now();
    this.forget((t) => now - t >= PENDING_MS);
    if (this.free - this.perService < this.reserve && now - this.countedAt >= this.recountMs) this.recount(now);
    if (this.free - this.perService < this.reserve) return false;
    this.free -= this.perService;
    this.pending.push(now);
    return true;
  }

  /** What one service is taken to hold (learnt from the counts). */
  get descriptorsPerService(): number {
    return this.perService;
  }

  /** Services taken on whose descriptors may not all be open yet. */
  get starting(): number {
    return this.pending.length - this.first;
  }

  private recount(now: number): void {
    this.countedAt = now;
    let c: FdCount;
    let limit: number;
    const t0 = performance.now();
    try {
      limit = this.limit();
      c = this.count();
    } catch {
      this.free = Infinity; // no /proc: nothing to go by
      return;
    }
    this.recountMs = Math.max(RECOUNT_MS, (performance.now() - t0) / RECOUNT_SHARE);
    this.reserve = reserveFor(limit);
    // the count stayed put a while, and nothing was taken on since: all are started
    const lastAdmitted = this.starting > 0 ? this.pending[this.pending.length - 1]! : -Infinity;
    if (this.last && c.open <= this.last.open && now - this.last.at >= SETTLED_MS && lastAdmitted <= this.last.at) this.forget(() => true);
    if (!this.last || c.open !== this.last.open) this.last = { at: now, open: c.open };
    if (c.services === 0) this.base = c.open;
    else if (this.starting === 0 && this.base !== undefined) this.perService = Math.max(FD_PER_SERVICE, Math.ceil((c.open - this.base) / c.services));
    this.free = limit - c.open - this.starting * this.perService;
  }

  /** Drop the admissions `settled` says are started (oldest first, O(1) amortized). */
  private forget(settled: (at: number) => boolean): void {
    while (this.first < this.pending.length && settled(this.pending[this.first]!)) this.first++;
    if (this.first === this.pending.length || (this.first > 1024 && this.first * 2 > this.pending.length)) {
      this.pending = this.pending.slice(this.first);
      this.first = 0;
    }
  }

  /** How many descriptors this process may have open. */
  get max(): number {
    try {
      return this.limit();
    } catch {
      return 0;
    }
  }
}

// runsvdir hosts every supervisor in one process, so one RLIMIT_NOFILE is
// shared by all of them. A service is taken on only while enough
// descriptors stay free for the ones already running: each needs a few now
// and then (a status file written by rename, libuv's pipe for a spawn, a
// logger's rotation), and a service started into the last free descriptors
// would leave those unable to publish their state or restart.
import { readdirSync } from 'node:fs';
import { getrlimit, RLIMIT } from '../sys/limits.js';

/** Descriptors kept free for the supervisors already running. */
export const FD_RESERVE = 16;
/** What one service may hold: directory, locks, FIFOs, log pipe, an in-process logger's files. */
export const FD_PER_SERVICE = 12;
/** Counting /proc/self/fd costs a few ms with thousands open: at most this often. */
const RECOUNT_MS = 100;

export class FdBudget {
  /** descriptors free at the last count, less what services taken on since may hold */
  private free = 0;
  private countedAt = -Infinity;

  constructor(
    private readonly countOpen: () => number = () => readdirSync('/proc/self/fd').length - 1,
    private readonly limit: () => number = () => Number(getrlimit(RLIMIT.NOFILE).soft),
  ) {}

  /**
   * Whether one more service may be supervised now (and, if so, count it).
   * The estimate is checked against a fresh count only when it says no, so
   * a thousand services starting at once cost a few counts, not a thousand.
   */
  admit(): boolean {
    const now = performance.now();
    if (this.free - FD_PER_SERVICE < FD_RESERVE && now - this.countedAt >= RECOUNT_MS) {
      this.countedAt = now;
      try {
        this.free = this.limit() - this.countOpen();
      } catch {
        this.free = Infinity; // no /proc: nothing to go by
      }
    }
    if (this.free - FD_PER_SERVICE < FD_RESERVE) return false;
    this.free -= FD_PER_SERVICE;
    return true;
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

// What a process tree costs: CPU time and resident memory of the tree
// under a pid, read from /proc, and who holds a lock (/proc/locks). Where a
// service has no cgroup, its tree is what can be measured: a process that
// left it (double fork, setsid and reparent to init) is not counted.
import { readdirSync, readFileSync } from 'node:fs';
import { readSmall } from './small-file.js';
import { pageSize } from './sysconf.js';

/** /proc/PID/stat's times are in USER_HZ, which Linux fixes at 100 for user space. */
const USER_HZ = 100;

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** user + system CPU time, in seconds */
  cpuSeconds: number;
  /** resident set size in pages (0 for a zombie) */
  rssPages: number;
  threads: number;
}

/** The fields of a /proc/PID/stat line that the usage needs; undefined if it does not parse. */
export function parseStat(pid: number, line: string): ProcessInfo | undefined {
  // the command name may hold spaces and parentheses: the fields follow the last ')'
  const close = line.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = line.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, num_threads 20, rss 24
  const ppid = Number(fields[1]);
  const ticks = Number(fields[11]) + Number(fields[12]);
  const threads = Number(fields[17]);
  const rssPages = Number(fields[21]);
  if (!Number.isInteger(ppid) || !Number.isFinite(ticks) || !Number.isInteger(threads) || !Number.isInteger(rssPages)) return undefined;
  return { pid, ppid, cpuSeconds: ticks / USER_HZ, rssPages, threads };
}

export interface ProcessUsage {
  /** processes in the tree, the root included */
  count: number;
  cpuSeconds: number;
  rssBytes: number;
}

/**
 * Process figures for the trees asked for, read from /proc as asked: a
 * process's children from /proc/PID/task/TID/children, so that a tree
 * costs a few reads per process in it, however many processes the
 * machine runs. The lock table is read once, when first asked.
 */
export class ProcessTable {
  constructor(private readonly proc = '/proc') {}

  /** The children of `pid`, over all its threads (empty when it is gone). */
  private childrenOf(pid: number, threads: number): number[] {
    let tasks = [String(pid)];
    if (threads > 1) {
      try {
        tasks = readdirSync(`${this.proc}/${pid}/task`);
      } catch {
        return [];
      }
    }
    const children: number[] = [];
    for (const tid of tasks) {
      try {
        for (const word of readSmall(`${this.proc}/${pid}/task/${tid}/children`).split(' ')) if (word !== '') children.push(Number(word));
      } catch {
        // the thread ended meanwhile
      }
    }
    return children;
  }

  private lockHolders: Map<string, number> | undefined;

  /** The pid holding a lock on the file `dev`/`ino`: a supervisor holds supervise/lock. */
  lockHolder(dev: bigint, ino: bigint): number | undefined {
    if (!this.lockHolders) {
      try {
        this.lockHolders = parseLocks(readFileSync(`${this.proc}/locks`, 'latin1'));
      } catch {
        this.lockHolders = new Map();
      }
    }
    return this.lockHolders.get(lockKey(dev, ino));
  }

  /** Each process of the tree rooted at `pid`, it first, with its /proc/PID/stat figures. */
  private *walk(pid: number): Generator<ProcessInfo> {
    const pending = [pid];
    const seen = new Set<number>();
    while (pending.length > 0) {
      const p = pending.pop()!;
      if (seen.has(p)) continue;
      seen.add(p);
      let stat: ProcessInfo | undefined;
      try {
        stat = parseStat(p, readSmall(`${this.proc}/${p}/stat`));
      } catch {
        stat = undefined; // gone meanwhile
      }
      if (!stat) continue;
      yield stat;
      pending.push(...this.childrenOf(p, stat.threads));
    }
  }

  /** The tree rooted at `pid`, or undefined when there is no such process. */
  usage(pid: number): ProcessUsage | undefined {
    const total: ProcessUsage = { count: 0, cpuSeconds: 0, rssBytes: 0 };
    for (const stat of this.walk(pid)) {
      total.count++;
      total.cpuSeconds += stat.cpuSeconds;
      total.rssBytes += stat.rssPages * pageSize();
    }
    return total.count === 0 ? undefined : total;
  }

  /** The resident memory of these processes, in bytes (those gone meanwhile count 0). */
  rssBytes(pids: readonly number[]): number {
    let pages = 0;
    for (const pid of pids) {
      try {
        pages += parseStat(pid, readSmall(`${this.proc}/${pid}/stat`))?.rssPages ?? 0;
      } catch {
        // gone meanwhile
      }
    }
    return pages * pageSize();
  }

  /** The pids of the tree rooted at `pid`, it first (empty when it is gone). */
  pids(pid: number): number[] {
    return Array.from(this.walk(pid), (stat) => stat.pid);
  }
}

/** `MAJOR:MINOR:INODE` as /proc/locks names a file (major and minor in hex). */
export function lockKey(dev: bigint, ino: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${ino}`;
}

/** Who holds which lock, from the text of /proc/locks: lockKey → pid (blocked waiters, `->` lines, left out). */
export function parseLocks(text: string): Map<string, number> {
  const holders = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\d+: (?:FLOCK|POSIX|OFDLCK)\s+\S+\s+\S+\s+(-?\d+)\s+(\S+)/.exec(line);
    if (m && Number(m[1]) > 0) holders.set(m[2]!, Number(m[1]));
  }
  return holders;
}

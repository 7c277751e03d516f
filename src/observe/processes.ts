// What a service's processes cost: CPU time and resident memory of the
// process tree under its pid, from one snapshot of /proc. Without a cgroup
// per service (not yet), the tree is what can be measured: a process that
// left it (double fork, setsid and reparent to init) is not counted.
import { readdirSync, readFileSync } from 'node:fs';

/** /proc/PID/stat's times are in USER_HZ, which Linux fixes at 100 for user space. */
const USER_HZ = 100;

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** user + system CPU time, in seconds */
  cpuSeconds: number;
  /** resident set size in bytes (VmRSS), 0 for a kernel thread or a zombie */
  rssBytes: number;
}

/** The fields of a /proc/PID/stat line that the usage needs; undefined if it does not parse. */
export function parseStat(pid: number, line: string): Omit<ProcessInfo, 'rssBytes'> | undefined {
  // the command name may hold spaces and parentheses: the fields follow the last ')'
  const close = line.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = line.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15
  const ppid = Number(fields[1]);
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isInteger(ppid) || !Number.isFinite(ticks)) return undefined;
  return { pid, ppid, cpuSeconds: ticks / USER_HZ };
}

/** VmRSS of a /proc/PID/status text, in bytes (0 when absent). */
export function parseRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

export interface ProcessUsage {
  /** processes in the tree, the root included */
  count: number;
  cpuSeconds: number;
  rssBytes: number;
}

/** Every process's parent, read once; memory is read only for the trees asked for. */
export class ProcessTable {
  private readonly stats = new Map<number, Omit<ProcessInfo, 'rssBytes'>>();
  private readonly children = new Map<number, number[]>();

  constructor(private readonly proc = '/proc') {
    let names: string[];
    try {
      names = readdirSync(proc);
    } catch {
      return;
    }
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      let line: string;
      try {
        line = readFileSync(`${proc}/${name}/stat`, 'latin1');
      } catch {
        continue; // gone meanwhile
      }
      const stat = parseStat(pid, line);
      if (!stat) continue;
      this.stats.set(pid, stat);
      const siblings = this.children.get(stat.ppid);
      if (siblings) siblings.push(pid);
      else this.children.set(stat.ppid, [pid]);
    }
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

  /** The tree rooted at `pid`, or undefined when no such process was seen. */
  usage(pid: number): ProcessUsage | undefined {
    if (!this.stats.has(pid)) return undefined;
    const total: ProcessUsage = { count: 0, cpuSeconds: 0, rssBytes: 0 };
    const pending = [pid];
    const seen = new Set<number>();
    while (pending.length > 0) {
      const p = pending.pop()!;
      if (seen.has(p)) continue;
      seen.add(p);
      const stat = this.stats.get(p);
      if (!stat) continue;
      total.count++;
      total.cpuSeconds += stat.cpuSeconds;
      try {
        total.rssBytes += parseRssBytes(readFileSync(`${this.proc}/${p}/status`, 'latin1'));
      } catch {
        // exited since the snapshot: its CPU time is still counted
      }
      pending.push(...(this.children.get(p) ?? []));
    }
    return total;
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

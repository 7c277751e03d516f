// Stopping the supervisor of a service directory that has just left the
// services directory (renamed to a dot name, or its link removed), as
// runsvdir does when a service disappears: its supervisor is told `x`
// (what runsvdir's TERM to runsv means: stop the service, let the logger
// read the pipe to its end, exit). runsvdir would do the same at its next
// scan; sending it at once does not wait for Debian's 5-second scan.
// What the service started and left behind (its process tree as seen when
// it was retired) is sent TERM and CONT once the service's own process
// has exited: runit would leave it running, holding the log pipe open, so
// that the logger, and with it the supervisor, never ends. Done when
// neither the service nor its log service has a supervisor (supervise/ok
// has no reader, supervise/lock no holder) and the processes seen are
// gone. Past the timeout, what is left is killed.
import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { sendControl, supervisorRunning } from '../protocol/control.js';
import { ProcessTable } from '../sys/process-table.js';
import { readProgramStatus } from '../observe/service-status.js';

export interface StopResult {
  /** nothing of the service is left */
  stopped: boolean;
  /** a supervisor held it when it was retired */
  hadSupervisor: boolean;
  /** the service or log service was killed after the timeout */
  killed: boolean;
  /** what is left, for a message: `service (pid 123)`, `log supervisor (pid 99)` */
  left: string[];
}

/** A process, by pid and start time (so that a reused pid is not taken for it). */
interface Seen {
  pid: number;
  start: string;
}

interface Watched {
  label: 'service' | 'log';
  dir: string;
  /** the program's pid when it was retired (not for an in-process logger: that is its supervisor's) */
  pid: number | null;
}

/** After SIGKILL, how long what was killed may take to be gone. */
export const KILL_GRACE_MS = 3000;
/** Re-checks for what inotify cannot report (a supervisor closing supervise/ok): 5, 10, 20 ... 400 ms, as sv. */
const RECHECK_MIN_MS = 5;
const RECHECK_MAX_MS = 400;

/** The fields of /proc/PID/stat after the command name (state first), or undefined when it is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The process has ended (no /proc entry, or a zombie its parent has not reaped yet). */
function processGone(pid: number): boolean {
  const f = statFields(pid);
  return f === undefined || f[0] === 'Z';
}

/** `seen` still runs: the same pid and start time, not a zombie. */
function stillThere(seen: Seen): boolean {
  const f = statFields(seen.pid);
  return f !== undefined && f[0] !== 'Z' && f[19] === seen.start;
}

/** The live descendants of `pid` (through /proc/PID/task/TID/children). */
function descendants(pid: number): Seen[] {
  const found: Seen[] = [];
  const pending = [pid];
  const visited = new Set<number>();
  while (pending.length > 0) {
    const p = pending.pop()!;
    if (visited.has(p)) continue;
    visited.add(p);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      let children: string;
      try {
        children = readFileSync(`/proc/${p}/task/${tid}/children`, 'latin1');
      } catch {
        continue;
      }
      for (const word of children.split(' ')) {
        if (word === '') continue;
        const child = Number(word);
        const f = statFields(child);
        if (f && f[0] !== 'Z') found.push({ pid: child, start: f[19]! });
        pending.push(child);
      }
    }
  }
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone meanwhile
  }
}

function supervised(dir: string): boolean {
  try {
    return supervisorRunning(`${dir}/supervise`);
  } catch {
    return false; // no supervise/ (never supervised), or it went away
  }
}

/** The pid holding `dir/supervise/lock`, from /proc/locks. */
function lockHolder(dir: string): number | undefined {
  try {
    const st = statSync(`${dir}/supervise/lock`, { bigint: true });
    return new ProcessTable().lockHolder(st.dev, st.ino);
  } catch {
    return undefined;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** What of `w` is still there, as words for a message; empty when nothing is. */
function leftOf(w: Watched): string[] {
  const left: string[] = [];
  const name = w.label === 'log' ? 'log service' : 'service';
  if (w.pid !== null && !processGone(w.pid)) left.push(`${name} (pid ${w.pid})`);
  const holder = lockHolder(w.dir);
  if (holder !== undefined) left.push(`${w.label === 'log' ? 'log ' : ''}supervisor (pid ${holder})`);
  else if (supervised(w.dir)) left.push(`${w.label === 'log' ? 'log ' : ''}supervisor`);
  return left;
}

/**
 * Stop what supervises `dir` (already out of the services directory):
 * `x` to its supervisor, then wait up to `timeoutMs`; then SIGKILL to the
 * service and its logger (`k` through the supervisor, or straight to a
 * pid left without one) and wait KILL_GRACE_MS more.
 */
export async function stopRetired(dir: string, options: { timeoutMs: number }): Promise<StopResult> {
  const programs: Watched[] = [{ label: 'service', dir, pid: null }];
  if (isDir(`${dir}/log`)) programs.push({ label: 'log', dir: `${dir}/log`, pid: null });
  const table = new ProcessTable();
  let hadSupervisor = false;
  const leftBehind: Seen[] = [];
  for (const p of programs) {
    const s = readProgramStatus(p.dir, table);
    if (s.supervised) hadSupervisor = true;
    p.pid = s.inProcess ? null : s.pid;
    if (p.pid !== null) leftBehind.push(...descendants(p.pid));
  }
  try {
    if (supervised(dir)) sendControl(`${dir}/supervise`, 'x');
  } catch {
    // it went away meanwhile
  }
  const main = programs[0]!;
  let termSent = false;
  const left = () => {
    // once the service's own process has exited, what it left behind is told to stop too
    if (!termSent && (main.pid === null || processGone(main.pid))) {
      termSent = true;
      for (const seen of leftBehind) {
        if (!stillThere(seen)) continue;
        signal(seen.pid, 'SIGTERM');
        signal(seen.pid, 'SIGCONT');
      }
    }
    const words = programs.flatMap(leftOf);
    for (const seen of leftBehind) if (stillThere(seen)) words.push(`left behind (pid ${seen.pid})`);
    return words;
  };
  if (await until(() => left().length === 0, programs, options.timeoutMs)) return { stopped: true, hadSupervisor, killed: false, left: [] };
  for (const p of programs) {
    try {
      if (supervised(p.dir)) sendControl(`${p.dir}/supervise`, 'k');
      else if (p.pid !== null && !processGone(p.pid)) signal(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  for (const seen of leftBehind) if (stillThere(seen)) signal(seen.pid, 'SIGKILL');
  const stopped = await until(() => left().length === 0, programs, KILL_GRACE_MS);
  return { stopped, hadSupervisor, killed: true, left: stopped ? [] : left() };
}

/** Wait until `done()`, woken by changes in the programs' supervise/ and re-checked at growing intervals. */
function until(done: () => boolean, programs: readonly Watched[], timeoutMs: number): Promise<boolean> {
  if (done()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const watchers: FSWatcher[] = [];
    let interval = RECHECK_MIN_MS;
    let timer: NodeJS.Timeout | undefined;
    const deadline = Date.now() + timeoutMs;
    const finish = (result: boolean) => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
      resolve(result);
    };
    const check = () => {
      clearTimeout(timer);
      if (done()) return finish(true);
      const rest = deadline - Date.now();
      if (rest <= 0) return finish(false);
      timer = setTimeout(check, Math.min(interval, rest));
      interval = Math.min(interval * 2, RECHECK_MAX_MS);
    };
    for (const p of programs) {
      try {
        const w = watch(`${p.dir}/supervise`, { persistent: false }, () => {
          interval = RECHECK_MIN_MS;
          check();
        });
        w.on('error', () => w.close());
        watchers.push(w);
      } catch {
        // no supervise/: the re-checks do
      }
    }
    check();
  });
}

// Keeps the read end of every log pipe open in a tiny separate process (in
// runsvdir's process group, so killing the group ends it too), so
// that runsvdir's death (SIGKILL, a crash) never leaves a service writing
// into a pipe without readers (SIGPIPE) and never loses what the pipe
// buffered; the next runsvdir reopens the pipes through /proc (s6's
// fdholder is the idea; here the holder is `sleep`, holding inherited fds).
import { readdirSync, readlinkSync, readFileSync } from 'node:fs';
import { spawnChild } from '../sys/spawn.js';

/** argv[0] of holder processes, to recognise the ones a dead runsvdir left. */
export const HOLDER_NAME = 'runit-ts-fdholder';
const SETTLE_MS = 100;

export class FdHolder {
  private readonly fds = new Map<object, number>();
  /** every pipe held in this process's life, to find holders a dead runsvdir left */
  private readonly pipes = new Set<string>();
  private leftoversKilled = false;
  private holder: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** Hold `fd` (or stop holding, with undefined) on behalf of `owner`. */
  set(owner: object, fd: number | undefined): void {
    if (fd === undefined) this.fds.delete(owner);
    else {
      this.fds.set(owner, fd);
      const inode = pipeInode(`/proc/self/fd/${fd}`);
      if (inode) this.pipes.add(inode);
    }
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.respawn();
    }, SETTLE_MS);
  }

  /** A holder with the current set, then the old one(s) go. */
  private respawn(): void {
    const previous = this.holder;
    this.holder = undefined;
    const fds = [...new Set(this.fds.values())];
    if (fds.length > 0) {
      const pid = spawnChild('sleep', ['2147483647'], { cwd: '/', stdio: ['ignore', 'ignore', 'ignore', ...fds], argv0: HOLDER_NAME }, () => {
        if (this.holder === pid) this.holder = undefined;
      });
      this.holder = pid;
    }
    if (previous !== undefined) kill(previous);
    this.killLeftovers();
  }

  /** Once this process holds the pipes, holders a dead runsvdir left only keep them open forever. */
  private killLeftovers(): void {
    if (this.leftoversKilled) return;
    this.leftoversKilled = true;
    killHoldersOf(this.pipes, this.holder);
  }

  /** At exit: nothing left to protect. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.holder !== undefined) kill(this.holder);
    this.holder = undefined;
    this.killLeftovers();
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
}

function pipeInode(path: string): string | undefined {
  try {
    const target = readlinkSync(path);
    return target.startsWith('pipe:') ? target : undefined;
  } catch {
    return undefined;
  }
}

/** Kill holder processes (but `keep`) that hold one of `pipes`. */
function killHoldersOf(ours: Set<string>, keep: number | undefined): void {
  if (ours.size === 0) return;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === keep) continue;
    let argv0: string;
    try {
      argv0 = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0')[0]!;
    } catch {
      continue;
    }
    if (argv0 !== HOLDER_NAME) continue;
    let held: string[];
    try {
      held = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    if (held.some((fd) => ours.has(pipeInode(`/proc/${entry}/fd/${fd}`) ?? ''))) kill(Number(entry));
  }
}

/**
 * A path through which the pipe `inode` (as in `pipe:[123]`) can be reopened:
 * an fd of a holder process that still holds it.
 */
export function findHeldPipe(inode: string): string | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0')[0] !== HOLDER_NAME) continue;
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        if (pipeInode(`/proc/${entry}/fd/${fd}`) === inode) return `/proc/${entry}/fd/${fd}`;
      }
    } catch {}
  }
  return undefined;
}

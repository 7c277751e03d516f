// Process 1 inherits every orphan of the system (or of the container) and
// must reap it, or zombies pile up. Node's child_process reaps only the
// children it started, each by its pid, so this reaper first peeks at the
// next exited child (waitid WNOWAIT) and reaps it only when it is not one
// of Node's: an exit status Node is waiting for is never taken.
import { spawnChild, type ExitStatus, type SpawnOptions } from '../sys/spawn.js';
import { peekExitedChild, reapChild } from '../sys/reap.js';

export class Reaper {
  /** children started through child_process that have not exited yet */
  private readonly own = new Set<number>();
  private scheduled = false;
  private listening = false;
  /** passes in a row that found one of Node's children not yet reaped */
  private waitingForNode = 0;

  /** `onReaped` runs after every pass that reaped something (orphans or own children). */
  constructor(private readonly onReaped: () => void = () => {}) {}

  /** Reap on every SIGCHLD, after libuv has reaped its own children. */
  listen(): void {
    if (this.listening) return;
    this.listening = true;
    process.on('SIGCHLD', () => this.schedule());
    this.schedule();
  }

  /** spawnChild, with the pid kept out of the reaper's way until Node has reaped it. */
  spawn(file: string, args: readonly string[], options: SpawnOptions, onExit: (status: ExitStatus) => void): number | undefined {
    let pid: number | undefined;
    pid = spawnChild(file, args, options, (status) => {
      if (pid !== undefined) this.own.delete(pid);
      onExit(status);
      this.onReaped();
    });
    if (pid !== undefined) this.own.add(pid);
    return pid;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const pass = () => {
      this.scheduled = false;
      this.reapOrphans();
    };
    // libuv reaps its children in the next poll phase; should it not, do
    // not spin
    if (this.waitingForNode > 10) setTimeout(pass, 50);
    else setImmediate(pass);
  }

  /**
   * Reap every exited child that is not Node's; returns how many. When the
   * next exited child is Node's, libuv has yet to handle its SIGCHLD: look
   * again once it has.
   */
  reapOrphans(): number {
    let count = 0;
    let nodeChildPending = false;
    for (;;) {
      let pid: number;
      try {
        pid = peekExitedChild();
      } catch {
        break;
      }
      if (pid <= 0) break;
      if (this.own.has(pid)) {
        nodeChildPending = true;
        break;
      }
      try {
        if (!reapChild(pid)) break;
        count++;
      } catch {
        break;
      }
    }
    if (nodeChildPending) {
      this.waitingForNode++;
      this.schedule();
    } else {
      this.waitingForNode = 0;
    }
    if (count > 0) this.onReaped();
    return count;
  }
}

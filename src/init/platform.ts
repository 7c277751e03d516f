// What the stage runner does to the system, in one place: the real one
// here, a recording fake in the unit tests.
import { openSync, closeSync, readSync, chmodSync, writeSync, constants } from 'node:fs';
import type { ExitStatus } from '../sys/spawn.js';
import { dup2 } from '../sys/fd.js';
import { killAll, reboot, sync } from '../sys/reboot.js';
import { errorTextOf } from '../sys/errstr.js';
import { execAccessError, pathExists } from '../sys/access.js';
import type { Reaper } from './reaper.js';
import { ownerExecutable } from './flags.js';

/** What is started: a stage (0, 1, 2 for /1, /2, /3) or the ctrl-alt-del program. */
export type Program = 0 | 1 | 2 | 'ctrlaltdel';

export interface Platform {
  /**
   * Start a program; onExit runs once, asynchronously, with how it ended or
   * why it could not be executed. Returns its pid, if it was started.
   */
  start(path: string, program: Program, onExit: (status: ExitStatus) => void): number | undefined;
  /** kill(2), errors ignored; a negative pid is a process group */
  kill(pid: number, signal: number): void;
  /** kill(-1, sig); false when no other process was left */
  killAll(signal: number): boolean;
  /** reap the orphans that have exited */
  reapOrphans(): void;
  ownerExecutable(path: string): boolean;
  /** chmod(2), errors ignored */
  chmod(path: string, mode: number): void;
  exists(path: string): boolean;
  /** one line on the console (or the container's stderr) */
  print(line: string): void;
  /** runit re-opens the console as its stderr after each wake-up */
  regetConsole(): void;
  setTimer(ms: number, fn: () => void): () => void;
  sync(): void;
  reboot(howto: number): void;
  exit(code: number): void;
}

const CONSOLE = '/dev/console';

export interface RealPlatformOptions {
  /** use /dev/console as runit does (host and system modes) */
  console: boolean;
  /** the soft RLIMIT_NOFILE the stages get (the one runit was started with) */
  nofile: bigint | undefined;
  reaper: Reaper;
}

/**
 * Why execve would fail for `path`, as an errno name, checked before the
 * stage is started through /bin/sh (which would report it otherwise, or run
 * a file without `#!` as a script where execve fails with ENOEXEC).
 */
export function execCheck(path: string): string | undefined {
  const denied = execAccessError(path);
  if (denied) return denied;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    const script = n >= 2 && head[0] === 0x23 && head[1] === 0x21;
    const elf = n === 4 && head.readUInt32BE(0) === 0x7f454c46;
    if (!script && !elf) return 'ENOEXEC';
  } catch {
    // not readable: execve will tell
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return undefined;
}

export class RealPlatform implements Platform {
  constructor(private readonly options: RealPlatformOptions) {
    if (options.console) {
      const fd = this.openConsole('w');
      if (fd !== undefined) {
        for (const target of [0, 1, 2]) dup2(fd, target);
        if (fd > 2) closeSync(fd);
      }
    }
  }

  private openConsole(how: 'w' | 'rw'): number | undefined {
    try {
      return openSync(CONSOLE, (how === 'w' ? constants.O_WRONLY : constants.O_RDWR) | constants.O_NONBLOCK | constants.O_NOCTTY | constants.O_APPEND);
    } catch (err) {
      if (how === 'rw') this.print(`- runit: warning: unable to open /dev/console: ${errorTextOf(err)}`);
      return undefined;
    }
  }

  start(path: string, program: Program, onExit: (status: ExitStatus) => void): number | undefined {
    const failed = execCheck(path);
    if (failed) {
      process.nextTick(onExit, { execError: failed });
      return undefined;
    }
    // Stages start with SIGCONT ignored, as under runit; libuv hands
    // children default dispositions only, and the NOFILE limit Node raised.
    const steps: string[] = [];
    if (program !== 'ctrlaltdel') steps.push("trap '' CONT");
    if (this.options.nofile !== undefined) steps.push(`ulimit -Sn ${this.options.nofile === 0xffffffffffffffffn ? 'unlimited' : this.options.nofile}`);
    steps.push('exec "$0"');
    let stdin: number | undefined;
    if (program === 0 && this.options.console) {
      // stage 1 gets the console for reading, to start an emergency shell
      stdin = this.openConsole('rw');
    }
    const pid = this.options.reaper.spawn(
      '/bin/sh',
      ['-c', steps.join('; '), path],
      {
        cwd: process.cwd(),
        stdio: [stdin ?? 0, 1, 2],
        env: process.env,
        newSession: program === 1 || program === 2,
      },
      onExit,
    );
    if (stdin !== undefined) closeSync(stdin);
    return pid;
  }

  kill(pid: number, signal: number): void {
    try {
      process.kill(pid, signal);
    } catch {}
  }

  killAll(signal: number): boolean {
    try {
      return killAll(signal);
    } catch {
      return true;
    }
  }

  reapOrphans(): void {
    this.options.reaper.reapOrphans();
  }

  ownerExecutable(path: string): boolean {
    return ownerExecutable(path);
  }

  chmod(path: string, mode: number): void {
    try {
      chmodSync(path, mode);
    } catch {}
  }

  exists(path: string): boolean {
    return pathExists(path);
  }

  print(line: string): void {
    try {
      writeSync(2, `${line}\n`);
    } catch {
      // no console: nothing better to do
    }
  }

  regetConsole(): void {
    if (!this.options.console) return;
    const fd = this.openConsole('w');
    if (fd === undefined) return;
    dup2(fd, 2);
    if (fd > 2) closeSync(fd);
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  }

  sync(): void {
    sync();
  }

  reboot(howto: number): void {
    try {
      reboot(howto);
    } catch {}
  }

  exit(code: number): void {
    process.exit(code);
  }
}

// Starting a child without replacing this process: through posix_spawn
// (fast, see posix-spawn.ts) with a pidfd to learn of its exit, or, where
// that is missing, through libuv. Either way the child starts with every
// signal at its default action, none blocked, fds 0-2 blocking and
// inheritable; integer stdio entries are real fds (pipes from pipe2),
// never the socketpairs of stdio 'pipe'.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { resolve } from 'node:path';
import { getrlimit, RLIMIT, childHardNofile } from './limits.js';
import { posixSpawn, posixSpawnAsync, posixSpawnAvailable, type PosixSpawnOptions } from './posix-spawn.js';
import { pidfdAvailable, watchExit } from './pid-watch.js';
import { reapChild, type WaitStatus } from './reap.js';
import { errorCode } from './errors.js';
import { execAccessError } from './access.js';
import { shQuote } from '../util/sh-quote.js';
import { closeSync } from 'node:fs';
import { pipe } from './fd.js';
import { watchReadable } from './fd-watch.js';

let nofileNow: bigint | undefined;
/** This process's soft NOFILE limit (it changes only at start-up). */
function currentNofile(): bigint {
  return (nofileNow ??= getrlimit(RLIMIT.NOFILE).soft);
}

/** How a child ended: like a wait status, or the exec failure that stopped it. */
export type ExitStatus = WaitStatus | { execError: string };

export interface SpawnOptions {
  cwd: string;
  /** fds (or 'ignore') for the child's 0, 1, 2 (and 3, ... when given) */
  stdio: [number | 'ignore', number | 'ignore', number | 'ignore', ...(number | 'ignore')[]];
  env?: NodeJS.ProcessEnv;
  /** own session and process group (setsid) */
  newSession?: boolean;
  /** own process group in this session (setpgid); libuv can only make a session */
  newGroup?: boolean;
  /** argv[0], when it is not `file` */
  argv0?: string;
  /**
   * The soft RLIMIT_NOFILE the child must start with, when this process
   * runs with another (a host that raised its own limit).
   */
  nofile?: bigint;
  /** a cgroup v2 directory the child must be in before its program starts */
  cgroup?: string;
  /** the child's fd that the shell of throughShell closes right before it execs the program (spawnChildAsync's wait) */
  execGate?: number;
  /** shell commands the child runs before it execs the program (chpst/hosted.ts's; trusted text) */
  setup?: readonly string[];
}

/**
 * What a child must get before its program runs that neither posix_spawn
 * nor libuv can give it: a NOFILE limit other than this process's (libuv
 * cannot change one between fork and exec), a cgroup (glibc's posix_spawn
 * cannot start a child in one: moved afterwards, it could fork a daemon
 * that escapes first), or the setup of a chpst line the supervisor applies.
 * Then the child starts as /bin/sh, which moves itself into the cgroup
 * (writing 0 to cgroup.procs moves the writer), sets the limit, runs the
 * setup and execs the program with the same pid and argv. Exec errors are
 * checked first, so they read as they would without the shell. A cgroup
 * that cannot be written is left to the caller to notice.
 */
function throughShell(file: string, args: readonly string[], options: SpawnOptions): [string, string[]] | { execError: string } {
  if (file.includes('/')) {
    const denied = execAccessError(resolve(options.cwd, file));
    if (denied) return { execError: denied };
  }
  let script = '';
  if (options.cgroup !== undefined) script += `{ echo 0 >${shQuote(`${options.cgroup}/cgroup.procs`)}; } 2>/dev/null; `;
  if (needsLimit(options)) {
    const hard = childHardNofile(); // the hard limit back too, where the host raised it
    script += `ulimit -Sn ${options.nofile}${hard === undefined ? '' : ` && ulimit -Hn ${hard}`} && `;
  }
  for (const command of options.setup ?? []) script += `${command} && `;
  const gate = options.execGate === undefined ? '' : ` ${options.execGate}>&-`;
  return ['/bin/sh', ['-c', `${script}exec${gate} "$0" "$@"`, options.argv0 ?? file, ...args]];
}

const needsLimit = (options: SpawnOptions): boolean => options.nofile !== undefined && options.nofile !== currentNofile();

const needsShell = (options: SpawnOptions): boolean => options.cgroup !== undefined || needsLimit(options) || (options.setup?.length ?? 0) > 0;

/**
 * Start `file` with argv `[file, ...args]`. Returns the pid, or undefined when
 * the program could not be executed. `onExit` runs exactly once, always
 * asynchronously: after the child is reaped, or with the exec error.
 */
export function spawnChild(file: string, args: readonly string[], options: SpawnOptions, onExit: (status: ExitStatus) => void): number | undefined {
  const call = prepareCall(file, args, options, onExit);
  if (!call) return undefined;
  [file, args, options] = call;
  return (usePosixSpawn ??= pidfdAvailable() && posixSpawnAvailable()) ? spawnFast(file, args, options, onExit) : spawnLibuv(file, args, options, onExit);
}

/**
 * spawnChild, with the clone and the wait for the child's exec in libuv's
 * thread pool (posix_spawn) instead of on the event loop: resolves with the
 * pid once the program is exec'd (through throughShell's shell too), or
 * undefined when nothing was started (`onExit` says why). The fds in
 * `options.stdio` must stay open until it has resolved.
 */
export function spawnChildAsync(
  file: string,
  args: readonly string[],
  options: SpawnOptions,
  onExit: (status: ExitStatus) => void,
): Promise<number | undefined> {
  if (!(usePosixSpawn ??= pidfdAvailable() && posixSpawnAvailable())) {
    const call = prepareCall(file, args, options, onExit);
    return Promise.resolve(call && spawnLibuv(...call, onExit));
  }
  // through a shell: a pipe whose end it closes as it execs the program tells when that is done
  const gate = needsShell(options) ? pipe() : undefined;
  if (gate) options = { ...options, stdio: [...options.stdio, gate.write], execGate: options.stdio.length };
  const call = prepareCall(file, args, options, onExit);
  if (!call) {
    if (gate) closeBoth(gate);
    return Promise.resolve(undefined);
  }
  [file, args, options] = call;
  const opts = posixOptions(options);
  const spawned = inTurn(() => posixSpawnAsync(file, args, opts));
  return spawned.then(
    async (pid) => {
      // the exit is watched once the pid is the caller's: a child that ends
      // at once stays a zombie until then
      if (gate) {
        closeSync(gate.write);
        await new Promise<void>((resolve) => {
          const cancel = watchReadable(gate.read, () => {
            cancel();
            resolve();
          });
        });
        closeSync(gate.read);
      }
      watchReap(pid, onExit);
      return pid;
    },
    (err) => {
      if (gate) closeBoth(gate);
      return notStarted(onExit, err);
    },
  );
}

function closeBoth(ends: { read: number; write: number }): void {
  closeSync(ends.read);
  closeSync(ends.write);
}

/**
 * At most this many spawns in the thread pool at once, the others queued
 * here: each call in flight holds a set of koffi's async stack and heap
 * blocks (the first few stay resident), so a hundred services starting at
 * once would cost about a megabyte of memory for good, for no speed on a
 * machine of a few cores.
 */
const MAX_SPAWNS_IN_FLIGHT = 2;
let inFlight = 0;
const waiting: (() => void)[] = [];

function inTurn<T>(call: () => Promise<T>): Promise<T> {
  const run = (): Promise<T> => {
    inFlight++;
    return call().finally(() => {
      inFlight--;
      waiting.shift()?.();
    });
  };
  if (inFlight < MAX_SPAWNS_IN_FLIGHT) return run();
  return new Promise<void>((resolve) => waiting.push(resolve)).then(run);
}

/** The call as it is made: through /bin/sh where the child needs what throughShell gives; undefined when that failed (`onExit` told). */
function prepareCall(
  file: string,
  args: readonly string[],
  options: SpawnOptions,
  onExit: (status: ExitStatus) => void,
): [string, readonly string[], SpawnOptions] | undefined {
  if (!needsShell(options)) return [file, args, options];
  const wrapped = throughShell(file, args, options);
  if (!Array.isArray(wrapped)) {
    process.nextTick(onExit, wrapped);
    return undefined;
  }
  return [wrapped[0], wrapped[1], { ...options, argv0: undefined }];
}

let usePosixSpawn: boolean | undefined;

/** The program could not be started: `onExit` hears why, on the next tick. */
function notStarted(onExit: (status: ExitStatus) => void, err: unknown): undefined {
  process.nextTick(onExit, { execError: errorCode(err) ?? 'EINVAL' });
  return undefined;
}

/** SpawnOptions as posix_spawn takes them. */
function posixOptions(options: SpawnOptions): PosixSpawnOptions {
  return {
    cwd: options.cwd,
    fds: options.stdio,
    env: options.env ?? process.env,
    argv0: options.argv0,
    newSession: options.newSession,
    newGroup: options.newGroup,
  };
}

function spawnFast(file: string, args: readonly string[], options: SpawnOptions, onExit: (status: ExitStatus) => void): number | undefined {
  let pid: number;
  try {
    pid = posixSpawn(file, args, posixOptions(options));
  } catch (err) {
    return notStarted(onExit, err);
  }
  watchReap(pid, onExit);
  return pid;
}

/** Once child `pid` has exited: reap it, tell `onExit`. */
function watchReap(pid: number, onExit: (status: ExitStatus) => void): void {
  watchExit(pid, () => {
    let status: WaitStatus | undefined;
    try {
      status = reapChild(pid);
    } catch {
      // reaped by someone else (ECHILD): how it ended is lost
    }
    onExit(status ?? { code: null, signal: 0 });
  });
}

function spawnLibuv(file: string, args: readonly string[], options: SpawnOptions, onExit: (status: ExitStatus) => void): number | undefined {
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: options.cwd,
      stdio: options.stdio,
      env: options.env ?? process.env,
      detached: (options.newSession || options.newGroup) ?? false,
      ...(options.argv0 === undefined ? {} : { argv0: options.argv0 }),
    });
  } catch (err) {
    return notStarted(onExit, err);
  }
  if (child.pid === undefined) {
    child.once('error', (err: NodeJS.ErrnoException) => onExit({ execError: err.code ?? 'EINVAL' }));
    return undefined;
  }
  child.once('error', () => {});
  child.once('exit', (exitCode, signalName) => {
    if (signalName) onExit({ code: null, signal: osConstants.signals[signalName] ?? 0 });
    else onExit({ code: exitCode ?? 0, signal: 0 });
  });
  return child.pid;
}

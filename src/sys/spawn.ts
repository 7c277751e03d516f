// Starting a child without replacing this process. libuv's spawn resets
// every signal disposition and the signal mask in the child and makes fds
// 0-2 blocking and inheritable; integer stdio entries are real fds (pipes
// from pipe2), never the socketpairs of stdio 'pipe'.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

/** How a child ended: like a wait status, or the exec failure that stopped it. */
export type ExitStatus =
  | { code: number; signal: 0 }
  | { code: null; signal: number }
  | { execError: string };

export interface SpawnOptions {
  cwd: string;
  /** fds (or 'ignore') for the child's 0, 1, 2 */
  stdio: [number | 'ignore', number | 'ignore', number | 'ignore'];
  env?: NodeJS.ProcessEnv;
  /** own session and process group (setsid) */
  newSession?: boolean;
  /** argv[0], when it is not `file` */
  argv0?: string;
}

/**
 * Start `file` with argv `[file, ...args]`. Returns the pid, or undefined when
 * the program could not be executed. `onExit` runs exactly once, always
 * asynchronously: after the child is reaped, or with the exec error.
 */
export function spawnChild(file: string, args: readonly string[], options: SpawnOptions, onExit: (status: ExitStatus) => void): number | undefined {
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: options.cwd,
      stdio: options.stdio,
      env: options.env ?? process.env,
      detached: options.newSession ?? false,
      ...(options.argv0 === undefined ? {} : { argv0: options.argv0 }),
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EINVAL';
    process.nextTick(onExit, { execError: code });
    return undefined;
  }
  if (child.pid === undefined) {
    child.once('error', (err: NodeJS.ErrnoException) => onExit({ execError: err.code ?? 'EINVAL' }));
    return undefined;
  }
  child.once('error', () => {});
  child.once('exit', (exitCode, signalName) => {
    if (signalName) onExit({ code: null, signal: constants.signals[signalName] ?? 0 });
    else onExit({ code: exitCode ?? 0, signal: 0 });
  });
  return child.pid;
}

// Custom control programs: service/control/<letter> replaces the default
// action of a control letter when it exits 0 (runsv(8), "CUSTOMIZE CONTROL").
import { statSync } from 'node:fs';
import { spawnChild } from '../sys/spawn.js';
import { errorCode } from '../sys/errors.js';
import { errorText, errorTextOf } from '../sys/errstr.js';

export interface CustomControlContext {
  /** how the host starts children (session, NOFILE limit) */
  spawn: { newSession?: boolean; nofile?: bigint };
  serviceDir: string;
  /** the log pipe's write end, or undefined without a log */
  stdout: number | undefined;
  warn(message: string): void;
  fatal(message: string): void;
}

/**
 * The path of `control/<letter>` when it exists with the owner-execute bit
 * (checked synchronously, so a letter without a program acts at once).
 */
export function findCustomControl(ctx: CustomControlContext, letter: string): string | undefined {
  const name = `control/${letter}`;
  try {
    // no exception for the usual absence: it is checked at every start
    const st = statSync(`${ctx.serviceDir}/${name}`, { throwIfNoEntry: false });
    return st && st.mode & 0o100 ? name : undefined;
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') ctx.warn(`unable to stat ${name}: ${errorTextOf(err)}`);
    return undefined;
  }
}

/**
 * Run a custom control program; resolve true when it exited 0 ("handled").
 * Unlike runit, a program killed by a signal has not handled the letter
 * (docs/differences.md: runsv-control-killed).
 */
export function runCustomControl(ctx: CustomControlContext, name: string): Promise<boolean> {
  return new Promise((resolve) => {
    spawnChild(name, [], { ...ctx.spawn, cwd: ctx.serviceDir, stdio: [0, ctx.stdout ?? 1, 2] }, (status) => {
      if ('execError' in status) {
        ctx.fatal(`unable to run control/?: ${errorText(status.execError)}`);
        resolve(false);
      } else {
        resolve(status.code === 0);
      }
    });
  });
}

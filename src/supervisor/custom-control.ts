// Custom control programs: service/control/<letter> replaces the default
// action of a control letter when it exits 0 (reference §3.5).
import { statSync } from 'node:fs';
import { spawnChild } from '../sys/spawn.js';
import { errorCode } from '../sys/errors.js';
import { errorText, errorTextOf } from '../sys/errstr.js';

export interface CustomControlContext {
  serviceDir: string;
  /** the log pipe's write end, or undefined without a log */
  stdout: number | undefined;
  warn(message: string): void;
  fatal(message: string): void;
}

/**
 * Run `control/<letter>` if it exists with the owner-execute bit; resolve
 * true when it exited 0 ("handled"). Unlike runit, a program killed by a
 * signal has not handled the letter (docs/differences.md: control-killed).
 */
export function runCustomControl(ctx: CustomControlContext, letter: string): Promise<boolean> {
  const name = `control/${letter}`;
  try {
    if (!(statSync(`${ctx.serviceDir}/${name}`).mode & 0o100)) return Promise.resolve(false);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') ctx.warn(`unable to stat ${name}: ${errorTextOf(err)}`);
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    spawnChild(name, [], { cwd: ctx.serviceDir, stdio: [0, ctx.stdout ?? 1, 2] }, (status) => {
      if ('execError' in status) {
        ctx.fatal(`unable to run control/?: ${errorText(status.execError)}`);
        resolve(false);
      } else {
        resolve(status.code === 0);
      }
    });
  });
}

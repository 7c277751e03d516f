// The optional ./check script sv runs while waiting (sv(8): check).
import { statSync } from 'node:fs';
import { errorTextOf } from '../sys/errstr.js';

/** fork() failures as libuv reports them; any other spawn error is an exec failure. */
const FORK_ERRORS = new Set(['EAGAIN', 'ENOMEM']);

/**
 * Run `dir/check` as runit's sv does: absent means pass; cwd is the service
 * directory, argv is ["./check"], environment, stdin and stderr are sv's.
 * Differences: stdout is /dev/null instead of closed, and the script passes
 * only if it exits 0 (runit also passed a script killed by a signal).
 * `warn` receives whole stderr lines.
 */
export async function runCheck(dir: string, name: string, warn: (line: string) => void): Promise<boolean> {
  try {
    statSync(`${dir}/check`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    warn(`warning: unable to stat ${name}/check: ${errorTextOf(err)}\n`);
    return false;
  }
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const failed = (err: NodeJS.ErrnoException) => {
      if (err.code && FORK_ERRORS.has(err.code)) {
        warn(`warning: unable to fork for ${name}/check: ${errorTextOf(err)}\n`);
        resolve(false);
      } else {
        // runit's child prints this and exits 0: the check passes
        warn(`warning: unable to run ${name}/check: ${errorTextOf(err)}\n`);
        resolve(true);
      }
    };
    try {
      const child = spawn('./check', [], { cwd: dir, stdio: ['inherit', 'ignore', 'inherit'] });
      child.once('error', failed);
      child.once('exit', (code) => resolve(code === 0));
    } catch (err) {
      failed(err as NodeJS.ErrnoException);
    }
  });
}

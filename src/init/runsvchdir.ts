// runsvchdir: switch the services directory that /etc/service resolves to
// (runsvchdir(8)): DIR/current becomes a symbolic link to the new one,
// the old link is kept as DIR/previous.
import { statSync, unlinkSync, symlinkSync, renameSync, type Stats } from 'node:fs';
import { errorTextOf, errorText } from '../sys/errstr.js';

export const DEFAULT_RUNSVDIR = '/etc/runit/runsvdir';

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Make `dir` (relative to `base`, or absolute) current. `progname` is
 * argv[0] as given, the prefix of error messages.
 */
export function changeServiceDir(progname: string, dir: string, base: string): Outcome {
  let stderr = '';
  const fatal = (text: string): Outcome => ({ code: 111, stdout: '', stderr: `${stderr}${progname}: fatal: ${text}\n` });
  if (dir.startsWith('.')) return fatal(`${dir}: must not start with a dot.`);
  try {
    process.chdir(base);
  } catch (err) {
    return fatal(`unable to chdir: ${base}: ${errorTextOf(err)}`);
  }
  let target: Stats;
  try {
    target = statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return fatal(code === 'ENOENT' ? `${dir}: ${errorText(code)}` : `unable to stat: ${dir}: ${errorTextOf(err)}`);
  }
  // runit prints no separator here
  if (!target.isDirectory()) return fatal(`${dir}not a directory.`);
  let current: Stats;
  try {
    current = statSync('current');
  } catch (err) {
    return fatal(`unable to stat: current: ${errorTextOf(err)}`);
  }
  if (current.ino === target.ino && current.dev === target.dev) return { code: 0, stdout: `runsvchdir: ${dir}: current.\n`, stderr: '' };
  const unlinkMissingOk = (name: string): string | undefined => {
    try {
      unlinkSync(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return `unable to unlink: ${name}: ${errorTextOf(err)}`;
    }
    return undefined;
  };
  let problem = unlinkMissingOk('current.new');
  if (problem) return fatal(problem);
  try {
    symlinkSync(dir, 'current.new');
  } catch (err) {
    return fatal(`unable to create: current.new -> ${dir}: ${errorTextOf(err)}`);
  }
  problem = unlinkMissingOk('previous');
  if (problem) return fatal(problem);
  try {
    renameSync('current', 'previous');
  } catch (err) {
    return fatal(`unable to copy: current to previous: ${errorTextOf(err)}`);
  }
  try {
    renameSync('current.new', 'current');
  } catch (err) {
    // runit labels this warning "fatal" too, then tries to undo
    stderr += `${progname}: fatal: unable to move: current.new to current: ${errorTextOf(err)}\n`;
    try {
      renameSync('previous', 'current');
    } catch (err2) {
      return fatal(`unable to move previous back to current: ${errorTextOf(err2)}`);
    }
    return { code: 111, stdout: '', stderr };
  }
  return { code: 0, stdout: `runsvchdir: ${dir}: now current.\n`, stderr: '' };
}

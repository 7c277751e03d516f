// `runit-ts remove`: take a service out of the services directory and make
// sure nothing of it is left running, as Debian's `update-service --remove`
// does (runsvdir then stops its supervisor). A directory is kept, renamed
// to `.NAME.removed-STAMP` beside (runsvdir ignores dot names), with its
// logs, unless purged; a symbolic link is removed and what it names left
// alone. docs/runit-ts.md, "runit-ts remove".
import { lstatSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { errorCode } from '../sys/errors.js';
import { errorTextOf } from '../sys/errstr.js';
import { findLogDir } from '../observe/log-dir.js';
import { InstallError } from './write.js';
import { stopRetired, type StopResult } from './stop.js';

export interface Removed {
  /** nothing of that name was there */
  missing?: boolean;
  /** the entry was a symbolic link to this directory (left as it is) */
  linkTo?: string;
  /** where the directory is kept (undefined when purged, or for a link) */
  keptAs?: string;
  purged: boolean;
  /** a log directory outside the service directory, never purged */
  externalLog?: string;
  stop?: StopResult;
}

const join = (dir: string, name: string) => (dir.endsWith('/') ? dir + name : `${dir}/${name}`);

/** `20261202T080033Z`: when it was removed, UTC, sortable, no colons. */
export function removalStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll('-', '')
    .replaceAll(':', '');
}

/** A free `.NAME.removed-STAMP[-N]` in `svdir`. */
function keepName(svdir: string, name: string, now: Date): string {
  const base = join(svdir, `.${name}.removed-${removalStamp(now)}`);
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? base : `${base}-${n}`;
    try {
      lstatSync(candidate);
    } catch {
      return candidate;
    }
  }
}

/** The absolute log directory log/run names outside `dir`, if any. */
function externalLogDir(dir: string): string | undefined {
  try {
    const logDir = findLogDir(dir);
    return logDir !== undefined && !resolve(logDir).startsWith(`${resolve(dir)}/`) ? logDir : undefined;
  } catch {
    return undefined;
  }
}

/** supervise/ of the kept directory and its log/: state of a supervisor that is gone. */
function dropSupervise(dir: string): void {
  for (const s of [`${dir}/supervise`, `${dir}/log/supervise`]) {
    try {
      if (lstatSync(s).isDirectory()) rmSync(s, { recursive: true, force: true });
    } catch {}
  }
}

/**
 * Remove service `name` from `svdir`. Throws InstallError when it cannot
 * be taken out (the services directory unreadable, the rename refused).
 */
export async function removeService(svdir: string, name: string, options: { purge: boolean; timeoutMs: number; now?: Date }): Promise<Removed> {
  try {
    if (!statSync(svdir).isDirectory()) throw new InstallError(`unable to open services directory ${svdir}: not a directory`);
  } catch (err) {
    if (err instanceof InstallError) throw err;
    throw new InstallError(`unable to open services directory ${svdir}: ${errorTextOf(err)}`);
  }
  const entry = join(svdir, name);
  let link: boolean;
  try {
    const st = lstatSync(entry);
    if (!st.isSymbolicLink() && !st.isDirectory()) throw new InstallError(`${name}: ${entry} is not a service directory`);
    link = st.isSymbolicLink();
  } catch (err) {
    if (err instanceof InstallError) throw err;
    if (errorCode(err) === 'ENOENT') return { missing: true, purged: false };
    throw new InstallError(`unable to stat ${entry}: ${errorTextOf(err)}`);
  }

  if (link) {
    let target: string | undefined;
    try {
      target = realpathSync(entry);
    } catch {
      target = undefined; // dangling: nothing can be supervised there
    }
    const named = resolve(svdir, readlinkSync(entry));
    try {
      unlinkSync(entry);
    } catch (err) {
      throw new InstallError(`unable to remove ${entry}: ${errorTextOf(err)}`);
    }
    const stop = target === undefined ? undefined : await stopRetired(target, { timeoutMs: options.timeoutMs });
    return { linkTo: target ?? named, purged: false, ...(stop && { stop }) };
  }

  const kept = keepName(svdir, name, options.now ?? new Date());
  const external = externalLogDir(entry);
  try {
    renameSync(entry, kept);
  } catch (err) {
    throw new InstallError(`unable to rename ${entry} to ${kept}: ${errorTextOf(err)}`);
  }
  const stop = await stopRetired(kept, { timeoutMs: options.timeoutMs });
  if (!stop.stopped) return { keptAs: kept, purged: false, stop, ...(external && { externalLog: external }) };
  if (options.purge) {
    rmSync(kept, { recursive: true, force: true });
    return { purged: true, stop, ...(external && { externalLog: external }) };
  }
  dropSupervise(kept);
  return { keptAs: kept, purged: false, stop, ...(external && { externalLog: external }) };
}

// Putting a service directory on disk so that runsvdir never sees half of
// it: built in a dot-named directory beside it (runsvdir ignores names
// starting with a dot), every file synced, then renamed into place in one
// step. Replacing (--force) takes the old directory out of the scan first,
// waits for its supervisor to stop it and exit, carries its log directory
// over, and only then renames the new one in: no supervisor ever holds a
// directory whose files change under it. docs/runit-ts.md, "runit-ts add".
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  constants,
  chmodSync,
  existsSync,
} from 'node:fs';
import { errorCode } from '../sys/errors.js';
import { errorTextOf } from '../sys/errstr.js';
import { renderService, type Entry, type Rendered } from './render.js';
import type { ServiceSpec } from './spec.js';
import { stopRetired, type StopResult } from './stop.js';

/** Why nothing was written (or replaced); the message is runit-style, without the program's prefix. */
export class InstallError extends Error {}

export interface InstallOptions {
  /** replace a service of that name */
  force: boolean;
  /** how long the replaced service may take to stop before it is killed */
  stopTimeoutMs: number;
}

export interface Installed {
  dir: string;
  rendered: Rendered;
  /** the service was there before and was replaced */
  replaced?: StopResult;
}

const join = (dir: string, name: string) => (dir.endsWith('/') ? dir + name : `${dir}/${name}`);

/** A file written whole, its mode exactly `mode` (whatever the umask), and synced. */
function writeFileSynced(path: string, content: Buffer, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    fchmodSync(fd, mode);
    let off = 0;
    while (off < content.length) off += writeSync(fd, content, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(path: string): void {
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // a file system that cannot sync a directory: the rename still is atomic
  }
}

/** Make the entries under `root` (which exists). */
export function writeEntries(root: string, entries: readonly Entry[]): void {
  for (const e of entries) {
    const path = `${root}/${e.path}`;
    try {
      if (e.type === 'dir') {
        mkdirSync(path, { mode: e.mode });
        chmodSync(path, e.mode);
      } else writeFileSynced(path, e.content, e.mode);
    } catch (err) {
      throw new InstallError(`unable to create ${path}: ${errorTextOf(err)}`);
    }
  }
}

/** The services directory, checked: it exists and is a directory. */
function checkServicesDir(svdir: string): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(svdir);
  } catch (err) {
    throw new InstallError(`unable to open services directory ${svdir}: ${errorTextOf(err)}`);
  }
  if (!st.isDirectory()) throw new InstallError(`unable to open services directory ${svdir}: not a directory`);
}

/** What is at `path` now: nothing, a directory, a symbolic link or something else. */
function kindAt(path: string): 'none' | 'dir' | 'link' | 'other' {
  try {
    const st = lstatSync(path);
    return st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'other';
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 'none';
    throw new InstallError(`unable to stat ${path}: ${errorTextOf(err)}`);
  }
}

/** The log directory inside the service directory (`log/main`), when the spec keeps it there. */
function innerLogDir(spec: ServiceSpec): string | undefined {
  if (spec.log === false) return undefined;
  const dir = spec.log?.dir ?? './main';
  return dir.startsWith('/') ? undefined : `log/${dir.replace(/^(\.\/)+/, '').replace(/\/+$/, '')}`;
}

/** An absolute log directory: made where missing, its config written (or removed when none is given). */
function prepareExternalLogDir(rendered: Rendered): void {
  const ext = rendered.externalLogDir;
  if (!ext) return;
  try {
    mkdirSync(ext.dir, { recursive: true, mode: 0o755 });
    const config = `${ext.dir}/config`;
    if (ext.config) {
      rmSync(`${config}.new`, { force: true });
      writeFileSynced(`${config}.new`, ext.config, 0o644);
      renameSync(`${config}.new`, config);
    }
  } catch (err) {
    throw new InstallError(`unable to prepare log directory ${ext.dir}: ${errorTextOf(err)}`);
  }
}

/**
 * Write the service `spec` describes into `svdir`, atomically. Throws
 * SpecError (render.ts) for a spec that cannot be written and InstallError
 * for anything else; either way nothing is left behind.
 */
export async function installService(svdir: string, spec: ServiceSpec, options: InstallOptions): Promise<Installed> {
  const rendered = renderService(spec);
  checkServicesDir(svdir);
  const target = join(svdir, spec.name);
  const before = kindAt(target);
  if (before !== 'none' && !options.force) throw new InstallError(`${spec.name}: exists in ${svdir}: --force replaces it`);
  if (before === 'link') throw new InstallError(`${spec.name}: ${target} is a symbolic link: change the directory it names, or remove the link first`);
  if (before === 'other') throw new InstallError(`${spec.name}: ${target} exists and is not a directory`);

  const staging = join(svdir, `.${spec.name}.new-${process.pid}`);
  const discard = () => rmSync(staging, { recursive: true, force: true });
  try {
    discard();
    mkdirSync(staging, { mode: 0o755 });
    chmodSync(staging, 0o755);
  } catch (err) {
    throw new InstallError(`unable to create ${staging}: ${errorTextOf(err)}`);
  }
  try {
    writeEntries(staging, rendered.entries);
    prepareExternalLogDir(rendered);
    syncDir(staging);
    if (before === 'none') {
      // rename(2) would replace an empty directory made meanwhile
      if (kindAt(target) !== 'none') throw new InstallError(`${spec.name}: exists in ${svdir}: --force replaces it`);
      rename(staging, target);
      syncDir(svdir);
      return { dir: target, rendered };
    }
    const replaced = await replace(svdir, target, staging, spec, options);
    return { dir: target, rendered, replaced };
  } catch (err) {
    discard();
    throw err;
  }
}

function rename(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    throw new InstallError(`unable to rename ${from} to ${to}: ${errorTextOf(err)}`);
  }
}

/**
 * --force: the old directory leaves the scan (renamed to a dot name), its
 * supervisor stops the service and its logger and exits (told with `x`,
 * as runsvdir's TERM would), its log directory moves into the new one,
 * and the new one is renamed in. If the old one does not stop, it is put
 * back and nothing is replaced.
 */
async function replace(svdir: string, target: string, staging: string, spec: ServiceSpec, options: InstallOptions): Promise<StopResult> {
  const old = join(svdir, `.${spec.name}.old-${process.pid}`);
  rmSync(old, { recursive: true, force: true });
  rename(target, old);
  const stopped = await stopRetired(old, { timeoutMs: options.stopTimeoutMs });
  if (!stopped.stopped) {
    if (kindAt(target) === 'none') renameSync(old, target);
    throw new InstallError(`${spec.name}: the old service did not stop (${stopped.left.join(', ')}): nothing replaced`);
  }
  const logDir = innerLogDir(spec);
  if (logDir && existsSync(`${old}/${logDir}`)) {
    // the log history carries over; the new config (or none) applies
    const fresh = `${staging}/${logDir}`;
    const config = `${fresh}/config`;
    const hasConfig = existsSync(config);
    try {
      if (hasConfig) renameSync(config, `${staging}/.log-config`);
      rmSync(fresh, { recursive: true, force: true });
      renameSync(`${old}/${logDir}`, fresh);
      rmSync(config, { force: true });
      if (hasConfig) renameSync(`${staging}/.log-config`, config);
    } catch (err) {
      renameSync(old, target);
      throw new InstallError(`${spec.name}: unable to move the log directory over: ${errorTextOf(err)}: nothing replaced`);
    }
  }
  try {
    renameSync(staging, target);
  } catch (err) {
    // put the old one back, with its logs (best effort), before the new one is discarded
    try {
      if (logDir && existsSync(`${staging}/${logDir}`)) renameSync(`${staging}/${logDir}`, `${old}/${logDir}`);
      renameSync(old, target);
    } catch {}
    throw new InstallError(`unable to rename ${staging} to ${target}: ${errorTextOf(err)}: nothing replaced (the old service is stopped)`);
  }
  syncDir(svdir);
  rmSync(old, { recursive: true, force: true });
  return stopped;
}

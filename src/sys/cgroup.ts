// cgroup v2, as far as a supervisor uses it: where this process's cgroup
// is, making and removing child cgroups, moving a process into one, whether
// anything is left in one, signalling and killing all of it, controllers
// and the interface files that set limits. Plain file operations on the
// cgroup2 file system: every call is a small read or write that never
// waits on a disk.
import { mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, watch, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorCode } from './errors.js';
import { readSmall } from './small-file.js';

/** The cgroup2 mount point and this process's cgroup below it, from /proc/self/{mountinfo,cgroup}. */
export function ownCgroupDir(mountinfo?: string, cgroup?: string): string | undefined {
  try {
    mountinfo ??= readFileSync('/proc/self/mountinfo', 'latin1');
    cgroup ??= readFileSync('/proc/self/cgroup', 'latin1');
  } catch {
    return undefined;
  }
  const path = /^0::(\/.*)$/m.exec(cgroup)?.[1];
  if (path === undefined || path.endsWith(' (deleted)')) return undefined;
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const [left, right] = line.split(' - ');
    if (!right?.startsWith('cgroup2 ')) continue;
    const fields = left!.split(' ');
    const root = unescapeMount(fields[3] ?? '');
    const mount = unescapeMount(fields[4] ?? '');
    // a cgroup namespace or a bind mount shows a subtree: the path is relative to its root
    if (root !== '/' && path !== root && !path.startsWith(`${root}/`)) continue;
    const below = root === '/' ? path : path.slice(root.length);
    return below === '/' || below === '' ? mount : `${mount}${below}`;
  }
  return undefined;
}

function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * A cgroup's name for a path, as systemd-escape --path makes unit names:
 * slashes become dashes, what is not [A-Za-z0-9:_.] (a dash included) is
 * \xNN; too long a name keeps its end.
 */
export function cgroupNameOf(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, '').replace(/\/+/g, '/');
  if (trimmed === '') return '-';
  let name = '';
  for (const [i, ch] of [...Buffer.from(trimmed, 'utf8')].entries()) {
    const c = String.fromCharCode(ch);
    if (c === '/') name += '-';
    else if (/[A-Za-z0-9:_]/.test(c) || (c === '.' && i > 0)) name += c;
    else name += `\\x${ch.toString(16).padStart(2, '0')}`;
  }
  // NAME_MAX: keep the end, where the service's own name is
  return name.length > 255 ? name.slice(name.length - 255) : name;
}

/**
 * Make the cgroup `dir` (and its parents); an existing one is fine. Not
 * mkdirSync's `recursive`, which Node 20 repeats for ever where the kernel
 * says ENOENT under a parent that exists (/proc).
 */
export function makeCgroup(dir: string): void {
  try {
    mkdirSync(dir);
    return;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return;
    if (errorCode(err) !== 'ENOENT' || dirname(dir) === dir) throw err;
  }
  makeCgroup(dirname(dir));
  try {
    mkdirSync(dir);
  } catch (err) {
    if (errorCode(err) !== 'EEXIST') throw err;
  }
}

/** Move process `pid` into the cgroup `dir`. */
export function moveToCgroup(dir: string, pid: number): void {
  writeFileSync(`${dir}/cgroup.procs`, String(pid));
}

/** Whether any process is in `dir` or below it (cgroup.events `populated`); undefined when the cgroup is gone. */
export function cgroupPopulated(dir: string): boolean | undefined {
  try {
    return /^populated 1$/m.test(readSmall(`${dir}/cgroup.events`));
  } catch {
    return undefined;
  }
}

/** The processes in `dir` and the cgroups below it. */
export function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  for (const d of subtree(dir)) {
    try {
      for (const line of readSmall(`${d}/cgroup.procs`).split('\n')) if (line) pids.push(Number(line));
    } catch {}
  }
  return pids;
}

/** `dir` and every cgroup below it, deepest last. */
function subtree(dir: string): string[] {
  // cgroup.stat says whether there is anything below: one short read where a listing costs more
  try {
    if (/^nr_descendants 0$/m.test(readSmall(`${dir}/cgroup.stat`))) return [dir];
  } catch {}
  const dirs = [dir];
  for (let i = 0; i < dirs.length; i++) {
    try {
      for (const e of readdirSync(dirs[i]!, { withFileTypes: true })) if (e.isDirectory()) dirs.push(`${dirs[i]}/${e.name}`);
    } catch {}
  }
  return dirs;
}

/**
 * Send `signal` to every process in `dir` and below. SIGKILL goes through
 * cgroup.kill where the kernel has it (5.14), which also catches a process
 * forking as it is killed.
 */
export function signalCgroup(dir: string, signal: NodeJS.Signals): void {
  if (signal === 'SIGKILL') {
    try {
      writeFileSync(`${dir}/cgroup.kill`, '1');
      return;
    } catch {}
  }
  for (const pid of cgroupPids(dir)) {
    try {
      process.kill(pid, signal);
    } catch {}
  }
}

/**
 * Call `onEmpty` once nothing is left in `dir` (inotify on cgroup.events,
 * which the kernel touches when `populated` changes). Returns the cancel.
 */
export function watchCgroupEmpty(dir: string, onEmpty: () => void): () => void {
  let done = false;
  const check = (): void => {
    if (done || cgroupPopulated(dir)) return;
    cancel();
    onEmpty();
  };
  let watcher: ReturnType<typeof watch> | undefined;
  const cancel = (): void => {
    done = true;
    watcher?.close();
  };
  try {
    watcher = watch(`${dir}/cgroup.events`, { persistent: false }, check);
    watcher.on('error', () => {
      watcher?.close();
      check();
    });
  } catch {}
  // it may have emptied before the watch was set up
  queueMicrotask(check);
  return cancel;
}

/** Remove `dir` and the (empty) cgroups below it; a cgroup still in use or already gone is left as it is. */
export function removeCgroup(dir: string): void {
  for (const d of subtree(dir).reverse()) {
    try {
      rmdirSync(d);
    } catch {}
  }
}

/** The controllers `dir` may use (cgroup.controllers); none when it cannot be read. */
export function cgroupControllers(dir: string): Set<string> {
  try {
    return new Set(readFileSync(`${dir}/cgroup.controllers`, 'latin1').split(/\s+/).filter(Boolean));
  } catch {
    return new Set();
  }
}

/** Enable `controller` for the children of `dir` (cgroup.subtree_control); throws as the write does. */
export function enableController(dir: string, controller: string): void {
  writeFileSync(`${dir}/cgroup.subtree_control`, `+${controller}`);
}

/** Write an interface file (`memory.max`, `pids.max`, ...) of the cgroup `dir`. */
export function writeCgroupFile(dir: string, name: string, value: string): void {
  writeFileSync(`${dir}/${name}`, value);
}

/** An interface file's text, undefined when it is absent (its controller is not enabled). */
export function readCgroupFile(dir: string, name: string): string | undefined {
  try {
    return readSmall(`${dir}/${name}`);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** A cgroup's figures: its processes, CPU time (cpu.stat, always there), memory where the controller is on. */
export interface CgroupUsage {
  /** its processes */
  pids: number[];
  cpuSeconds: number;
  /** memory.current, undefined without the memory controller */
  memoryBytes: number | undefined;
  /** memory.peak (Linux 5.19), undefined where absent */
  memoryPeakBytes: number | undefined;
}

/** The figures of the cgroup `dir`, undefined when it is gone. */
export function cgroupUsage(dir: string): CgroupUsage | undefined {
  let cpu: string | undefined;
  try {
    cpu = readCgroupFile(dir, 'cpu.stat');
  } catch {
    return undefined;
  }
  if (cpu === undefined) return undefined;
  const usec = Number(/^usage_usec (\d+)$/m.exec(cpu)?.[1] ?? 0);
  // memory.* exist only where the controller is on: looked for without an exception (a scrape reads a thousand)
  const number = (name: string): number | undefined => {
    if (!statSync(`${dir}/${name}`, { throwIfNoEntry: false })) return undefined;
    try {
      return Number(readSmall(`${dir}/${name}`));
    } catch {
      return undefined; // gone meanwhile
    }
  };
  const memoryBytes = number('memory.current');
  return { pids: cgroupPids(dir), cpuSeconds: usec / 1e6, memoryBytes, memoryPeakBytes: memoryBytes === undefined ? undefined : number('memory.peak') };
}

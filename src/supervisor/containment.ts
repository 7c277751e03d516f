// Containment (docs/containment.md): every process a service starts stays
// attributable to it, and what is left of it when its main process has
// exited is stopped. A cgroup v2 per program where this supervisor can make
// one (a process that calls setsid or double-forks is still found), else a
// process group per start (what leaves the group is not). The kill mode is
// systemd's `KillMode=mixed`; a `kill-mode` file saying `process` keeps
// runit's way for a service that leaves processes behind on purpose.
import { readdirSync, realpathSync } from 'node:fs';
import {
  cgroupControllers,
  cgroupNameOf,
  cgroupPopulated,
  enableController,
  makeCgroup,
  moveToCgroup,
  ownCgroupDir,
  removeCgroup,
  signalCgroup,
  watchCgroupEmpty,
  writeCgroupFile,
} from '../sys/cgroup.js';
import { errorCode } from '../sys/errors.js';
import { errorTextOf } from '../sys/errstr.js';
import { ProcessTable } from '../sys/process-table.js';
import { processGroupAlive } from '../sys/proc.js';
import { readOptional } from './settings.js';
import { readResourceFiles } from './resource-files.js';

export type ContainmentKind = 'cgroup' | 'pgrp' | 'none';

/** The processes of one start of a program. */
export interface Unit {
  readonly kind: ContainmentKind;
  /** the cgroup's directory (kind cgroup) */
  readonly cgroup?: string;
  /** spawn the program in a new process group */
  readonly newGroup: boolean;
  /**
   * The program's process is `pid`: started in the unit (a cgroup's from
   * before its exec, spawn.ts), or `adopted` from a dead supervisor
   */
  joined(pid: number, adopted?: boolean): void;
  /** any process of the unit still there (the main one reaped) */
  leftovers(): boolean;
  /** `signal` to every process of the unit */
  signal(signal: NodeJS.Signals): void;
  /** `onEmpty` once nothing is left; returns the cancel */
  whenEmpty(onEmpty: () => void): () => void;
}

/** No containment: runit's way (kill-mode process, a logger in the host's process). */
export const NO_UNIT: Unit = {
  kind: 'none',
  newGroup: false,
  joined() {},
  leftovers: () => false,
  signal() {},
  whenEmpty(onEmpty) {
    queueMicrotask(onEmpty);
    return () => {};
  },
};

let base: { dir: string | null; error?: string } | undefined;

/**
 * Where this supervisor's services' cgroups go: `runit-ts/` under its own
 * cgroup, or the directory RUNIT_TS_CGROUP names; `dir` null when none can
 * be made (no cgroup2, no permission, read-only) or RUNIT_TS_CGROUP is
 * `off`, with the reason to say once where it is news: RUNIT_TS_CGROUP
 * asked for one, or the hierarchy is read-only (a container's). A user
 * without a delegated subtree is not told. Decided once per process.
 */
export function cgroupBase(): { dir: string | null; error?: string } {
  if (base !== undefined) return base;
  const configured = process.env.RUNIT_TS_CGROUP;
  const dir = configured === 'off' ? undefined : configured || ((own) => own && `${own}/runit-ts`)(ownCgroupDir());
  base = { dir: null };
  if (!dir) return base;
  try {
    makeCgroup(dir);
    base = { dir };
  } catch (err) {
    const why = configured ? ' (RUNIT_TS_CGROUP)' : errorCode(err) === 'EROFS' ? '' : undefined;
    if (why !== undefined) base = { dir: null, error: `unable to create cgroup ${dir}${why}: ${errorTextOf(err)}: services get process groups` };
  }
  return base;
}

/**
 * The cgroups left for programs under `tree` (their supervisor killed, so
 * never released), removed where empty: for whoever removes such a tree
 * (the tests, bench/), since every cgroup kept costs the kernel at each fork.
 * Call it before the tree itself is gone: its name is its real path's.
 */
export function removeCgroupsUnder(tree: string): void {
  const { dir: root } = cgroupBase();
  if (!root) return;
  let prefix: string;
  let names: string[];
  try {
    prefix = cgroupNameOf(realpathSync(tree));
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) if (name === prefix || name.startsWith(`${prefix}-`)) removeCgroup(`${root}/${name}`);
}

/** The reason no cgroup is made is said once per process, by the first program to start. */
let baseErrorSaid = false;

/** The containment of one program of a service: `dir` is its directory (the service's, or its log/). */
export class Containment {
  private cgroupDir: string | undefined;
  private made = false;
  private readonly warned = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly warn: (message: string) => void,
  ) {}

  /** The unit for the next start, as kill-mode and the host allow. */
  unit(newSession: boolean): Unit {
    if (this.killMode() === 'process') return NO_UNIT;
    const cgroup = this.cgroup();
    if (cgroup) return this.cgroupUnit(cgroup);
    return pgrpUnit(!newSession);
  }

  /** The cgroup when this host can have one. */
  private cgroup(): string | undefined {
    const { dir: root, error } = cgroupBase();
    if (error) this.warnHost(error);
    if (root === null) return undefined;
    if (!this.cgroupDir) {
      let real = this.dir;
      try {
        real = realpathSync(this.dir);
      } catch {}
      this.cgroupDir = `${root}/${cgroupNameOf(real)}`;
    }
    // made at the first start, and again after it was found gone
    if (!this.made) {
      try {
        makeCgroup(this.cgroupDir);
        this.made = true;
      } catch (err) {
        const reason = `unable to create cgroup ${this.cgroupDir}: ${errorTextOf(err)}`;
        // a read-only hierarchy is the host's news, said once; anything else is this program's
        if (errorCode(err) !== 'EROFS') this.warnOnce('mkdir', `${reason}: using a process group`);
        else this.warnHost(`${reason}: services get process groups`);
        return undefined;
      }
    }
    this.applyResources(this.cgroupDir);
    return this.cgroupDir;
  }

  private cgroupUnit(dir: string): Unit {
    return {
      kind: 'cgroup',
      cgroup: dir,
      newGroup: false,
      joined: (pid, adopted) => {
        // an adopted one and what it started, wherever a supervisor that made no cgroup (runit's runsv) left them
        if (adopted && this.move(dir, pid)) for (const child of new ProcessTable().pids(pid).slice(1)) this.move(dir, child);
      },
      leftovers: () => {
        const populated = cgroupPopulated(dir);
        // removed from outside: made again at the next start
        if (populated === undefined) this.made = false;
        return populated === true;
      },
      signal: (signal) => signalCgroup(dir, signal),
      whenEmpty: (onEmpty) => watchCgroupEmpty(dir, onEmpty),
    };
  }

  /** Into the cgroup; one that vanished is made again. false, with a warning, when it cannot be done. */
  private move(dir: string, pid: number): boolean {
    for (let attempt = 0; ; attempt++) {
      try {
        moveToCgroup(dir, pid);
        return true;
      } catch (err) {
        if (errorCode(err) === 'ESRCH') return false;
        if (errorCode(err) === 'ENOENT' && attempt === 0) {
          try {
            makeCgroup(dir);
            continue;
          } catch {}
        }
        this.warn(`unable to move pid ${pid} into cgroup ${dir}: ${errorTextOf(err)}`);
        return false;
      }
    }
  }

  /**
   * cgroup/: each file an interface file of the service's cgroup
   * (memory.max, cpu.max, pids.max, ...), written at each start. A
   * controller this cgroup does not have is enabled for it where the parent
   * allows, else the file is not applied, with a warning.
   */
  private applyResources(dir: string): void {
    const files = readResourceFiles(this.dir, (m) => this.warnOnce(m, m));
    if (files.length === 0) return;
    let controllers = cgroupControllers(dir);
    for (const { name, value } of files) {
      const controller = name.slice(0, name.indexOf('.'));
      if (!controllers.has(controller)) {
        controllers = this.enable(dir, controller) ?? controllers;
        if (!controllers.has(controller)) {
          this.warnOnce(`controller ${name}`, `cgroup controller ${controller} is not enabled for ${dir}: cgroup/${name} not applied`);
          continue;
        }
      }
      try {
        writeCgroupFile(dir, name, value);
      } catch (err) {
        this.warnOnce(`write ${name} ${value}`, `unable to write cgroup/${name} to ${dir}: ${errorTextOf(err)}`);
      }
    }
  }

  /** `+controller` in the parent's subtree_control; the cgroup's controllers then, undefined if that failed. */
  private enable(dir: string, controller: string): Set<string> | undefined {
    const parent = dir.slice(0, dir.lastIndexOf('/'));
    if (!cgroupControllers(parent).has(controller)) return undefined;
    try {
      enableController(parent, controller);
    } catch {
      return undefined;
    }
    return cgroupControllers(dir);
  }

  /** What holds for every program of this process, said by the first to meet it. */
  private warnHost(message: string): void {
    if (baseErrorSaid) return;
    baseErrorSaid = true;
    this.warn(message);
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.warn(message);
  }

  /** kill-mode: `mixed` (the default) or `process` (runit's: nothing but the main process is stopped). */
  private killMode(): 'mixed' | 'process' {
    const text = readOptional(this.dir, 'kill-mode', (m) => this.warn(m));
    if (text === undefined) return 'mixed';
    const mode = text.trim();
    if (mode === 'mixed' || mode === 'process') return mode;
    this.warnOnce(`kill-mode ${mode}`, `invalid kill-mode: ${mode}: not mixed or process: using mixed`);
    return 'mixed';
  }

  /** The cgroup's name for status readers, when it has one. */
  get cgroupPath(): string | undefined {
    return this.made ? this.cgroupDir : undefined;
  }

  /** The cgroup is removed once empty (the program is down for good, or its supervisor ends). */
  release(): void {
    if (!this.made || !this.cgroupDir || cgroupPopulated(this.cgroupDir)) return;
    removeCgroup(this.cgroupDir);
    this.made = false;
  }
}

/** Leftovers found by their process group, whose id is the program's pid. */
function pgrpUnit(newGroup: boolean): Unit {
  let pgid = 0;
  const alive = (): boolean => pgid !== 0 && processGroupAlive(pgid);
  return {
    kind: 'pgrp',
    newGroup,
    joined: (pid) => {
      pgid = pid;
    },
    leftovers: alive,
    signal: (signal) => {
      try {
        if (pgid) process.kill(-pgid, signal);
      } catch {}
    },
    whenEmpty: (onEmpty) => {
      // no event tells when a group empties: look, 5 ms and then less often, up to 200 ms apart
      let delay = 5;
      let timer: NodeJS.Timeout | undefined;
      const look = (): void => {
        if (!alive()) return onEmpty();
        timer = setTimeout(look, delay);
        delay = Math.min(delay * 2, 200);
      };
      timer = setTimeout(look, 0);
      return () => clearTimeout(timer);
    },
  };
}

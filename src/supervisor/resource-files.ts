// cgroup/ in a service directory (docs/containment.md): one file per
// cgroup interface file to write to the service's cgroup at each start,
// named as the kernel names it (memory.max, cpu.max, pids.max, ...) and
// holding what is written to it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { errorCode } from '../sys/errors.js';
import { errorTextOf } from '../sys/errstr.js';

export interface ResourceFile {
  /** the interface file, `CONTROLLER.KNOB` */
  name: string;
  value: string;
}

/** CONTROLLER.KNOB; the cgroup core's own files (cgroup.procs, cgroup.kill, ...) are the supervisor's, not the service's. */
export function isResourceFileName(name: string): boolean {
  return /^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/.test(name) && !name.startsWith('cgroup.');
}

/** The files of `dir`/cgroup/, sorted by name; none when it is absent. */
export function readResourceFiles(dir: string, warn: (message: string) => void): ResourceFile[] {
  let names: string[];
  try {
    // looked for at each start: the usual absence without an exception
    if (!statSync(`${dir}/cgroup`, { throwIfNoEntry: false })) return [];
    names = readdirSync(`${dir}/cgroup`).sort();
  } catch (err) {
    const code = errorCode(err);
    if (code !== 'ENOENT' && code !== 'ENOTDIR') warn(`unable to read cgroup/: ${errorTextOf(err)}`);
    return [];
  }
  const files: ResourceFile[] = [];
  for (const name of names) {
    if (!isResourceFileName(name)) {
      warn(`cgroup/${name}: not a cgroup interface file (CONTROLLER.KNOB): ignored`);
      continue;
    }
    try {
      files.push({ name, value: readFileSync(`${dir}/cgroup/${name}`, 'latin1').trim() });
    } catch (err) {
      warn(`unable to read cgroup/${name}: ${errorTextOf(err)}`);
    }
  }
  return files;
}

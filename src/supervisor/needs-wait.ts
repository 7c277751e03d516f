// Waiting for needed services (needs/, docs/readiness.md) through their
// supervise/ directories, as any client of runit's protocol would: a
// needed service counts once its supervisor holds supervise/ok, its status
// says run, and, when it declares readiness, supervise/readiness says
// ready. Event-driven (inotify on the service directory until supervise/
// exists, then on supervise/): nothing is read while nothing changes, and
// every watch is dropped once nothing is waited for. The same code serves
// runsvdir's in-process supervisors, --isolate and standalone runsv.
import { watch, type FSWatcher } from 'node:fs';
import { readStatusBytes, supervisorRunning } from '../protocol/control.js';
import { readReadiness, upAndReady } from '../protocol/readiness.js';

export interface NeededService {
  /** the name shown (`waiting for NAME`) */
  name: string;
  /** the needed service directory */
  dir: string;
}

/** Whether the service in `dir` is up and (where declared) ready, from its supervise/ alone. */
export function serviceUpAndReady(dir: string): boolean {
  const supervise = `${dir}/supervise`;
  try {
    if (!supervisorRunning(supervise)) return false;
    const status = readStatusBytes(supervise);
    if (status.length < 20) return false;
    const run = status[19] === 1 && status.readUInt32LE(12) !== 0;
    return upAndReady(run, readReadiness(supervise));
  } catch {
    return false;
  }
}

/**
 * Watch `needs` until all are up and ready. `update` is called with the
 * names still waited for, sorted, at once and at every change; the last call
 * has an empty list. Returns the cancel.
 */
export function waitForNeeds(needs: readonly NeededService[], update: (waiting: string[]) => void): () => void {
  const watchers = new Map<string, FSWatcher>();
  let done = false;
  let last = '';
  const stop = (): void => {
    done = true;
    for (const w of watchers.values()) w.close();
    watchers.clear();
  };
  const watchPath = (path: string): boolean => {
    if (watchers.has(path)) return true;
    try {
      const w = watch(path, { persistent: false }, () => check());
      w.on('error', () => {
        w.close();
        watchers.delete(path);
        check();
      });
      watchers.set(path, w);
      return true;
    } catch {
      return false;
    }
  };
  const check = (): void => {
    if (done) return;
    const waiting: string[] = [];
    for (const need of needs) {
      if (serviceUpAndReady(need.dir)) continue;
      waiting.push(need.name);
      // supervise/ once it exists, the service directory (where it appears) until then
      if (!watchPath(`${need.dir}/supervise`)) watchPath(need.dir);
    }
    waiting.sort();
    if (waiting.length === 0) stop();
    const key = waiting.join(' ');
    if (key !== last || waiting.length === 0) {
      last = key;
      update(waiting);
    }
  };
  check();
  return stop;
}

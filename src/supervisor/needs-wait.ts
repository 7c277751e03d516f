// Watching needed services (needs/, docs/readiness.md) through their
// supervise/ directories, as any client of runit's protocol would: a
// needed service counts once its supervisor holds supervise/ok, its status
// says run, and, when it declares readiness, supervise/readiness says
// ready. Event-driven (inotify on supervise/, or on the service directory
// until supervise/ exists): nothing is read while nothing changes. The
// same code serves runsvdir's in-process supervisors, --isolate and
// standalone runsv.
import { watch, statSync, type FSWatcher } from 'node:fs';
import { readStatusBytes, supervisorRunning } from '../protocol/control.js';
import { readReadiness, upAndReady } from '../protocol/readiness.js';

export interface NeededService {
  /** the name shown (`waiting for NAME`) */
  name: string;
  /** the needed service directory */
  dir: string;
}

/** What a needed service looks like from its supervise/ alone. */
export interface NeedState {
  /** up and (where declared) ready */
  ready: boolean;
  /** the pid of its run, 0 when it is down */
  pid: number;
}

/** How a needed service that was up and ready stopped being so. */
export type LostWhy = 'down' | 'not ready' | 'restarted';

export interface NeedsChange {
  /** the needs not up and ready now, sorted */
  waiting: string[];
  /**
   * the needs up and ready at the last look that no longer are, or run as
   * another process since: down, restarted (another process, ready or not),
   * not ready (the same process, e.g. after RELOADING=1); sorted by name
   */
  lost: { name: string; why: LostWhy }[];
}

const DOWN: NeedState = { ready: false, pid: 0 };

/**
 * The state of the service in `dir`, from its supervise/ alone. A run
 * whose supervise/readiness already says `down` (written before the
 * status of the same change) is down.
 */
export function needState(dir: string): NeedState {
  const supervise = `${dir}/supervise`;
  try {
    if (!supervisorRunning(supervise)) return DOWN;
    const status = readStatusBytes(supervise);
    if (status.length < 20) return DOWN;
    const pid = status.readUInt32LE(12);
    if (status[19] !== 1 || pid === 0) return DOWN;
    const readiness = readReadiness(supervise);
    if (readiness?.state === 'down') return DOWN;
    return { ready: upAndReady(true, readiness), pid };
  } catch {
    return DOWN;
  }
}

/** Whether the service in `dir` is up and (where declared) ready, from its supervise/ alone. */
export function serviceUpAndReady(dir: string): boolean {
  return needState(dir).ready;
}

/**
 * Watch `needs`. `update` is called at once and then at every change of
 * what is waited for, or when a need is lost (see NeedsChange). Without
 * `keep`, the watch ends once all are up and ready (the last call has an
 * empty `waiting`); with `keep`, it lasts until cancelled. Returns the cancel.
 */
export function watchNeeds(needs: readonly NeededService[], update: (change: NeedsChange) => void, { keep = false } = {}): () => void {
  /** per need: the path watched, its identity, the watcher */
  const watchers = new Map<string, { path: string; id: string; watcher: FSWatcher }>();
  /** per need: its run's pid when it was last seen up and ready, else 0 */
  const readyPid = new Map<string, number>();
  let done = false;
  let first = true;
  let last = '';
  const stop = (): void => {
    done = true;
    for (const w of watchers.values()) w.watcher.close();
    watchers.clear();
  };
  const unwatch = (name: string): void => {
    watchers.get(name)?.watcher.close();
    watchers.delete(name);
  };
  /** supervise/ once it exists, the service directory (where it appears) until then; re-watched when replaced */
  const watchNeed = (need: NeededService): void => {
    for (const path of [`${need.dir}/supervise`, need.dir]) {
      let id: string;
      try {
        const st = statSync(path, { bigint: true });
        if (!st.isDirectory()) continue;
        id = `${st.dev}:${st.ino}`;
      } catch {
        continue;
      }
      const current = watchers.get(need.name);
      if (current?.path === path && current.id === id) return;
      unwatch(need.name);
      try {
        const watcher = watch(path, { persistent: false }, () => check());
        watcher.on('error', () => {
          if (watchers.get(need.name)?.watcher === watcher) unwatch(need.name);
          else watcher.close();
          check();
        });
        watchers.set(need.name, { path, id, watcher });
        // supervise/ made between its stat and this watch: watch it instead
        if (path === need.dir && isDirectory(`${need.dir}/supervise`)) watchNeed(need);
        return;
      } catch {}
    }
  };
  const check = (): void => {
    if (done) return;
    const waiting: string[] = [];
    const lost: NeedsChange['lost'] = [];
    for (const need of needs) {
      // watched before it is read: a change between the two is not missed
      watchNeed(need);
      const { ready, pid } = needState(need.dir);
      const before = readyPid.get(need.name) ?? 0;
      if (before !== 0 && (!ready || pid !== before)) lost.push({ name: need.name, why: pid === 0 ? 'down' : pid !== before ? 'restarted' : 'not ready' });
      readyPid.set(need.name, ready ? pid : 0);
      if (!ready) waiting.push(need.name);
    }
    waiting.sort();
    lost.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (waiting.length === 0 && !keep) stop();
    const key = waiting.join(' ');
    if (first || key !== last || lost.length > 0) {
      first = false;
      last = key;
      update({ waiting, lost });
    }
  };
  check();
  return stop;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

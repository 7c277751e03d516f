// Changes of services as they happen: inotify on each supervise/ directory
// (a supervisor replaces `status` by a rename, which wakes the watch), the
// status read again and compared with the last one seen. Nothing is read
// while nothing changes.
import { watch, type FSWatcher } from 'node:fs';
import { scanServices } from '../protocol/service-list.js';
import { errorTextOf } from '../sys/errstr.js';
import { readProgramStatus, serviceDir, type ProgramStatus, type ServiceStatus } from './service-status.js';

export type EventKind =
  | 'up'
  | 'down'
  | 'finish'
  | 'restart'
  | 'want up'
  | 'want down'
  | 'paused'
  | 'continued'
  | 'supervisor up'
  | 'supervisor down'
  | 'given up'
  | 'ready'
  | 'not ready'
  | 'added'
  | 'removed';

export interface ServiceEvent {
  /** unix seconds, milliseconds precision */
  time: number;
  service: string;
  /** the service's log service */
  log: boolean;
  event: EventKind;
  /** the program's pid after the change, null when none */
  pid: number | null;
}

/** What changed from `before` to `after`, in the order a person reads it. */
export function statusChanges(before: ProgramStatus, after: ProgramStatus): EventKind[] {
  const kinds: EventKind[] = [];
  if (before.supervised !== after.supervised) kinds.push(after.supervised ? 'supervisor up' : 'supervisor down');
  if (after.want !== null && before.want !== null && before.want !== after.want) kinds.push(after.want === 'up' ? 'want up' : 'want down');
  if (after.state !== null && before.state !== after.state) kinds.push(after.state === 'run' ? 'up' : after.state);
  else if (after.state === 'run' && before.pid !== after.pid) kinds.push('restart');
  if (after.paused !== null && before.paused !== null && before.paused !== after.paused) kinds.push(after.paused ? 'paused' : 'continued');
  if (after.givenUp && !before.givenUp) kinds.push('given up');
  if (after.ready !== null && after.ready !== before.ready) kinds.push(after.ready ? 'ready' : 'not ready');
  return kinds;
}

/** One line for a person: `2026-12-02 07:45:01.123 web: up (pid 1234)`, local time. */
export function eventLine(e: ServiceEvent): string {
  const d = new Date(e.time * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
  return `${stamp} ${e.service}${e.log ? '/log' : ''}: ${e.event}${e.pid === null ? '' : ` (pid ${e.pid})`}\n`;
}

interface Watched {
  dir: string;
  last: ProgramStatus;
  watcher: FSWatcher | undefined;
}

/**
 * Watches services and their log services and reports each change. With
 * no names, every service of `svdir`, and services added to it or removed.
 */
export class ServiceEvents {
  private readonly programs = new Map<string, Watched>();
  private dirWatcher: FSWatcher | undefined;
  private closed = false;

  constructor(
    private readonly svdir: string,
    private readonly names: readonly string[],
    private readonly onEvent: (event: ServiceEvent) => void,
    private readonly warn: (message: string) => void,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {}

  /** Start watching; throws when `svdir` must be listed and cannot be. */
  start(): void {
    if (this.names.length > 0) {
      for (const name of this.names) this.add(name, false);
      return;
    }
    this.dirWatcher = watch(this.svdir, () => this.rescan());
    this.dirWatcher.on('error', () => {});
    this.rescan(true);
  }

  close(): void {
    this.closed = true;
    this.dirWatcher?.close();
    for (const w of this.programs.values()) w.watcher?.close();
    this.programs.clear();
  }

  /**
   * The services as last read (each read when its supervise/ changed), in
   * name order, with their log services where they have a log/.
   */
  services(): ServiceStatus[] {
    const services: ServiceStatus[] = [];
    for (const [key, w] of this.programs) {
      if (key.endsWith('/log')) continue;
      const log = this.programs.get(`${key}/log`);
      // a log/ that is there is watched (its supervise/, or itself until it has one)
      services.push({ name: key, dir: w.dir, ...w.last, log: log && (log.last.supervised || log.watcher !== undefined) ? log.last : null });
    }
    return services.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private rescan(initial = false): void {
    if (this.closed) return;
    let found: string[];
    try {
      found = scanServices(this.svdir, this.warn).map((s) => s.name);
    } catch (err) {
      this.warn(`unable to open directory ${this.svdir}: ${errorTextOf(err)}`);
      return;
    }
    const present = new Set(found);
    for (const name of found) if (!this.programs.has(name)) this.add(name, !initial);
    for (const key of [...this.programs.keys()]) {
      const service = key.endsWith('/log') ? key.slice(0, -4) : key;
      if (present.has(service)) continue;
      this.programs.get(key)?.watcher?.close();
      this.programs.delete(key);
      if (key === service) this.emit(service, false, 'removed', null);
    }
  }

  private add(name: string, announce: boolean): void {
    const dir = serviceDir(this.svdir, name);
    for (const [key, programDir] of [
      [name, dir],
      [`${name}/log`, `${dir}/log`],
    ] as const) {
      const w: Watched = { dir: programDir, last: readProgramStatus(programDir), watcher: undefined };
      this.programs.set(key, w);
      this.watchProgram(key, w);
    }
    if (announce) this.emit(name, false, 'added', this.programs.get(name)?.last.pid ?? null);
  }

  /** Watch the program's supervise/, or, until it exists, the directory it will be made in. */
  private watchProgram(key: string, w: Watched): void {
    if (this.closed || this.programs.get(key) !== w) return;
    w.watcher?.close();
    w.watcher = undefined;
    try {
      w.watcher = watch(`${w.dir}/supervise`, () => this.check(key, w));
    } catch {
      try {
        w.watcher = watch(w.dir, () => this.watchProgram(key, w));
      } catch {
        // no such program (a service without log/): nothing to watch
      }
    }
    w.watcher?.on('error', () => this.watchProgram(key, w));
    // a change between the last read and the watch is not lost
    this.check(key, w);
  }

  private check(key: string, w: Watched): void {
    if (this.closed || this.programs.get(key) !== w) return;
    const next = readProgramStatus(w.dir);
    const log = key.endsWith('/log');
    const service = log ? key.slice(0, -4) : key;
    for (const kind of statusChanges(w.last, next)) this.emit(service, log, kind, next.pid);
    w.last = next;
  }

  private emit(service: string, log: boolean, event: EventKind, pid: number | null): void {
    this.onEvent({ time: Math.round(this.now() * 1000) / 1000, service, log, event, pid });
  }
}

// runsvdir's core: keep one supervisor per service directory in `dir`,
// starting new ones and stopping removed ones (runsvdir(8)). Changes
// arrive through fs.watch (inotify), so a new service starts within
// milliseconds; a slow periodic rescan covers filesystems without inotify
// and a directory replaced under its name.
import { watch, statSync, writeFileSync, type FSWatcher } from 'node:fs';
import { scanServices } from '../protocol/service-list.js';
import { HostedService, IsolatedService, STOP_KILL_AFTER_MS, type HostContext, type ServiceHost } from './service-host.js';
import { FdHolder, findHeldPipe } from './fd-holder.js';
import { FdBudget } from './fd-budget.js';
import { taiLabel, taiNow } from '../protocol/tai64n.js';
import { errorTextOf } from '../sys/errstr.js';
import type { SupervisorOptions } from '../supervisor/supervisor.js';
import { readNeeds } from '../supervisor/readiness-files.js';
import { needsGraph, ProblemLog, type NeedsGraph } from './start-order.js';

export interface ScannerOptions {
  /** the service directory, absolute */
  dir: string;
  /** one runsv process per service instead of in-process supervisors */
  isolate: boolean;
  supervisor: SupervisorOptions;
  print(line: string): void;
  warn(message: string): void;
}

/** Events usually come in bursts (mkdir, then files): scan once they settle. */
const SETTLE_MS = 30;
/** Without inotify events, look again this often. */
const FALLBACK_RESCAN_MS = 60_000;
/** While the directory cannot be read, retry this often (runit: each second). */
const RETRY_MS = 1000;

interface Tracked {
  key: string;
  host: ServiceHost;
}

export class Scanner {
  private readonly services = new Map<string, Tracked>();
  private watcher: FSWatcher | undefined;
  private watchedKey: string | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private fallbackTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly ctx: HostContext;
  /** needs/ of the services found by the last scan (docs/readiness.md) */
  private graph: NeedsGraph = needsGraph(new Map());
  private readonly problems = new ProblemLog();
  /** needs/ warnings said already (each once while it lasts) */
  private needsWarned = new Set<string>();

  /** read ends of the log pipes, held across this process's death (in-process mode) */
  private readonly holder: FdHolder | undefined;

  constructor(private readonly options: ScannerOptions) {
    let supervisor = options.supervisor;
    if (!options.isolate) {
      const holder = (this.holder = new FdHolder());
      supervisor = { ...supervisor, onLogPipe: (owner, fd) => holder.set(owner, fd), findLogPipe: findHeldPipe };
    }
    this.ctx = { dir: options.dir, supervisor, print: options.print, warn: options.warn, fdBudget: options.isolate ? undefined : new FdBudget() };
  }

  start(): void {
    this.scan();
    // also what keeps runsvdir alive while it supervises nothing
    this.fallbackTimer = setInterval(() => this.scan(), FALLBACK_RESCAN_MS);
  }

  /** How many services are supervised now. */
  get size(): number {
    return this.services.size;
  }

  /** Debian's SIGALRM: rescan now and leave a `.forced-rescan` stamp. */
  forceRescan(): void {
    this.scan();
    try {
      writeFileSync(`${this.options.dir}/.forced-rescan`, taiLabel(taiNow()), { mode: 0o644 });
    } catch (err) {
      this.options.warn(`failed to open ${this.options.dir}/.forced-rescan: ${errorTextOf(err)}`);
    }
  }

  /** Stop watching and stop every service; resolves when all are down. */
  async stopAll(): Promise<void> {
    this.stopWatching();
    // a service stops once those that need it are down: needs/ in reverse
    const stops = this.stopInOrder(
      [...this.services.values()].map((s) => s.host),
      this.graph,
      STOP_KILL_AFTER_MS,
    );
    this.services.clear();
    await Promise.all(stops);
    this.holder?.stop();
  }

  /** Stop `hosts`, each once every one of them that needs it (in `graph`) is down. */
  private stopInOrder(hosts: readonly ServiceHost[], graph: NeedsGraph, killAfterMs?: number): Promise<void>[] {
    const byName = new Map(hosts.map((h) => [h.name, h]));
    const stops = new Map<string, Promise<void>>();
    const stop = (name: string, seen: Set<string>): Promise<void> => {
      const known = stops.get(name);
      if (known) return known;
      seen.add(name);
      const first = graph.dependents(name).filter((d) => byName.has(d) && !seen.has(d));
      const host = byName.get(name)!;
      const p = Promise.all(first.map((d) => stop(d, seen))).then(() => host.stop(killAfterMs));
      stops.set(name, p);
      return p;
    };
    return hosts.map((h) => stop(h.name, new Set()));
  }

  /**
   * needs/ of every service, mapped to the services here (a symlink by the
   * directory it reaches), as a graph; problems reported once while they last.
   */
  private readGraph(found: readonly { name: string; key: string }[]): NeedsGraph {
    const { dir, warn } = this.options;
    const byKey = new Map(found.map((f) => [f.key, f.name]));
    const declared = new Map<string, string[]>();
    const warned = new Set<string>();
    for (const { name } of found) {
      const needs = readNeeds(`${dir}/${name}`, (m) => {
        const line = `${name}: ${m}`;
        warned.add(line);
        if (!this.needsWarned.has(line)) warn(line);
      });
      declared.set(
        name,
        needs.map((n) => {
          try {
            const st = statSync(n.dir, { bigint: true });
            return byKey.get(`${st.dev}:${st.ino}`) ?? n.name;
          } catch {
            return n.name;
          }
        }),
      );
    }
    this.needsWarned = warned;
    const graph = needsGraph(declared);
    for (const p of this.problems.update(graph.problems)) warn(p.message);
    return graph;
  }

  /** runit's HUP with --isolate: TERM every runsv, forget them, do not wait. */
  abandonAll(): void {
    this.stopWatching();
    for (const { host } of this.services.values()) void host.stop();
    this.services.clear();
  }

  private stopWatching(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.scanTimer);
    clearInterval(this.fallbackTimer);
  }

  private scheduleScan(delay: number): void {
    if (this.stopped || this.scanTimer) return;
    this.scanTimer = setTimeout(() => {
      this.scanTimer = undefined;
      this.scan();
    }, delay);
  }

  /** Watch `dir` for entries coming and going; re-watch when it was replaced. */
  private ensureWatch(key: string): void {
    if (this.watcher && this.watchedKey === key) return;
    this.watcher?.close();
    this.watcher = undefined;
    try {
      this.watcher = watch(this.options.dir, { persistent: false }, () => this.scheduleScan(SETTLE_MS));
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
        this.scheduleScan(RETRY_MS);
      });
      this.watchedKey = key;
    } catch {
      // no inotify here: the fallback rescan does the work
    }
  }

  private scan(): void {
    if (this.stopped) return;
    const { dir, warn } = this.options;
    let found: ReturnType<typeof scanServices>;
    try {
      const st = statSync(dir, { bigint: true });
      this.ensureWatch(`${st.dev}:${st.ino}`);
      found = scanServices(dir, warn);
    } catch (err) {
      warn(`unable to open directory ${dir}: ${errorTextOf(err)}`);
      this.watcher?.close();
      this.watcher = undefined;
      return this.scheduleScan(RETRY_MS);
    }
    const before = this.graph;
    this.graph = this.readGraph(found);
    const seen = new Set<string>();
    for (const { name, key } of found) {
      seen.add(key);
      const needs = this.graph.needs(name).map((n) => ({ name: n, dir: `${dir}/${n}` }));
      const tracked = this.services.get(key);
      if (tracked) {
        if (tracked.host instanceof HostedService) tracked.host.needs = needs;
        continue;
      }
      const host = this.options.isolate ? new IsolatedService(name, this.ctx) : new HostedService(name, this.ctx);
      if (host instanceof HostedService) host.needs = needs;
      this.services.set(key, { key, host });
      host.start();
    }
    const removed: ServiceHost[] = [];
    for (const [key, tracked] of this.services) {
      if (seen.has(key)) continue;
      this.services.delete(key);
      removed.push(tracked.host);
    }
    // removed together: in reverse order of their needs, as at shutdown
    if (removed.length) void Promise.all(this.stopInOrder(removed, before));
  }
}

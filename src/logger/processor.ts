// Processors (svlogd(8)): `sh -c <processor>` run on each rotated
// `@….u` in the log directory, with runit's descriptors: 0 = the `.u`
// file, 1 = a new `@….t`, 2 = inherited, 4 = `state`, 5 = a new `newstate`.
// Exit 0: `.t` becomes `.s` (0744), `.u` is removed, `newstate` replaces
// `state`. Otherwise `.t` is removed and the processor is run again.
//
// Differences from runit: rotated files wait in a queue (one processor at a
// time per directory, in rotation order, so the state chain is the same)
// instead of blocking the logger until the previous processor is done; a
// failed processor is restarted at most once a second, not in a tight loop;
// a processor killed by a signal has failed (runit took it for success and
// replaced the `.u` by a truncated `.s`).
import { join } from 'node:path';
// spawn.js is imported when a processor first runs: most loggers have none,
// and it costs milliseconds at every svlogd start
import type { SpawnOptions, ExitStatus } from '../sys/spawn.js';
import { errorTextOf } from '../sys/errstr.js';
import { errorCode } from '../sys/errors.js';
import * as fsp from '../sys/async-fs.js';

export interface ProcessorHost {
  readonly name: string;
  readonly path: string;
  readonly verbose: boolean;
  info(text: string): void;
  warning(text: string): void;
  /** run `step` until it succeeds, pausing 3 s after each failure; throws when given up */
  retry<T>(message: string, step: () => Promise<T>): Promise<T>;
  /** a file was processed: the old-file limit may apply now */
  processed(): void;
  readonly env?: NodeJS.ProcessEnv;
  readonly stderr: number | 'ignore';
  readonly spawnOptions?: Partial<SpawnOptions>;
  /** O_NOFOLLOW when another user can write the directory, else 0 (see LogDir.open) */
  readonly noFollow: number;
}

interface Job {
  /** `@<24 hex>.u` */
  file: string;
  command: string;
  lastStart: number;
  failuresSinceFinish: number;
}

/** Seconds between starts of a processor that failed. */
const RESTART_DELAY_MS = 1000;
/** After the logger began to finish, how often a failing processor is restarted before its `.u` is left alone. */
const FINISH_RESTARTS = 2;

export class Processors {
  private readonly jobs: Job[] = [];
  private running = false;
  private pid: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];
  private finishing = false;
  private killed = false;

  constructor(private readonly host: ProcessorHost) {}

  /** Names a processor still needs (`.u` waiting or in work, `.t` being written): not old files to delete. */
  inUse(): Set<string> {
    const names = new Set<string>();
    for (const job of this.jobs) names.add(job.file);
    if (this.running && this.jobs[0]) {
      // its output, under both names it has while being finished
      const base = this.jobs[0].file.slice(0, 26);
      names.add(`${base}t`);
      names.add(`${base}s`);
    }
    return names;
  }

  /** Queue `file` (a fresh `.u`); `start()` runs the queue. */
  add(file: string, command: string): void {
    this.jobs.push({ file, command, lastStart: 0, failuresSinceFinish: 0 });
  }

  start(): void {
    if (this.running || this.timer || this.killed) return;
    const job = this.jobs[0];
    if (!job) {
      this.notifyIdle();
      return;
    }
    const wait = job.lastStart + RESTART_DELAY_MS - Date.now();
    if (job.lastStart && wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.start();
      }, wait);
      return;
    }
    this.running = true;
    job.lastStart = Date.now();
    void this.runJob(job);
  }

  /** The logger is finishing: failing processors get a bounded number of restarts. */
  finish(): void {
    this.finishing = true;
  }

  /** Resolves once no processor runs or waits. */
  idle(): Promise<void> {
    if (!this.running && this.jobs.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stop at once: SIGKILL a running processor, forget the queue (the `.u` files stay). */
  kill(): void {
    this.killed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pid !== undefined) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {}
    }
    this.jobs.length = 0;
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.running || this.jobs.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private async runJob(job: Job): Promise<void> {
    let outcome: 'done' | 'failed' | 'drop';
    try {
      outcome = await this.runOnce(job);
    } catch {
      // finalizing was given up (TERM while pausing): the files stay as they are
      outcome = 'drop';
    }
    this.running = false;
    this.pid = undefined;
    if (this.killed) return;
    if (outcome === 'failed') {
      this.host.warning(`processor failed, restart: ${this.host.name}`);
      await fsp.unlink(join(this.host.path, `${job.file.slice(0, 26)}t`)).catch(() => {});
      if (this.finishing && ++job.failuresSinceFinish > FINISH_RESTARTS) {
        this.host.warning(`processor failed, left unprocessed: ${this.host.name}/${job.file}`);
        outcome = 'drop';
      }
    }
    if (outcome !== 'failed') this.jobs.shift();
    if (outcome === 'done') this.host.processed();
    this.start();
  }

  /** One run: open the descriptors, run, finalize. */
  private async runOnce(job: Job): Promise<'done' | 'failed' | 'drop'> {
    const { host } = this;
    const dir = host.path;
    const base = job.file.slice(0, 26);
    if (host.verbose) host.info(`processing: ${host.name}/${job.file}`);
    const fds: number[] = [];
    const fail = (what: string, err: unknown): 'failed' => {
      host.warning(`${what}: ${host.name}: ${errorTextOf(err)}`);
      return 'failed';
    };
    let status: ExitStatus;
    try {
      let input: number;
      try {
        input = await fsp.openRead(join(dir, job.file), host.noFollow);
      } catch (err) {
        fail('unable to open input for processor', err);
        // nothing to process any more (someone removed it, or put a symbolic link there)
        return errorCode(err) === 'ENOENT' || errorCode(err) === 'ELOOP' ? 'drop' : 'failed';
      }
      fds.push(input);
      let output: number;
      try {
        output = await fsp.openTrunc(join(dir, `${base}t`), host.noFollow);
      } catch (err) {
        return fail('unable to open output for processor', err);
      }
      fds.push(output);
      let state: number;
      try {
        state = await fsp.openRead(join(dir, 'state'), host.noFollow);
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') return fail('unable to open state for processor', err);
        try {
          await fsp.close(await fsp.openTrunc(join(dir, 'state'), host.noFollow));
          state = await fsp.openRead(join(dir, 'state'), host.noFollow);
        } catch (err2) {
          return fail('unable to create empty state for processor', err2);
        }
      }
      fds.push(state);
      let newstate: number;
      try {
        newstate = await fsp.openTrunc(join(dir, 'newstate'), host.noFollow);
      } catch (err) {
        return fail('unable to open newstate for processor', err);
      }
      fds.push(newstate);
      if (this.killed) return 'drop';
      const { spawnChild } = await import('../sys/spawn.js');
      if (this.killed) return 'drop';
      status = await new Promise<ExitStatus>((resolve) => {
        // fds 0, 1, 2, then 3 unused, 4 = state, 5 = newstate
        const stdio = [input, output, host.stderr, 'ignore', state, newstate] as unknown as SpawnOptions['stdio'];
        this.pid = spawnChild('/bin/sh', ['-c', job.command], { ...host.spawnOptions, cwd: dir, stdio, env: host.env ?? process.env, argv0: 'sh' }, resolve);
        for (const fd of fds.splice(0)) fsp.closeQuietly(fd);
      });
    } finally {
      for (const fd of fds) fsp.closeQuietly(fd);
    }
    if (this.killed) return 'drop';
    if (host.verbose) host.info('sigchild received.');
    if ('execError' in status) {
      host.warning(`unable to run processor: ${host.name}: ${errorTextOf({ code: status.execError })}`);
      return 'failed';
    }
    if (status.code !== 0) return 'failed';
    const done = `${base}s`;
    await host.retry('unable to rename processed', () => fsp.rename(join(dir, `${base}t`), join(dir, done)));
    await host.retry('unable to set mode of processed', () => (host.noFollow ? fsp.chmodNoFollow(join(dir, done), 0o744) : fsp.chmod(join(dir, done), 0o744)));
    try {
      await fsp.unlink(join(dir, job.file));
    } catch {
      host.warning(`unable to unlink: ${host.name}/${job.file}`);
    }
    await host.retry('unable to rename state', () => fsp.rename(join(dir, 'newstate'), join(dir, 'state')));
    if (host.verbose) host.info(`processed: ${host.name}/${done}`);
    return 'done';
  }
}

// What sv does to its services (sv(8)): phase 1 sends the command
// to (or prints the status of) every service, phase 2 waits for all of them
// together. Messages, their order and the error count follow runit 2.1.2's
// sv.c; the waiting is event-driven (fs.watch on supervise/) instead of a
// 420 ms sleep loop.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { supervisorRunning, sendControl, readStatusBytes } from './control.js';
import { declaresReadiness, readinessSuffix, readReadiness } from './readiness.js';
import { policyNote, readPolicy } from './policy-state.js';
import { parseRecord, statusBody, controlSkips, letterState, taiFromMillis, type SvRecord } from './sv-wait.js';
import type { SvCommand } from './sv-commands.js';
import type { Tai64n } from './tai64n.js';
import { errorTextOf } from '../sys/errstr.js';
import { checkExecuteAccess } from '../sys/access.js';

/** Where lines go; stdout text is written only when runit would flush it. */
export interface SvOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface SvSettings {
  /** $SVDIR or the default */
  svdir: string;
  /** seconds; a wait ends with `timeout:` once more than this has elapsed */
  wait: number;
  lsb: boolean;
  /** -v or -w given */
  verbose: boolean;
  /** wall-clock milliseconds when sv started (before anything was sent) */
  start: number;
}

/** Wait loop timing: first re-check after a status change, and the slowest poll. */
export const POLL_MIN_MS = 5;
export const POLL_MAX_MS = 400;

type Got = { r: 1; rec: SvRecord } | { r: 0 } | { r: -1 };

/** LSB `status` ends sv at once with this code. */
export class LsbExit {
  constructor(readonly code: number) {}
}

interface Pending {
  name: string;
  dir: string;
}

export class SvSession {
  /** the error count (the exit code, before capping at 99) */
  rc = 0;
  private buf = '';
  private readonly tstart: Tai64n;
  /** sv's idea of "now" for the printed seconds: updated once per wait round */
  private now: number;
  /** log (`NAME/log`) messages while printing a log's status */
  private islog = false;
  /** first letter of the command: `x` makes "runsv not running" an ok */
  private acts = 's';

  constructor(
    private readonly settings: SvSettings,
    private readonly output: SvOutput,
  ) {
    this.tstart = taiFromMillis(settings.start);
    this.now = settings.start;
  }

  // ---- output, as runit's out()/outs()/flush() ----

  private puts(text: string): void {
    this.buf += text;
  }

  private flush(text = ''): void {
    this.buf += text;
    if (this.buf) this.output.stdout(this.buf);
    this.buf = '';
  }

  private line(prefix: string, name: string, msg: string, err?: unknown): void {
    const suffix = err === undefined ? '' : `: ${errorTextOf(err)}`;
    this.flush(`${prefix}${name}${this.islog ? '/log' : ''}: ${msg}${suffix}\n`);
  }

  private fail(name: string, msg: string, err?: unknown): void {
    this.rc++;
    this.line('fail: ', name, msg, err);
  }

  private warn(name: string, msg: string, err?: unknown): void {
    this.rc++;
    this.line('warning: ', name, msg, err);
  }

  private ok(name: string, msg: string): void {
    this.line('ok: ', name, msg);
  }

  // ---- service directories ----

  /**
   * The directory sv changes to for `name`: $SVDIR/name for a plain name,
   * the name itself if it starts with `/` or `.`, is empty or ends with `/`.
   * runit 2.1.2 ignores the trailing-slash rule while waiting; here both
   * phases use it.
   */
  serviceDir(name: string): string {
    if (name === '' || name[0] === '/' || name[0] === '.' || name.endsWith('/')) return name;
    const { svdir } = this.settings;
    if (svdir === '') return '\0'; // chdir("") fails with ENOENT
    return svdir.endsWith('/') ? svdir + name : `${svdir}/${name}`;
  }

  /** chdir()'s verdict on `dir`, without changing the process's directory. */
  private enter(dir: string): void {
    if (dir === '' || dir === '\0') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    const st = statSync(dir);
    if (!st.isDirectory()) throw Object.assign(new Error('ENOTDIR'), { code: 'ENOTDIR' });
    checkExecuteAccess(dir);
  }

  private resolve(name: string): string | undefined {
    const dir = this.serviceDir(name);
    try {
      this.enter(dir);
      return dir;
    } catch (err) {
      this.fail(name, 'unable to change to service directory', err);
      return undefined;
    }
  }

  // ---- status ----

  /** svstatus_get: 1 with the record, 0 if no runsv, -1 on any other trouble. */
  private getStatus(dir: string, name: string): Got {
    const supervise = `${dir}/supervise`;
    try {
      if (!supervisorRunning(supervise)) {
        if (this.acts[0] === 'x') this.ok(name, 'runsv not running');
        else this.fail(name, 'runsv not running');
        return { r: 0 };
      }
    } catch (err) {
      this.warn(name, 'unable to open supervise/ok', err);
      return { r: -1 };
    }
    let bytes: Buffer;
    try {
      bytes = readStatusBytes(supervise);
    } catch (err) {
      const opening = (err as NodeJS.ErrnoException).syscall === 'open';
      this.warn(name, opening ? 'unable to open supervise/status' : 'unable to read supervise/status', err);
      return { r: -1 };
    }
    const rec = parseRecord(bytes);
    if (!rec) {
      this.warn(name, 'unable to read supervise/status: bad format');
      return { r: -1 };
    }
    return { r: 1, rec };
  }

  /** svstatus_print: append the body; 1 if a process runs, 2 if not, 0 if `down` could not be stat()ed. */
  private print(dir: string, name: string, label: string, rec: SvRecord): 0 | 1 | 2 {
    let normallyUp = false;
    try {
      statSync(`${dir}/down`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.output.stderr(`warning: unable to stat ${name}/down: ${errorTextOf(err)}\n`);
        return 0;
      }
      normallyUp = true;
    }
    const now = taiFromMillis(this.now);
    // runit-ts's restart policy, when the service has one (nothing under runit)
    this.puts(statusBody(label, rec, now.sec, normallyUp) + policyNote(readPolicy(`${dir}/supervise`, rec.state === 0), now));
    // runit-ts's readiness and needs (supervise/readiness), when the service declares them (nothing under runit)
    this.puts(readinessSuffix(readReadiness(`${dir}/supervise`), rec.state === 1 && rec.pid !== 0, taiFromMillis(this.now).sec));
    return rec.pid ? 1 : 2;
  }

  /** The `status` command for one service. Throws LsbExit in LSB mode. */
  status(name: string, dir: string): void {
    const got = this.getStatus(dir, name);
    if (got.r === -1 && this.settings.lsb) throw new LsbExit(4);
    if (got.r !== 1) return;
    const main = this.print(dir, name, name, got.rec);
    this.islog = true;
    const logDir = `${dir}/log`;
    let entered = true;
    try {
      this.enter(logDir);
    } catch (err) {
      entered = false;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.puts('; ');
        this.warn(name, 'unable to change directory', err);
      } else {
        this.puts('\n');
      }
    }
    if (entered) {
      this.puts('; ');
      const log = this.getStatus(logDir, name);
      // runit 2.1.2 printed the main record again as "run: log: ..." when
      // log/supervise/ok could not be opened (log.r === -1)
      if (log.r === 1) {
        this.print(logDir, name, 'log', log.rec);
        this.puts('\n');
      }
    }
    this.islog = false;
    this.flush();
    // upstream 2.3.0: the exit code reflects the service, not its log
    if (this.settings.lsb) throw new LsbExit(main === 1 ? 0 : main === 2 ? 3 : 4);
  }

  // ---- control ----

  /** Send `letters` unless the want byte says it is not needed. -1 on failure. */
  control(name: string, dir: string, letters: string): -1 | 0 | 1 {
    const got = this.getStatus(dir, name);
    if (got.r !== 1) return -1;
    // `up` during a backoff wait is sent although the service wants up already: it starts it now
    if (controlSkips(letters, got.rec) && !(letters[0] === 'u' && readPolicy(`${dir}/supervise`, got.rec.state === 0)?.restartAt)) return 0;
    try {
      sendControl(`${dir}/supervise`, letters);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.syscall === 'open') {
        if (e.code !== 'ENXIO') this.warn(name, 'unable to open supervise/control', err);
        else if (letters[0] === 'x') this.ok(name, 'runsv not running');
        else this.fail(name, 'runsv not running');
      } else {
        this.warn(name, 'unable to write to supervise/control', err);
      }
      return -1;
    }
    return 1;
  }

  // ---- waiting ----

  /** One round for one service: 1 done (ok printed), 0 keep waiting, -1 give up. */
  private async check(name: string, dir: string, letters: string): Promise<-1 | 0 | 1> {
    const got = this.getStatus(dir, name);
    if (got.r === -1) return -1;
    if (got.r === 0) return letters[0] === 'x' ? 1 : -1;
    let checked: boolean | undefined;
    for (const letter of letters) {
      const state = letterState(letter, got.rec, this.tstart);
      if (state === 'fail') return 0;
      if (state === 'check') {
        // up means ready for a service that declares readiness (supervise/readiness)
        const readiness = readReadiness(`${dir}/supervise`);
        if (declaresReadiness(readiness) && readiness!.state !== 'ready') return 0;
        if (checked === undefined) {
          const { runCheck } = await import('./sv-check.js');
          checked = await runCheck(dir, name, (text) => this.output.stderr(text));
        }
        if (!checked) return 0;
      }
    }
    this.puts('ok: ');
    this.print(dir, name, name, got.rec);
    this.flush('\n');
    return 1;
  }

  /** Phase 1 for every service; returns those still to wait for. */
  send(names: readonly string[], command: SvCommand): Pending[] {
    this.acts = command.letters;
    const pending: Pending[] = [];
    for (const name of names) {
      const dir = this.resolve(name);
      if (dir === undefined) continue;
      if (command.status) {
        this.status(name, dir);
        continue;
      }
      if (command.send && this.control(name, dir, command.letters) === -1) continue;
      pending.push({ name, dir });
    }
    return pending;
  }

  /** Phase 2: wait for every pending service, reporting ok/timeout/kill. */
  async waitAll(pending: Pending[], command: SvCommand): Promise<void> {
    const letters = command.letters;
    const waitMs = this.settings.wait * 1000;
    let changed = false;
    let wake: (() => void) | undefined;
    const watchers: FSWatcher[] = [];
    const onChange = (_event: string, file: string | Buffer | null) => {
      if (file === null || String(file) === 'status' || String(file) === 'readiness') {
        changed = true;
        wake?.();
      }
    };
    for (const { dir } of pending) {
      try {
        const w = watch(`${dir}/supervise`, { persistent: false }, onChange);
        w.on('error', () => w.close());
        watchers.push(w);
      } catch {
        // no watch (no inotify, supervise gone): the poll still runs
      }
    }
    let interval = POLL_MIN_MS;
    try {
      for (;;) {
        const elapsed = this.now - this.settings.start;
        const still: Pending[] = [];
        for (const service of pending) {
          // the name is resolved again each round, as runit does
          const dir = this.resolve(service.name);
          if (dir === undefined) continue;
          const r = await this.check(service.name, dir, letters);
          if (r !== 0) continue;
          if (elapsed > waitMs) {
            this.timeout(service.name, dir, command.kill);
            continue;
          }
          still.push({ name: service.name, dir });
        }
        pending = still;
        if (pending.length === 0) return;
        const deadline = this.settings.start + waitMs + 1;
        const delay = Math.max(0, Math.min(interval, deadline - Date.now()));
        if (!changed) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delay);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
        interval = changed ? POLL_MIN_MS : Math.min(interval * 2, POLL_MAX_MS);
        changed = false;
        this.now = Date.now();
      }
    } finally {
      for (const w of watchers) w.close();
    }
  }

  private timeout(name: string, dir: string, kill: boolean): void {
    this.puts(kill ? 'kill: ' : 'timeout: ');
    const got = this.getStatus(dir, name);
    if (got.r === 1) {
      this.print(dir, name, name, got.rec);
      this.rc++;
    }
    this.flush('\n');
    if (kill) this.control(name, dir, 'k');
  }
}

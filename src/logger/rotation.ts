// Rotation of a log directory's `current` and the limit on old files
// (svlogd(8)): `current` becomes `@<tai64n>.s` (or `.u` for a processor),
// a new `current` is made, then the oldest files beyond `n` are removed
// and the processor, if any, is started — in runit's order, but writing
// does not wait for the removals. On a full disk (`N`) the oldest file is
// deleted so that a write can go on.
import { join } from 'node:path';
import * as fs from 'node:fs';
import * as fsp from '../sys/async-fs.js';
import { errorCode } from '../sys/errors.js';
import { errorTextOf } from '../sys/errstr.js';
import { taiLabel, taiNow } from '../protocol/tai64n.js';
import type { LogDirConfig } from './config.js';
import type { Processors } from './processor.js';
import type { DirMessages } from './report.js';
import type { PausingRetry } from './retry.js';
import type { CurrentFile } from './write-queue.js';

/** The directory as rotation sees it (LogDir). */
export interface RotatedDir {
  readonly name: string;
  readonly path: string;
  readonly config: LogDirConfig;
  /** O_NOFOLLOW where links must not be followed, else 0 */
  readonly noFollow: number;
  /** `current` is about to be renamed (everything before the rotation is written) */
  renaming?(): void;
  /** the new `current` is open as `fd` */
  renamed?(fd: number): void;
}

/** An `@<tai64n>.<c>` old-file name: 27 bytes starting with `@`. */
function isOldName(name: string): boolean {
  return name.length === 27 && name[0] === '@';
}

export class Rotation {
  /** the newest file rotated for a processor (runit's pending `.u`) */
  private lastPending: string | undefined;
  /** old-file limits and processor starts after rotations, in order */
  private housekeeping: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: RotatedDir,
    private readonly current: CurrentFile,
    private readonly retry: PausingRetry,
    private readonly processors: Processors,
    private readonly messages: DirMessages,
  ) {}

  private file(name: string): string {
    return join(this.dir.path, name);
  }

  /** Resolves when the removals and processor starts queued so far are done. */
  settled(): Promise<void> {
    return this.housekeeping;
  }

  /** A processor is done with a file: processed files count as old files now. */
  processed(): void {
    this.housekeeping = this.housekeeping.then(() => this.removeOld()).catch(() => {});
  }

  /**
   * At open: a `.u` whose `.s` exists was processed (the `.s` is only made
   * once its processor succeeded) by a logger killed before it removed the
   * `.u`: the `.u` goes, or its lines would be in the directory twice.
   */
  dropProcessedLeftovers(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir.path);
    } catch {
      return;
    }
    const all = new Set(names);
    for (const name of names) {
      if (!isOldName(name) || name[26] !== 'u' || !all.has(`${name.slice(0, 26)}s`)) continue;
      try {
        fs.unlinkSync(this.file(name));
      } catch {}
    }
  }

  /** At open: an unfinished `current` (or a planted link) is saved as `.u`, then the old-file limit applies. */
  async setAsideCurrent(): Promise<void> {
    const saved = this.uniqueName('u');
    await this.retry.retry('unable to rename current', () => fsp.rename(this.file('current'), this.file(saved)));
    await this.removeOld();
  }

  /**
   * runit's rotate(), for a `current` of `size` bytes, in runit's order.
   * fsync may wait for the disk and runs on the thread pool; the other
   * steps are quick metadata calls made directly, so a rotation costs one
   * trip through the event loop, not ten.
   */
  async rotate(size: number, processor: string): Promise<void> {
    const name = this.dir.name;
    const current = this.current;
    const saved = this.uniqueName(processor ? 'u' : 's');
    const fd = current.fd;
    await this.retry.retry('unable to fsync current logfile', () => fsp.fsync(fd));
    // runit removes old files inside each rotation: the last one's are gone
    // (and said so with -v) before this one renames
    await this.housekeeping;
    await this.retry.retry('unable to set mode of current', async () => fs.fchmodSync(fd, 0o744));
    current.fd = -1;
    fsp.closeQuietly(fd);
    this.messages.info(`rename: ${name}/current ${saved} ${size}`);
    this.dir.renaming?.();
    await this.retry.retry('unable to rename current', async () => fs.renameSync(this.file('current'), this.file(saved)));
    current.fd = await this.retry.retry('unable to create new current', async () => fsp.openAppendSync(this.file('current'), this.dir.noFollow));
    this.dir.renamed?.(current.fd);
    await this.retry.retry('unable to set mode of current', async () => fs.fchmodSync(current.fd, 0o644));
    this.lastPending = processor ? saved : undefined;
    if (processor) this.processors.add(saved, processor);
    // old files and the processor: in order, but writing does not wait for them
    this.housekeeping = this.housekeeping
      .then(() => this.removeOld())
      .then(() => {
        if (processor) this.processors.start();
      })
      .catch(() => {});
  }

  /**
   * ENOSPC with N < n: delete the oldest old file while more than N remain
   * (runit's "out of disk space, delete"); true to write again at once.
   */
  async makeRoom(err: unknown): Promise<boolean> {
    const { nMin, nMax } = this.dir.config;
    if (errorCode(err) !== 'ENOSPC' || nMin >= nMax) return false;
    let names: string[];
    try {
      names = await fsp.readdir(this.dir.path);
    } catch (e) {
      this.messages.warn('unable to read directory, want remove old logfile', e);
      return false;
    }
    const old = names.filter(isOldName);
    if (old.length <= nMin) return false;
    const inUse = this.processors.inUse();
    const oldest = old.filter((n) => !inUse.has(n)).sort()[0];
    if (!oldest) return false;
    this.messages.reporter.warning(`out of disk space, delete: ${this.dir.name}/${oldest}`);
    try {
      await fsp.unlink(this.file(oldest));
    } catch (e) {
      this.messages.warn('unable to unlink oldest logfile', e);
      return false;
    }
    return true;
  }

  /** A fresh `@<tai64n>.<suffix>` name; the time is taken again while the name exists. */
  private uniqueName(suffix: string): string {
    for (;;) {
      const name = `${taiLabel(taiNow())}.${suffix}`;
      if (!fs.existsSync(this.file(name))) return name;
    }
  }

  /**
   * Old-file limit: remove processor leftovers (`.t`), then, with n > 0,
   * delete the oldest files until at most n remain — all of the excess,
   * where runit deleted one per rotation. As in runit, a file rotated for
   * a processor is not counted while it waits (runit keeps n files plus
   * that one); here that holds for every file still queued, and for the
   * newest rotated file until the next rotation. Files a processor needs
   * are never deleted.
   */
  private async removeOld(): Promise<void> {
    let names: string[];
    try {
      names = await this.retry.retry('unable to open directory, want rotate', async () => fs.readdirSync(this.dir.path));
    } catch {
      return;
    }
    const pending = this.processors.inUse();
    if (this.lastPending) {
      pending.add(this.lastPending);
      pending.add(`${this.lastPending.slice(0, 26)}s`);
    }
    const candidates: string[] = [];
    for (const name of names) {
      if (!isOldName(name) || pending.has(name)) continue;
      if (name[26] === 't') {
        try {
          await fsp.unlink(this.file(name));
        } catch (err) {
          this.messages.reporter.warning(`unable to unlink processor leftover: ${name}: ${errorTextOf(err)}`);
        }
        continue;
      }
      candidates.push(name);
    }
    const { nMax } = this.dir.config;
    if (!nMax || candidates.length <= nMax) return;
    candidates.sort();
    for (const name of candidates.slice(0, candidates.length - nMax)) {
      this.messages.info(`delete: ${this.dir.name}/${name}`);
      try {
        await fsp.unlink(this.file(name));
      } catch (err) {
        this.messages.warn('unable to unlink oldest logfile', err);
      }
    }
  }
}

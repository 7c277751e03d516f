// Following a svlogd directory across rotations, neither losing nor
// repeating a line. svlogd writes `current`, and rotates by renaming it to
// `@<tai64n>.s` (after its last write) and creating a new `current`. The
// follower keeps the file it reads open, so a rename takes nothing from it:
// once `current` is another file, it reads its own to the end, then every
// file rotated after it, then the new `current`. svlogd cuts a line where a
// file reaches its size limit and goes on in the next: a line is complete
// at its newline, in whichever file that is. Woken by inotify on the
// directory; no polling.
import { closeSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { logFiles, presentLine } from './log-dir.js';

const CHUNK = 64 * 1024;

export class LogFollower {
  private fd = -1;
  private ino = -1;
  /** the newest rotated file read to its end */
  private after: string | undefined;
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  private watcher: FSWatcher | undefined;
  private readonly buffer = Buffer.allocUnsafe(CHUNK);

  /** `onLine` gets each complete line, without its newline, in order. */
  constructor(
    private readonly dir: string,
    private readonly onLine: (line: string) => void,
  ) {}

  /** Every complete line the directory holds now, oldest first. */
  readAll(): void {
    this.switchToCurrent();
    for (const file of logFiles(this.dir)) {
      if (file === 'current') break;
      // one rotated since `current` was opened is the file being read
      if (inodeOf(`${this.dir}/${file}`) === this.ino) break;
      this.readWhole(`${this.dir}/${file}`);
      this.after = file;
    }
    if (this.fd >= 0) this.drain();
  }

  /** After readAll(): each line as it is written, until close(). */
  follow(): void {
    this.watcher = watch(this.dir, { persistent: true }, () => this.poke());
    this.poke();
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Woken: read what was written; after each rotation, what came between, then the new current. */
  private poke(): void {
    for (;;) {
      if (this.fd < 0) {
        this.switchToCurrent();
        if (this.fd < 0) return;
      }
      this.drain();
      if (inodeOf(`${this.dir}/current`) === this.ino) return;
      // rotated: nothing is written to it any more, so this read is its last
      this.drain();
      this.after = logFiles(this.dir).find((file) => file !== 'current' && inodeOf(`${this.dir}/${file}`) === this.ino) ?? this.after;
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  /**
   * Open `current`, first reading whole every file rotated after `after`
   * and before the file now opened (which may itself be rotated already).
   */
  private switchToCurrent(): void {
    let fd: number;
    let ino: number;
    try {
      fd = openSync(`${this.dir}/current`, 'r');
      ino = fstatSync(fd).ino;
    } catch {
      return; // between the rename and the new current: the next event brings it
    }
    const after = this.after;
    if (after !== undefined) {
      for (const file of logFiles(this.dir)) {
        if (file === 'current' || file <= after) continue;
        if (inodeOf(`${this.dir}/${file}`) === ino) break;
        this.readWhole(`${this.dir}/${file}`);
        this.after = file;
      }
    }
    this.fd = fd;
    this.ino = ino;
  }

  private drain(): void {
    for (;;) {
      const n = readSync(this.fd, this.buffer, 0, CHUNK, null);
      if (n === 0) return;
      this.take(this.buffer.subarray(0, n));
    }
  }

  private readWhole(path: string): void {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return; // removed by the old-file limit before it was read
    }
    try {
      for (;;) {
        const n = readSync(fd, this.buffer, 0, CHUNK, null);
        if (n === 0) break;
        this.take(this.buffer.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
  }

  private take(bytes: Buffer): void {
    const lines = (this.partial + this.decoder.write(bytes)).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.onLine(line);
  }
}

function inodeOf(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return -2;
  }
}

/** The directory's complete lines as a person reads them (presentLine); the last `n` (all when undefined). */
export function lastLines(dir: string, n: number | undefined, sinceMicros: number | undefined): string[] {
  const shown: string[] = [];
  let previous = false;
  const follower = new LogFollower(dir, (line) => {
    const out = presentLine(line, sinceMicros, previous);
    previous = out !== undefined;
    if (out !== undefined) shown.push(out);
  });
  try {
    follower.readAll();
  } finally {
    follower.close();
  }
  return n === undefined ? shown : shown.slice(Math.max(0, shown.length - n));
}

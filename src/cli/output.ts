// runit's message conventions (reference §0.2): one line per diagnostic on
// stderr, usage followed by an empty line.
import { writeSync } from 'node:fs';

/** Write all of `text` to `fd`; give up only on an error (closed, EAGAIN). */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done);
  } catch {
    // closed or non-blocking and full: nothing better to do
  }
}

export function writeErr(text: string): void {
  writeAll(2, text);
}

export function writeOut(text: string): void {
  writeAll(1, text);
}

/** Print `usage: <name><text>` and an empty line, then exit. */
export function usage(name: string, text: string, code: number): never {
  writeErr(`usage: ${name}${text}\n\n`);
  process.exit(code);
}

/**
 * The program name as runit prints it: basename of argv[0]. Launchers in
 * bin/ that are shell scripts run dist/cli/<name>.js, hence the suffix.
 */
export function programName(): string {
  const argv1 = process.argv[1] ?? '';
  return argv1.slice(argv1.lastIndexOf('/') + 1).replace(/\.js$/, '');
}

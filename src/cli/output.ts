// runit's message conventions (as in runit's programs): one line per diagnostic on
// stderr, usage followed by an empty line.
import { writeAll } from '../sys/write.js';
import { takeStartState } from '../sys/launch.js';

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
 * The program name as runit prints it: basename of argv[0], the name the
 * launcher was run as; without a launcher, the module's (dist/cli/<name>.js,
 * or its bundle dist/cli/<name>.cjs).
 */
export function programName(): string {
  const argv0 = takeStartState().argv0 ?? (process.argv[1] ?? '').replace(/\.c?js$/, '');
  return argv0.slice(argv0.lastIndexOf('/') + 1);
}

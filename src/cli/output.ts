// runit's message conventions (reference §0.2): one line per diagnostic on
// stderr, usage followed by an empty line.
import { writeSync } from 'node:fs';

export function writeErr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // stderr closed or full: nothing better to do
  }
}

export function writeOut(text: string): void {
  try {
    writeSync(1, text);
  } catch {}
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

// When a log service's `log/run` is nothing but `exec svlogd ...`, runsvdir
// can run the logger in-process instead of as a process (README, "Loggers in-process").
// The canonical form, exactly (README: "Loggers in-process"):
//   - an optional first line `#!/bin/sh` (a `#!` line naming sh, with no
//     options);
//   - any number of empty lines and comment lines (first non-blank `#`);
//   - exactly one command line: `exec`, then `svlogd` or an absolute path
//     whose last component is `svlogd`, then svlogd's options and log
//     directories; words separated by blanks, each made only of letters,
//     digits and `_ . / @ % + = : , -` (no quotes, no `$`, no redirection,
//     no globbing, nothing else for the shell to do).
// Anything else runs as a process, as under runit.
import { parseSvlogdArgs, type SvlogdOptions } from './args.js';

const WORD = /^[A-Za-z0-9_./@%+=:,-]+$/;
const SHEBANG = /^#!\s*\/bin\/sh\s*$/;

/** svlogd's options from a canonical `log/run`, or undefined. */
export function parseCanonicalLogRun(text: string): SvlogdOptions | undefined {
  const lines = text.split('\n');
  if (lines[0]?.startsWith('#!') && !SHEBANG.test(lines[0])) return undefined;
  let command: string[] | undefined;
  for (const [i, line] of lines.entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || (trimmed.startsWith('#') && !(i === 0 && trimmed.startsWith('#!')))) continue;
    if (i === 0 && SHEBANG.test(line)) continue;
    if (command) return undefined;
    command = trimmed.split(/[ \t]+/);
  }
  if (!command || command.length < 2 || command[0] !== 'exec') return undefined;
  const program = command[1]!;
  if (program !== 'svlogd' && !(program.startsWith('/') && program.endsWith('/svlogd'))) return undefined;
  const args = command.slice(2);
  if (!args.every((word) => WORD.test(word))) return undefined;
  const parsed = parseSvlogdArgs(args);
  return parsed.ok ? parsed.options : undefined;
}

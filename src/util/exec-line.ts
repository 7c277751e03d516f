// The one script form the supervisor may carry out itself instead of
// running it (README: "Loggers in-process", "chpst applied by the
// supervisor"):
//   - an optional first line `#!/bin/sh` (a `#!` line naming sh, with no
//     options);
//   - any number of empty lines and comment lines (first non-blank `#`);
//   - exactly one command line: `exec`, then words separated by blanks,
//     each made only of letters, digits and `_ . / @ % + = : , -` (no
//     quotes, no `$`, no redirection, no globbing, nothing else for the
//     shell to do).
// Pure.

const WORD = /^[A-Za-z0-9_./@%+=:,-]+$/;
const SHEBANG = /^#!\s*\/bin\/sh\s*$/;

export interface ExecLine {
  /** the script starts with `#!/bin/sh` (without it, execve(2) cannot run it) */
  shebang: boolean;
  /** the words after `exec`: the program, then its arguments */
  words: string[];
}

/** The command of a script that is nothing but `exec WORD...`, or undefined. */
export function parseExecLine(text: string): ExecLine | undefined {
  const lines = text.split('\n');
  const shebang = SHEBANG.test(lines[0] ?? '');
  if (lines[0]?.startsWith('#!') && !shebang) return undefined;
  let command: string[] | undefined;
  for (const [i, line] of lines.entries()) {
    if (i === 0 && shebang) continue;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (command) return undefined;
    command = trimmed.split(/[ \t]+/);
  }
  if (!command || command.length < 2 || command[0] !== 'exec') return undefined;
  const words = command.slice(1);
  return words.every((word) => WORD.test(word)) ? { shebang, words } : undefined;
}

/** `name` on PATH, or an absolute path whose last component is `name`. */
export function namesProgram(word: string, name: string): boolean {
  return word === name || (word.startsWith('/') && word.endsWith(`/${name}`));
}

// sv's command line, parsed with djb's sgetopt rules (reference §0.2, §5.1):
// options come before operands; parsing stops at the first non-option, at
// `-` (kept as an operand) or at an argument starting with `--` (dropped);
// an option argument is attached (`-w5`) or the next argument (`-w 5`).

export interface SvOptions {
  verbose: boolean;
  /** the -w value, if given */
  wait?: number;
  /** the operands: command, then services */
  operands: string[];
}

export type SvArgs =
  | { ok: true; options: SvOptions }
  /** `-V`: print the version, then usage */
  | { ok: false; version: true }
  /** an sgetopt error: print `<prog>: <message>`, then usage */
  | { ok: false; version: false; message: string };

/** djb scan_ulong: the value of the leading decimal digits (0 if none), modulo 2^64. */
export function scanUlong(text: string): number {
  const m = /^[0-9]+/.exec(text);
  if (!m) return 0;
  return Number(BigInt(m[0]) % (1n << 64n));
}

/** Parse `args` (argv without the program name) against sv's "w:vV". */
export function parseSvArgs(args: readonly string[]): SvArgs {
  let verbose = false;
  let wait: number | undefined;
  let i = 0;
  while (i < args.length) {
    const arg = args[i] as string;
    if (arg[0] !== '-' || arg === '-') break;
    if (arg[1] === '-') {
      i++;
      break;
    }
    let pos = 1;
    let next = i + 1;
    while (pos < arg.length) {
      const c = arg[pos++];
      if (c === 'v') {
        verbose = true;
      } else if (c === 'V') {
        return { ok: false, version: true };
      } else if (c === 'w') {
        let value = arg.slice(pos);
        pos = arg.length;
        if (value === '') {
          if (next >= args.length) return { ok: false, version: false, message: `option requires an argument -- ${c}` };
          value = args[next++] as string;
        }
        wait = scanUlong(value);
        verbose = true;
      } else {
        return { ok: false, version: false, message: `illegal option -- ${c}` };
      }
    }
    i = next;
  }
  return { ok: true, options: { verbose, wait, operands: args.slice(i) } };
}

// sv's command line (sv(8)), read as runit reads it: djb's sgetopt
// (src/util/getopt.ts) and scan_ulong (src/util/scan.ts).
import { sgetopt, getoptMessage } from '../util/getopt.js';
import { scanUlong as scanUlongAt } from '../util/scan.js';

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
  return Number(scanUlongAt(text).value);
}

/** Parse `args` (argv without the program name) against sv's "w:vV". */
export function parseSvArgs(args: readonly string[]): SvArgs {
  let verbose = false;
  let wait: number | undefined;
  const state = { index: 0 };
  for (const item of sgetopt(args, 'w:vV', state)) {
    if ('error' in item) return { ok: false, version: false, message: getoptMessage(item) };
    if (item.opt === 'V') return { ok: false, version: true };
    verbose = true;
    if (item.opt === 'w') wait = scanUlong(item.arg!);
  }
  return { ok: true, options: { verbose, wait, operands: args.slice(state.index) } };
}

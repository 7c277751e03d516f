// svlogd's command line (svlogd(8)), read as runit reads it: djb's sgetopt
// (src/util/getopt.ts) and scan_ulong (src/util/scan.ts). Pure, so that a
// host can also read the options of an `exec svlogd ...` line.
import { sgetopt, getoptMessage } from '../util/getopt.js';
import { scanUlong } from '../util/scan.js';
import type { StampMode } from './timestamp.js';

export const USAGE = ' [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...';

export interface SvlogdOptions {
  timestamp: StampMode;
  verbose: boolean;
  /** replacement byte, when -r or -R was given */
  replacement?: number;
  /** -R bytes */
  replaceBytes: Uint8Array;
  lineMax: number;
  bufLen: number;
  dirs: string[];
}

export type SvlogdArgs =
  | { ok: true; options: SvlogdOptions }
  /** print the usage line, exit 111 */
  | { ok: false; problem: 'usage' }
  /** `-V`: print the version line, then the usage */
  | { ok: false; problem: 'version' }
  /** sgetopt's complaint (`illegal option -- x`), then the usage */
  | { ok: false; problem: 'option'; message: string };

function ulong(text: string): number {
  return Number(scanUlong(Buffer.from(text, 'utf8')).value);
}

/** Parse `args` (argv without the program name) against "R:r:l:b:tvV". */
export function parseSvlogdArgs(args: readonly string[]): SvlogdArgs {
  let timestamp = 0;
  let verbose = false;
  let replacement: number | undefined;
  let replaceBytes = new Uint8Array(0);
  let lineMax = 1000;
  let bufLen = 1024;
  const state = { index: 0 };
  for (const item of sgetopt(args, 'R:r:l:b:tvV', state)) {
    if ('error' in item) return { ok: false, problem: 'option', message: getoptMessage(item) };
    const c = item.opt;
    if (c === 't') {
      if (++timestamp > 3) timestamp = 3;
    } else if (c === 'v') {
      verbose = true;
    } else if (c === 'V') {
      return { ok: false, problem: 'version' };
    } else {
      const value = item.arg!;
      const bytes = Buffer.from(value, 'utf8');
      if (c === 'R') {
        replaceBytes = new Uint8Array(bytes);
        replacement ??= 0x5f;
      } else if (c === 'r') {
        // exactly one byte, and not NUL
        if (bytes.length !== 1 || bytes[0] === 0) return { ok: false, problem: 'usage' };
        replacement = bytes[0]!;
      } else if (c === 'l') {
        lineMax = ulong(value) || 1000;
      } else {
        bufLen = ulong(value) || 1024;
      }
    }
  }
  const dirs = args.slice(state.index);
  if (dirs.length === 0) return { ok: false, problem: 'usage' };
  if (bufLen <= lineMax) return { ok: false, problem: 'usage' };
  return { ok: true, options: { timestamp: timestamp as StampMode, verbose, replacement, replaceBytes, lineMax, bufLen, dirs } };
}

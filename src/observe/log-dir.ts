// A service's svlogd directory, read as a person wants it: where it is,
// its files in order, and line stamps (svlogd -t, -tt, -ttt) as local time.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseSvlogdArgs } from '../logger/args.js';
import { parseTaiLabel, unixSeconds } from '../protocol/tai64n.js';

/**
 * The log directory of the service in `serviceDir`, from its `log/run`:
 * the first directory of the `svlogd` command on its last `exec` line
 * (`exec svlogd -tt ./main`, `exec chpst -u log svlogd ./main`, ...),
 * relative to `log/`. Undefined when log/run names none.
 */
export function logDirOf(serviceDir: string, logRun: string): string | undefined {
  const execs = logRun.split('\n').filter((line) => /^\s*exec\s/.test(line));
  const words =
    execs
      .at(-1)
      ?.trim()
      .split(/[ \t]+/) ?? [];
  const at = words.findIndex((w) => w === 'svlogd' || w.endsWith('/svlogd'));
  if (at < 0) return undefined;
  const parsed = parseSvlogdArgs(words.slice(at + 1));
  const first = parsed.ok ? parsed.options.dirs[0] : undefined;
  return first === undefined ? undefined : resolve(serviceDir, 'log', first);
}

/** Read `SERVICE/log/run` and find the directory; throws when log/run cannot be read. */
export function findLogDir(serviceDir: string): string | undefined {
  return logDirOf(serviceDir, readFileSync(`${serviceDir}/log/run`, 'utf8'));
}

/** The rotated files (`@<tai64n>.s`, `.u`), oldest first, then `current`. */
export function logFiles(dir: string): string[] {
  const old = readdirSync(dir)
    .filter((name) => name.length === 27 && name[0] === '@')
    .sort();
  return [...old, 'current'];
}

export interface Stamped {
  /** wall-clock time of the stamp, in microseconds since the epoch */
  micros: number;
  /** digits after the second that the stamp carries (9 for TAI64N, 5 for -tt) */
  digits: number;
  /** the line after the stamp and its space */
  text: string;
}

const HUMAN = /^(\d{4})-(\d\d)-(\d\d)[_T](\d\d):(\d\d):(\d\d)\.(\d{5}) /;

/** The stamp at the start of a line, as svlogd -t, -tt or -ttt writes it; undefined if none. */
export function parseStamp(line: string): Stamped | undefined {
  if (line[0] === '@' && line[25] === ' ') {
    const tai = parseTaiLabel(line.slice(0, 25));
    if (tai) return { micros: unixSeconds(tai) * 1e6 + Math.floor(tai.nsec / 1000), digits: 9, text: line.slice(26) };
  }
  const m = HUMAN.exec(line);
  if (m) {
    const [, y, mo, d, h, mi, s, frac] = m.map(Number) as number[];
    const seconds = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) / 1000;
    return { micros: seconds * 1e6 + frac! * 10, digits: 5, text: line.slice(26) };
  }
  return undefined;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `YYYY-MM-DD HH:MM:SS.fffff` in local time (tai64nlocal's form), with the stamp's precision up to microseconds. */
export function localTime(micros: number, digits: number): string {
  const d = new Date(Math.floor(micros / 1000));
  const fraction = pad(micros % 1e6, 6).slice(0, Math.min(digits, 6));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${fraction}`;
}

/**
 * A log line for a person: its stamp as local time, or as it is without
 * one. Lines older than `sinceMicros` are dropped (undefined); a line
 * without a stamp goes with the line before it (`previousShown`).
 */
export function presentLine(line: string, sinceMicros: number | undefined, previousShown: boolean): string | undefined {
  const stamped = parseStamp(line);
  if (!stamped) return sinceMicros === undefined || previousShown ? line : undefined;
  if (sinceMicros !== undefined && stamped.micros < sinceMicros) return undefined;
  return `${localTime(stamped.micros, stamped.digits)} ${stamped.text}`;
}

/**
 * `--since`: an ISO 8601 date or date and time (local unless it says
 * otherwise), or an age (`90s`, `10m`, `2h`, `1d`) before `nowMs`.
 * Microseconds since the epoch; undefined when it reads as neither.
 */
export function parseSince(text: string, nowMs: number): number | undefined {
  const age = /^(\d+)([smhd])$/.exec(text);
  if (age) return (nowMs - Number(age[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[age[2] as 's' | 'm' | 'h' | 'd']) * 1000;
  if (!/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?)?$/.test(text)) return undefined;
  // a date alone is local midnight (Date.parse would take it as UTC)
  const ms = Date.parse(text.length === 10 ? `${text}T00:00` : text.replace(' ', 'T'));
  return Number.isNaN(ms) ? undefined : ms * 1000;
}

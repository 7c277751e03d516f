// Restart policy and stop escalation (README: service files): the files
// `backoff` (FIRST CAP seconds), `give-up` (N deaths in T seconds),
// `max-death-tally` (s6), `down-signal` (s6), `timeout-finish` (s6); and the
// backoff's arithmetic. Pure parsers and a pure policy; the readers follow
// settings.ts (absent: runit's behaviour; malformed: runit's behaviour and
// one warning, worded to follow `runsv NAME: warning: `).
import { signalNumber } from '../util/signals.js';
import { DEFAULT_DEATH_TALLY, parseDeathTally } from '../protocol/deaths.js';
import { parseSeconds } from './readiness-files.js';
import { parseUnsignedInteger, readOptional } from './settings.js';

type Warn = (message: string) => void;

/** What a program's death is judged by, read from its directory at each death. */
export interface RestartPolicy {
  backoff: Backoff | undefined;
  giveUp: GiveUp | undefined;
  deathTally: number;
}

export interface Backoff {
  /** the first delay, ms */
  firstMs: number;
  /** the longest, ms */
  capMs: number;
}

/** `FIRST CAP` in seconds, decimals allowed, 0 < FIRST <= CAP <= one day. */
export function parseBackoff(text: string): Backoff | { error: string } {
  const words = text.trim().split(/\s+/);
  const [first, cap] = words.map((w) => parseSeconds(w));
  if (words.length !== 2 || first === undefined || cap === undefined) return { error: 'invalid backoff: not two numbers of seconds, FIRST CAP' };
  if (first === 0 || first > cap || cap > 86_400_000_000) return { error: 'invalid backoff: FIRST must be above 0 and at most CAP, CAP at most 86400' };
  return { firstMs: first / 1000, capMs: cap / 1000 };
}

/**
 * How long a service must stay up for its backoff to start again from
 * FIRST: as long as the longest delay (it outlived the slowest retry), and
 * at least 10 s.
 */
export function stablePeriodMs(b: Backoff): number {
  return Math.max(b.capMs, 10_000);
}

/**
 * The delay before the next start, after a death: FIRST after a run that
 * lasted the stable period (or the first death), else twice the previous
 * delay, up to CAP.
 */
export function nextBackoffMs(b: Backoff, previousMs: number | undefined, ranMs: number): number {
  if (previousMs === undefined || ranMs >= stablePeriodMs(b)) return b.firstMs;
  return Math.min(b.capMs, Math.max(b.firstMs, previousMs * 2));
}

/** `give-up`: N deaths within T seconds stop the restarts (as `finish` exiting 125 does). */
export interface GiveUp {
  deaths: number;
  seconds: number;
}

export function parseGiveUp(text: string): GiveUp | { error: string } {
  const words = text.trim().split(/\s+/);
  const deaths = parseUnsignedInteger(words[0] ?? '');
  const seconds = parseUnsignedInteger(words[1] ?? '');
  if (words.length !== 2 || !deaths || !seconds) return { error: 'invalid give-up: not N T (N deaths in T seconds, both above 0)' };
  return { deaths, seconds };
}

/** A file parsed: undefined when absent, or malformed (with the parser's warning). */
function readParsed<T extends object>(dir: string, name: string, parse: (text: string) => T | { error: string }, warn: Warn): T | undefined {
  const text = readOptional(dir, name, warn);
  if (text === undefined) return undefined;
  const value = parse(text);
  if ('error' in value) return void warn(value.error);
  return value;
}

export const readBackoff = (dir: string, warn: Warn): Backoff | undefined => readParsed(dir, 'backoff', parseBackoff, warn);

export const readGiveUp = (dir: string, warn: Warn): GiveUp | undefined => readParsed(dir, 'give-up', parseGiveUp, warn);

/** `down-signal` (s6): what `d` sends instead of TERM; absent or invalid: TERM. */
export function readDownSignal(dir: string, warn: Warn): number | undefined {
  const text = readOptional(dir, 'down-signal', warn);
  if (text === undefined) return undefined;
  const signal = signalNumber(text);
  if (signal === undefined) warn(`invalid down-signal: unknown signal ${JSON.stringify(text.trim().slice(0, 20))}`);
  return signal;
}

/** `timeout-finish` (s6): ms a `./finish` may run before SIGKILL; absent or 0: runit's (no limit). */
export function readTimeoutFinish(dir: string, warn: Warn): number | undefined {
  const text = readOptional(dir, 'timeout-finish', warn);
  if (text === undefined) return undefined;
  const ms = parseUnsignedInteger(text);
  if (ms === undefined) warn('invalid timeout-finish: not a number of milliseconds');
  return ms || undefined;
}

/** `max-death-tally` (s6): the death records kept in supervise/deaths. */
export function readDeathTally(dir: string, warn: Warn): number {
  const text = readOptional(dir, 'max-death-tally', warn);
  if (text === undefined) return DEFAULT_DEATH_TALLY;
  const t = parseDeathTally(text);
  if ('error' in t) {
    warn(`invalid ${t.error}`);
    return DEFAULT_DEATH_TALLY;
  }
  return t.tally;
}

const UNITS: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `memory-restart`: bytes, or with K, M, G or T (powers of 1024, as PM2's max_memory_restart); above 0. */
export function parseMemoryRestart(text: string): { bytes: number } | { error: string } {
  const m = /^\s*(\d{1,15})\s*([KMGT]?)B?\s*$/i.exec(text);
  const bytes = m ? Number(m[1]) * UNITS[m[2]!.toUpperCase()]! : 0;
  if (!m || bytes === 0 || !Number.isSafeInteger(bytes)) return { error: 'invalid memory-restart: not a number of bytes above 0 (K, M, G or T allowed)' };
  return { bytes };
}

/** `memory-restart`: run is restarted once its memory is above this many bytes. */
export const readMemoryRestart = (dir: string, warn: Warn): number | undefined => readParsed(dir, 'memory-restart', parseMemoryRestart, warn)?.bytes;

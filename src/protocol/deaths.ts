// supervise/deaths: how a program ended, each time (runit-ts's file;
// runit keeps no record, and reads no such file). The first line counts
// every death since the supervisor started; then one line per recent
// death, oldest first, as s6-svdt prints s6's death tally:
//
//   deaths 1234
//   @400000006b0fcb6512c65004 exitcode 1
//   @400000006b0fcb6a0f5a1234 signal SIGKILL
//
// At most `max-death-tally` records are kept (s6's file and meaning:
// 0 to 4096, default 100). Pure: the supervisor writes it, `runit-ts
// status`, the HTTP server and the give-up policy read it.
import { signalName, signalNumber } from '../util/signals.js';
import { parseTaiLabel, taiLabel, unixSeconds, type Tai64n } from './tai64n.js';

export const DEFAULT_DEATH_TALLY = 100;
export const MAX_DEATH_TALLY = 4096;

export type Death = { time: Tai64n; code: number; signal?: undefined } | { time: Tai64n; signal: number; code?: undefined };

export interface Deaths {
  /** deaths since the supervisor started (more than the records kept) */
  total: number;
  /** the most recent ones, oldest first */
  records: Death[];
}

/** One record as s6-svdt prints it. */
export function deathLine(d: Death): string {
  return d.signal !== undefined ? `${taiLabel(d.time)} signal ${signalName(d.signal)}` : `${taiLabel(d.time)} exitcode ${d.code}`;
}

export function formatDeaths(deaths: Deaths): string {
  return `deaths ${deaths.total}\n${deaths.records.map((d) => `${deathLine(d)}\n`).join('')}`;
}

/** The file's text read back; lines that do not parse are left out (undefined when the first line is wrong). */
export function parseDeaths(text: string): Deaths | undefined {
  const [head, ...lines] = text.split('\n');
  const m = /^deaths (\d+)$/.exec(head ?? '');
  if (!m) return undefined;
  const records: Death[] = [];
  for (const line of lines) {
    const r = /^(@[0-9a-f]{24}) (exitcode|signal) (\S+)$/.exec(line);
    const time = r && parseTaiLabel(r[1]!);
    if (!r || !time) continue;
    if (r[2] === 'exitcode') {
      if (/^\d{1,3}$/.test(r[3]!)) records.push({ time, code: Number(r[3]) });
    } else {
      const signal = signalNumber(r[3]!);
      if (signal !== undefined) records.push({ time, signal });
    }
  }
  return { total: Number(m[1]), records };
}

/** `deaths` after one more, keeping the last `tally` records. */
export function addDeath(deaths: Deaths, death: Death, tally: number): Deaths {
  const records = [...deaths.records, death];
  return { total: deaths.total + 1, records: records.slice(Math.max(0, records.length - tally)) };
}

/** How many of the records fall in the last `seconds` before `now` (unix seconds), and after `after` when given. */
export function deathsWithin(deaths: Deaths, seconds: number, now: number, after?: Tai64n): number {
  const since = now - seconds;
  const later = (t: Tai64n) => after === undefined || t.sec > after.sec || (t.sec === after.sec && t.nsec > after.nsec);
  return deaths.records.filter((d) => unixSeconds(d.time) >= since && later(d.time)).length;
}

/**
 * The `max-death-tally` file's number: 0 to 4096, else an error text
 * (runsv's warning format) and the default applies.
 */
export function parseDeathTally(text: string): { tally: number } | { error: string } {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return { error: `max-death-tally: not a number: ${JSON.stringify(t.slice(0, 40))}` };
  const n = Number(t);
  return n > MAX_DEATH_TALLY ? { error: `max-death-tally: ${n} is more than ${MAX_DEATH_TALLY}` } : { tally: n };
}

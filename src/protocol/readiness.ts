// supervise/readiness: runit-ts's record of a service's readiness
// (docs/readiness.md), one writer (supervisor/status-files.ts) and the
// readers (sv, runit-ts status). runit has no such file and never reads
// it; the 20-byte supervise/status is unchanged. The file exists only for
// a service that declares readiness (notification-fd, notify-socket) or
// waits for its needs/; without it, a client shows exactly what runit does.
// It is written (.new + rename) before the status record that goes with
// it, so a client that sees a new run in supervise/status already finds
// that run's readiness here.
//
// Format: lines `KEY VALUE`, the first one always `state`:
//   state ready @TAI64N     ready since that time
//   state starting          started, not ready yet
//   state late              not ready after timeout-ready
//   state reloading         RELOADING=1, until the next READY=1
//   state stopping          STOPPING=1
//   state never             notification-fd closed without a newline
//   state down              no run process
//   state none              readiness not declared (only waiting/ lines follow)
//   status TEXT             STATUS= text (one line, as sd_notify splits lines)
//   waiting NAME ...        needs/ not up and ready yet: run is held back
//   errno N                 ERRNO=
//   exit-status N           EXIT_STATUS=
//   mainpid N               MAINPID= (recorded, not followed)
import { readFileSync } from 'node:fs';
import { parseTaiLabel, taiLabel, type Tai64n } from './tai64n.js';

export const READINESS_FILE = 'readiness';

export type ReadinessState = 'ready' | 'starting' | 'late' | 'reloading' | 'stopping' | 'never' | 'down' | 'none';

const STATES = new Set<string>(['ready', 'starting', 'late', 'reloading', 'stopping', 'never', 'down', 'none']);

export interface ReadinessRecord {
  state: ReadinessState;
  /** when it became ready (state `ready`) */
  since?: Tai64n;
  /** STATUS= text, '' when none */
  status: string;
  /** needed services not up and ready yet */
  waiting: readonly string[];
  errno?: number;
  exitStatus?: number;
  mainPid?: number;
}

export function encodeReadiness(r: ReadinessRecord): string {
  let text = r.state === 'ready' && r.since ? `state ready ${taiLabel(r.since)}\n` : `state ${r.state}\n`;
  if (r.status) text += `status ${r.status.replace(/[\r\n]/g, ' ')}\n`;
  if (r.waiting.length) text += `waiting ${r.waiting.join(' ')}\n`;
  if (r.errno !== undefined) text += `errno ${r.errno}\n`;
  if (r.exitStatus !== undefined) text += `exit-status ${r.exitStatus}\n`;
  if (r.mainPid !== undefined) text += `mainpid ${r.mainPid}\n`;
  return text;
}

/** The record in `text`; undefined when it is not one (a client then shows runit's view). */
export function parseReadiness(text: string): ReadinessRecord | undefined {
  const lines = text.split('\n');
  const first = /^state ([a-z]+)(?: (@[0-9a-f]{24}))?$/.exec(lines[0] ?? '');
  if (!first || !STATES.has(first[1]!)) return undefined;
  const r: ReadinessRecord = { state: first[1] as ReadinessState, status: '', waiting: [] };
  if (first[2]) r.since = parseTaiLabel(first[2]);
  for (const line of lines.slice(1)) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const key = line.slice(0, sp);
    const value = line.slice(sp + 1);
    const n = /^\d{1,10}$/.test(value) ? Number(value) : undefined;
    if (key === 'status') r.status = value;
    else if (key === 'waiting') r.waiting = value.split(' ').filter(Boolean);
    else if (key === 'errno' && n !== undefined) r.errno = n;
    else if (key === 'exit-status' && n !== undefined) r.exitStatus = n;
    else if (key === 'mainpid' && n !== undefined) r.mainPid = n;
  }
  return r;
}

/** supervise/readiness of `superviseDir`; undefined when absent or not a record. */
export function readReadiness(superviseDir: string): ReadinessRecord | undefined {
  let text: string;
  try {
    text = readFileSync(`${superviseDir}/${READINESS_FILE}`, 'utf8');
  } catch {
    return undefined;
  }
  return parseReadiness(text);
}

/** Whether the record declares readiness (not only needs). */
export function declaresReadiness(r: ReadinessRecord | undefined): boolean {
  return r !== undefined && r.state !== 'none';
}

/** Up and ready for what needs it: a run with no readiness declared, or ready. */
export function upAndReady(run: boolean, r: ReadinessRecord | undefined): boolean {
  return run && (!declaresReadiness(r) || r!.state === 'ready');
}

/**
 * What sv status adds for a service with a record (runit's line is left
 * as it is without one): `, ready 36s`, `, starting`, `, waiting for db`,
 * `, status: TEXT`. `nowSec` is TAI seconds; `running` is state run.
 */
export function readinessSuffix(r: ReadinessRecord | undefined, running: boolean, nowSec: bigint): string {
  if (!r) return '';
  let s = '';
  if (running && r.state !== 'none' && r.state !== 'down') {
    if (r.state === 'ready') s += `, ready ${r.since && nowSec > r.since.sec ? nowSec - r.since.sec : 0n}s`;
    else if (r.state === 'late') s += ', not ready (timeout-ready passed)';
    else if (r.state === 'never') s += ', not ready';
    else s += `, ${r.state}`;
  }
  if (!running && r.waiting.length) s += `, waiting for ${r.waiting.join(' ')}`;
  if (r.status && r.state !== 'none') s += `, status: ${r.status}`;
  return s;
}

// A supervisor that starts where another one died (SIGKILL, a crash) finds
// the service that one left running and adopts it instead of starting a
// second copy (runit itself starts a duplicate: docs/differences.md, runsv-adopt).
import { readFileSync } from 'node:fs';
import { decodeStatus, State, type Status } from '../protocol/status.js';
import { processStartTime } from '../sys/proc.js';
import { parseRecord } from '../protocol/supervise-record.js';

export interface Adoptable {
  pid: number;
  startTime: string;
  status: Status;
  /** the stat line said `want exit`, which the status byte cannot */
  wantExit: boolean;
}

function read(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The process recorded in `superviseDir` if it still runs: the status names
 * it, and its start time in /proc matches the one recorded at spawn. Also
 * the log pipe recorded there, if any.
 */
export function findAdoptable(superviseDir: string): { found: Adoptable | undefined; logPipe: string | undefined } {
  // the record is kept in the lock (supervise-record.ts); an older runit-ts kept it in pidstart
  const record =
    parseRecord(read(`${superviseDir}/lock`)?.toString('latin1') ?? '') ??
    parseRecord((read(`${superviseDir}/pidstart`)?.toString('latin1') ?? '').replace(/\n$/, ''));
  const logPipe = record?.logPipe;
  if (!record?.pid || record.startTime === undefined) return { found: undefined, logPipe };
  const status = decodeStatus(read(`${superviseDir}/status`) ?? Buffer.alloc(0));
  if (!status || status.state === State.Down) return { found: undefined, logPipe };
  const { pid, startTime } = record;
  // never this process: a logger it hosts is not something to adopt
  if (pid === process.pid || status.pid !== pid || processStartTime(pid) !== startTime) return { found: undefined, logPipe };
  const stat = read(`${superviseDir}/stat`)?.toString('latin1') ?? '';
  return { found: { pid, startTime, status, wantExit: stat.includes('want exit') }, logPipe };
}

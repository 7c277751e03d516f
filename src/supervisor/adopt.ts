// A supervisor that starts where another one died (SIGKILL, a crash) finds
// the service that one left running and adopts it instead of starting a
// second copy (runit itself starts a duplicate: docs/differences.md, runsv-adopt).
import { readFileSync } from 'node:fs';
import { decodeStatus, State, type Status } from '../protocol/status.js';
import { processStartTime } from '../sys/proc.js';

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
 * it, and its start time in /proc matches the one recorded at spawn.
 */
export function findAdoptable(superviseDir: string): Adoptable | undefined {
  const record = /^(\d+) (\d+)\n$/.exec(read(`${superviseDir}/pidstart`)?.toString('latin1') ?? '');
  const status = decodeStatus(read(`${superviseDir}/status`) ?? Buffer.alloc(0));
  if (!record || !status || status.state === State.Down) return undefined;
  const pid = Number(record[1]);
  const startTime = record[2]!;
  // never this process: a logger it hosts is not something to adopt
  if (pid === process.pid || status.pid !== pid || processStartTime(pid) !== startTime) return undefined;
  const stat = read(`${superviseDir}/stat`)?.toString('latin1') ?? '';
  return { pid, startTime, status, wantExit: stat.includes('want exit') };
}

// What the host process was started with, for the programs it starts.
// Node raises the soft RLIMIT_NOFILE to the hard limit before any script
// runs, so a command's launcher records the original (launch.ts).
import { getrlimit, setrlimit, RLIMIT, UNLIMITED } from './limits.js';
import { takeStartState } from './launch.js';
import { parseUnsigned } from '../util/scan.js';

/**
 * The soft RLIMIT_NOFILE this process was started with (taken out of the
 * environment with the other start records, so that no child sees it).
 * Undefined when unknown.
 */
export function takeStartNofile(): bigint | undefined {
  const recorded = takeStartState().nofile;
  if (recorded === undefined) return undefined;
  if (recorded === 'unlimited') return UNLIMITED;
  return recorded === '' ? undefined : parseUnsigned(recorded);
}

/** Put the soft RLIMIT_NOFILE back to what this process was started with. */
export function restoreStartNofile(): void {
  const soft = takeStartNofile();
  if (soft === undefined) return;
  const current = getrlimit(RLIMIT.NOFILE);
  if (current.soft !== soft && soft <= current.hard) setrlimit(RLIMIT.NOFILE, { soft, hard: current.hard });
}

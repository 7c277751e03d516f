// What the host process was started with, for the programs it starts.
// Node raises the soft RLIMIT_NOFILE to the hard limit before any script
// runs, so the launchers in bin/ record the original in RUNIT_TS_NOFILE.
import { getrlimit, setrlimit, RLIMIT, UNLIMITED } from './limits.js';

const ENV_NAME = 'RUNIT_TS_NOFILE';

/**
 * The soft RLIMIT_NOFILE this process was started with, taken out of the
 * environment so that no child sees the variable. Undefined when unknown.
 */
export function takeStartNofile(): bigint | undefined {
  const recorded = process.env[ENV_NAME];
  delete process.env[ENV_NAME];
  if (recorded === undefined) return undefined;
  if (recorded === 'unlimited') return UNLIMITED;
  return /^\d+$/.test(recorded) ? BigInt(recorded) : undefined;
}

/** Put the soft RLIMIT_NOFILE back to what this process was started with. */
export function restoreStartNofile(): void {
  const soft = takeStartNofile();
  if (soft === undefined) return;
  const current = getrlimit(RLIMIT.NOFILE);
  if (current.soft !== soft && soft <= current.hard) setrlimit(RLIMIT.NOFILE, { soft, hard: current.hard });
}

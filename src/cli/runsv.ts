// runsv DIR: supervise one service directory (runsv(8)).
import { Supervisor, SetupError, STOP_KILL_AFTER_ENV } from '../supervisor/supervisor.js';
import { restoreStartNofile } from '../sys/host-state.js';
import { takeStartState } from '../sys/launch.js';
import { writeErr, usage, programName } from './output.js';
import { nameProcess } from '../sys/process-name.js';

nameProcess(['runsv', ...process.argv.slice(2)]);

// runsvdir --isolate's bound on a stop, which services do not see
const killAfterMs = Number(process.env[STOP_KILL_AFTER_ENV]) || undefined;
delete process.env[STOP_KILL_AFTER_ENV];
// services get the environment runsv was given
takeStartState();
const args = process.argv.slice(2);
if (args.length !== 1) usage(programName(), ' dir', 1);
const dir = args[0]!;
const prefix = `runsv ${dir}: `;

// services inherit this process's limits, as under runit's runsv
restoreStartNofile();

let supervisor: Supervisor;
try {
  supervisor = new Supervisor(dir, {
    warn: (m) => writeErr(`${prefix}warning: ${m}\n`),
    fatal: (m) => writeErr(`${prefix}fatal: ${m}\n`),
  });
} catch (err) {
  if (!(err instanceof SetupError)) throw err;
  writeErr(`${prefix}fatal: ${err.message}\n`);
  process.exit(111);
}
process.on('SIGTERM', () => supervisor.terminate(killAfterMs));
supervisor.done.then(() => process.exit(0));
supervisor.start();

// runsvchdir dir (runsvchdir(8)). RUNSVDIR overrides /etc/runit/runsvdir,
// as in later runit versions.
import { writeErr, writeOut } from './output.js';
import { takeStartState } from '../sys/launch.js';
import { changeServiceDir, DEFAULT_RUNSVDIR } from '../init/runsvchdir.js';

const argv0 = takeStartState().argv0 || 'runsvchdir';
const dir = process.argv[2];
if (dir === undefined) {
  writeErr(`usage: ${argv0} dir\n\n`);
  process.exit(1);
}
const outcome = changeServiceDir(argv0, dir, process.env.RUNSVDIR || DEFAULT_RUNSVDIR);
if (outcome.stderr) writeErr(outcome.stderr);
if (outcome.stdout) writeOut(outcome.stdout);
process.exit(outcome.code);

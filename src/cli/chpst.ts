// chpst and its daemontools personalities (chpst(8)): the personality is
// the name chpst is invoked as, which its launcher passes on (sys/launch.ts).
import { takeStartState } from '../chpst/start-state.js';
import { parseArgs } from '../chpst/options.js';
import { applyPlan } from '../chpst/apply.js';
import { writeErr, usage, programName } from './output.js';

const start = takeStartState(programName());
const plan = parseArgs(start.argv0, start.args, { extensions: true });
if ('usage' in plan) {
  if (plan.message !== undefined) writeErr(`${plan.message}\n`);
  usage(plan.name, plan.text, 100);
}
applyPlan(plan, start, {
  warn: (text) => writeErr(`chpst: warning: ${text}\n`),
  fatal: (text) => {
    writeErr(`chpst: fatal: ${text}\n`);
    process.exit(111);
  },
  exit: (code) => process.exit(code),
});

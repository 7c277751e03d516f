// utmpset [-w] line (utmpset(8)). RUNIT_UTMP and RUNIT_WTMP override
// /var/run/utmp and /var/log/wtmp.
import { writeErr } from './output.js';
import { takeStartState } from '../sys/launch.js';
import { sgetopt, getoptMessage } from '../util/getopt.js';
import { utmpLogout, wtmpAppend, UtmpsetError, DEFAULT_UTMP, DEFAULT_WTMP } from '../init/utmpset.js';

const argv0 = takeStartState().argv0 || 'utmpset';
const VERSION = '$Id: runit-ts utmpset 0.1.0 $';
const usage = (): never => {
  writeErr(`usage: ${argv0} [-w] line\n\n`);
  process.exit(1);
};

const state = { index: 0 };
let wtmp = false;
for (const item of sgetopt(process.argv.slice(2), 'wV', state)) {
  if ('error' in item) {
    writeErr(`${argv0.slice(argv0.lastIndexOf('/') + 1)}: ${getoptMessage(item)}\n`);
    usage();
  }
  if (item.opt === 'V') {
    writeErr(`${VERSION}\n`);
    usage();
  }
  wtmp = true;
}
const args = process.argv.slice(2 + state.index);
if (args.length === 0) usage();
const line = args[0]!;
const lineBytes = Buffer.from(line);
const now = Math.floor(Date.now() / 1000);
try {
  if (!utmpLogout(process.env.RUNIT_UTMP || DEFAULT_UTMP, lineBytes, now)) {
    writeErr(`utmpset: warning: unable to logout line ${line} in utmp: no such entry\n`);
    process.exit(111);
  }
  if (wtmp) {
    const problem = wtmpAppend(process.env.RUNIT_WTMP || DEFAULT_WTMP, lineBytes, now);
    if (problem !== undefined) {
      writeErr(`utmpset: warning: unable to logout line ${line} in wtmp: ${problem}\n`);
      process.exit(111);
    }
  }
} catch (err) {
  if (err instanceof UtmpsetError) {
    writeErr(`utmpset: ${err.message}\n`);
    process.exit(111);
  }
  throw err;
}
process.exit(0);

// utmpset [-w] line (reference §8.4). RUNIT_UTMP and RUNIT_WTMP override
// /var/run/utmp and /var/log/wtmp.
import { writeErr } from './output.js';
import { utmpLogout, wtmpAppend, UtmpsetError, DEFAULT_UTMP, DEFAULT_WTMP } from '../init/utmpset.js';

const argv0 = process.env.RUNIT_TS_ARGV0 || 'utmpset';
delete process.env.RUNIT_TS_ARGV0;
const VERSION = '$Id: runit-ts utmpset 0.1.0 $';
const usage = (): never => {
  writeErr(`usage: ${argv0} [-w] line\n\n`);
  process.exit(1);
};

// djb's sgetopt with "wV": options before operands, `--` ends them
const args = process.argv.slice(2);
let wtmp = false;
while (args.length && args[0]!.startsWith('-') && args[0] !== '-') {
  const word = args.shift()!;
  if (word === '--') break;
  for (const c of word.slice(1)) {
    if (c === 'w') wtmp = true;
    else if (c === 'V') {
      writeErr(`${VERSION}\n`);
      usage();
    } else {
      writeErr(`${argv0.slice(argv0.lastIndexOf('/') + 1)}: illegal option -- ${c}\n`);
      usage();
    }
  }
}
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

// svlogd [-tttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...   (svlogd(8))
// Reads standard input; signals drive the engine: HUP reopens, ALRM
// rotates, TERM finishes.
import { openSync, closeSync } from 'node:fs';
import { writeErr, programName } from './output.js';
import { parseSvlogdArgs, USAGE } from '../logger/args.js';
import { Logger } from '../logger/logger.js';
import { textReporter } from '../logger/report.js';
import { restoreStartNofile } from '../sys/host-state.js';
import { takeStartState } from '../sys/launch.js';
import { errorTextOf } from '../sys/errstr.js';
import { writeAll } from '../sys/write.js';
import { nameProcess } from '../sys/process-name.js';

nameProcess(['svlogd', ...process.argv.slice(2)]);

const VERSION = '$Id: runit-ts svlogd 0.1.0 $';

// processors get the environment svlogd was given
takeStartState();

function usage(): never {
  writeErr(`usage: ${programName()}${USAGE}\n\n`);
  process.exit(111);
}

const args = parseSvlogdArgs(process.argv.slice(2));
if (!args.ok) {
  if (args.problem === 'version') writeErr(`${VERSION}\n`);
  else if (args.problem === 'option') writeErr(`${programName()}: ${args.message}\n`);
  usage();
}
const options = args.options;

try {
  closeSync(openSync('.', 'r'));
} catch (err) {
  writeErr(`svlogd: fatal: unable to open current working directory: ${errorTextOf(err)}\n`);
  process.exit(111);
}

// processors get the limits svlogd was started with
restoreStartNofile();

function writeStderr(data: string | Buffer): void {
  // stderr may be a non-blocking pipe shared with others
  writeAll(2, data, { waitWhenFull: true });
}

const logger = new Logger({
  input: 0,
  dirs: options.dirs,
  timestamp: options.timestamp,
  verbose: options.verbose,
  replacement: options.replacement,
  replaceBytes: options.replaceBytes,
  lineMax: options.lineMax,
  bufLen: options.bufLen,
  reporter: textReporter(writeStderr),
});

const info = (text: string): void => {
  if (options.verbose) writeStderr(`svlogd: info: ${text}\n`);
};
process.on('SIGHUP', () => {
  info('sighangup received.');
  logger.reopen();
});
process.on('SIGALRM', () => {
  info('sigalarm received.');
  logger.rotate();
});
process.on('SIGTERM', () => {
  info('sigterm received.');
  logger.terminate();
});

logger.done.then((exit) => process.exit(exit.code));
logger.start();

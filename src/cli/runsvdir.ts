// runsvdir [--isolate] [-P] dir [log]: supervise every service in dir
// (runsvdir(8); differences in README and docs/differences.md).
import { resolve } from 'node:path';
import { Scanner } from '../scanner/scanner.js';
import { hostCanonicalLoggers } from '../scanner/hosted-log.js';
import { startProcTitleLog } from '../scanner/proctitle-log.js';
import { HostOutput, takesAll } from '../scanner/host-output.js';
import { nonblockingWriter } from '../sys/nonblocking-writer.js';
import { takeStartNofile } from '../sys/host-state.js';
import { raiseNofile } from '../sys/limits.js';
import { readFileSync } from 'node:fs';
import { usage, programName } from './output.js';
import { nameProcess } from '../sys/process-name.js';

// pidof runsvdir finds it (Debian's LSB hook asks so), not `node`
nameProcess(['runsvdir', ...process.argv.slice(2)]);

const args = process.argv.slice(2);
let isolate = false;
let hostLogs = true;
// our additions come first; runit would take a leading `--x` for `--`
for (;;) {
  if (args[0] === '--isolate') isolate = true;
  else if (args[0] === '--no-hosted-logs') hostLogs = false;
  else break;
  args.shift();
}
let newSession = false;
// runit looks at one argument only: -P, or -- (anything else is the directory)
if (args[0]?.startsWith('-')) {
  if (args[0][1] === 'P') {
    newSession = true;
    args.shift();
  } else if (args[0][1] === '-') args.shift();
}
if (args.length === 0) usage(programName(), ' [-P] dir', 1);
const dirArg = args[0]!;
const logArg = args[1];

// With the log argument, fd 2 becomes a pipe shown in the process title.
const title = logArg === undefined ? undefined : startProcTitleLog(process.argv.slice(2, -1).join(' '), logArg);
// Every message of this process, whoever says it, goes out through this
// one path, which never waits on the reader: to the title with the log
// argument, else to fd 2 (kept, then dropped and counted, while it is full).
const output = new HostOutput(title ? takesAll(title) : nonblockingWriter(2), (n) => `runsvdir ${dirArg}: warning: ${n} bytes of messages dropped\n`);
const warn = (message: string) => output.write(`runsvdir ${dirArg}: warning: ${message}\n`);
if (logArg !== undefined && !title) {
  warn('log must have at least seven characters.');
  warn('log service disabled.');
}
process.on('exit', () => output.flushAtExit());
// Node's own warnings too (it would write them to fd 2 and may block there)
process.removeAllListeners('warning');
process.on('warning', (w) => warn(`${w.name}: ${w.message}`));

// Services get the NOFILE limits runsvdir was started with; runsvdir itself
// needs many descriptors (12 to 16 per service with an in-process logger,
// src/scanner/fd-budget.ts): its soft limit goes up to the hard one, and
// the hard one up to fs.nr_open where it may (CAP_SYS_RESOURCE: root, as
// runit's stage 2 under a kernel that gives init 1024/4096). Where it may
// not, the hard limit bounds how many services one runsvdir can host.
const childNofile = takeStartNofile();
raiseNofile(readNrOpen());

const scanner = new Scanner({
  dir: resolve(dirArg),
  isolate,
  supervisor: {
    newSession,
    childNofile,
    hostLog: hostLogs && !isolate ? hostCanonicalLoggers({ childNofile, write: (data) => output.write(data) }) : undefined,
  },
  print: (line) => output.write(`${line}\n`),
  warn,
});

/** The kernel's ceiling for RLIMIT_NOFILE (fs.nr_open), if /proc tells. */
function readNrOpen(): bigint | undefined {
  try {
    return BigInt(readFileSync('/proc/sys/fs/nr_open', 'latin1').trim());
  } catch {
    return undefined;
  }
}

process.on('uncaughtException', (err) => warn(`internal error: ${err.stack ?? err.message}`));
process.on('SIGALRM', () => scanner.forceRescan());
let exiting = false;
// In-process supervisors die with this process, so TERM and HUP stop every
// service (and its log after it) before runsvdir exits.
const shutdown = (code: number) => {
  if (exiting) return;
  exiting = true;
  if (isolate && code === 0) process.exit(0); // runit: runsv processes keep running
  if (isolate) {
    scanner.abandonAll();
    process.exit(code);
  }
  scanner.stopAll().then(() => process.exit(code));
};
process.on('SIGTERM', () => shutdown(0));
process.on('SIGHUP', () => shutdown(111));
scanner.start();

// runsvdir [--isolate] [-P] dir [log]: supervise every service in dir
// (reference §4; differences in README and docs/differences.md).
import { resolve } from 'node:path';
import { Socket } from 'node:net';
import { Scanner } from '../scanner/scanner.js';
import { hostCanonicalLoggers } from '../scanner/hosted-log.js';
import { MIN_LOG_LENGTH, slideLog } from '../scanner/proctitle-log.js';
import { takeStartNofile } from '../sys/host-state.js';
import { getrlimit, setrlimit, RLIMIT } from '../sys/limits.js';
import { pipe, dup2 } from '../sys/fd.js';
import { writeErr, usage, programName } from './output.js';

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
// runsvdir's own messages; with the log argument they go to the title
let emit = writeErr;
const warn = (message: string) => emit(`runsvdir ${dirArg}: warning: ${message}\n`);

// Services get the NOFILE limit runsvdir was started with; runsvdir itself
// needs many descriptors (several per service).
const childNofile = takeStartNofile();
const nofile = getrlimit(RLIMIT.NOFILE);
if (nofile.soft < nofile.hard) setrlimit(RLIMIT.NOFILE, { soft: nofile.hard, hard: nofile.hard });

if (logArg !== undefined) startProcTitleLog(logArg);

const scanner = new Scanner({
  dir: resolve(dirArg),
  isolate,
  supervisor: { newSession, childNofile, hostLog: hostLogs && !isolate ? hostCanonicalLoggers({ childNofile }) : undefined },
  print: (line) => emit(`${line}\n`),
  warn,
});

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

/**
 * The log argument: runsvdir's stderr (and every service's, inherited)
 * goes into a pipe whose latest bytes stay visible in the process title.
 */
function startProcTitleLog(log: string): void {
  if (log.length < MIN_LOG_LENGTH) {
    warn('log must have at least seven characters.');
    warn('log service disabled.');
    return;
  }
  const fds = pipe();
  dup2(fds.write, 2);
  const head = process.argv.slice(2, process.argv.length - 1).join(' ');
  let text = log;
  const show = () => (process.title = `runsvdir ${head} ${text}`);
  show();
  const append = (bytes: Buffer) => {
    text = slideLog(text, bytes);
    show();
  };
  // Our own messages skip the pipe: this process is its only reader, so a
  // burst of them must never fill it and block the writer.
  emit = (message) => append(Buffer.from(message));
  const reader = new Socket({ fd: fds.read, readable: true, writable: false });
  reader.on('data', append);
  // every 15 minutes a dot, so that old messages scroll away
  setInterval(() => emit('.'), 900_000).unref();
}

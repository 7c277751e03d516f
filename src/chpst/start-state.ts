// The state chpst was started with. Node changes some of it before any
// script runs (closed fds 0-2 are reopened on /dev/null, every signal gets
// its default action but SIGPIPE and SIGXFSZ which are ignored, the signal
// mask is emptied, inherited fds are marked close-on-exec, the soft
// RLIMIT_NOFILE is raised), so chpst's launcher records it (sys/launch.ts);
// this module puts back what can be put back at once, and keeps the rest
// for the exec.
import { readFileSync, closeSync } from 'node:fs';
import { restoreStartNofile } from '../sys/host-state.js';
import { takeStartState as takeLaunchRecords, startEnviron } from '../sys/launch.js';
import { setCloexec } from '../sys/fd.js';
import type { SignalState } from '../sys/exec.js';

export interface StartState {
  /** argv[0] as chpst was invoked (the personality's name) */
  argv0: string;
  /** the arguments after argv[0] */
  args: string[];
  /** the same arguments byte for byte, when /proc tells them */
  rawArgs?: Buffer[];
  /** chpst's environment byte for byte, in order, without the launcher's records */
  environ: Buffer[];
  /** ignored signals and signal mask chpst was started with, when recorded */
  signals?: SignalState;
}

function procEntries(file: string): Buffer[] | undefined {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch {
    return undefined;
  }
  const entries: Buffer[] = [];
  let start = 0;
  for (let i = content.indexOf(0); i >= 0; i = content.indexOf(0, start)) {
    entries.push(content.subarray(start, i));
    start = i + 1;
  }
  if (start < content.length) entries.push(content.subarray(start));
  return entries;
}

function signalSet(text: string | undefined): bigint | undefined {
  return text !== undefined && /^[0-9a-fA-F]{1,16}$/.test(text) ? BigInt(`0x${text}`) : undefined;
}

/**
 * Take the launcher's records; close the fds 0-2 that chpst was started
 * without and make the inherited ones inheritable again.
 */
export function takeStartState(fallbackArgv0: string): StartState {
  const records = takeLaunchRecords();
  const argv0 = records.argv0 || fallbackArgv0;
  const closed = records.fdsClosed ?? '';
  const inherited = (records.fdsInherited ?? '').split(' ').filter((fd) => /^[0-9]+$/.test(fd));
  const ignored = signalSet(records.sigIgn);
  const blocked = signalSet(records.sigBlk);
  restoreStartNofile();

  // Node put /dev/null where chpst had no fd 0, 1 or 2: take it away again,
  // so that the lock file and the program see the descriptors runit's would
  for (const fd of [0, 1, 2]) {
    if (closed.includes(String(fd))) {
      try {
        closeSync(fd);
      } catch {}
    }
  }

  // Node marked the fds chpst inherited close-on-exec: the program inherits them
  for (const fd of inherited) {
    try {
      setCloexec(Number(fd), false);
    } catch {}
  }

  const args = process.argv.slice(2);
  const state: StartState = {
    argv0,
    args,
    environ: startEnviron(procEntries('/proc/self/environ') ?? Object.entries(process.env).map(([k, v]) => Buffer.from(`${k}=${v}`))),
  };
  // /proc/self/cmdline is `node script args...`, undecoded
  const cmdline = procEntries('/proc/self/cmdline');
  if (cmdline && cmdline.length === args.length + 2 && args.every((arg, i) => cmdline[i + 2]!.toString() === arg)) {
    state.rawArgs = cmdline.slice(2);
  }
  if (ignored !== undefined && blocked !== undefined) state.signals = { ignored, blocked };
  return state;
}

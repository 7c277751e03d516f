// How runit-ts's commands are started, and what each was started with.
//
// A command is a module under dist/cli/ that Node runs: for a command that
// starts and ends at once (sv, chpst, ...), the one CommonJS file that
// scripts/bundle.js makes of the module and everything it imports
// (dist/cli/<module>.cjs), so that Node reads and compiles one file and
// does not start its ES module loader; for the long-running ones, the
// module itself (dist/cli/<module>.js). Node changes the
// process as it starts (it raises the soft RLIMIT_NOFILE, reopens closed
// fds 0-2 on /dev/null, marks inherited fds close-on-exec, resets signal
// dispositions and the mask) and loads the certificates that
// NODE_EXTRA_CA_CERTS names, 50-80 ms of start-up for a system bundle,
// although no command makes a TLS connection. So a launcher runs first: it
// records what Node would change in RUNIT_TS_* variables, and passes
// NODE_EXTRA_CA_CERTS under another name. The launchers in bin/ are
// generated from COMMANDS and one template (scripts/launcher.sh, by
// scripts/launchers.js, run by `npm run build`).
//
// takeStartState() is the one reader of those records: it takes them out
// of the environment and puts NODE_EXTRA_CA_CERTS back, so that every
// program a command starts or execs gets the environment the command was
// given. commandInvocation() is the launcher's work for a command that
// starts another one (runsvdir --isolate starts runsv; runit-init as
// process 1 becomes runit). Node's built-ins only: sv loads this too.
import { fileURLToPath } from 'node:url';

/**
 * What a launcher records: `argv0` only (the name it was run as), that and
 * the soft NOFILE limit (`nofile`), or that and the process state chpst
 * hands on (`process`: closed fds 0-2, inherited fds, signal mask and
 * ignored signals).
 */
export type Records = 'argv0' | 'nofile' | 'process';

export interface CommandSpec {
  /** the module that runs: dist/cli/<module>.js, or its bundle dist/cli/<module>.cjs */
  module: string;
  /** Node and V8 options, before the module */
  nodeOptions: readonly string[];
  records: Records;
  /** run from the bundle (scripts/bundle.js): a command whose start-up is most of its run, or a supervisor (its source stays in memory) */
  bundle: boolean;
}

/**
 * V8 options of the long-running supervisors: a small, long-lived heap;
 * small young generation, no optimizing compiler, no GC helper threads
 * (README: memory).
 */
const SUPERVISOR_OPTIONS = [
  '--no-expose-wasm',
  '--max-semi-space-size=1',
  '--min-semi-space-size=0',
  '--initial-heap-size=4',
  '--lite-mode',
  '--single-threaded',
] as const;

const chpst: CommandSpec = { module: 'chpst', nodeOptions: [], records: 'process', bundle: true };

/** Every command name, as in package.json's "bin" (one launcher each). */
export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  runsvdir: { module: 'runsvdir', nodeOptions: SUPERVISOR_OPTIONS, records: 'nofile', bundle: true },
  runsv: { module: 'runsv', nodeOptions: SUPERVISOR_OPTIONS, records: 'nofile', bundle: true },
  sv: { module: 'sv', nodeOptions: [], records: 'argv0', bundle: true },
  chpst,
  envdir: chpst,
  envuidgid: chpst,
  pgrphack: chpst,
  setuidgid: chpst,
  softlimit: chpst,
  setlock: chpst,
  svlogd: { module: 'svlogd', nodeOptions: [], records: 'nofile', bundle: false },
  runit: { module: 'runit', nodeOptions: SUPERVISOR_OPTIONS, records: 'nofile', bundle: false },
  'runit-init': { module: 'runit-init', nodeOptions: [], records: 'nofile', bundle: false },
  runsvchdir: { module: 'runsvchdir', nodeOptions: [], records: 'argv0', bundle: true },
  utmpset: { module: 'utmpset', nodeOptions: [], records: 'argv0', bundle: true },
  // `--` ends Node's options: Node 20 takes an argument `--env-file FILE`
  // (an option of `runit-ts add`) for its own wherever it stands, unless a
  // `--` comes before it (nodejs/node#54232)
  'runit-ts': { module: 'runit-ts', nodeOptions: ['--'], records: 'argv0', bundle: true },
};

/** The file under dist/cli/ that runs for `spec`. */
export function scriptOf(spec: CommandSpec): string {
  return `${spec.module}.${spec.bundle ? 'cjs' : 'js'}`;
}

/** The variables a launcher sets, by what they hold. */
const RECORD = {
  argv0: 'RUNIT_TS_ARGV0',
  nofile: 'RUNIT_TS_NOFILE',
  fdsClosed: 'RUNIT_TS_FDCLOSED',
  fdsInherited: 'RUNIT_TS_FDS',
  sigBlk: 'RUNIT_TS_SIGBLK',
  sigIgn: 'RUNIT_TS_SIGIGN',
} as const;
/** NODE_EXTRA_CA_CERTS, as a launcher passes it on. */
const SAVED_CA = 'RUNIT_TS_EXTRA_CA_CERTS';
const CA = 'NODE_EXTRA_CA_CERTS';
const RECORD_NAMES: readonly string[] = Object.values(RECORD);

/** What a command was started with, as its launcher recorded it (each undefined when not recorded). */
export interface StartState {
  /** argv[0] as the command was run: the launcher's $0 (`/etc/init.d/foo`, `setuidgid`) */
  argv0?: string;
  /** the soft RLIMIT_NOFILE, as `ulimit -Sn` prints it: digits or `unlimited` */
  nofile?: string;
  /** which of fds 0, 1, 2 were closed (`02`) */
  fdsClosed?: string;
  /** the inheritable fds above 2, separated by spaces */
  fdsInherited?: string;
  /** SigBlk and SigIgn of /proc/PID/status (hex) */
  sigBlk?: string;
  sigIgn?: string;
}

let taken: StartState | undefined;

/**
 * The launcher's records, taken out of process.env, and NODE_EXTRA_CA_CERTS
 * put back as the command was given it. The first call does that; later
 * calls return the same records.
 */
export function takeStartState(): StartState {
  if (taken) return taken;
  const env = process.env;
  const state: StartState = {};
  for (const [key, name] of Object.entries(RECORD) as [keyof StartState, string][]) {
    const value = env[name];
    if (value !== undefined) state[key] = value;
    delete env[name];
  }
  const ca = env[SAVED_CA];
  delete env[SAVED_CA];
  if (ca !== undefined) env[CA] = ca;
  taken = state;
  return state;
}

/**
 * The environment a command was given, from the one its launcher handed
 * to Node (/proc/self/environ, byte for byte): the records dropped and
 * NODE_EXTRA_CA_CERTS back in the place of the name it was passed under.
 */
export function startEnviron(entries: readonly Buffer[]): Buffer[] {
  const saved = Buffer.from(`${SAVED_CA}=`);
  const result: Buffer[] = [];
  for (const entry of entries) {
    const eq = entry.indexOf(0x3d);
    const name = eq > 0 ? entry.subarray(0, eq).toString('latin1') : '';
    if (RECORD_NAMES.includes(name)) continue;
    if (name === SAVED_CA) result.push(Buffer.concat([Buffer.from(`${CA}=`), entry.subarray(saved.length)]));
    else result.push(entry);
  }
  return result;
}

/** A soft limit as `ulimit -Sn` prints it. */
function limitText(limit: bigint): string {
  return limit === 0xffffffffffffffffn ? 'unlimited' : String(limit);
}

/**
 * How to start command `name` without its launcher, as the launcher would:
 * this Node with the command's options and module; `env` with the soft
 * NOFILE limit the command is to hand on (`nofile`, when known) recorded,
 * and NODE_EXTRA_CA_CERTS passed under the launcher's name for it. The
 * command's own arguments follow `args`.
 */
export function commandInvocation(name: string, env: NodeJS.ProcessEnv, nofile?: bigint): { file: string; args: string[]; env: Record<string, string> } {
  const spec = COMMANDS[name];
  if (!spec) throw new Error(`no such command: ${name}`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || RECORD_NAMES.includes(key) || key === SAVED_CA) continue;
    out[key === CA ? SAVED_CA : key] = value;
  }
  if (nofile !== undefined && spec.records !== 'argv0') out[RECORD.nofile] = limitText(nofile);
  const script = fileURLToPath(new URL(`../cli/${scriptOf(spec)}`, import.meta.url));
  return { file: process.execPath, args: [...spec.nodeOptions, script], env: out };
}

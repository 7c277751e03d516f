// Applying a plan in runit's order (chpst(8)), then exec. Every
// failure ends chpst before anything is executed.
import { openSync, closeSync, constants } from 'node:fs';
import { setsid, nice, chdir, chroot } from '../sys/process.js';
import { getUser, getGroup, setGroups, setGid, setUid } from '../sys/identity.js';
import { flockExclusive } from '../sys/fd.js';
import { getrlimit, setrlimit, RLIMIT } from '../sys/limits.js';
import { execProgram } from '../sys/exec.js';
import { lowestFreeAfterExec } from '../sys/descriptors.js';
import { errorTextOf } from '../sys/errstr.js';
import { LIMIT_ORDER, softLimit, type Plan, type UserSpec, type LimitValue, type Resource } from './options.js';
import { resolveAccount, resolveExtended, type Ids, type Lookup } from './uidgid.js';
import { Environment } from './environment.js';
import { getEnv } from '../util/environ.js';
import { readEnvDir, EnvDirError } from './envdir.js';
import type { StartState } from './start-state.js';

export interface Reporter {
  warn(text: string): void;
  /** print `chpst: fatal: text` and exit 111 */
  fatal(text: string): never;
  /** exit quietly with this code (setlock -x) */
  exit(code: number): never;
}

const lookup: Lookup = { user: getUser, group: getGroup };

function resolve(user: UserSpec, report: Reporter): Ids {
  let ids: Ids | 'invalid' | 'unknown';
  try {
    ids = user.extended ? resolveExtended(user.spec, lookup) : resolveAccount(user.spec, lookup);
  } catch (err) {
    report.fatal(`unable to get ${user.extended ? 'password/group' : 'password'} file entry: ${errorTextOf(err)}`);
  }
  if (ids === 'invalid') report.fatal(`invalid uid/gids: ${user.spec.slice(1)}`);
  if (ids === 'unknown') report.fatal(`${user.extended ? 'unknown user/group' : 'unknown account'}: ${user.spec}`);
  return ids;
}

function step(report: Reporter, text: string, action: () => void): void {
  try {
    action();
  } catch (err) {
    report.fatal(`${text}: ${errorTextOf(err)}`);
  }
}

const CLOSE_NAMES = ['stdin', 'stdout', 'stderr'];

/** Change the process state as `plan` says, then exec the program. Never returns. */
export function applyPlan(plan: Plan, start: StartState, report: Reporter): never {
  const env = new Environment(start.environ);

  // 1. new session: fails harmlessly for a process group leader
  if (plan.setsid) setsid();

  // 2. environment directory
  if (plan.envDir) {
    const { dir, skipSubdirs } = plan.envDir;
    try {
      const warn = (text: string): void => {
        if (plan.verbose) report.warn(text);
      };
      for (const { name, value } of readEnvDir(dir, { skipSubdirs, warn })) {
        if (value === undefined) env.unset(name);
        else env.set(name, value);
      }
    } catch (err) {
      if (err instanceof EnvDirError) report.fatal(err.message);
      throw err;
    }
  }

  // 3. root directory, 4. working directory (-C, as void's chpst)
  if (plan.root !== undefined) {
    const root = plan.root;
    step(report, `unable to change directory: ${root}`, () => chdir(root));
    step(report, 'unable to change root directory', () => chroot('.'));
  }
  if (plan.chdir !== undefined) {
    const dir = plan.chdir;
    step(report, `unable to change directory: ${dir}`, () => chdir(dir));
  }

  // 5. nice
  if (plan.nice) step(report, 'unable to set nice level', () => nice(plan.nice));

  // 6. $UID and $GID, 7. groups, gid, uid: names are looked up inside the new root
  if (plan.envUser) {
    const ids = resolve(plan.envUser, report);
    env.set('GID', String(ids.gids[0]));
    env.set('UID', String(ids.uid));
  }
  if (plan.setUser) {
    const ids = resolve(plan.setUser, report);
    step(report, 'unable to setgroups', () => setGroups(ids.gids));
    step(report, 'unable to setgid', () => setGid(ids.gids[0]!));
    step(report, 'unable to setuid', () => setUid(ids.uid));
  }

  // 8. lock, opened as the new user inside the new root; it stays open for the program
  let placeFd: { fd: number; target: number } | undefined;
  if (plan.lock) {
    const { path, wait } = plan.lock;
    let fd = -1;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o600);
    } catch (err) {
      if (plan.quietFailure) report.exit(0);
      report.fatal(`unable to open lock: ${path}: ${errorTextOf(err)}`);
    }
    try {
      flockExclusive(fd, wait, path);
    } catch (err) {
      if (plan.quietFailure) report.exit(0);
      report.fatal(`unable to lock: ${path}: ${errorTextOf(err)}`);
    }
    // the program finds it where runit's chpst would have opened it
    placeFd = { fd, target: Math.min(fd, lowestFreeAfterExec()) };
  }

  // 9. close stdin, stdout, stderr
  plan.close.forEach((close, fd) => {
    if (close) step(report, `unable to close ${CLOSE_NAMES[fd]}`, () => closeSync(fd));
  });

  // 10. soft limits
  for (const resource of LIMIT_ORDER) {
    const value = plan.limits[resource];
    if (value !== undefined) setLimit(resource, value, report);
  }

  // 11. exec: searched with chpst's own PATH, not the computed one
  const program: (string | Buffer)[] = start.rawArgs ? start.rawArgs.slice(plan.programIndex) : [...plan.program];
  const file = program[0]!;
  if (plan.argv0 !== undefined) program[0] = plan.argv0;
  try {
    execProgram(file, program, env.entries(), {
      searchPath: getEnv(start.environ, 'PATH') ?? null,
      // chpst never touches process.stdin/stdout/stderr: their flags are as given
      keepNonblock: true,
      ...(start.signals ? { signals: start.signals } : {}),
      ...(placeFd ? { placeFd } : {}),
    });
  } catch (err) {
    if (plan.quietFailure) report.exit(0);
    report.fatal(`unable to run: ${program[0]!.toString()}: ${errorTextOf(err)}`);
  }
}

function setLimit(resource: Resource, value: LimitValue, report: Reporter): void {
  const id = RLIMIT[resource];
  let current: { soft: bigint; hard: bigint } | undefined;
  step(report, 'unable to getrlimit()', () => {
    current = getrlimit(id);
  });
  const hard = current!.hard;
  step(report, 'unable to setrlimit()', () => setrlimit(id, { soft: softLimit(value, hard), hard }));
}

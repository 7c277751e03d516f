// Whether this start of ./run is a chpst line the supervisor applies
// itself (chpst/hosted.ts; README: "chpst applied by the supervisor"), and
// the exec it becomes: read at each start, as runsv runs ./run afresh.
import { resolve } from 'node:path';
import { readSmall } from '../sys/small-file.js';
import { executeAccess, findProgram, pathExists } from '../sys/access.js';
import { getrlimit, RLIMIT, childHardNofile } from '../sys/limits.js';
import { getGroupAsync, getUserAsync } from '../sys/identity.js';
import { parseHostedChpst, hostedExec, type HostedExec, type HostedTools } from '../chpst/hosted.js';
import { namesIn, resolveExtended, type Ids } from '../chpst/uidgid.js';
import type { Resource } from '../chpst/options.js';

/** A service directory with this file runs its chpst line as a process, as under runit. */
export const OPT_OUT_FILE = 'no-hosted-chpst';

const TOOL_DIRS = '/usr/bin:/bin:/usr/sbin:/sbin';
let tools: HostedTools | null | undefined;

/** setpriv(1) and nice(1), where util-linux and coreutils put them; null without both. */
function findTools(): HostedTools | null {
  const setpriv = findProgram('setpriv', TOOL_DIRS, '/');
  const nice = findProgram('nice', TOOL_DIRS, '/');
  return setpriv && nice ? { setpriv, nice } : null;
}

/**
 * What to execute instead of `dir`/run, with `env` as its environment;
 * undefined to run ./run (anything the supervisor cannot apply exactly,
 * and whatever would fail: chpst itself then says why, in its words). A
 * promise where a user or group name is to be looked up.
 */
export function hostedChpst(dir: string, env: NodeJS.ProcessEnv): HostedExec | Promise<HostedExec | undefined> | undefined {
  let line: ReturnType<typeof parseHostedChpst>;
  try {
    line = parseHostedChpst(readSmall(`${dir}/run`));
  } catch {
    return undefined; // ./run unreadable: starting it says why
  }
  if (!line || !executeAccess(`${dir}/run`) || pathExists(`${dir}/${OPT_OUT_FILE}`)) return undefined;
  const { chpst, plan } = line;
  // only root may change its user, or lower its nice level
  if ((plan.setUser || plan.nice < 0) && process.getuid?.() !== 0) return undefined;
  if (!runnable(chpst, env, dir) || !runnable(plan.program[0]!, env, dir)) return undefined;
  const found = (tools ??= findTools());
  if (!found) return undefined;
  if (!plan.setUser) return hostedExec(plan, undefined, hardLimit, found);
  return lookUp(plan.setUser.spec).then(
    (user) => (user ? hostedExec(plan, user, hardLimit, found) : undefined),
    () => undefined,
  );
}

/** `file` can be executed as execvp would find it from `dir`. */
function runnable(file: string, env: NodeJS.ProcessEnv, dir: string): boolean {
  const path = findProgram(file, env.PATH, dir);
  return path !== undefined && executeAccess(resolve(dir, path));
}

/** chpst -u's ids, the names looked up off the event loop; undefined for an unknown or invalid one. */
async function lookUp(spec: string): Promise<Ids | undefined> {
  const names = namesIn(spec);
  const user = names.user === undefined ? undefined : await getUserAsync(names.user);
  const groups = new Map<string, number | undefined>();
  for (const name of names.groups) groups.set(name, await getGroupAsync(name));
  const ids = resolveExtended(spec, { user: () => user, group: (name) => groups.get(name) });
  return typeof ids === 'object' ? ids : undefined;
}

/** The hard limit a started program has: the host's, or for NOFILE the one it was started with. */
function hardLimit(resource: Resource): bigint {
  return (resource === 'NOFILE' ? childHardNofile() : undefined) ?? getrlimit(RLIMIT[resource]).hard;
}

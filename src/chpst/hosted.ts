// A service's ./run that is nothing but `exec chpst OPTIONS PROG ARGS`
// (util/exec-line.ts), carried out by the supervisor without starting a
// chpst (README: "chpst applied by the supervisor"): the shell that starts
// every contained program sets the soft limits and closes descriptors,
// then execs setpriv(1) for the user and groups and nice(1) for the nice
// level, which exec PROG. The program starts in the state chpst would have
// left it in; what this cannot reproduce exactly is not taken (the line
// then runs as a process, as under runit). Pure.
import { parseExecLine, namesProgram } from '../util/exec-line.js';
import { parseArgs, softLimit, type Plan, type Resource } from './options.js';
import { UNLIMITED } from '../sys/limits.js';
import type { Ids } from './uidgid.js';

/**
 * The limits taken, with the letter of dash's `ulimit` for each: those it
 * counts in units of one, so the value passes unchanged. (-p is not taken:
 * an RLIMIT_NPROC set before the user changes makes the kernel refuse the
 * exec where chpst's order, after, would not.)
 */
const ULIMIT_LETTERS: Partial<Record<Resource, string>> = { NOFILE: 'n', CPU: 't' };

/** The chpst named by a service's ./run and its plan, when the supervisor can apply it; else undefined. */
export function parseHostedChpst(text: string): { chpst: string; plan: Plan } | undefined {
  const line = parseExecLine(text);
  // without `#!/bin/sh`, ./run cannot be executed: runit's error is kept
  if (!line?.shebang || !namesProgram(line.words[0]!, 'chpst')) return undefined;
  const plan = parseArgs('chpst', line.words.slice(1));
  if ('usage' in plan) return undefined;
  const taken =
    !plan.setsid &&
    !plan.envDir &&
    !plan.envUser &&
    plan.root === undefined &&
    plan.chdir === undefined &&
    !plan.lock &&
    plan.argv0 === undefined &&
    Object.entries(plan.limits).every(([resource, value]) => resource in ULIMIT_LETTERS && value !== 'hard');
  return taken ? { chpst: line.words[0]!, plan } : undefined;
}

export interface HostedExec {
  /** shell commands, run in order before the exec */
  setup: string[];
  /** what is executed: the tools, then the program and its arguments */
  argv: string[];
}

export interface HostedTools {
  setpriv: string;
  nice: string;
}

/**
 * What to execute for `plan`: `user` is its -u resolved, `hard` the hard
 * limit the program will have for a resource (chpst sets only the soft one,
 * up to the hard one).
 */
export function hostedExec(plan: Plan, user: Ids | undefined, hard: (resource: Resource) => bigint, tools: HostedTools): HostedExec {
  const setup: string[] = [];
  for (const [resource, value] of Object.entries(plan.limits) as [Resource, bigint][]) {
    const limit = softLimit(value, hard(resource));
    setup.push(`ulimit -S -${ULIMIT_LETTERS[resource]} ${limit === UNLIMITED ? 'unlimited' : limit}`);
  }
  const closed = plan.close.flatMap((close, fd) => (close ? [`${fd}<&-`] : []));
  if (closed.length > 0) setup.push(`exec ${closed.join(' ')}`);
  const argv: string[] = [];
  if (plan.nice) argv.push(tools.nice, '-n', String(plan.nice), '--');
  if (user) argv.push(tools.setpriv, `--regid=${user.gids[0]}`, `--groups=${user.gids.join(',')}`, `--reuid=${user.uid}`, '--');
  argv.push(...plan.program);
  return { setup, argv };
}

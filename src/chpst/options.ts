// chpst's command lines (chpst(8)): the personality chosen by the invoked
// name, djb sgetopt and scan_ulong (src/util/), and the plan of what to
// change. Pure.
import { sgetopt, getoptMessage, type GetoptError } from '../util/getopt.js';
import { parseUnsigned } from '../util/scan.js';

// also exported from here, where chpst's unit tests import them
export { sgetopt, parseUnsigned };

export type Personality = 'chpst' | 'envdir' | 'envuidgid' | 'pgrphack' | 'setuidgid' | 'softlimit' | 'setlock';

export type Resource = 'DATA' | 'STACK' | 'MEMLOCK' | 'AS' | 'NOFILE' | 'NPROC' | 'FSIZE' | 'CORE' | 'RSS' | 'CPU';

/** The order in which runit sets the limits. */
export const LIMIT_ORDER: readonly Resource[] = ['DATA', 'STACK', 'MEMLOCK', 'AS', 'NOFILE', 'NPROC', 'FSIZE', 'CORE', 'RSS', 'CPU'];

/** A soft limit: a number, or `hard` for "as high as the hard limit". */
export type LimitValue = bigint | 'hard';

const HALF = 1n << 63n;

/** What runit's limit() sets: the value, or the hard limit when it is higher or `=`. */
export function softLimit(value: LimitValue, hard: bigint): bigint {
  // a value that does not fit a C long was negative for runit: the hard limit
  return value === 'hard' || value >= HALF || value > hard ? hard : value;
}

export interface UserSpec {
  spec: string;
  /** `[:]user[:group...]` (chpst -u/-U) rather than a plain account name (setuidgid, envuidgid) */
  extended: boolean;
}

/** What to change, in the terms of the command line; applied in runit's order by apply.ts. */
export interface Plan {
  personality: Personality;
  verbose: boolean;
  setsid: boolean;
  envDir?: { dir: string; skipSubdirs: boolean };
  root?: string;
  chdir?: string;
  nice: number;
  envUser?: UserSpec;
  setUser?: UserSpec;
  lock?: { path: string; wait: boolean };
  close: [boolean, boolean, boolean];
  limits: Partial<Record<Resource, LimitValue>>;
  argv0?: string;
  /** index in the arguments (argv without argv[0]) where the program starts */
  programIndex: number;
  program: string[];
  /** setlock -x: failing to open or lock the file or to run the program exits 0, silently */
  quietFailure: boolean;
}

export interface UsageError {
  usage: true;
  /** name shown in the usage line */
  name: string;
  text: string;
  /** line printed before the usage line (getopt's complaint, or -V's version) */
  message?: string;
}

export type Parsed = Plan | UsageError;

export const VERSION = '$Id: runit-ts chpst 0.1.0 $';

export const USAGE = {
  chpst:
    ' [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog',
  setuidgid: ' account child',
  envuidgid: ' account child',
  envdir: ' dir child',
  pgrphack: ' child',
  setlock: ' [ -nNxX ] file program [ arg ... ]',
  softlimit:
    ' [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child',
} as const;

const PERSONALITIES = new Set<string>(['envdir', 'envuidgid', 'pgrphack', 'setuidgid', 'softlimit', 'setlock']);

/**
 * runit's names for an invocation: `base` is basename(argv[0]) (getopt's
 * messages use it), `name` strips one leading `d` (usage lines use it, and
 * it selects the personality).
 */
export function invocation(argv0: string): { base: string; name: string; personality: Personality } {
  const base = argv0.slice(argv0.lastIndexOf('/') + 1);
  const name = base.startsWith('d') ? base.slice(1) : base;
  return { base, name, personality: PERSONALITIES.has(name) ? (name as Personality) : 'chpst' };
}

/** `-n` argument: `N`, `+N` or `-N`; saturated to ±40, beyond which nice(2) changes nothing more. */
export function parseNice(text: string): number | undefined {
  const negative = text.startsWith('-');
  const magnitude = parseUnsigned(negative || text.startsWith('+') ? text.slice(1) : text);
  if (magnitude === undefined) return undefined;
  const value = Number(magnitude > 40n ? 40n : magnitude);
  return negative ? -value : value;
}

function emptyPlan(personality: Personality): Plan {
  return {
    personality,
    verbose: false,
    setsid: false,
    nice: 0,
    close: [false, false, false],
    limits: {},
    programIndex: 0,
    program: [],
    quietFailure: false,
  };
}

function complaint(base: string, item: GetoptError): string {
  return `${base}: ${getoptMessage(item)}`;
}

const CHPST_LIMITS: Record<string, Resource[]> = {
  m: ['STACK', 'MEMLOCK', 'AS', 'DATA'],
  d: ['DATA'],
  o: ['NOFILE'],
  p: ['NPROC'],
  f: ['FSIZE'],
  c: ['CORE'],
  r: ['RSS'],
  t: ['CPU'],
};

const SOFTLIMIT_LIMITS: Record<string, Resource[]> = {
  a: ['AS'],
  c: ['CORE'],
  d: ['DATA'],
  f: ['FSIZE'],
  l: ['MEMLOCK'],
  m: ['DATA', 'STACK', 'MEMLOCK', 'AS'],
  o: ['NOFILE'],
  p: ['NPROC'],
  r: ['RSS'],
  s: ['STACK'],
  t: ['CPU'],
};

/**
 * Parse the arguments (argv without argv[0]) of chpst or of the personality
 * that `argv0` names. `extensions` enables what runit 2.1.2 lacks (-C).
 */
export function parseArgs(argv0: string, args: readonly string[], options: { extensions?: boolean } = {}): Parsed {
  const { base, name, personality } = invocation(argv0);
  const usage = (text: string, message?: string): UsageError => (message === undefined ? { usage: true, name, text } : { usage: true, name, text, message });
  const plan = emptyPlan(personality);
  const finish = (index: number): Parsed => {
    if (index >= args.length) return usage(USAGE[personality]);
    plan.programIndex = index;
    plan.program = args.slice(index);
    return plan;
  };

  switch (personality) {
    case 'setuidgid':
    case 'envuidgid': {
      if (args.length < 2) return usage(USAGE[personality]);
      plan[personality === 'setuidgid' ? 'setUser' : 'envUser'] = { spec: args[0]!, extended: false };
      return finish(1);
    }
    case 'envdir': {
      if (args.length < 2) return usage(USAGE.envdir);
      plan.envDir = { dir: args[0]!, skipSubdirs: false };
      return finish(1);
    }
    case 'pgrphack': {
      plan.setsid = true;
      return finish(0);
    }
    case 'setlock': {
      const state = { index: 0 };
      let wait = false;
      for (const item of sgetopt(args, 'nNxX', state)) {
        if ('error' in item) return usage(USAGE.setlock, complaint(base, item));
        if (item.opt === 'n' || item.opt === 'N') wait = item.opt === 'n';
        else plan.quietFailure = item.opt === 'x';
      }
      if (state.index >= args.length) return usage(USAGE.setlock);
      plan.lock = { path: args[state.index]!, wait };
      return finish(state.index + 1);
    }
    case 'softlimit': {
      const state = { index: 0 };
      for (const item of sgetopt(args, 'a:c:d:f:l:m:o:p:r:s:t:', state)) {
        if ('error' in item) return usage(USAGE.softlimit, complaint(base, item));
        // a bad number gets chpst's usage text under this name, as in runit
        const value: LimitValue | undefined = item.arg === '=' ? 'hard' : parseUnsigned(item.arg!);
        if (value === undefined) return usage(USAGE.chpst);
        for (const resource of SOFTLIMIT_LIMITS[item.opt]!) plan.limits[resource] = value;
      }
      return finish(state.index);
    }
    case 'chpst':
      break;
  }

  const state = { index: 0 };
  const optstring = `u:U:b:e:m:d:o:p:f:c:r:t:/:n:l:L:vP012V${options.extensions ? 'C:' : ''}`;
  for (const item of sgetopt(args, optstring, state)) {
    if ('error' in item) return usage(USAGE.chpst, complaint(base, item));
    const arg = item.arg!;
    switch (item.opt) {
      case 'u':
        plan.setUser = { spec: arg, extended: true };
        break;
      case 'U':
        plan.envUser = { spec: arg, extended: true };
        break;
      case 'b':
        plan.argv0 = arg;
        break;
      case 'e':
        plan.envDir = { dir: arg, skipSubdirs: true };
        break;
      case '/':
        plan.root = arg;
        break;
      case 'C':
        plan.chdir = arg;
        break;
      case 'n': {
        const nice = parseNice(arg);
        if (nice === undefined) return usage(USAGE.chpst);
        plan.nice = nice;
        break;
      }
      case 'l':
      case 'L':
        if (plan.lock) return usage(USAGE.chpst);
        plan.lock = { path: arg, wait: item.opt === 'l' };
        break;
      case 'v':
        plan.verbose = true;
        break;
      case 'P':
        plan.setsid = true;
        break;
      case '0':
      case '1':
      case '2':
        plan.close[Number(item.opt)] = true;
        break;
      case 'V':
        return usage(USAGE.chpst, VERSION);
      default: {
        const value = parseUnsigned(arg);
        if (value === undefined) return usage(USAGE.chpst);
        for (const resource of CHPST_LIMITS[item.opt]!) plan.limits[resource] = value;
      }
    }
  }
  return finish(state.index);
}

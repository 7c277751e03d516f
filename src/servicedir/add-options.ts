// `runit-ts add`'s command line as a ServiceSpec: pure (the env file's
// text is read by the caller), every bad value a message.
import { parseEnvFile } from './env-file.js';
import type { ServiceSpec } from './spec.js';

type Options = Map<string, string | true>;

const text = (options: Options, key: string) => {
  const v = options.get(key);
  return typeof v === 'string' ? v : undefined;
};

/** A whole number from `min` up; undefined for anything else. */
function whole(value: string, min = 0): number | undefined {
  if (!/^\d{1,15}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min ? n : undefined;
}

/** Seconds, decimals allowed: `2`, `0.5`. */
function seconds(value: string): number | undefined {
  return /^(\d{1,9}(\.\d*)?|\.\d+)$/.test(value) ? Number(value) : undefined;
}

/** `BYTES[kKmMgG]`, powers of 1024. */
export function parseBytes(value: string): number | undefined {
  const m = /^(\d{1,15})([kKmMgG]?)$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export type AddParse = { ok: true; spec: ServiceSpec; svdir: string; waitMs: number | undefined } | { ok: false; usage: boolean; message: string };

/**
 * The spec `runit-ts add` writes. `envFiles` holds the text of each
 * --env-file, by name (read by the caller). Either way a problem is bad
 * input (exit 100); `usage: true` for one of the command line's shape
 * (the usage is shown), false for a bad value.
 */
export function addSpec(
  options: Options,
  lists: Map<string, string[]>,
  operands: readonly string[],
  beforeDashDash: number,
  env: { SVDIR?: string },
  envFiles: ReadonlyMap<string, string>,
): AddParse {
  const usage = (message: string): AddParse => ({ ok: false, usage: true, message });
  const bad = (option: string, value: string, why: string): AddParse => ({ ok: false, usage: false, message: `invalid --${option}: ${value}: ${why}` });
  const name = operands[0];
  if (name === undefined || beforeDashDash === 0) return usage('no service name');
  if (beforeDashDash > 1) return usage(`the command follows --: ${operands.slice(1, beforeDashDash).join(' ')}`);
  const argv = operands.slice(beforeDashDash);
  const shell = text(options, 'shell');
  if (shell !== undefined && argv.length > 0) return usage('--shell and -- COMMAND exclude each other');
  if (shell === undefined && argv.length === 0) return usage('no command: give it after --, or --shell LINE');
  if (options.has('no-log') && options.has('log-dir')) return usage('--no-log and --log-dir exclude each other');
  if (options.has('wait') && options.has('no-wait')) return usage('--wait and --no-wait exclude each other');

  const spec: ServiceSpec = { name, command: shell === undefined ? { argv } : { shell } };
  const cwd = text(options, 'cwd');
  if (cwd !== undefined) spec.cwd = cwd;
  const user = text(options, 'user');
  if (user !== undefined) {
    const [u, g, ...rest] = user.split(':');
    if (rest.length > 0 || u === '' || g === '') return bad('user', user, 'USER or USER:GROUP');
    spec.user = u!;
    if (g !== undefined) spec.group = g;
  }

  const vars: Record<string, string> = {};
  for (const file of lists.get('env-file') ?? []) {
    const parsed = parseEnvFile(envFiles.get(file) ?? '');
    if (!parsed.ok) return { ok: false, usage: false, message: `${file}:${parsed.line}: ${parsed.message}` };
    Object.assign(vars, parsed.env);
  }
  for (const kv of lists.get('env') ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) return bad('env', kv, 'KEY=VALUE');
    vars[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  if (Object.keys(vars).length > 0) spec.env = vars;

  const limits: NonNullable<ServiceSpec['limits']> = {};
  for (const key of ['nofile', 'nproc'] as const) {
    const v = text(options, key);
    if (v === undefined) continue;
    const n = whole(v, 1);
    if (n === undefined) return bad(key, v, 'a whole number from 1');
    limits[key] = n;
  }
  const memory = text(options, 'memory');
  if (memory !== undefined) {
    const n = parseBytes(memory);
    if (n === undefined) return bad('memory', memory, 'BYTES, or a number with k, m or g (powers of 1024)');
    limits.memory = n;
  }
  if (Object.keys(limits).length > 0) spec.limits = limits;
  const nice = text(options, 'nice');
  if (nice !== undefined) {
    if (!/^[-+]?\d{1,2}$/.test(nice) || Math.abs(Number(nice)) > 40) return bad('nice', nice, 'a whole number from -40 to 40');
    spec.nice = Number(nice);
  }
  const umask = text(options, 'umask');
  if (umask !== undefined) {
    if (!/^0?[0-7]{3}$/.test(umask)) return bad('umask', umask, 'three octal digits, such as 022');
    spec.umask = umask;
  }
  if (options.has('down')) spec.down = true;
  if (options.has('no-log')) spec.log = false;
  const logDir = text(options, 'log-dir');
  if (logDir !== undefined) spec.log = { dir: logDir };

  const readiness: NonNullable<ServiceSpec['readiness']> = {};
  if (options.has('notify')) readiness.notifySocket = {};
  const fd = text(options, 'notification-fd');
  if (fd !== undefined) {
    const n = whole(fd, 3);
    if (n === undefined || n > 1023) return bad('notification-fd', fd, 'a descriptor number from 3 to 1023');
    readiness.notificationFd = n;
  }
  const watchdog = text(options, 'watchdog');
  if (watchdog !== undefined) {
    const s = seconds(watchdog);
    if (s === undefined || s === 0) return bad('watchdog', watchdog, 'a number of seconds above 0');
    readiness.watchdogSeconds = s;
  }
  if (Object.keys(readiness).length > 0) spec.readiness = readiness;
  const needs = (lists.get('needs') ?? []).flatMap((v) => v.split(',')).filter((n) => n !== '');
  if (needs.length > 0) spec.needs = needs;

  const policy: NonNullable<ServiceSpec['policy']> = {};
  const backoff = text(options, 'backoff');
  if (backoff !== undefined) {
    const [a, b, ...rest] = backoff.split(',');
    const first = a === undefined ? undefined : seconds(a);
    const cap = b === undefined ? undefined : seconds(b);
    if (rest.length > 0 || first === undefined || cap === undefined || first <= 0 || cap < first) {
      return bad('backoff', backoff, 'FIRST,CAP in seconds, FIRST above 0 and CAP at least FIRST');
    }
    policy.backoff = { first, cap };
  }
  const kill = text(options, 'timeout-kill');
  if (kill !== undefined) {
    const n = whole(kill);
    if (n === undefined) return bad('timeout-kill', kill, 'a number of milliseconds');
    policy.timeoutKillMs = n;
  }
  const signal = text(options, 'down-signal');
  if (signal !== undefined) policy.downSignal = signal;
  if (Object.keys(policy).length > 0) spec.policy = policy;

  let waitMs: number | undefined = 10_000;
  const wait = text(options, 'wait');
  if (wait !== undefined) {
    const s = seconds(wait);
    if (s === undefined) return bad('wait', wait, 'a number of seconds');
    waitMs = Math.round(s * 1000);
  }
  if (options.has('no-wait') || spec.down) waitMs = undefined;
  return { ok: true, spec, svdir: text(options, 'dir') ?? env.SVDIR ?? '/etc/service/', waitMs };
}

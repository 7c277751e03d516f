// A ServiceSpec as the files of a service directory: pure (no I/O), so
// every byte written is unit-tested. servicedir/write.ts puts the result on
// disk atomically. docs/runit-ts.md ("runit-ts add") describes the layout.
import { constants } from 'node:os';
import { invalidServiceName, type ServiceSpec } from './spec.js';
import { shQuote } from '../util/sh-quote.js';

/** One entry of a service directory, relative to it; directories come before what they hold. */
export type Entry = { path: string; type: 'dir'; mode: number } | { path: string; type: 'file'; mode: number; content: Buffer };

export interface Rendered {
  entries: Entry[];
  /**
   * A log directory outside the service directory (an absolute `log.dir`):
   * made where missing, its `config` written when lines are given.
   */
  externalLogDir?: { dir: string; config?: Buffer };
  /** the optional files written that the supervisor does not act on yet, with what it does instead */
  inert: string[];
}

/**
 * Files of a service directory that runit-ts's supervisor does not act on
 * yet (docs/readiness.md, issue 14): they are written for when it does, and
 * `runit-ts add` says so. timeout-kill is acted on. Remove a name here as
 * soon as its wiring lands.
 */
export const NOT_ACTED_ON: Readonly<Record<string, string>> = {
  'notification-fd': 'readiness is not wired into the supervisor yet: up means started',
  'notify-socket': 'readiness is not wired into the supervisor yet: no NOTIFY_SOCKET is given to run',
  watchdog: 'the watchdog is not wired into the supervisor yet',
  'needs/': 'start order is not wired into runsvdir yet: services start together',
};

/** What a spec cannot be written as; empty when it can. */
export class SpecError extends Error {}

/** Text made safe for one comment line of a script: control characters as \n, \t, \xNN. */
export function commentText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** The bytes of the envdir file that chpst -e reads back as `value`, or why there are none. */
export function envFileContent(value: string): Buffer | string {
  if (value.includes('\0')) return 'a value cannot hold a NUL byte';
  if (/[ \t]$/.test(value)) return 'chpst -e drops spaces and tabs at the end of a value';
  // chpst -e reads the first line and turns NUL bytes into newlines
  return Buffer.from(`${value.replaceAll('\n', '\0')}\n`);
}

/** Why `name` cannot be a variable of an envdir, or undefined. */
export function invalidEnvName(name: string): string | undefined {
  if (name === '') return 'an empty name';
  if (name.startsWith('.')) return 'a name starting with a dot (chpst -e skips it)';
  if (/[=\0/\n]/.test(name)) return 'a name holding =, /, a newline or a NUL byte';
  if (Buffer.byteLength(name) > 255) return 'a name longer than 255 bytes';
  return undefined;
}

const ACCOUNT = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;
const SIGNAL_NAMES = new Set(Object.keys(constants.signals));

/** `SIGINT`, `int`, `INT` → `SIGINT`; undefined for no signal. */
export function signalName(text: string): string | undefined {
  const upper = text.trim().toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return SIGNAL_NAMES.has(name) ? name : undefined;
}

const isCount = (n: number | undefined) => n === undefined || (Number.isSafeInteger(n) && n >= 0);
const isSeconds = (n: number | undefined) => n === undefined || (Number.isFinite(n) && n >= 0 && n <= 999_999_999);

/** Everything wrong with `spec`, each as one message; empty when it can be written. */
export function specProblems(spec: ServiceSpec): string[] {
  const problems: string[] = [];
  const bad = invalidServiceName(spec.name);
  if (bad) problems.push(`invalid service name: ${spec.name}: ${bad}`);
  if ('argv' in spec.command) {
    if (spec.command.argv.length === 0 || spec.command.argv[0] === '') problems.push('no command');
    if (spec.command.argv.some((a) => a.includes('\0'))) problems.push('an argument cannot hold a NUL byte');
  } else if (spec.command.shell.trim() === '') problems.push('an empty shell command');
  else if (spec.command.shell.includes('\0')) problems.push('a shell command cannot hold a NUL byte');
  if (spec.cwd !== undefined && (spec.cwd === '' || spec.cwd.includes('\0'))) problems.push(`invalid working directory: ${JSON.stringify(spec.cwd)}`);
  if (spec.user !== undefined && !ACCOUNT.test(spec.user)) problems.push(`invalid user name: ${spec.user}`);
  if (spec.group !== undefined && (spec.user === undefined || !ACCOUNT.test(spec.group))) {
    problems.push(spec.user === undefined ? 'a group needs a user' : `invalid group name: ${spec.group}`);
  }
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    const badName = invalidEnvName(name);
    if (badName) problems.push(`invalid environment variable ${JSON.stringify(name)}: ${badName}`);
    const content = envFileContent(value);
    if (typeof content === 'string') problems.push(`environment variable ${name}: ${content}`);
  }
  for (const [key, n] of Object.entries(spec.limits ?? {})) {
    if (!Number.isSafeInteger(n) || n <= 0) problems.push(`invalid limit ${key}: ${n}: not a positive whole number`);
  }
  if (spec.nice !== undefined && (!Number.isSafeInteger(spec.nice) || Math.abs(spec.nice) > 40)) problems.push(`invalid nice increment: ${spec.nice}`);
  if (spec.umask !== undefined && !/^0?[0-7]{3}$/.test(spec.umask)) problems.push(`invalid umask: ${spec.umask}: three octal digits, please`);
  for (const [i, c] of (spec.before ?? []).entries()) if (c.includes('\0')) problems.push(`before command ${i + 1} holds a NUL byte`);
  for (const [i, c] of (spec.finish ?? []).entries()) if (c.includes('\0')) problems.push(`finish command ${i + 1} holds a NUL byte`);
  for (const [i, c] of (spec.finishGuards ?? []).entries())
    if (c.includes('\0') || c.includes('\n')) problems.push(`finish guard ${i + 1} holds a NUL byte or a newline`);
  if (spec.log && spec.log.dir !== undefined) {
    const d = spec.log.dir;
    if (d === '' || d.includes('\0') || d.includes('\n')) problems.push(`invalid log directory: ${JSON.stringify(d)}`);
    else if (!d.startsWith('/') && d.split('/').some((part) => part === '..' || part === 'supervise')) {
      problems.push(`invalid log directory: ${d}: a relative one stays inside log/ (no .., no supervise)`);
    }
  }
  for (const line of (spec.log !== false && spec.log?.config) || [])
    if (line.includes('\n') || line.includes('\0')) problems.push(`invalid log config line: ${JSON.stringify(line)}`);
  const r = spec.readiness;
  if (r?.notificationFd !== undefined && !(Number.isSafeInteger(r.notificationFd) && r.notificationFd >= 3 && r.notificationFd <= 1023)) {
    problems.push(`invalid notification-fd: ${r.notificationFd}: a descriptor number from 3 to 1023`);
  }
  if (r?.notifySocket?.owner !== undefined && !/^([A-Za-z0-9._][A-Za-z0-9._-]*|\d+:\d+)$/.test(r.notifySocket.owner)) {
    problems.push(`invalid notify-socket owner: ${r.notifySocket.owner}`);
  }
  if (!isSeconds(r?.watchdogSeconds)) problems.push(`invalid watchdog: ${r?.watchdogSeconds}: not a number of seconds`);
  for (const need of spec.needs ?? []) {
    const why = invalidServiceName(need);
    if (why) problems.push(`invalid need: ${need}: ${why}`);
    else if (need === spec.name) problems.push(`invalid need: ${need}: a service cannot need itself`);
  }
  const p = spec.policy;
  if (p?.backoff) {
    const { first, cap } = p.backoff;
    if (!isSeconds(first) || !isSeconds(cap) || !(first > 0) || cap < first)
      problems.push(`invalid backoff: ${first} ${cap}: FIRST > 0 and CAP >= FIRST, in seconds`);
  }
  if (p?.giveUp && !(Number.isSafeInteger(p.giveUp.deaths) && p.giveUp.deaths > 0 && isSeconds(p.giveUp.seconds) && p.giveUp.seconds > 0)) {
    problems.push(`invalid give-up: ${p.giveUp.deaths} deaths in ${p.giveUp.seconds} seconds`);
  }
  if (p?.downSignal !== undefined && signalName(p.downSignal) === undefined) problems.push(`invalid down-signal: ${p.downSignal}: not a signal name`);
  if (!isCount(p?.timeoutKillMs)) problems.push(`invalid timeout-kill: ${p?.timeoutKillMs}: not a number of milliseconds`);
  if (!isCount(p?.timeoutFinishMs)) problems.push(`invalid timeout-finish: ${p?.timeoutFinishMs}: not a number of milliseconds`);
  return problems;
}

/** chpst's options for the spec (`-e ENVDIR -u user:group -m ... -n N`), empty when none is needed. */
function chpstWords(spec: ServiceSpec, envDir: string): string[] {
  const words: string[] = [];
  if (spec.env && Object.keys(spec.env).length > 0) words.push('-e', envDir);
  if (spec.user !== undefined) words.push('-u', spec.group === undefined ? spec.user : `${spec.user}:${spec.group}`);
  const l = spec.limits ?? {};
  for (const [letter, value] of [
    ['m', l.memory],
    ['d', l.data],
    ['o', l.nofile],
    ['p', l.nproc],
    ['f', l.fsize],
    ['c', l.core],
    ['r', l.rss],
    ['t', l.cpu],
  ] as const) {
    if (value !== undefined) words.push(`-${letter}`, String(value));
  }
  if (spec.nice !== undefined && spec.nice !== 0) words.push('-n', String(spec.nice));
  return words.length > 0 ? ['chpst', ...words] : [];
}

/** The header comment of `run`: where it came from, each note, each setting not mapped. */
function headerLines(spec: ServiceSpec): string[] {
  const lines = [`# ${commentText(spec.name)}: ${spec.source === undefined ? 'written by runit-ts add' : `from ${commentText(spec.source)}`}`];
  for (const note of spec.notes ?? []) lines.push(`# note: ${commentText(note)}`);
  for (const n of spec.notMapped ?? []) {
    lines.push(`# not mapped: ${commentText(n.key)}${n.value === undefined ? '' : `=${commentText(n.value)}`}: ${commentText(n.reason)}`);
  }
  return lines;
}

/** The lines that put a script where the program runs: `cd`, with the envdir's path kept first when needed. */
function placeLines(spec: ServiceSpec, usesEnv: boolean, onFail: string): { lines: string[]; envDir: string } {
  if (spec.cwd === undefined) return { lines: [], envDir: './env' };
  const dir = spec.cwd.startsWith('-') ? `./${spec.cwd}` : spec.cwd;
  const lines = usesEnv ? ['sv=$PWD'] : [];
  lines.push(`cd ${shQuote(dir)} || ${onFail}`);
  return { lines, envDir: usesEnv ? '"$sv/env"' : './env' };
}

const script = (lines: readonly string[]) => Buffer.from(`${lines.join('\n')}\n`);

/** `run`: see docs/runit-ts.md, "The files of a service". */
export function runScript(spec: ServiceSpec): Buffer {
  const usesEnv = spec.env !== undefined && Object.keys(spec.env).length > 0;
  const place = placeLines(spec, usesEnv, 'exit');
  // the envdir's path is written by hand: "$sv/env" must stay a quoted expansion
  const prefix = chpstWords(spec, '\u0000ENV').map((w) => (w === '\u0000ENV' ? place.envDir : shQuote(w)));
  const lines = ['#!/bin/sh', ...headerLines(spec), 'exec 2>&1', ...place.lines];
  if (spec.umask !== undefined) lines.push(`umask ${spec.umask}`);
  for (const c of spec.before ?? []) lines.push([...prefix, '/bin/sh', '-c', shQuote(c), '|| exit'].join(' '));
  const program = 'argv' in spec.command ? spec.command.argv.map(shQuote) : ['/bin/sh', '-c', shQuote(spec.command.shell)];
  lines.push(['exec', ...prefix, ...program].join(' '));
  return script(lines);
}

/** `finish`: each command in turn (as the user, with the environment), then exit 0 (125 would mean "give up" to s6). */
export function finishScript(spec: ServiceSpec): Buffer {
  const usesEnv = spec.env !== undefined && Object.keys(spec.env).length > 0;
  const place = placeLines(spec, usesEnv, 'exit 0');
  const prefix = chpstWords(spec, '\u0000ENV').map((w) => (w === '\u0000ENV' ? place.envDir : shQuote(w)));
  const guards = spec.finishGuards ?? [];
  const lines = [
    '#!/bin/sh',
    `# ${commentText(spec.name)}: ./finish, run after ./run ends`,
    'exec 2>&1',
    ...(guards.length > 0 ? ['here=$PWD'] : []),
    ...place.lines,
  ];
  if (spec.umask !== undefined) lines.push(`umask ${spec.umask}`);
  for (const c of spec.finish ?? []) lines.push([...prefix, '/bin/sh', '-c', shQuote(c)].join(' '));
  // restart conditions last, back in the service directory, with ./finish's arguments
  if (guards.length > 0) lines.push('cd "$here" || exit 0', ...guards);
  lines.push('exit 0');
  return script(lines);
}

/** `log/run`: canonical (`exec svlogd -tt DIR`), so runit-ts's runsvdir runs the logger in-process. */
export function logRunScript(dir: string): Buffer {
  return script(['#!/bin/sh', `exec svlogd -tt ${shQuote(dir)}`]);
}

/** What was asked for in seconds, as text: `2`, `0.5`. */
const secondsText = (n: number) => String(n);

/** The directory, as a list of entries; throws SpecError with the first problem. */
export function renderService(spec: ServiceSpec): Rendered {
  const problems = specProblems(spec);
  if (problems.length > 0) throw new SpecError(problems[0]);
  const entries: Entry[] = [];
  const inert: string[] = [];
  const file = (path: string, content: Buffer | string, mode = 0o644) => {
    entries.push({ path, type: 'file', mode, content: typeof content === 'string' ? Buffer.from(content) : content });
    const key = path.startsWith('needs/') ? 'needs/' : path;
    if (Object.hasOwn(NOT_ACTED_ON, key) && !inert.includes(key)) inert.push(key);
  };
  const dir = (path: string, mode = 0o755) => entries.push({ path, type: 'dir', mode });

  file('run', runScript(spec), 0o755);
  if ((spec.finish?.length ?? 0) + (spec.finishGuards?.length ?? 0) > 0) file('finish', finishScript(spec), 0o755);
  if (spec.down) file('down', '');
  const env = Object.entries(spec.env ?? {});
  if (env.length > 0) {
    dir('env', 0o700);
    for (const [name, value] of env.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) file(`env/${name}`, envFileContent(value) as Buffer, 0o600);
  }
  let externalLogDir: Rendered['externalLogDir'];
  if (spec.log !== false) {
    const logDir = spec.log?.dir ?? './main';
    const config = spec.log?.config && spec.log.config.length > 0 ? Buffer.from(`${spec.log.config.join('\n')}\n`) : undefined;
    dir('log');
    file('log/run', logRunScript(logDir), 0o755);
    if (logDir.startsWith('/')) externalLogDir = { dir: logDir, ...(config && { config }) };
    else {
      const inside = `log/${logDir.replace(/^(\.\/)+/, '').replace(/\/+$/, '')}`;
      // nested directories (`./a/b`) are made one by one
      const parts = inside.split('/');
      for (let i = 2; i <= parts.length; i++) dir(parts.slice(0, i).join('/'));
      if (config) file(`${inside}/config`, config);
    }
  }
  const r = spec.readiness;
  if (r?.notificationFd !== undefined) file('notification-fd', `${r.notificationFd}\n`);
  if (r?.notifySocket) {
    // a service that drops to another user must be given the socket
    const owner = r.notifySocket.owner ?? spec.user;
    file('notify-socket', owner === undefined ? '' : `owner=${owner}\n`);
  }
  if (r?.watchdogSeconds !== undefined) file('watchdog', `${secondsText(r.watchdogSeconds)}\n`);
  if (spec.needs && spec.needs.length > 0) {
    dir('needs');
    for (const need of [...new Set(spec.needs)].sort()) file(`needs/${need}`, '');
  }
  const p = spec.policy;
  if (p?.backoff) file('backoff', `${secondsText(p.backoff.first)} ${secondsText(p.backoff.cap)}\n`);
  if (p?.giveUp) {
    file('give-up', `${p.giveUp.deaths} ${secondsText(p.giveUp.seconds)}\n`);
    // s6 keeps 100 deaths unless told otherwise: enough history to count them
    if (p.giveUp.deaths > 100) file('max-death-tally', `${Math.min(4096, p.giveUp.deaths)}\n`);
  }
  if (p?.downSignal !== undefined) file('down-signal', `${signalName(p.downSignal)}\n`);
  if (p?.timeoutKillMs !== undefined) file('timeout-kill', `${p.timeoutKillMs}\n`);
  if (p?.timeoutFinishMs !== undefined) file('timeout-finish', `${p.timeoutFinishMs}\n`);
  return { entries, ...(externalLogDir && { externalLogDir }), inert };
}

// supervisord.conf (supervisord.org/configuration.html) to ServiceSpecs:
// every [program:x] (numprocs processes each), [include] files= followed
// one level deep (globs relative to the including file, sorted, as
// supervisord does), priority turned into needs/ chains. The files are read
// through the reader given, so the parser stays a function of its inputs.
import { dirname, resolve } from 'node:path';
import { invalidServiceName } from '../servicedir/spec.js';
import { type Diagnostic, type ImportedService, type ImportResult, parseBytes, STOP_RESTARTS, ServiceBuilder, signalName } from './common.js';
import { shJoin } from '../util/sh-quote.js';
import { expand, type IniSection, type IniValue, parseIni } from './ini.js';

export interface ConfigReader {
  read(path: string): string;
  /** the files a glob names, sorted; only the last part of the path may hold * ? [...] */
  glob(pattern: string): string[];
}

export interface SupervisordOptions {
  /** the environment %(ENV_X)s reads (supervisord's own) */
  env: Record<string, string | undefined>;
  /** %(host_node_name)s */
  hostname: string;
  reader: ConfigReader;
}

const OWN_SECTIONS: Record<string, string> = {
  supervisord: "supervisord's own settings: runsvdir needs none (its log is its stderr, its pid is its own)",
  supervisorctl: 'the control client: sv and runit-ts talk to supervise/ directly',
  unix_http_server: "supervisorctl's socket: sv needs none; runit-ts serve --socket is the HTTP equivalent",
  inet_http_server: "supervisorctl's HTTP server: runit-ts serve is the equivalent",
};

/** supervisord's boolean: true/yes/on/1, false/no/off/0. */
function boolean(text: string): boolean | undefined {
  const t = text.toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(t)) return true;
  if (['false', 'no', 'off', '0'].includes(t)) return false;
  return undefined;
}

/** Python's shlex.split (POSIX mode, no comments): how supervisord splits `command`. */
export function shlexSplit(text: string): string[] | string {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return 'no closing quotation';
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      let part = '';
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && (text[j + 1] === '"' || text[j + 1] === '\\')) j++;
        part += text[j];
      }
      if (j >= text.length) return 'no closing quotation';
      word = (word ?? '') + part;
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= text.length) return 'no escaped character';
      word = (word ?? '') + text[++i];
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** supervisord's dict_of_key_value_pairs: `KEY="val",KEY2=val2` through a non-POSIX shlex with /.+-(): as word characters. */
export function parseEnvironment(text: string): Record<string, string> | string {
  const tokens: string[] = [];
  const word = /[A-Za-z0-9_/.+\-():]/;
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) return `no closing quotation in ${text}`;
      tokens.push(text.slice(i, end + 1));
      i = end + 1;
    } else if (word.test(c)) {
      let j = i;
      while (j < text.length && (word.test(text[j]!) || text[j] === '"' || text[j] === "'")) j++;
      tokens.push(text.slice(i, j));
      i = j;
    } else {
      tokens.push(c);
      i++;
    }
  }
  const env: Record<string, string> = {};
  for (let i = 0; i < tokens.length; i += 4) {
    if (i + 2 >= tokens.length || tokens[i + 1] !== '=') return `unexpected end of key/value pairs in ${text}`;
    env[tokens[i]!] = tokens[i + 2]!.replace(/^['"]+|['"]+$/g, '');
  }
  return env;
}

interface Program {
  name: string;
  section: IniSection;
  priority: number;
  services: ImportedService[];
}

export function parseSupervisord(text: string, file: string, options: SupervisordOptions): ImportResult {
  const diagnostics: Diagnostic[] = [];
  const result: ImportResult = { services: [], notMapped: [], diagnostics };
  const sections = parseIni(text, file, diagnostics);
  const all = [...sections];
  const include = sections.find((s) => s.name === 'include');
  if (include) {
    const files = include.values.get('files');
    if (!files) {
      diagnostics.push({ file, line: include.line, severity: 'error', message: '[include] has no files =' });
    } else {
      for (const pattern of expandOr(files, { here: dirname(resolve(file)), ...envNames(options.env) }, diagnostics)?.split(/\s+/) ?? []) {
        if (pattern === '') continue;
        const full = resolve(dirname(file), pattern);
        let matched: string[];
        try {
          matched = options.reader.glob(full);
        } catch (err) {
          diagnostics.push({ file, line: files.line, severity: 'warning', message: `include ${pattern}: ${(err as Error).message}` });
          continue;
        }
        if (matched.length === 0) diagnostics.push({ file, line: files.line, severity: 'warning', message: `include ${pattern}: no file matches` });
        for (const path of matched) {
          let included: string;
          try {
            included = options.reader.read(path);
          } catch (err) {
            diagnostics.push({ file, line: files.line, severity: 'error', message: `include ${path}: ${(err as Error).message}` });
            continue;
          }
          const more = parseIni(included, path, diagnostics);
          for (const s of more) {
            if (s.name === 'include')
              diagnostics.push({ file: path, line: s.line, severity: 'warning', message: 'an included file cannot include files (supervisord ignores it)' });
            else if (all.some((o) => o.name === s.name))
              diagnostics.push({ file: path, line: s.line, severity: 'error', message: `section [${s.name}] appears twice` });
            else all.push(s);
          }
        }
      }
    }
  }

  const groupOf = new Map<string, string>();
  for (const s of all) {
    if (s.name.startsWith('group:')) {
      const programs = s.values.get('programs')?.value ?? '';
      for (const p of programs.split(',')) if (p.trim() !== '') groupOf.set(p.trim(), s.name.slice(6));
    }
  }
  const programs: Program[] = [];
  for (const s of all) {
    const where = `${s.file}:${s.line}`;
    if (s.name === 'include') continue;
    if (s.name.startsWith('program:')) {
      const program = importProgram(s, groupOf.get(s.name.slice(8)) ?? s.name.slice(8), options, diagnostics);
      if (program) programs.push(program);
    } else if (Object.hasOwn(OWN_SECTIONS, s.name)) {
      result.notMapped.push({ key: `[${s.name}]`, value: keysOf(s), reason: OWN_SECTIONS[s.name]! });
    } else if (s.name.startsWith('rpcinterface:')) {
      result.notMapped.push({ key: `[${s.name}]`, value: keysOf(s), reason: "supervisord's XML-RPC interface: runit-ts serve has a JSON API" });
    } else if (s.name.startsWith('group:')) {
      result.notMapped.push({ key: `[${s.name}]`, value: keysOf(s), reason: 'runit has no groups: its programs are imported one by one' });
    } else if (s.name.startsWith('eventlistener:')) {
      result.notMapped.push({
        key: `[${s.name}]`,
        value: keysOf(s),
        reason: "an event listener speaks supervisord's event protocol on stdin/stdout: runit-ts events --json is the nearest",
      });
    } else if (s.name.startsWith('fcgi-program:')) {
      result.notMapped.push({ key: `[${s.name}]`, value: keysOf(s), reason: 'supervisord opens the FastCGI socket for it: no equivalent' });
    } else {
      diagnostics.push({ file: s.file, line: s.line, severity: 'warning', message: `unknown section [${s.name}]: not imported` });
      result.notMapped.push({ key: `[${s.name}]`, value: keysOf(s), reason: `unknown section (${where})` });
    }
  }

  // priority: lower starts first; each level needs every service of the level below
  const levels = [...new Set(programs.map((p) => p.priority))].sort((a, b) => a - b);
  for (const program of programs) {
    const level = levels.indexOf(program.priority);
    const below = level > 0 ? programs.filter((p) => p.priority === levels[level - 1]) : [];
    for (const service of program.services) {
      for (const p of below) for (const s of p.services) (service.spec.needs ??= []).push(s.spec.name);
      if (below.length > 0) {
        service.mapped.push({
          key: 'priority',
          value: String(program.priority),
          to: `needs/ ${below.flatMap((p) => p.services.map((s) => s.spec.name)).join(' ')} (priority ${levels[level - 1]} starts first)`,
        });
        (service.spec.notes ??= []).push(
          `priority ${program.priority}: needs/ the services of priority ${levels[level - 1]}; runit-ts waits until they are up, supervisord only starts them earlier`,
        );
      } else if (program.section.values.has('priority')) {
        service.mapped.push({ key: 'priority', value: String(program.priority), to: 'starts first (nothing of a lower priority)' });
      }
    }
    result.services.push(...program.services);
  }
  const seen = new Set<string>();
  for (const s of result.services) {
    if (seen.has(s.spec.name)) diagnostics.push({ file, severity: 'error', message: `two programs make the service ${s.spec.name}` });
    seen.add(s.spec.name);
  }
  return result;
}

function keysOf(s: IniSection): string {
  return [...s.values.entries()].map(([k, v]) => `${k}=${v.value}`).join('; ');
}

function envNames(env: Record<string, string | undefined>): Record<string, string> {
  const names: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) names[`ENV_${k}`] = v;
  return names;
}

function expandOr(v: IniValue, names: Record<string, string | number>, diagnostics: Diagnostic[]): string | undefined {
  try {
    return expand(v.value, names);
  } catch (err) {
    diagnostics.push({ file: v.file, line: v.line, severity: 'error', message: (err as Error).message });
    return undefined;
  }
}

const PROGRAM_KEYS = new Set([
  'command',
  'process_name',
  'numprocs',
  'numprocs_start',
  'priority',
  'autostart',
  'startsecs',
  'startretries',
  'autorestart',
  'exitcodes',
  'stopsignal',
  'stopwaitsecs',
  'stopasgroup',
  'killasgroup',
  'user',
  'redirect_stderr',
  'stdout_logfile',
  'stdout_logfile_maxbytes',
  'stdout_logfile_backups',
  'environment',
  'directory',
  'umask',
]);

const NOT_MAPPED_KEYS: Record<string, string> = {
  stdout_capture_maxbytes: 'capture mode feeds supervisord events: no equivalent',
  stdout_events_enabled: 'supervisord events: runit-ts events reports state changes, not output',
  stdout_syslog: 'svlogd sends to syslog only through a UDP address in log/main/config (u)',
  stderr_logfile: 'stderr joins stdout in log/main (run does exec 2>&1): no separate stderr log',
  stderr_logfile_maxbytes: 'no separate stderr log',
  stderr_logfile_backups: 'no separate stderr log',
  stderr_capture_maxbytes: 'capture mode feeds supervisord events: no equivalent',
  stderr_events_enabled: 'supervisord events',
  stderr_syslog: 'no separate stderr log',
  serverurl: 'supervisorctl inside the program: sv needs no server',
};

function importProgram(section: IniSection, groupName: string, options: SupervisordOptions, diagnostics: Diagnostic[]): Program | undefined {
  const programName = section.name.slice('program:'.length);
  const values = section.values;
  const error = (v: IniValue | undefined, message: string) => {
    diagnostics.push({ file: v?.file ?? section.file, line: v?.line ?? section.line, severity: 'error', message: `[${section.name}] ${message}` });
    return undefined;
  };
  const base: Record<string, string | number> = {
    ...envNames(options.env),
    program_name: programName,
    group_name: groupName,
    host_node_name: options.hostname,
    here: dirname(resolve(section.file)),
  };
  const int = (key: string, fallback: number): number | undefined => {
    const v = values.get(key);
    if (!v) return fallback;
    const text = expandOr(v, base, diagnostics);
    if (text === undefined) return undefined;
    if (!/^-?\d+$/.test(text.trim())) return error(v, `${key}: not a whole number: ${v.value}`);
    return Number(text);
  };
  const numprocs = int('numprocs', 1);
  const start = int('numprocs_start', 0);
  const priority = int('priority', 999);
  if (numprocs === undefined || start === undefined || priority === undefined) return undefined;
  if (numprocs < 1) return error(values.get('numprocs'), 'numprocs must be at least 1');
  const nameValue: IniValue = values.get('process_name') ?? { value: '%(program_name)s', file: section.file, line: section.line };
  if (numprocs > 1 && !nameValue.value.includes('%(process_num)')) {
    return error(values.get('numprocs'), '%(process_num) must be present within process_name when numprocs > 1');
  }
  const command = values.get('command');
  if (!command) return error(undefined, 'no command');
  const program: Program = { name: programName, section, priority, services: [] };

  for (let num = start; num < start + numprocs; num++) {
    const names = { ...base, process_num: num, numprocs };
    const get = (key: string): string | undefined => {
      const v = values.get(key);
      return v ? expandOr(v, names, diagnostics) : undefined;
    };
    const name = expandOr(nameValue, names, diagnostics);
    if (name === undefined) return undefined;
    const bad = invalidServiceName(name);
    if (bad) return error(nameValue, `${name} cannot name a service: ${bad}`);
    const commandText = get('command');
    if (commandText === undefined) return undefined;
    const argv = shlexSplit(commandText);
    if (typeof argv === 'string') return error(command, `command: ${argv}`);
    if (argv.length === 0) return error(command, 'command is empty');
    const b = new ServiceBuilder(name, { argv }, `${command.file}:${section.line} [${section.name}]`);
    b.map('command', commandText, `run: exec ${shJoin(argv)} (split as supervisord does, no shell)`);
    if (values.has('process_name') || numprocs > 1) b.map('process_name', name, `the service directory (process ${num} of ${numprocs})`);
    if (values.has('numprocs')) b.map('numprocs', numprocs, `${numprocs} services`);
    if (values.has('numprocs_start')) b.map('numprocs_start', start, `process_num from ${start}`);

    const directory = get('directory');
    if (directory !== undefined) {
      b.spec.cwd = directory;
      b.map('directory', directory, 'run: cd');
    }
    const user = get('user');
    if (user !== undefined) {
      b.spec.user = user;
      b.map('user', user, 'chpst -u');
    }
    const umask = get('umask');
    if (umask !== undefined) {
      if (/^[0-7]{1,4}$/.test(umask)) {
        b.spec.umask = umask;
        b.map('umask', umask, 'run: umask');
      } else {
        error(values.get('umask'), `umask: not octal: ${umask}`);
      }
    }
    const environment = get('environment');
    if (environment !== undefined) {
      const env = parseEnvironment(environment);
      if (typeof env === 'string') return error(values.get('environment'), `environment: ${env}`);
      for (const [k, v] of Object.entries(env)) {
        b.env(k, v);
        b.map(`environment ${k}`, v, `env/${k}`);
      }
    }
    const autostartText = get('autostart');
    if (autostartText !== undefined) {
      const on = boolean(autostartText);
      if (on === undefined) return error(values.get('autostart'), `autostart: not a boolean: ${autostartText}`);
      if (!on) b.spec.down = true;
      b.map('autostart', autostartText, on ? 'started by runsvdir' : 'down (started by sv up)');
    }

    // restarts
    const autorestart = (get('autorestart') ?? 'unexpected').toLowerCase();
    const exitcodesText = get('exitcodes') ?? '0';
    const exitcodes = exitcodesText.split(',').map((c) => c.trim());
    if (exitcodes.some((c) => !/^\d+$/.test(c))) return error(values.get('exitcodes'), `exitcodes: not a list of numbers: ${exitcodesText}`);
    if (autorestart === 'unexpected') {
      b.finishGuard(`case "$1" in ${exitcodes.join('|')}) ${STOP_RESTARTS};; esac`);
      b.map(
        'autorestart',
        values.has('autorestart') ? 'unexpected' : 'unexpected (supervisord default)',
        `finish: want down after an exit with code ${exitcodes.join(' or ')} (expected), restart otherwise`,
      );
      if (values.has('exitcodes')) b.map('exitcodes', exitcodesText, 'the exit codes finish takes as expected');
    } else {
      const on = boolean(autorestart);
      if (on === undefined) return error(values.get('autorestart'), `autorestart: not true, false or unexpected: ${autorestart}`);
      if (on) b.map('autorestart', autorestart, "runit's default: restart");
      else {
        b.finishGuard(STOP_RESTARTS);
        b.map('autorestart', autorestart, 'finish: want down after the first exit');
      }
      if (values.has('exitcodes')) b.notMapped('exitcodes', exitcodesText, `only used with autorestart=unexpected (here ${autorestart})`);
    }
    const startsecs = int('startsecs', 1);
    const startretries = int('startretries', 3);
    if (startsecs === undefined || startretries === undefined) return undefined;
    if (values.has('startsecs') || values.has('startretries')) {
      if (startsecs === 0) {
        b.notMapped('startsecs', 0, 'supervisord never counts a start as failed: no give-up');
        if (values.has('startretries')) b.notMapped('startretries', startretries, 'startsecs=0: no start fails');
      } else {
        const deaths = startretries + 1;
        const seconds = deaths * startsecs + (startretries * (startretries + 1)) / 2;
        b.policy().giveUp = { deaths, seconds };
        b.map('startretries/startsecs', `${startretries}/${startsecs}`, `give up after ${deaths} deaths in ${seconds} s`);
        b.note(
          `startretries ${startretries}, startsecs ${startsecs}: supervisord gives up (FATAL) after ${deaths} starts that each died within ${startsecs} s; runit-ts gives up after ${deaths} deaths within ${seconds} s (the starts plus supervisord's 1, 2, 3 ... s retry delays)`,
        );
      }
    }
    const stopsignal = get('stopsignal');
    if (stopsignal !== undefined) {
      const signal = signalName(stopsignal);
      if (!signal) return error(values.get('stopsignal'), `stopsignal: not a signal: ${stopsignal}`);
      if (signal !== 'SIGTERM') b.policy().downSignal = signal;
      b.map('stopsignal', stopsignal, signal === 'SIGTERM' ? "runit's default (TERM)" : `down-signal ${signal}`);
    }
    const stopwait = get('stopwaitsecs');
    if (stopwait !== undefined) {
      if (!/^\d+$/.test(stopwait)) return error(values.get('stopwaitsecs'), `stopwaitsecs: not a whole number: ${stopwait}`);
      b.policy().timeoutKillMs = Number(stopwait) * 1000;
      b.map('stopwaitsecs', stopwait, `timeout-kill ${Number(stopwait) * 1000}`);
    }
    for (const key of ['stopasgroup', 'killasgroup']) {
      const text = get(key);
      if (text === undefined) continue;
      if (boolean(text)) b.notMapped(key, text, 'containment is not built yet (issue 14): runit-ts signals the main process only');
      else b.map(key, text, "runit's behaviour: the main process only");
    }

    // logs
    const logfile = get('stdout_logfile') ?? 'AUTO';
    const redirect = get('redirect_stderr');
    if (redirect !== undefined) {
      b.map('redirect_stderr', redirect, 'run: exec 2>&1');
      if (!boolean(redirect)) b.note('redirect_stderr false: stderr still joins stdout in log/main (run does exec 2>&1)');
    }
    if (logfile.toUpperCase() === 'NONE') {
      b.spec.log = false;
      b.map('stdout_logfile', logfile, "no log service: output goes to runsvdir's own (supervisord discards it)");
    } else {
      const config: string[] = [];
      const max = get('stdout_logfile_maxbytes');
      if (max !== undefined) {
        const bytes = parseBytes(max);
        if (bytes === undefined) return error(values.get('stdout_logfile_maxbytes'), `stdout_logfile_maxbytes: not a size: ${max}`);
        config.push(`s${bytes}`);
        b.map('stdout_logfile_maxbytes', max, `log/main/config s${bytes}`);
      }
      const backups = get('stdout_logfile_backups');
      if (backups !== undefined) {
        if (!/^\d+$/.test(backups)) return error(values.get('stdout_logfile_backups'), `stdout_logfile_backups: not a whole number: ${backups}`);
        const n = Math.max(1, Number(backups));
        config.push(`n${n}`);
        b.map('stdout_logfile_backups', backups, `log/main/config n${n}`);
        if (backups === '0') b.note('stdout_logfile_backups 0: svlogd n0 would keep every old file, so n1 keeps one');
      }
      b.spec.log = config.length > 0 ? { config } : {};
      if (logfile.toUpperCase() === 'AUTO') {
        b.map('stdout_logfile', values.has('stdout_logfile') ? logfile : 'AUTO (default)', 'log/run: svlogd -tt ./main');
      } else {
        b.map('stdout_logfile', logfile, 'log/run: svlogd -tt ./main');
        b.note(`stdout_logfile ${logfile}: svlogd writes a directory, log/main (current and rotated files), not one file`);
      }
    }
    for (const [key, v] of values) {
      if (PROGRAM_KEYS.has(key)) continue;
      if (Object.hasOwn(NOT_MAPPED_KEYS, key)) {
        b.notMapped(key, v.value, NOT_MAPPED_KEYS[key]!);
      } else {
        b.notMapped(key, v.value, 'unknown key');
        if (num === start) diagnostics.push({ file: v.file, line: v.line, severity: 'warning', message: `[${section.name}] unknown key ${key}` });
      }
    }
    program.services.push(b.build());
  }
  return program;
}

// systemd .service units (systemd.unit(5), systemd.service(5), systemd.exec(5),
// systemd.kill(5)) to ServiceSpecs: the unit file syntax (sections, lists
// reset by an empty assignment, backslash continuation, specifiers), the
// command line rules of ExecStart= (prefixes, quoting, C escapes, $VAR split
// into words and ${VAR} kept in one), and each setting mapped to the closest
// runit-ts file or listed as not mapped. EnvironmentFile= is read through the
// reader given; nothing else is touched.
import { basename } from 'node:path';
import { invalidServiceName } from '../servicedir/spec.js';
import { type Diagnostic, type ImportResult, parseBytes, STOP_RESTARTS, ServiceBuilder, signalName } from './common.js';
import { shJoin, shQuote } from '../util/sh-quote.js';

export interface SystemdOptions {
  /** the contents of an EnvironmentFile=, or undefined when it cannot be read */
  readFile(path: string): string | undefined;
  /** a user's home directory (for WorkingDirectory=~ and %h), or undefined */
  homeOf(user: string): string | undefined;
  hostname: string;
  /** the services imported together (unit names without .service): After= and the like to them become needs/ */
  imported: ReadonlySet<string>;
}

interface Entry {
  value: string;
  line: number;
}

type Unit = Map<string, Map<string, Entry[]>>;

/** The unit file: sections of keys, each key's values in order (an empty assignment empties the list). */
export function parseUnit(text: string, file: string, diagnostics: Diagnostic[]): Unit {
  const unit: Unit = new Map();
  let section: Map<string, Entry[]> | undefined;
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      const next = lines[++i]!.trim();
      if (next.startsWith('#') || next.startsWith(';')) {
        line = `${line.slice(0, -1)} \\`;
        continue;
      }
      line = `${line.slice(0, -1)} ${next}`;
    }
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = unit.get(header[1]!) ?? new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const m = /^([A-Za-z0-9_-]+)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      diagnostics.push({ file, line: start, severity: 'error', message: `not a [Section] header or a Key=Value line: ${line}` });
      continue;
    }
    if (!section) {
      diagnostics.push({ file, line: start, severity: 'error', message: 'a setting before the first [Section] header' });
      continue;
    }
    const list = section.get(m[1]!) ?? [];
    if (m[2] === '') list.length = 0;
    else list.push({ value: m[2]!, line: start });
    section.set(m[1]!, list);
  }
  return unit;
}

/** A command word: literal text and variable references. */
type Piece = { text: string } | { variable: string; whole: boolean };

/** systemd's extract_first_word with quotes and C escapes, keeping $VAR and ${VAR} apart. */
export function commandWords(text: string, expandVariables: boolean): Piece[][] | string {
  const words: Piece[][] = [];
  let i = 0;
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', s: ' ', '\\': '\\', '"': '"', "'": "'" };
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    const word: Piece[] = [];
    const literal = (c: string) => {
      const last = word[word.length - 1];
      if (last && 'text' in last) last.text += c;
      else word.push({ text: c });
    };
    let quote: string | undefined;
    const wordStart = i;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (!quote && /\s/.test(c)) break;
      if (quote && c === quote) {
        quote = undefined;
      } else if (!quote && (c === '"' || c === "'")) {
        quote = c;
      } else if (c === '\\') {
        const n = text[++i];
        if (n === undefined) return 'a backslash at the end of the line';
        if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
          literal(String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 3), 16)));
          i += 2;
        } else if (/[0-7]/.test(n) && /^[0-7]{3}$/.test(text.slice(i, i + 3))) {
          literal(String.fromCharCode(Number.parseInt(text.slice(i, i + 3), 8)));
          i += 2;
        } else {
          literal(escapes[n] ?? n);
        }
      } else if (c === '$' && expandVariables) {
        if (text[i + 1] === '$') {
          literal('$');
          i++;
        } else if (text[i + 1] === '{') {
          const end = text.indexOf('}', i + 2);
          if (end < 0) return 'an unclosed ${';
          word.push({ variable: text.slice(i + 2, end), whole: false });
          i = end;
        } else {
          const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
          if (!m) literal('$');
          else {
            const whole = !quote && i === wordStart && (i + 1 + m[0].length >= text.length || /\s/.test(text[i + 1 + m[0].length]!));
            word.push({ variable: m[0], whole });
            i += m[0].length;
          }
        }
      } else {
        literal(c);
      }
    }
    if (quote) return `an unclosed ${quote}`;
    words.push(word);
  }
  return words;
}

const CLEAN_SIGNALS = ['1', '2', '13', '15'];

const SANDBOXING =
  /^(Private|Protect|Restrict|NoNewPrivileges|Capability|AmbientCapabilities|SystemCall|ReadWrite|ReadOnly|Inaccessible|NoExec|Exec(Paths)|LockPersonality|MemoryDenyWriteExecute|RemoveIPC|DevicePolicy|DeviceAllow|IPAddress|SecureBits|KeyringMode|ProcSubset|BindPaths|BindReadOnlyPaths|TemporaryFileSystem|MountFlags|SELinuxContext|AppArmorProfile|SmackProcessLabel|PrivateUsers|DynamicUser)/;
const CGROUP =
  /^(Memory(Max|High|Min|Low|SwapMax|Accounting|Limit)|CPU(Quota|Weight|Shares|Accounting|QuotaPeriodSec)|StartupCPUWeight|Tasks(Max|Accounting)|IO(Weight|DeviceWeight|ReadBandwidthMax|WriteBandwidthMax|Accounting)|Slice|Delegate|AllowedCPUs|AllowedMemoryNodes)$/;

const LIMITS: Record<string, { field: 'memory' | 'nofile' | 'nproc' | 'fsize' | 'core' | 'data' | 'rss' | 'cpu'; bytes: boolean }> = {
  LimitNOFILE: { field: 'nofile', bytes: false },
  LimitNPROC: { field: 'nproc', bytes: false },
  LimitFSIZE: { field: 'fsize', bytes: true },
  LimitCORE: { field: 'core', bytes: true },
  LimitDATA: { field: 'data', bytes: true },
  LimitRSS: { field: 'rss', bytes: true },
  LimitCPU: { field: 'cpu', bytes: false },
  LimitAS: { field: 'memory', bytes: true },
};

const DIRECTORIES: Record<string, string> = {
  RuntimeDirectory: '/run',
  StateDirectory: '/var/lib',
  CacheDirectory: '/var/cache',
  LogsDirectory: '/var/log',
  ConfigurationDirectory: '/etc',
};

/** A systemd time span (`90`, `90s`, `1min 30s`, `500ms`, `infinity`) in milliseconds. */
export function timeSpanMs(text: string): number | undefined {
  const t = text.trim();
  if (t === 'infinity') return Number.POSITIVE_INFINITY;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const units: Record<string, number> = {
    us: 0.001,
    usec: 0.001,
    ms: 1,
    msec: 1,
    s: 1000,
    sec: 1000,
    second: 1000,
    seconds: 1000,
    m: 60000,
    min: 60000,
    minute: 60000,
    minutes: 60000,
    h: 3600000,
    hr: 3600000,
    hour: 3600000,
    hours: 3600000,
    d: 86400000,
    day: 86400000,
    days: 86400000,
  };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(t))) {
    const unit = units[m[2]!];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    consumed = re.lastIndex;
  }
  return consumed === t.length && consumed > 0 ? total : undefined;
}

/** systemd's environment file: KEY=VALUE lines, # and ; comments, quotes, backslash continuation, `export`. */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  const joined = text.replace(/\r\n/g, '\n').replace(/\\\n/g, '');
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    const dq = /^"((?:[^"\\]|\\.)*)"\s*$/.exec(value);
    const sq = /^'([^']*)'\s*$/.exec(value);
    if (dq) value = dq[1]!.replace(/\\([$"\\`\n])/g, '$1');
    else if (sq) value = sq[1]!;
    else value = value.replace(/\s+#.*$/, '').replace(/\\(.)/g, '$1');
    env[m[1]!] = value;
  }
  return env;
}

export function parseSystemd(text: string, file: string, options: SystemdOptions): ImportResult {
  const diagnostics: Diagnostic[] = [];
  const result: ImportResult = { services: [], notMapped: [], diagnostics };
  const unitName = basename(file);
  if (!unitName.endsWith('.service')) {
    diagnostics.push({ file, severity: 'error', message: 'not a .service unit (only services have a process to supervise)' });
    return result;
  }
  const unit = parseUnit(text, file, diagnostics);
  const prefix = unitName.slice(0, -'.service'.length);
  const at = prefix.indexOf('@');
  const instance = at >= 0 ? prefix.slice(at + 1) : '';
  const name = prefix;
  const bad = invalidServiceName(name);
  if (bad) {
    diagnostics.push({ file, severity: 'error', message: `${name} cannot name a service: ${bad}` });
    return result;
  }
  if (at >= 0 && instance === '') {
    diagnostics.push({ file, severity: 'warning', message: `a template unit: %i is empty (import a copy named ${prefix}NAME.service for an instance)` });
  }
  const service = unit.get('Service') ?? new Map<string, Entry[]>();
  const used = new Set<string>();
  const all = (key: string): Entry[] => {
    used.add(key);
    return service.get(key) ?? [];
  };
  const last = (key: string): Entry | undefined => all(key).at(-1);
  const error = (entry: Entry | undefined, message: string) => diagnostics.push({ file, line: entry?.line, severity: 'error', message });

  const user = last('User')?.value;
  const specifiers = (value: string, line: number): string =>
    value.replace(/%(.)/g, (all0, c: string) => {
      const home = user ? options.homeOf(user) : '/root';
      const table: Record<string, string | undefined> = {
        '%': '%',
        n: unitName,
        N: prefix,
        p: at >= 0 ? prefix.slice(0, at) : prefix,
        P: at >= 0 ? prefix.slice(0, at) : prefix,
        i: instance,
        I: instance,
        j: (at >= 0 ? prefix.slice(0, at) : prefix).split('-').at(-1),
        J: (at >= 0 ? prefix.slice(0, at) : prefix).split('-').at(-1),
        u: user ?? 'root',
        h: home,
        H: options.hostname,
        t: '/run',
        S: '/var/lib',
        C: '/var/cache',
        L: '/var/log',
        E: '/etc',
        T: '/tmp',
        V: '/var/tmp',
      };
      const v = table[c];
      if (v === undefined) {
        diagnostics.push({ file, line, severity: 'warning', message: `specifier ${all0} not known here: left as it is` });
        return all0;
      }
      return v;
    });

  // the environment systemd builds: Environment= in order, then EnvironmentFile= over it
  const env: Record<string, string> = {};
  const envSources: string[] = [];
  for (const e of all('Environment')) {
    const words = commandWords(specifiers(e.value, e.line), false);
    if (typeof words === 'string') {
      error(e, `Environment=: ${words}`);
      continue;
    }
    for (const w of words) {
      const assignment = w.map((p) => ('text' in p ? p.text : '')).join('');
      const eq = assignment.indexOf('=');
      if (eq <= 0) diagnostics.push({ file, line: e.line, severity: 'warning', message: `Environment=: not KEY=VALUE: ${assignment}: ignored` });
      else env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
    envSources.push(e.value);
  }
  const missingEnvFiles: string[] = [];
  for (const e of all('EnvironmentFile')) {
    const optional = e.value.startsWith('-');
    const path = specifiers(optional ? e.value.slice(1) : e.value, e.line);
    const content = options.readFile(path);
    if (content === undefined) {
      missingEnvFiles.push(path);
      if (!optional)
        diagnostics.push({
          file,
          line: e.line,
          severity: 'warning',
          message: `EnvironmentFile=${path} cannot be read (systemd would refuse to start the unit)`,
        });
      continue;
    }
    Object.assign(env, parseEnvironmentFile(content));
  }

  // ExecStart
  const starts = all('ExecStart');
  const type = last('Type')?.value ?? (starts.length === 0 ? 'oneshot' : 'simple');
  if (starts.length === 0) {
    error(undefined, 'no ExecStart=: nothing to supervise');
    return result;
  }
  if (starts.length > 1) error(starts[1], 'more than one ExecStart= (only Type=oneshot allows it): a service runs one program');
  const start = starts[0]!;
  const parsed = command(start, 'ExecStart');
  if (!parsed) return result;
  const b = new ServiceBuilder(name, parsed.command, `${file}`);
  b.map('ExecStart', start.value, parsed.shellNeeded ? `run: exec sh -c (variables from ${missingEnvFiles.join(', ')})` : `run: exec ${parsed.text}`);
  for (const n of parsed.notes) b.note(n);

  function command(
    entry: Entry,
    key: string,
  ): { command: { argv: string[] } | { shell: string }; text: string; shellNeeded: boolean; notes: string[]; ignoreFailure: boolean } | undefined {
    let rest = entry.value;
    const notes: string[] = [];
    let ignoreFailure = false;
    let expandVariables = true;
    let argv0 = false;
    for (;;) {
      if (rest.startsWith('!!')) {
        notes.push(`${key} prefix !!: ambient capabilities are not available; it runs as the service's user`);
        rest = rest.slice(2);
      } else if (rest.startsWith('-')) {
        ignoreFailure = true;
        rest = rest.slice(1);
      } else if (rest.startsWith('@')) {
        argv0 = true;
        rest = rest.slice(1);
      } else if (rest.startsWith(':')) {
        expandVariables = false;
        rest = rest.slice(1);
      } else if (rest.startsWith('+')) {
        notes.push(`${key} prefix +: systemd runs it with full privileges; here it runs like the rest of run`);
        rest = rest.slice(1);
      } else if (rest.startsWith('!')) {
        notes.push(`${key} prefix !: systemd runs it with full privileges but User= set; here it runs like the rest of run`);
        rest = rest.slice(1);
      } else break;
    }
    const words = commandWords(specifiers(rest, entry.line), expandVariables);
    if (typeof words === 'string') {
      error(entry, `${key}=: ${words}`);
      return undefined;
    }
    if (argv0 && words.length > 1) {
      words.splice(1, 1);
      notes.push(`${key} prefix @: the second word was argv[0]; the program gets its path as argv[0] instead`);
    }
    if (words.some((w) => w.length === 1 && 'text' in w[0]! && w[0].text === ';')) {
      error(entry, `${key}=: several commands separated by ";" are not supported`);
      return undefined;
    }
    const unknown = new Set<string>();
    let shellNeeded = false;
    for (const w of words) {
      for (const p of w) {
        if ('variable' in p && !Object.hasOwn(env, p.variable)) {
          if (missingEnvFiles.length > 0) shellNeeded = true;
          else unknown.add(p.variable);
        }
      }
    }
    for (const v of unknown) notes.push(`${key}: $${v} is not set by the unit: systemd expands it to nothing, and so did the import`);
    if (shellNeeded) {
      const line = words.map((w) => w.map((p) => ('text' in p ? shQuote(p.text) : p.whole ? `$${p.variable}` : `"\${${p.variable}}"`)).join('')).join(' ');
      const load = missingEnvFiles.map((f) => `if [ -r ${shQuote(f)} ]; then set -a; . ${shQuote(f)}; set +a; fi; `).join('');
      return { command: { shell: `${load}exec ${line}` }, text: line, shellNeeded, notes, ignoreFailure };
    }
    const argv: string[] = [];
    for (const w of words) {
      if (w.length === 1 && 'variable' in w[0]! && w[0].whole) {
        argv.push(...(env[w[0].variable] ?? '').split(/\s+/).filter((s) => s !== ''));
      } else {
        argv.push(w.map((p) => ('text' in p ? p.text : (env[p.variable] ?? ''))).join(''));
      }
    }
    if (argv.length === 0) {
      error(entry, `${key}=: no command`);
      return undefined;
    }
    return { command: { argv }, text: shJoin(argv), shellNeeded, notes, ignoreFailure };
  }

  if (parsed.ignoreFailure) b.note('ExecStart prefix -: a failing exit counts as success for Restart=');
  if (missingEnvFiles.length > 0) {
    for (const path of missingEnvFiles) b.map('EnvironmentFile', path, 'read by sh at each start when it exists (set -a; . FILE)');
    b.note(`EnvironmentFile ${missingEnvFiles.join(', ')}: not readable at import, read by sh at each start (sh's quoting rules, close to systemd's)`);
  }
  if (all('EnvironmentFile').length > missingEnvFiles.length) {
    b.map(
      'EnvironmentFile',
      all('EnvironmentFile')
        .map((e) => e.value)
        .join(' '),
      'env/ (read at import time)',
    );
    b.note('EnvironmentFile: its values were copied into env/ at import; edit env/ (or re-import) when the file changes');
  }
  for (const [k, v] of Object.entries(env)) b.env(k, v);
  if (envSources.length > 0) b.map('Environment', envSources.join(' '), `env/ ${Object.keys(env).join(' ')}`);

  // Type
  switch (type) {
    case 'simple':
    case 'exec':
    case 'idle':
      if (service.has('Type')) b.map('Type', type, 'run: the program runs in the foreground, as runit needs');
      break;
    case 'notify':
    case 'notify-reload':
      b.spec.readiness = { notifySocket: user ? { owner: user } : {} };
      b.map('Type', type, `notify-socket${user ? ` (owner ${user})` : ''}: ready when the service sends READY=1`);
      if (type === 'notify-reload') b.note('Type=notify-reload: reloading by SIGHUP is sv hup; RELOADING=1 is read as systemd does');
      break;
    case 'forking':
      b.map('Type', type, 'run: the program must stay in the foreground');
      b.note(
        'Type=forking: runit supervises the process run execs, so the daemon must not fork into the background: add its foreground flag (-f, -D, --nodaemon, ...) to ExecStart',
      );
      break;
    case 'oneshot':
      b.finishGuard(STOP_RESTARTS);
      b.map('Type', type, 'finish: want down once it has run (a oneshot is not restarted)');
      break;
    default:
      b.notMapped('Type', type, 'unknown type: imported as simple');
  }
  const watchdog = last('WatchdogSec');
  if (watchdog) {
    const ms = timeSpanMs(watchdog.value);
    if (ms === undefined) error(watchdog, `WatchdogSec=: not a time span: ${watchdog.value}`);
    else if (ms > 0 && Number.isFinite(ms)) {
      b.spec.readiness = { ...(b.spec.readiness ?? { notifySocket: {} }), watchdogSeconds: ms / 1000 };
      b.map('WatchdogSec', watchdog.value, `watchdog ${ms / 1000} (WATCHDOG=1 over the notify socket)`);
    }
  }

  // ExecStartPre / ExecStopPost / the rest of Exec*
  const group = last('Group')?.value;
  for (const [key, base] of Object.entries(DIRECTORIES)) {
    const dirs = all(key).flatMap((e) => specifiers(e.value, e.line).split(/\s+/));
    if (dirs.length === 0) continue;
    const mode = last(`${key}Mode`)?.value ?? '0755';
    for (const d of dirs) {
      const path = `${base}/${d}`;
      b.before(`mkdir -p ${shQuote(path)}`);
      b.before(`chmod ${mode} ${shQuote(path)}`);
      if (user) b.before(`chown ${shQuote(user)}${group ? `:${shQuote(group)}` : ''} ${shQuote(path)}`);
    }
    b.map(key, dirs.join(' '), `run: mkdir -p ${dirs.map((d) => `${base}/${d}`).join(' ')} (mode ${mode}) before the exec`);
    if (key === 'RuntimeDirectory') b.note('RuntimeDirectory: created at each start; systemd also removes it at stop, runit-ts leaves it');
  }
  for (const key of Object.keys(DIRECTORIES)) all(`${key}Mode`);
  all('RuntimeDirectoryPreserve');
  for (const e of all('ExecStartPre')) {
    const c = command(e, 'ExecStartPre');
    if (!c) continue;
    const line = 'shell' in c.command ? c.command.shell : shJoin(c.command.argv);
    b.before(c.ignoreFailure ? `${line} || true` : line);
    b.map('ExecStartPre', e.value, 'run: before the exec');
    for (const n of c.notes) b.note(n);
  }
  if (all('ExecStartPre').length > 0 && user)
    b.note(`ExecStartPre: runs as the user run starts as (root), before chpst -u ${user}; systemd runs it as ${user}`);
  for (const e of all('ExecStopPost')) {
    const c = command(e, 'ExecStopPost');
    if (!c) continue;
    const line = 'shell' in c.command ? c.command.shell : shJoin(c.command.argv);
    b.finish(`${line}${c.ignoreFailure ? ' || true' : ''}`);
    b.map('ExecStopPost', e.value, 'finish');
  }
  for (const key of ['ExecStop', 'ExecReload', 'ExecStartPost', 'ExecCondition']) {
    for (const e of all(key)) {
      const reason: Record<string, string> = {
        ExecStop: 'the stop is the down-signal (then SIGKILL after timeout-kill); a custom control/d program could run it, not written by the importer',
        ExecReload: 'sv hup sends SIGHUP; a custom control/h program could run it (with $MAINPID from supervise/pid), not written by the importer',
        ExecStartPost: 'runit has no hook after the start',
        ExecCondition: 'runit has no start condition',
      };
      b.notMapped(key, e.value, reason[key]!);
    }
  }

  // identity and process state
  if (user) {
    b.spec.user = user;
    b.map('User', user, 'chpst -u');
  }
  if (group) {
    b.spec.group = group;
    b.map('Group', group, 'chpst -u USER:GROUP');
  }
  const supplementary = last('SupplementaryGroups');
  if (supplementary) b.notMapped('SupplementaryGroups', supplementary.value, "chpst -u takes the user's groups from /etc/group, not extra ones");
  const wd = last('WorkingDirectory');
  if (wd) {
    let dir = specifiers(wd.value, wd.line);
    if (dir.startsWith('-')) {
      dir = dir.slice(1);
      b.note(`WorkingDirectory=-${dir}: systemd ignores a missing directory; run's cd fails (and run is retried) when it is missing`);
    }
    if (dir === '~') {
      const home = options.homeOf(user ?? 'root');
      if (home) {
        dir = home;
        b.note(`WorkingDirectory=~: the home of ${user ?? 'root'} at import time, ${home}`);
      } else {
        b.notMapped('WorkingDirectory', wd.value, `no home directory known for ${user ?? 'root'}`);
        dir = '';
      }
    }
    if (dir !== '') {
      b.spec.cwd = dir;
      b.map('WorkingDirectory', wd.value, 'run: cd');
    }
  }
  const umask = last('UMask');
  if (umask) {
    if (/^[0-7]{1,4}$/.test(umask.value)) {
      b.spec.umask = umask.value;
      b.map('UMask', umask.value, 'run: umask');
    } else error(umask, `UMask=: not octal: ${umask.value}`);
  }
  const nice = last('Nice');
  if (nice) {
    if (/^-?\d+$/.test(nice.value)) {
      b.spec.nice = Number(nice.value);
      b.map('Nice', nice.value, 'chpst -n (added to the nice value runsvdir has)');
    } else error(nice, `Nice=: not a number: ${nice.value}`);
  }

  // Restart
  const restart = last('Restart')?.value ?? 'no';
  const successStatus = all('SuccessExitStatus').flatMap((e) => e.value.split(/\s+/));
  const extraCodes = successStatus.filter((s) => /^\d+$/.test(s));
  const extraSignals = successStatus.flatMap((s) => {
    const sig = signalName(s);
    return sig && !/^\d+$/.test(s) ? [String(signalNumber(sig))] : [];
  });
  const clean = `0/*${extraCodes.map((c) => `|${c}/*`).join('')}|${[...CLEAN_SIGNALS, ...extraSignals].map((s) => `-1/${s}`).join('|')}`;
  const prevent = all('RestartPreventExitStatus').flatMap((e) => e.value.split(/\s+/));
  const preventCodes = prevent.filter((s) => /^\d+$/.test(s));
  const preventSignals = prevent.flatMap((s) => {
    const sig = signalName(s);
    return sig && !/^\d+$/.test(s) ? [`-1/${signalNumber(sig)}`] : [];
  });
  const preventCase = [...preventCodes.map((c) => `${c}/*`), ...preventSignals].join('|');
  if (preventCase !== '') {
    b.finishGuard(`case "$1/$2" in ${preventCase}) ${STOP_RESTARTS};; esac`);
    b.map('RestartPreventExitStatus', prevent.join(' '), 'finish: want down after these exits');
  }
  const restartWhere = service.has('Restart') ? 'Restart' : 'Restart (systemd default: no)';
  switch (restart) {
    case 'always':
      b.map(restartWhere, restart, "runit's default: restart");
      break;
    case 'no':
      if (type !== 'oneshot') b.finishGuard(STOP_RESTARTS);
      b.map(restartWhere, restart, 'finish: want down after the first exit');
      break;
    case 'on-failure':
      b.finishGuard(`case "$1/$2" in ${clean}) ${STOP_RESTARTS};; esac`);
      b.map(restartWhere, restart, 'finish: want down after a clean exit (code 0, or SIGHUP, SIGINT, SIGPIPE, SIGTERM)');
      break;
    case 'on-success':
      b.finishGuard(`case "$1/$2" in ${clean}) ;; *) ${STOP_RESTARTS};; esac`);
      b.map(restartWhere, restart, 'finish: want down unless the exit was clean');
      break;
    case 'on-abnormal':
    case 'on-abort':
      b.finishGuard(`case "$1/$2" in -1/1|-1/2|-1/13|-1/15|[0-9]*) ${STOP_RESTARTS};; esac`);
      b.map(restartWhere, restart, 'finish: want down unless it was killed by an unclean signal');
      break;
    case 'on-watchdog':
      b.finishGuard(STOP_RESTARTS);
      b.map(restartWhere, restart, 'finish: want down (runit-ts does not tell a watchdog kill apart)');
      break;
    default:
      b.notMapped('Restart', restart, 'unknown value: restarted always, as runit does');
  }
  all('SuccessExitStatus');
  if (successStatus.length > 0) b.map('SuccessExitStatus', successStatus.join(' '), 'finish: counted as clean');
  for (const e of all('RestartForceExitStatus')) b.notMapped('RestartForceExitStatus', e.value, 'runit restarts after any exit unless finish stops it');

  const restartSec = last('RestartSec');
  const maxDelay = last('RestartMaxDelaySec');
  const steps = last('RestartSteps');
  if (restartSec || maxDelay) {
    const first = restartSec ? timeSpanMs(restartSec.value) : 100;
    const cap = maxDelay ? timeSpanMs(maxDelay.value) : first;
    if (first === undefined || cap === undefined || !Number.isFinite(first) || !Number.isFinite(cap)) {
      error(restartSec ?? maxDelay, 'RestartSec=/RestartMaxDelaySec=: not a time span');
    } else {
      b.policy().backoff = { first: first / 1000, cap: Math.max(first, cap) / 1000 };
      b.map(
        maxDelay ? 'RestartSec/RestartMaxDelaySec' : 'RestartSec',
        maxDelay ? `${restartSec?.value ?? '100ms'}/${maxDelay.value}` : restartSec!.value,
        `backoff ${first / 1000} ${Math.max(first, cap) / 1000}`,
      );
      if (maxDelay) {
        b.note(
          `RestartSteps${steps ? `=${steps.value}` : ''}: systemd grows the delay in that many steps to RestartMaxDelaySec; runit-ts doubles it up to the cap and returns to the first after a stable run`,
        );
      } else if (first < 1000) {
        b.note('RestartSec below 1 s: runit restarts at most once a second');
      }
    }
  }
  if (steps && !maxDelay) b.notMapped('RestartSteps', steps.value, 'without RestartMaxDelaySec= it does nothing');
  else if (steps) used.add('RestartSteps');
  const unitSection = unit.get('Unit') ?? new Map<string, Entry[]>();
  const burst = service.get('StartLimitBurst')?.at(-1) ?? unitSection.get('StartLimitBurst')?.at(-1);
  const interval =
    service.get('StartLimitIntervalSec')?.at(-1) ?? unitSection.get('StartLimitIntervalSec')?.at(-1) ?? service.get('StartLimitInterval')?.at(-1);
  if (burst || interval) {
    used.add('StartLimitBurst').add('StartLimitIntervalSec').add('StartLimitInterval');
    const deaths = Number(burst?.value ?? 5);
    const seconds = (interval ? timeSpanMs(interval.value) : 10000) ?? Number.NaN;
    if (!Number.isInteger(deaths) || !Number.isFinite(seconds)) error(burst ?? interval, 'StartLimitBurst=/StartLimitIntervalSec=: not a number');
    else if (deaths > 0 && seconds > 0) {
      b.policy().giveUp = { deaths, seconds: Math.ceil(seconds / 1000) };
      b.map(
        'StartLimitBurst/StartLimitIntervalSec',
        `${deaths}/${interval?.value ?? '10s'}`,
        `give up after ${deaths} deaths in ${Math.ceil(seconds / 1000)} s`,
      );
    }
  }

  // stopping
  const timeoutStop = last('TimeoutStopSec') ?? last('TimeoutSec');
  if (timeoutStop) {
    const ms = timeSpanMs(timeoutStop.value);
    if (ms === undefined) error(timeoutStop, `TimeoutStopSec=: not a time span: ${timeoutStop.value}`);
    else if (ms === 0 || !Number.isFinite(ms))
      b.notMapped('TimeoutStopSec', timeoutStop.value, "no escalation to SIGKILL: runit's behaviour without timeout-kill");
    else {
      b.policy().timeoutKillMs = ms;
      b.map('TimeoutStopSec', timeoutStop.value, `timeout-kill ${ms}`);
    }
  }
  const timeoutStart = last('TimeoutStartSec');
  if (timeoutStart) b.notMapped('TimeoutStartSec', timeoutStart.value, 'runit-ts does not stop a service that is slow to become ready');
  all('TimeoutSec');
  const killSignal = last('KillSignal');
  if (killSignal) {
    const sig = signalName(killSignal.value);
    if (!sig) error(killSignal, `KillSignal=: not a signal: ${killSignal.value}`);
    else {
      if (sig !== 'SIGTERM') b.policy().downSignal = sig;
      b.map('KillSignal', killSignal.value, sig === 'SIGTERM' ? "runit's default (TERM)" : `down-signal ${sig}`);
    }
  }
  const killMode = last('KillMode');
  if (killMode) {
    if (killMode.value === 'process') b.map('KillMode', 'process', "runit's behaviour: the stop signal goes to the main process only");
    else b.notMapped('KillMode', killMode.value, 'containment is not built yet (issue 14): runit-ts signals the main process only (KillMode=process)');
  } else {
    b.note('KillMode=control-group (systemd default): runit-ts signals the main process only until containment exists (issue 14)');
  }
  for (const key of ['SendSIGKILL', 'SendSIGHUP', 'FinalKillSignal', 'RestartKillSignal']) {
    for (const e of all(key)) b.notMapped(key, e.value, 'runit-ts sends the down-signal, then SIGKILL after timeout-kill');
  }
  const sigpipe = last('IgnoreSIGPIPE');
  if (sigpipe) {
    if (/^(false|no|0|off)$/i.test(sigpipe.value)) b.map('IgnoreSIGPIPE', sigpipe.value, "runit's behaviour: SIGPIPE at its default");
    else b.notMapped('IgnoreSIGPIPE', sigpipe.value, 'runit starts services with SIGPIPE at its default (systemd ignores it unless IgnoreSIGPIPE=false)');
  }

  // limits
  for (const [key, { field, bytes }] of Object.entries(LIMITS)) {
    const e = last(key);
    if (!e) continue;
    const soft = e.value.split(':')[0]!.trim();
    if (soft === 'infinity') {
      b.notMapped(key, e.value, 'no limit: the service keeps the limit runsvdir has');
      continue;
    }
    const value = field === 'cpu' ? (timeSpanMs(soft) ?? Number.NaN) / 1000 : bytes ? parseBytes(soft) : /^\d+$/.test(soft) ? Number(soft) : undefined;
    if (value === undefined || !Number.isFinite(value)) {
      error(e, `${key}=: not a limit: ${e.value}`);
      continue;
    }
    b.limits()[field] = value;
    b.map(key, e.value, `chpst -${{ memory: 'm', nofile: 'o', nproc: 'p', fsize: 'f', core: 'c', data: 'd', rss: 'r', cpu: 't' }[field]} ${value}`);
    if (e.value.includes(':')) b.note(`${key}=${e.value}: chpst sets the soft limit ${soft}; the hard limit stays as it was`);
    if (field === 'memory') b.note(`${key}: chpst -m also limits the data segment, stack and locked memory to ${value}`);
  }
  for (const [key] of service) {
    if (/^Limit[A-Z]+$/.test(key) && !Object.hasOwn(LIMITS, key)) {
      for (const e of all(key)) b.notMapped(key, e.value, 'chpst sets only NOFILE, NPROC, FSIZE, CORE, DATA, RSS, CPU and AS (-m)');
    }
  }

  // output
  for (const key of ['StandardOutput', 'StandardError']) {
    const e = last(key);
    if (!e) continue;
    if (/^(journal|journal\+console|syslog|inherit|kmsg)$/.test(e.value)) b.map(key, e.value, 'log/main (svlogd -tt)');
    else b.notMapped(key, e.value, 'output goes to log/main (svlogd -tt); run does exec 2>&1');
  }
  b.spec.log = {};
  if (!service.has('StandardOutput')) b.map('(output)', 'journal', 'log/run: svlogd -tt ./main');

  // the rest of [Service]
  for (const [key, entries] of service) {
    if (used.has(key)) continue;
    for (const e of entries) {
      if (SANDBOXING.test(key)) b.notMapped(key, e.value, 'sandboxing: runit-ts has no equivalent');
      else if (CGROUP.test(key)) b.notMapped(key, e.value, 'cgroup files: containment not built yet (issue 14)');
      else if (key === 'PIDFile') b.notMapped(key, e.value, 'runit keeps the pid of the process it runs in supervise/pid');
      else if (key === 'RemainAfterExit') b.notMapped(key, e.value, 'runit shows a service down once its process exited');
      else if (key === 'NotifyAccess') b.notMapped(key, e.value, 'the notify socket accepts the service and its children (docs/readiness.md)');
      else if (key === 'SyslogIdentifier' || key === 'SyslogFacility' || key === 'SyslogLevel')
        b.notMapped(key, e.value, 'svlogd writes log/main; no syslog identity');
      else if (key === 'UnsetEnvironment' || key === 'PassEnvironment')
        b.notMapped(key, e.value, 'the service gets the environment runsvdir was started with, plus env/');
      else if (key === 'RootDirectory') b.notMapped(key, e.value, 'chpst -/ could chroot; not written by the importer');
      else if (key === 'OOMScoreAdjust' || key === 'CPUSchedulingPolicy' || key === 'IOSchedulingClass') b.notMapped(key, e.value, 'chpst cannot set it');
      else {
        b.notMapped(key, e.value, 'unknown key');
        diagnostics.push({ file, line: e.line, severity: 'warning', message: `[Service] unknown key ${key}` });
      }
    }
  }

  // [Unit]: ordering and dependencies
  const ordering = ['After', 'Requires', 'Wants', 'BindsTo', 'Requisite', 'Upholds', 'PartOf'];
  for (const [key, entries] of unitSection) {
    if (key === 'StartLimitBurst' || key === 'StartLimitIntervalSec') continue;
    for (const e of entries) {
      if (ordering.includes(key)) {
        const mapped: string[] = [];
        const other: string[] = [];
        for (const u of specifiers(e.value, e.line).split(/\s+/)) {
          const base = u.endsWith('.service') ? u.slice(0, -'.service'.length) : undefined;
          if (base !== undefined && options.imported.has(base) && base !== name) {
            b.need(base);
            mapped.push(base);
          } else other.push(u);
        }
        if (mapped.length > 0) b.map(key, mapped.join(' '), `needs/ ${mapped.join(' ')}`);
        if (other.length > 0) b.notMapped(key, other.join(' '), 'not imported with it (targets, sockets and other units have no service directory here)');
      } else if (key === 'Description') {
        b.note(`Description: ${specifiers(e.value, e.line)}`);
        b.map(key, e.value, 'a comment in run');
      } else if (key === 'Documentation') {
        b.map(key, e.value, 'a comment in run');
        b.note(`Documentation: ${e.value}`);
      } else if (key.startsWith('Condition') || key.startsWith('Assert')) {
        b.notMapped(key, e.value, 'runit has no start condition: check it in run before the exec');
      } else if (key === 'Before') {
        b.notMapped(key, e.value, 'ordering is written on the later service (its After= becomes needs/)');
      } else {
        b.notMapped(key, e.value, key === 'Conflicts' || key === 'DefaultDependencies' ? 'systemd unit relations: runit has none' : 'unknown [Unit] key');
      }
    }
  }
  for (const [section, keys] of unit) {
    if (section === 'Unit' || section === 'Service') continue;
    for (const [key, entries] of keys) {
      for (const e of entries) {
        if (section === 'Install') b.notMapped(`[Install] ${key}`, e.value, 'runsvdir starts everything in the directory');
        else b.notMapped(`[${section}] ${key}`, e.value, 'not a section of a service unit');
      }
    }
  }
  result.services.push(b.build());
  return result;
}

function signalNumber(name: string): number {
  const n = ['', 'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM'].indexOf(name.slice(3));
  return Math.max(n, 0);
}

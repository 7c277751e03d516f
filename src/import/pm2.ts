// A PM2 ecosystem file (pm2.keymetrics.io/docs/usage/application-declaration/)
// as an object: the JSON or YAML text parsed here, a `.js`/`.cjs` file's
// module.exports evaluated by load.ts in a child process. Each app of
// `apps` becomes a service (NAME-1..N for instances).
import { basename, extname, isAbsolute, resolve } from 'node:path';
import { invalidServiceName, type NotMapped } from '../servicedir/spec.js';
import { type Diagnostic, type ImportResult, parseBytes, STOP_RESTARTS, ServiceBuilder, show, simpleWords } from './common.js';
import { shJoin } from '../util/sh-quote.js';

export interface Pm2Options {
  /** the ecosystem file's directory: a relative cwd or script is resolved from it, as PM2 does */
  dir: string;
  /** --env NAME: env_NAME is merged over env */
  envName?: string;
  /** instances `max`, 0 or -1: the number of CPUs */
  cpus: number;
}

/** PM2's interpreter for a script's extension (lib/API/interpreter.json); node for the rest. */
const INTERPRETERS: Record<string, string> = {
  '.sh': 'bash',
  '.py': 'python',
  '.rb': 'ruby',
  '.php': 'php',
  '.pl': 'perl',
  '.coffee': 'coffee',
  '.ls': 'lsc',
  '.ts': 'ts-node',
  '.tsx': 'ts-node',
};

/** Keys read by the mapping below; anything else is listed as unknown. */
const IGNORED_WITH_REASON: Record<string, string> = {
  watch: 'runit-ts does not watch files: restart the service from the deploy (sv restart NAME)',
  ignore_watch: 'runit-ts does not watch files',
  watch_delay: 'runit-ts does not watch files',
  watch_options: 'runit-ts does not watch files',
  cron_restart: 'runit has no timer: a cron job running `sv restart NAME` does it',
  wait_ready: "PM2's ready message goes over its IPC channel; runit-ts's readiness is a notification-fd or an sd_notify socket (docs/readiness.md)",
  listen_timeout: 'belongs to wait_ready (not mapped)',
  shutdown_with_message: "PM2's shutdown message goes over its IPC channel: runit-ts sends a signal (down-signal)",
  source_map_support: 'a PM2 runtime feature (pass --enable-source-maps in interpreter_args)',
  vizion: 'PM2 version metadata: nothing to run',
  post_update: 'PM2 deploy hook: nothing to run',
  force: 'PM2 CLI behaviour: nothing to run',
  namespace: 'PM2 grouping: every service of a runit-ts directory is in one list',
  pid_file: 'runit keeps the pid in supervise/pid',
  pmx: 'PM2 monitoring: runit-ts serve exports /metrics',
  automation: 'PM2 monitoring',
  treekill: 'containment is not built yet (issue 14): runit-ts signals the main process only',
  filter_env: 'the service gets the environment runsvdir was started with, plus env/',
  append_env_to_name: 'the service name is the app name',
  increment_var: 'no per-instance increment: set it in env',
  disable_trace: 'PM2 monitoring',
  deep_monitoring: 'PM2 monitoring',
  trace: 'PM2 monitoring',
  kill_retry_time: 'runit-ts sends the stop signal once, then SIGKILL after timeout-kill',
  port: 'PM2 sets PORT from it; set in env (mapped when it is a number)',
};

export function pm2Apps(config: unknown): unknown[] | string {
  if (Array.isArray(config)) return config;
  if (config && typeof config === 'object') {
    const apps = (config as Record<string, unknown>).apps;
    if (apps === undefined) return 'script' in config ? [config] : 'no `apps` in the file';
    if (Array.isArray(apps)) return apps;
    if (apps && typeof apps === 'object') return [apps];
    return '`apps` is not a list of applications';
  }
  return 'not a PM2 ecosystem (an object with `apps`)';
}

export function parsePm2(config: unknown, file: string, options: Pm2Options): ImportResult {
  const diagnostics: Diagnostic[] = [];
  const result: ImportResult = { services: [], notMapped: [], diagnostics };
  const apps = pm2Apps(config);
  if (typeof apps === 'string') {
    diagnostics.push({ file, severity: 'error', message: apps });
    return result;
  }
  if (config && typeof config === 'object' && !Array.isArray(config)) {
    for (const [key, value] of Object.entries(config)) {
      if (key === 'apps') continue;
      if (key === 'deploy') result.notMapped.push({ key, value: show(value), reason: 'PM2 deploy (git pull over ssh): not a service' });
      else if (!('script' in config)) result.notMapped.push({ key, value: show(value), reason: 'unknown top-level key' });
    }
  }
  apps.forEach((app, index) => {
    if (!app || typeof app !== 'object') {
      diagnostics.push({ file, severity: 'error', message: `apps[${index}] is not an object` });
      return;
    }
    importApp(app as Record<string, unknown>, index, file, options, result);
  });
  return result;
}

function importApp(app: Record<string, unknown>, index: number, file: string, options: Pm2Options, result: ImportResult): void {
  const where = `apps[${index}]`;
  const error = (message: string) => result.diagnostics.push({ file, severity: 'error', message: `${where}: ${message}` });
  const used = new Set<string>();
  const get = (...keys: string[]): unknown => {
    for (const key of keys) {
      if (Object.hasOwn(app, key)) {
        used.add(key);
        return app[key];
      }
    }
    return undefined;
  };
  const script = get('script', 'exec');
  if (typeof script !== 'string' || script === '') return void error('no script');
  const nameValue = get('name');
  const name = typeof nameValue === 'string' && nameValue !== '' ? nameValue : basename(script, extname(script));
  const bad = invalidServiceName(name);
  if (bad) return void error(`the name ${JSON.stringify(name)} cannot name a service: ${bad}`);

  // what runs: [interpreter, interpreter args, script, args]
  const cwdValue = get('cwd');
  const cwd = typeof cwdValue === 'string' ? resolve(options.dir, cwdValue) : options.dir;
  const interpreterValue = get('interpreter', 'exec_interpreter');
  const ext = extname(script);
  const bareName = !script.includes('/') && ext === '';
  let interpreter: string;
  let interpreterNote: string;
  if (typeof interpreterValue === 'string' && interpreterValue !== '') {
    interpreter = interpreterValue;
    interpreterNote = 'interpreter';
  } else if (INTERPRETERS[ext]) {
    interpreter = INTERPRETERS[ext];
    interpreterNote = `PM2's interpreter for ${ext}`;
  } else if (bareName) {
    interpreter = 'none';
    interpreterNote = 'a program found in PATH (PM2 runs it without node)';
  } else {
    interpreter = 'node';
    interpreterNote = "PM2's default interpreter";
  }
  const scriptPath = bareName || isAbsolute(script) ? script : resolve(cwd, script);
  const words = (value: unknown, key: string): string[] | undefined => {
    if (value === undefined) return [];
    if (Array.isArray(value)) return value.map(String);
    if (typeof value === 'string') {
      if (value.trim() === '') return [];
      const w = simpleWords(value);
      if (!w) error(`${key}: quoting or shell syntax that cannot be split into words: ${value}`);
      return w;
    }
    error(`${key}: not a string or a list`);
    return undefined;
  };
  const interpreterArgs = words(get('interpreter_args', 'node_args', 'interpreterArgs'), 'interpreter_args');
  const args = words(get('args'), 'args');
  if (!interpreterArgs || !args) return;
  const argv = interpreter === 'none' ? [scriptPath, ...args] : [interpreter, ...interpreterArgs, scriptPath, ...args];

  // instances
  const instancesValue = get('instances');
  let count = 1;
  if (instancesValue !== undefined) {
    const n = instancesValue === 'max' ? 0 : Number(instancesValue);
    if (!Number.isInteger(n)) return void error(`instances: not a number: ${show(instancesValue)}`);
    count = n <= 0 ? Math.max(1, options.cpus + n) : n;
  }
  const mode = get('exec_mode');
  const cluster = typeof mode === 'string' && /cluster/.test(mode);

  // env, then env_NAME over it
  const env: Record<string, string> = {};
  const envValue = get('env');
  if (envValue && typeof envValue === 'object') for (const [k, v] of Object.entries(envValue)) env[k] = String(v);
  const chosen = options.envName === undefined ? undefined : `env_${options.envName}`;
  const otherEnvs: NotMapped[] = [];
  for (const key of Object.keys(app)) {
    if (!key.startsWith('env_')) continue;
    used.add(key);
    const value = app[key];
    if (key === chosen && value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) env[k] = String(v);
    } else if (key !== chosen) {
      otherEnvs.push({ key, value: show(value), reason: `not selected (runit-ts import --env ${key.slice(4)})` });
    }
  }
  if (chosen && !Object.hasOwn(app, chosen)) {
    result.diagnostics.push({ file, severity: 'warning', message: `${where} (${name}): no ${chosen}: only env applies` });
  }
  const portValue = get('port');
  if (typeof portValue === 'number' || (typeof portValue === 'string' && /^\d+$/.test(portValue))) env.PORT = String(portValue);
  const instanceVarValue = get('instance_var');
  const instanceVar = typeof instanceVarValue === 'string' ? instanceVarValue : 'NODE_APP_INSTANCE';
  const basePort = env.PORT !== undefined && /^\d+$/.test(env.PORT) ? Number(env.PORT) : undefined;

  for (let instance = 0; instance < count; instance++) {
    const serviceName = count === 1 ? name : `${name}-${instance + 1}`;
    const b = new ServiceBuilder(serviceName, { argv }, `${file}: pm2 app "${name}"`);
    b.map('script', script, `run: exec ${shJoin(argv)}`);
    b.map('interpreter', interpreter, interpreterNote);
    if (interpreterArgs.length > 0) b.map('interpreter_args', interpreterArgs, 'run: arguments before the script');
    if (args.length > 0) b.map('args', args, 'run: arguments after the script');
    if (nameValue !== undefined) b.map('name', name, 'the service directory');
    b.spec.cwd = cwd;
    b.map('cwd', cwdValue ?? '(the ecosystem file directory)', 'run: cd');
    for (const [k, v] of Object.entries(env)) {
      b.env(k, v);
      b.map(`env ${k}`, v, `env/${k}`);
    }
    if (instancesValue !== undefined || cluster) {
      b.env(instanceVar, String(instance));
      b.map('instances', instancesValue ?? 1, `${count} service(s); env/${instanceVar}=${instance} as PM2 sets it`);
      if (cluster && count > 1) {
        if (basePort !== undefined) {
          b.env('PORT', String(basePort + instance));
          b.map('exec_mode', mode, `cluster: ${count} separate processes, PORT ${basePort} + ${instance} each`);
        } else {
          b.map('exec_mode', mode, `cluster: ${count} separate processes`);
        }
        b.note(
          "PM2's cluster mode shares one port between workers through Node's cluster module; here each instance is its own service" +
            (basePort !== undefined ? ' with its own PORT (put a load balancer in front)' : ': an app listening on a fixed port must take it from env'),
        );
      } else if (cluster) {
        b.map('exec_mode', mode, 'one instance: fork mode');
      }
    } else if (mode !== undefined) {
      b.map('exec_mode', mode, 'fork: the one process runit supervises');
    }
    mapPolicy(get, b);
    mapLogs(get, b);
    for (const entry of otherEnvs) b.notMapped(entry.key, entry.value, entry.reason);
    for (const key of Object.keys(app)) {
      if (used.has(key) || key.startsWith('env_')) continue;
      if (Object.hasOwn(IGNORED_WITH_REASON, key)) {
        b.notMapped(key, app[key], IGNORED_WITH_REASON[key]!);
      } else {
        b.notMapped(key, app[key], 'unknown key');
        if (instance === 0) result.diagnostics.push({ file, severity: 'warning', message: `${where} (${name}): unknown key ${key}` });
      }
    }
    result.services.push(b.build());
  }
}

function milliseconds(value: unknown): number | undefined {
  if (typeof value === 'number' && value >= 0) return value;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[(m[2] ?? 'ms') as 'ms'];
}

function mapPolicy(get: (...keys: string[]) => unknown, b: ServiceBuilder): void {
  const autostart = get('autostart');
  if (autostart === false) {
    b.spec.down = true;
    b.map('autostart', false, 'down (started by sv up)');
  }
  const autorestart = get('autorestart');
  const stopExitCodes = get('stop_exit_codes');
  if (autorestart === false) {
    b.finishGuard(STOP_RESTARTS);
    b.map('autorestart', false, 'finish: want down after the first exit (exit 125: s6 permanent failure)');
  } else if (autorestart !== undefined) {
    b.map('autorestart', autorestart, "runit's default: restart");
  }
  if (stopExitCodes !== undefined && autorestart !== false) {
    const codes = (Array.isArray(stopExitCodes) ? stopExitCodes : [stopExitCodes]).map(Number).filter(Number.isInteger);
    if (codes.length > 0) {
      b.finishGuard(`case "$1" in ${codes.join('|')}) ${STOP_RESTARTS};; esac`);
      b.map('stop_exit_codes', codes, 'finish: want down when the exit code is one of them');
    }
  }
  const delay = milliseconds(get('restart_delay'));
  const expDelay = milliseconds(get('exp_backoff_restart_delay'));
  if (expDelay !== undefined) {
    b.policy().backoff = { first: expDelay / 1000, cap: 15 };
    b.map('exp_backoff_restart_delay', expDelay, `backoff ${expDelay / 1000} 15 (PM2's cap is 15 s)`);
    if (delay !== undefined) b.notMapped('restart_delay', delay, 'exp_backoff_restart_delay takes its place');
  } else if (delay !== undefined) {
    b.policy().backoff = { first: delay / 1000, cap: delay / 1000 };
    b.map('restart_delay', delay, `backoff ${delay / 1000} ${delay / 1000} (a fixed delay)`);
  }
  const minUptime = get('min_uptime');
  const maxRestarts = get('max_restarts');
  if (minUptime !== undefined || maxRestarts !== undefined) {
    const up = milliseconds(minUptime ?? 1000) ?? 1000;
    const n = Number(maxRestarts ?? 16);
    if (Number.isInteger(n) && n > 0) {
      const seconds = Math.max(1, Math.ceil((n * up) / 1000));
      b.policy().giveUp = { deaths: n, seconds };
      b.map('max_restarts/min_uptime', `${n}/${up}ms`, `give up after ${n} deaths in ${seconds} s`);
      b.note(
        `PM2 gives up after ${n} consecutive restarts of a process that lived less than ${up} ms; runit-ts gives up after ${n} deaths within ${seconds} s (${n} × min_uptime)`,
      );
    } else {
      b.notMapped('max_restarts', maxRestarts, 'not a positive whole number');
    }
  }
  const kill = milliseconds(get('kill_timeout'));
  if (kill !== undefined) {
    b.policy().timeoutKillMs = kill;
    b.map('kill_timeout', kill, `timeout-kill ${kill}`);
  }
  const memory = get('max_memory_restart');
  if (memory !== undefined) {
    const bytes = typeof memory === 'number' ? memory : parseBytes(String(memory));
    b.notMapped(
      'max_memory_restart',
      memory,
      `PM2 restarts the app when its RSS passes ${bytes ?? memory} bytes; chpst -m is a hard address-space limit instead (a Node process reserves more than that at start and aborts), and a memory-based restart is not built yet (issue 14)`,
    );
  }
  const user = get('user', 'uid');
  if (typeof user === 'string' || typeof user === 'number') {
    b.spec.user = String(user);
    b.map('uid', user, 'chpst -u');
  }
  const group = get('gid');
  if (typeof group === 'string' || typeof group === 'number') {
    b.spec.group = String(group);
    b.map('gid', group, 'chpst -u USER:GROUP');
  }
}

function mapLogs(get: (...keys: string[]) => unknown, b: ServiceBuilder): void {
  b.spec.log = {};
  const out = get('out_file', 'out', 'output', 'out_log');
  const err = get('error_file', 'error', 'err', 'err_file', 'err_log');
  const combined = get('log_file', 'log');
  const date = get('log_date_format');
  const merge = get('merge_logs', 'combine_logs');
  const time = get('time');
  const logType = get('log_type');
  const logs: string[] = [];
  if (out !== undefined) logs.push(`out_file ${show(out)}`);
  if (err !== undefined) logs.push(`error_file ${show(err)}`);
  if (combined !== undefined) logs.push(`log_file ${show(combined)}`);
  if (out !== undefined) b.map('out_file', out, 'log/main (svlogd -tt)');
  if (err !== undefined) b.map('error_file', err, 'log/main (stderr joins stdout: exec 2>&1)');
  if (combined !== undefined) b.map('log_file', combined, 'log/main');
  if (logs.length > 0) {
    b.note(`${logs.join(', ')}: one svlogd directory log/main instead (current and rotated files; runit-ts logs NAME reads it)`);
  }
  if (date !== undefined || time !== undefined) {
    b.map(date !== undefined ? 'log_date_format' : 'time', date ?? time, 'svlogd -tt');
    b.note(`log_date_format${date !== undefined ? ` ${show(date)}` : ''}: svlogd -tt stamps each line in UTC (YYYY-MM-DD_HH:MM:SS.xxxxx)`);
  }
  if (merge !== undefined) b.map('merge_logs', merge, 'one log per service');
  if (logType !== undefined) b.notMapped('log_type', logType, 'svlogd writes the lines as the program prints them');
}

// Shared benchmark utilities: command line, the two implementations,
// statistics, process memory and CPU from /proc, temporary service trees,
// process groups, the machine's description, markdown output.
// Used by bench/run.js and every bench/<x>.js module.
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// the cgroups runit-ts made for a removed tree's services (none to remove before `npm run build`)
const { removeCgroupsUnder } = await import('../dist/supervisor/containment.js').catch(() => ({ removeCgroupsUnder: () => {} }));

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** True when `importMeta` is the module node was started with (`node bench/x.js`). */
export const isMain = (importMeta) => process.argv[1] !== undefined && importMeta.url === pathToFileURL(resolve(process.argv[1])).href;

// ---------------------------------------------------------------- command line

/** `--name value` (or `fallback`); `flag('quick')` for `--quick`. */
export function option(name, fallback, argv = process.argv) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}
export const flag = (name, argv = process.argv) => argv.includes(`--${name}`);

// ---------------------------------------------------------------- the two implementations

/**
 * runit-ts (bin/ of `tsRoot`, this checkout by default) and Debian's runit
 * (/usr/bin). `bin(cmd)` is the path of one of their commands.
 */
export function implementations(tsRoot = root) {
  return [
    { name: 'runit-ts', bin: (cmd) => join(tsRoot, 'bin', cmd) },
    { name: 'runit', bin: (cmd) => `/usr/bin/${cmd}` },
  ];
}

/**
 * PATH for runsvdir and everything below it: `svlogd` in a log/run resolves
 * to Debian's /usr/bin/svlogd (runit runs it; runit-ts hosts the canonical
 * `exec svlogd` in-process and runs nothing), and `node` is still found for
 * runit-ts's bin/ launchers.
 */
export function benchPath() {
  const dirs = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  const nodeDir = dirname(process.execPath);
  if (!dirs.includes(nodeDir)) dirs.push(nodeDir);
  return dirs.join(':');
}
export const benchEnv = () => ({ ...process.env, PATH: benchPath() });

/** Fails early, with what to install, when Debian's runit or our build is missing. */
export function checkPrerequisites(tsRoot = root, commands = ['runsvdir', 'runsv', 'sv', 'svlogd', 'chpst']) {
  const missing = [];
  for (const c of commands) {
    if (spawnSync('test', ['-x', `/usr/bin/${c}`]).status !== 0) missing.push(`/usr/bin/${c} (Debian package runit: apt-get install runit)`);
  }
  if (spawnSync('test', ['-f', join(tsRoot, 'dist/cli/runsvdir.js')]).status !== 0) missing.push(`${tsRoot}/dist (npm run build)`);
  const which = spawnSync('sh', ['-c', 'command -v svlogd'], { env: benchEnv(), encoding: 'utf8' }).stdout.trim();
  if (which !== '/usr/bin/svlogd') missing.push(`svlogd on the bench PATH is ${which || 'missing'}, not /usr/bin/svlogd`);
  if (missing.length) throw new Error(`benchmark prerequisites missing:\n  ${missing.join('\n  ')}`);
}

// ---------------------------------------------------------------- statistics

export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Nearest-rank percentile, q in (0, 1]. */
export function percentile(xs, q) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Each implementation's order for round `i`: alternated, so drift hits both alike. */
export const roundOrder = (impls, i) => (i % 2 ? [...impls].reverse() : impls);

// ---------------------------------------------------------------- files and service trees

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function tempDir(prefix = 'runit-ts-bench-', base = os.tmpdir()) {
  return mkdtempSync(join(base, prefix));
}

/** Removes `dir` and the empty cgroups runit-ts made for services in it (its runsvdir killed, not stopped). */
export function removeDir(dir) {
  removeCgroupsUnder(dir);
  rmSync(dir, { recursive: true, force: true });
}

export function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The logger both implementations get: runit runs Debian's svlogd, runit-ts hosts it. */
export const SVLOGD_LOG_RUN = '#!/bin/sh\nexec svlogd -tt ./main\n';

/**
 * N service directories s0..s(N-1) under `dir`, each running `run`
 * (default `exec sleep`); with `log`, a log/run (default: svlogd -tt into
 * log/main) and log/main/ itself.
 */
export function makeServices(dir, n, { log = false, run = '#!/bin/sh\nexec sleep 1000000\n', logRun = SVLOGD_LOG_RUN, down = false } = {}) {
  const dirs = [];
  for (let i = 0; i < n; i++) {
    const s = join(dir, `s${i}`);
    mkdirSync(log ? join(s, 'log/main') : s, { recursive: true });
    writeFileSync(join(s, 'run'), run, { mode: 0o755 });
    if (down) writeFileSync(join(s, 'down'), '');
    if (log) writeFileSync(join(s, 'log/run'), logRun, { mode: 0o755 });
    dirs.push(s);
  }
  const past = new Date(Date.now() - 10000);
  utimesSync(dir, past, past);
  return dirs;
}

export const pidOf = (dir) => Number(readText(join(dir, 'supervise/pid')) || 0);
/** `supervise/stat` says run and there is a pid (runit's and runit-ts's alike). */
export const isUp = (dir) => readText(join(dir, 'supervise/stat')) === 'run\n' && pidOf(dir) > 0;

/**
 * Resolves when every dir (and its log/, with `log`) is up. Only the ones
 * not seen up yet are read again, so polling 1000 services stays cheap.
 */
export async function waitAllUp(dirs, { log = false, timeout = 180000, interval = 10 } = {}) {
  let pending = dirs.flatMap((d) => (log ? [d, join(d, 'log')] : [d]));
  await waitUntil(
    () => {
      pending = pending.filter((d) => !isUp(d));
      return pending.length === 0;
    },
    { timeout, interval },
  );
}

// ---------------------------------------------------------------- processes

/** Start a program in its own process group; `stop()` kills the group and waits until it is empty. */
export function startGroup(file, args, options = {}) {
  const child = spawn(file, args, { detached: true, stdio: 'ignore', env: benchEnv(), ...options });
  child.exited = new Promise((resolve) => child.on('exit', resolve));
  child.stop = async (signal = 'SIGKILL') => {
    try {
      process.kill(-child.pid, signal);
    } catch {}
    await child.exited;
    await waitUntil(() => !processTable().some((p) => p.pgrp === child.pid), { timeout: 60000, interval: 20 });
  };
  return child;
}

/** All pids with parent, process group and command name. */
export function processTable() {
  const table = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readText(`/proc/${entry}/stat`);
    if (!stat) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // zombies (state Z) have no memory left and are not counted
    table.push({ pid: Number(entry), ppid: Number(fields[1]), pgrp: Number(fields[2]), state: fields[0], comm });
  }
  return table;
}

/** `rootPid` and its descendants for which `keep(proc)` holds. */
export function processTree(rootPid, keep = () => true) {
  const table = processTable();
  const children = new Map();
  for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const result = [];
  const visit = (p) => {
    if (keep(p)) result.push(p);
    for (const c of children.get(p.pid) ?? []) visit(c);
  };
  const top = table.find((p) => p.pid === rootPid);
  if (top) visit(top);
  return result;
}

export const argv0Of = (pid) => (readText(`/proc/${pid}/cmdline`) ?? '').split('\0')[0];
/** runit-ts's holder of the log pipes' read ends (`sleep` with this argv0). */
export const FDHOLDER_ARGV0 = 'runit-ts-fdholder';

/**
 * What each process under a runsvdir is: `runsvdir` (the root), `runsv`,
 * `logger` (a svlogd process), `fdholder` (runit-ts), or `other` (services
 * and whatever they run). Supervision is everything but `other`.
 */
export function classify(p, rootPid) {
  if (p.pid === rootPid) return 'runsvdir';
  if (p.comm === 'runsv') return 'runsv';
  if (p.comm === 'svlogd') return 'logger';
  if (argv0Of(p.pid) === FDHOLDER_ARGV0) return 'fdholder';
  return 'other';
}

/** The supervision processes under `rootPid` (not services), with a count per kind. */
export function supervision(rootPid) {
  const counts = { runsvdir: 0, runsv: 0, logger: 0, fdholder: 0, other: 0 };
  const pids = [];
  for (const p of processTree(rootPid, (p) => p.state !== 'Z')) {
    const kind = classify(p, rootPid);
    counts[kind]++;
    if (kind !== 'other') pids.push(p.pid);
  }
  return { pids, counts };
}

/** Rss, Pss and USS (private clean + dirty) in kB, summed over pids. */
export function memoryOf(pids) {
  const total = { rss: 0, pss: 0, uss: 0 };
  for (const pid of pids) {
    const text = readText(`/proc/${pid}/smaps_rollup`) ?? '';
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    total.rss += field('Rss');
    total.pss += field('Pss');
    total.uss += field('Private_Clean') + field('Private_Dirty');
  }
  return total;
}

/**
 * CPU seconds (user + system) used so far by pids, every thread: the
 * scheduler's nanosecond run time (/proc/PID/task/TID/schedstat), or the
 * 10-ms ticks of /proc/PID/stat where schedstat is missing.
 */
export function cpuSecondsOf(pids) {
  let seconds = 0;
  for (const pid of pids) {
    let tasks;
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    let ns = 0;
    let ok = true;
    for (const tid of tasks) {
      const s = readText(`/proc/${pid}/task/${tid}/schedstat`);
      if (s === undefined) {
        ok = false;
        break;
      }
      ns += Number(s.split(' ')[0]);
    }
    if (ok) {
      seconds += ns / 1e9;
      continue;
    }
    const stat = readText(`/proc/${pid}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    seconds += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return seconds;
}

export async function waitUntil(fn, { timeout = 60000, interval = 2 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('benchmark wait timed out');
    await sleep(interval);
  }
}

/** Wall milliseconds of one run of a command; throws unless it exits 0. */
export function timeCommand(file, args, options = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { encoding: 'utf8', env: benchEnv(), ...options });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.status}: ${r.stdout ?? ''}${r.stderr ?? ''}`);
  return ms;
}

export const elapsedMs = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

// ---------------------------------------------------------------- the machine and its load

function busyJiffies() {
  const cpu = readText('/proc/stat').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + cpu[4];
  return { busy: cpu.reduce((a, b) => a + b, 0) - idle, total: cpu.reduce((a, b) => a + b, 0) };
}

/** The machine, the tools and the commit of the runit-ts checkout measured (`tsRoot`). */
export function machine(tsRoot = root) {
  const cpus = os.cpus();
  const git = (args) => spawnSync('git', args, { cwd: tsRoot, encoding: 'utf8' }).stdout?.trim() || undefined;
  return {
    date: new Date().toISOString(),
    cores: cpus.length,
    cpuModel: cpus[0]?.model,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    runit: spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'runit'], { encoding: 'utf8' }).stdout?.trim() || undefined,
    commit: git(['describe', '--always', '--dirty']),
  };
}

/**
 * Samples the 1-minute load average and the machine's busy share every
 * `everyMs` while the bench runs; `stop()` returns a summary. The bench's
 * own processes are part of the load (about one core while it measures).
 */
export function loadMonitor(everyMs = 5000) {
  const samples = [];
  const first = busyJiffies();
  const take = () => samples.push(os.loadavg()[0]);
  take();
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      take();
      const last = busyJiffies();
      const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
      return {
        loadavg1Mean: Math.round(mean * 100) / 100,
        loadavg1Max: Math.round(Math.max(...samples) * 100) / 100,
        busyShare: Math.round(((last.busy - first.busy) / Math.max(1, last.total - first.total)) * 1000) / 1000,
        samples: samples.length,
      };
    },
  };
}

// ---------------------------------------------------------------- output

export function table(headers, rows) {
  return [`| ${headers.join(' | ')} |`, `| ${headers.map((_h, i) => (i ? '---:' : '---')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join(
    '\n',
  );
}

export const ratio = (a, b) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : 'n/a');
export const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

// Shared benchmark utilities: statistics, process memory and CPU from
// /proc, temporary service trees, markdown output. Used by bench/*.js.
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ours = (name) => join(root, 'bin', name);
export const debian = (name) => `/usr/bin/${name}`;

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function percentile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function tempDir(prefix = 'runit-ts-bench-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** N service directories under `dir`, each `exec sleep 1e6` (and a cat logger). */
export function makeServices(dir, n, { log = false, run = '#!/bin/sh\nexec sleep 1000000\n', logRun = '#!/bin/sh\nexec cat >/dev/null\n' } = {}) {
  for (let i = 0; i < n; i++) {
    const s = join(dir, `s${i}`);
    mkdirSync(join(s, log ? 'log' : '.'), { recursive: true });
    writeFileSync(join(s, 'run'), run, { mode: 0o755 });
    if (log) writeFileSync(join(s, 'log/run'), logRun, { mode: 0o755 });
  }
  return Array.from({ length: n }, (_, i) => join(dir, `s${i}`));
}

export function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Start a program in its own process group; `stop()` kills the group. */
export function startGroup(file, args, options = {}) {
  const child = spawn(file, args, { detached: true, stdio: 'ignore', ...options });
  child.exited = new Promise((resolve) => child.on('exit', resolve));
  child.stop = async (signal = 'SIGKILL') => {
    try {
      process.kill(-child.pid, signal);
    } catch {}
    await child.exited;
  };
  return child;
}

/** All pids with their parent and command name. */
function processTable() {
  const table = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readText(`/proc/${entry}/stat`);
    if (!stat) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    table.push({ pid: Number(entry), ppid: Number(fields[1]), comm, utime: Number(fields[11]), stime: Number(fields[12]) });
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

const CLOCK_TICK = 100;
/** CPU seconds (user + system) used so far by pids. */
export function cpuSecondsOf(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readText(`/proc/${pid}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICK;
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

export function table(headers, rows) {
  return [`| ${headers.join(' | ')} |`, `| ${headers.map((h, i) => (i ? '---:' : '---')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');
export const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

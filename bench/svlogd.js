#!/usr/bin/env node
// Throughput of svlogd -tt, runit-ts against Debian's, interleaved rounds.
//   pipe    cat input | svlogd -tt DIR: runit-ts's bin/svlogd against
//           Debian's /usr/bin/svlogd, each a process of its own
//   hosted  a service that writes the input to its stdout, its log/run
//           `exec svlogd -tt ./main`: under runit-ts's runsvdir the logger
//           runs in-process, under runit's runsv Debian's svlogd runs; timed
//           from `u` on supervise/control until every byte is in the log
// Wall time and CPU time (pipe: the whole pipeline, cat included; hosted:
// the logger) — CPU time is less disturbed by other load on the machine.
// The log directory's config is `s1000000` (rotation at 1 MB) and `n0`
// (every file kept, so every line can be counted). The input is LINES
// numbered lines of 100 bytes (newline included). After each run every file
// is read back: each line number must appear exactly once, in order, or the
// run counts as failed.
// Standalone: node bench/svlogd.js [--lines N] [--rounds R] [--dir BASE] [--size S] [--hosted] [--before ROOT]
//   --dir: where log directories are made (default: the system temp dir;
//   /dev/shm measures without the disk).
//   --before: another runit-ts checkout (built), measured in the same
//   interleaved rounds as "before" (e.g. `git worktree add /tmp/old HEAD~1`,
//   node_modules linked, `npm run build` there).
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  implementations,
  checkPrerequisites,
  isMain,
  option,
  flag,
  median,
  tempDir,
  removeDir,
  makeServices,
  roundOrder,
  startGroup,
  waitUntil,
  isUp,
  elapsedMs,
  benchEnv,
  readText,
  supervision,
  cpuSecondsOf,
  fmt,
  table,
  ratio,
} from './lib.js';
import { spawnSync } from 'node:child_process';

export const LINE = 100;
/** An svlogd -tt stamp: `YYYY-MM-DD_HH:MM:SS.xxxxx ` (runit's five fraction digits and a blank). */
const STAMP = 26;

/** `%09d ` + filler to 99 bytes + newline, `lines` times. */
function makeInput(file, lines) {
  const fd = openSync(file, 'w');
  const block = 10000;
  const filler = 'x'.repeat(LINE - 11);
  for (let start = 0; start < lines; start += block) {
    let text = '';
    for (let i = start; i < Math.min(lines, start + block); i++) text += `${String(i).padStart(9, '0')} ${filler}\n`;
    writeSync(fd, text);
  }
  closeSync(fd);
}

const logFiles = (dir) => [
  ...readdirSync(dir)
    .filter((n) => n.startsWith('@'))
    .sort(),
  'current',
];

/** Checks that the files in `dir`, oldest first, hold lines 0..lines-1 in order; returns how many files. */
function verify(dir, lines) {
  const files = logFiles(dir);
  let expect = 0;
  for (const name of files) {
    const text = readFileSync(join(dir, name), 'latin1');
    let pos = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) throw new Error(`${name}: unfinished line`);
      const n = Number(text.slice(pos + STAMP, pos + STAMP + 9));
      if (n !== expect) throw new Error(`${dir}/${name}: line ${expect} expected, found ${text.slice(pos, nl)}`);
      expect++;
      pos = nl + 1;
    }
  }
  if (expect !== lines) throw new Error(`${dir}: ${expect} lines found, ${lines} expected`);
  return files.length;
}

function logConfig(dir, size) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config'), `s${size}\nn0\n`);
}

/** `times` of sh: its children's user and system time, the whole pipeline (cat included, the same for both). */
function childrenCpuMs(stdout) {
  const lines = stdout.trim().split('\n');
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines.at(-1) ?? '');
  return m ? (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000 : NaN;
}

function pipeOnce(impl, work, input, round, lines, size) {
  const dir = join(work, `pipe-${round}-${impl.name}`);
  logConfig(dir, size);
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/bin/sh', ['-c', 'cat "$1" | "$2" -tt "$3"; s=$?; times; exit $s', 'sh', input, impl.bin('svlogd'), dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: benchEnv(),
    encoding: 'utf8',
  });
  const ms = elapsedMs(t0);
  if (r.status !== 0) throw new Error(`${impl.name} svlogd failed (${r.status}): ${r.stderr}`);
  const files = verify(dir, lines);
  removeDir(dir);
  // CPU time is less disturbed than wall time by other load on the machine
  return { ms, cpuMs: childrenCpuMs(r.stdout), files };
}

const sizeOf = (dir) => {
  let total = 0;
  for (const name of readdirSync(dir)) if (name === 'current' || name.startsWith('@')) total += statSync(join(dir, name), { throwIfNoEntry: false })?.size ?? 0;
  return total;
};

async function hostedOnce(impl, work, input, round, lines, size) {
  const base = join(work, `hosted-${round}-${impl.name}`);
  mkdirSync(base);
  // the service writes the input once, then sleeps
  const run = `#!/bin/sh\n[ -e fed ] && exec sleep 1000000\n: >fed\nexec cat '${input}'\n`;
  const [svc] = makeServices(base, 1, { log: true, run, down: true });
  const main = join(svc, 'log/main');
  logConfig(main, size);
  const runsvdir = startGroup(impl.bin('runsvdir'), [base]);
  try {
    await waitUntil(() => isUp(join(svc, 'log')) && readText(join(svc, 'supervise/stat')) === 'down\n', { timeout: 30000, interval: 5 });
    const expected = lines * (LINE + STAMP);
    // the logger's CPU: runit's svlogd process; runit-ts's runsvdir, which hosts it
    const { pids } = supervision(runsvdir.pid);
    const loggers = impl.name === 'runit' ? pids.filter((p) => readText(`/proc/${p}/comm`) === 'svlogd\n') : [runsvdir.pid];
    const cpu0 = cpuSecondsOf(loggers);
    const t0 = process.hrtime.bigint();
    writeFileSync(join(svc, 'supervise/control'), 'u');
    await waitUntil(() => sizeOf(main) >= expected, { timeout: 300000, interval: 5 });
    const ms = elapsedMs(t0);
    const cpuMs = (cpuSecondsOf(loggers) - cpu0) * 1000;
    return { ms, cpuMs, files: verify(main, lines) };
  } finally {
    await runsvdir.stop();
    removeDir(base);
  }
}

/**
 * Both ways (`modes`: 'pipe', 'hosted'), `rounds` interleaved rounds of
 * `lines` lines. Returns { lines, bytes, size, base, [mode]: { [impl]: { ms[], files } } }.
 */
export async function throughput({
  impls = implementations(),
  lines = 1000000,
  rounds = 5,
  base = tmpdir(),
  size = 1000000,
  modes = ['pipe', 'hosted'],
  onProgress = () => {},
} = {}) {
  const work = tempDir('svlogd-bench-', base);
  const input = join(work, 'input');
  const result = { lines, bytes: lines * LINE, size, base };
  try {
    makeInput(input, lines);
    for (const mode of modes) {
      result[mode] = Object.fromEntries(impls.map((i) => [i.name, { ms: [], cpuMs: [], files: 0 }]));
      for (let round = 0; round < rounds; round++) {
        // alternate the order, so that disk write-back from one run hits both alike
        for (const impl of roundOrder(impls, round)) {
          onProgress(`svlogd ${mode} ${impl.name} round ${round + 1}/${rounds}`);
          const r = mode === 'pipe' ? pipeOnce(impl, work, input, round, lines, size) : await hostedOnce(impl, work, input, round, lines, size);
          result[mode][impl.name].ms.push(r.ms);
          result[mode][impl.name].cpuMs.push(r.cpuMs);
          result[mode][impl.name].files = r.files;
        }
      }
    }
  } finally {
    removeDir(work);
  }
  return result;
}

if (isMain(import.meta)) {
  const impls = implementations(option('root'));
  checkPrerequisites(option('root'));
  const before = option('before');
  if (before) {
    checkPrerequisites(before);
    impls.splice(1, 0, { name: 'before', bin: (cmd) => join(before, 'bin', cmd) });
  }
  const r = await throughput({
    impls,
    lines: Number(option('lines', 1000000)),
    rounds: Number(option('rounds', 5)),
    base: option('dir', tmpdir()),
    size: Number(option('size', 1000000)),
    modes: flag('hosted') ? ['pipe', 'hosted'] : ['pipe'],
  });
  const mb = r.bytes / 1e6;
  const rows = [];
  for (const mode of ['pipe', 'hosted']) {
    if (!r[mode]) continue;
    for (const impl of impls) {
      const s = median(r[mode][impl.name].ms) / 1000;
      const cpu = median(r[mode][impl.name].cpuMs) / 1000;
      rows.push([
        mode,
        impl.name,
        fmt(s, 3),
        fmt(mb / s),
        fmt(r.lines / s, 0),
        ratio(median(r[mode].runit.ms), median(r[mode][impl.name].ms)),
        fmt(cpu, 3),
        ratio(cpu, median(r[mode].runit.cpuMs) / 1000),
      ]);
    }
  }
  console.log(
    `svlogd -tt, ${r.lines} lines of ${LINE} bytes (${mb} MB), config s${r.size} n0, logs in ${r.base}; medians of ${option('rounds', 5)} interleaved rounds, every line verified\n`,
  );
  console.log(table(['how', 'svlogd', 'median s', 'MB/s', 'lines/s', 'speed vs runit', 'CPU s', 'CPU vs runit'], rows));
  console.log('\nCPU s: pipe, the whole pipeline (cat + svlogd); hosted, the logger (runit: the svlogd process; runit-ts: runsvdir, which hosts it).');
}

#!/usr/bin/env node
// Throughput of svlogd: runit-ts's bin/svlogd against Debian's
// /usr/bin/svlogd, same input, same run, interleaved rounds.
//   cat input | svlogd -tt DIR      with DIR/config `s1000000` (rotation
//   at 1 MB) and `n0` (keep every file, so every line can be counted).
// The input is LINES numbered lines of 100 bytes (newline included). After
// each run every file in DIR is read back: each line number must appear
// exactly once, in order, or the run counts as failed.
// Usage: node bench/svlogd.js [--lines N] [--rounds R] [--dir BASE] [--size S]
//   --dir: where log directories are made (default: the system temp dir;
//   /dev/shm measures without the disk). Prints a markdown table: median
//   wall time, MB/s and lines/s, the ratio to Debian's, and the CPU time of
//   the pipeline (less disturbed by other load on the machine).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const LINES = Number(arg('lines', 1000000));
const ROUNDS = Number(arg('rounds', 5));
const BASE = arg('dir', tmpdir());
const SIZE = arg('size', '1000000');
const LINE = 100;

const candidates = [
  { name: 'runit-ts bin/svlogd', file: join(root, 'bin/svlogd') },
  { name: 'Debian /usr/bin/svlogd', file: '/usr/bin/svlogd' },
].filter((c) => existsSync(c.file));

const work = mkdtempSync(join(BASE, 'svlogd-bench-'));
const input = join(work, 'input');

/** `%09d ` + filler to 99 bytes + newline. */
function makeInput() {
  const fd = openSync(input, 'w');
  const block = 10000;
  const filler = 'x'.repeat(LINE - 11);
  for (let start = 0; start < LINES; start += block) {
    let text = '';
    for (let i = start; i < Math.min(LINES, start + block); i++) text += `${String(i).padStart(9, '0')} ${filler}\n`;
    writeSync(fd, text);
  }
  closeSync(fd);
}

/** Every line of every file in `dir`, oldest first; checks the numbers run 0..LINES-1. */
function verify(dir) {
  const files = readdirSync(dir).filter((n) => n.startsWith('@')).sort();
  files.push('current');
  let expect = 0;
  for (const name of files) {
    const text = readFileSync(join(dir, name), 'latin1');
    let pos = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) throw new Error(`${name}: unfinished line`);
      // -tt stamp: 26 bytes, then the 9-digit number
      const n = Number(text.slice(pos + 26, pos + 35));
      if (n !== expect) throw new Error(`${name}: line ${expect} expected, found ${text.slice(pos, nl)}`);
      expect++;
      pos = nl + 1;
    }
  }
  if (expect !== LINES) throw new Error(`${expect} lines found, ${LINES} expected`);
  return files.length;
}

function once(candidate, round) {
  const dir = join(work, `${round}-${candidate.file.replace(/\W/g, '_')}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'config'), `s${SIZE}\nn0\n`);
  const start = process.hrtime.bigint();
  // /usr/bin/time reports the CPU time of the whole pipeline (cat included,
  // the same for both): less disturbed than wall time by other load
  const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', '/bin/sh', '-c', `cat "$1" | "$2" -tt "$3"`, 'sh', input, candidate.file, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${candidate.name} failed (${r.status}): ${r.stderr}`);
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr.toString());
  const files = verify(dir);
  rmSync(dir, { recursive: true, force: true });
  return { ms, cpu: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : NaN, files };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  makeInput();
  const times = new Map(candidates.map((c) => [c, []]));
  const cpus = new Map(candidates.map((c) => [c, []]));
  let files = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // alternate the order, so that disk write-back from one run hits both alike
    const order = round % 2 ? [...candidates].reverse() : candidates;
    for (const c of order) {
      const r = once(c, round);
      times.get(c).push(r.ms);
      cpus.get(c).push(r.cpu);
      files = r.files;
    }
  }
  const mb = (LINES * LINE) / 1e6;
  const debian = candidates.find((c) => c.file === '/usr/bin/svlogd');
  const out = [
    `svlogd -tt, ${LINES} lines of ${LINE} bytes (${mb} MB) through a pipe, config s${SIZE} n0 (${files} files), logs in ${BASE}; ${ROUNDS} rounds, interleaved, every line verified`,
    '',
    '| svlogd | median wall s | MB/s | lines/s | ratio to Debian | median CPU s (pipeline) | CPU ratio |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const c of candidates) {
    const s = median(times.get(c)) / 1000;
    const cpu = median(cpus.get(c)) / 1000;
    const ratio = debian ? (median(times.get(debian)) / 1000 / s).toFixed(2) : '-';
    const cpuRatio = debian ? (median(cpus.get(debian)) / 1000 / cpu).toFixed(2) : '-';
    out.push(`| ${c.name} | ${s.toFixed(3)} | ${(mb / s).toFixed(1)} | ${Math.round(LINES / s)} | ${ratio}x | ${cpu.toFixed(3)} | ${cpuRatio}x |`);
  }
  out.push('', `rounds (s): ${candidates.map((c) => `${c.name.split(' ')[0]} ${times.get(c).map((t) => (t / 1000).toFixed(2)).join(' ')}`).join('; ')}`);
  console.log(out.join('\n'));
} finally {
  rmSync(work, { recursive: true, force: true });
}

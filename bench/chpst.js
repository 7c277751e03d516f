#!/usr/bin/env node
// Start-up cost of chpst: wall time of `chpst -u nobody true`, runit-ts's
// bin/chpst against Debian's /usr/bin/chpst, side by side in one run.
// Usage: node bench/chpst.js [rounds] [runs-per-round]
// Prints a markdown table of median times per run and the ratio.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.argv[2] ?? 7);
const runs = Number(process.argv[3] ?? 10);
const args = ['-u', 'nobody', 'true'];

const candidates = [
  { name: 'runit-ts bin/chpst', file: join(root, 'bin/chpst') },
  { name: 'Debian /usr/bin/chpst', file: '/usr/bin/chpst' },
  // what any Node program pays, for reference
  { name: 'node -e 0 (baseline)', file: process.execPath, args: ['-e', '0'] },
].filter((c) => existsSync(c.file));

function once(candidate) {
  const start = process.hrtime.bigint();
  const r = spawnSync(candidate.file, candidate.args ?? args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${candidate.name} failed (${r.status}): ${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

for (const c of candidates) once(c); // warm the page cache
const perRound = new Map(candidates.map((c) => [c, []]));
for (let round = 0; round < rounds; round++) {
  // interleave, so that load from elsewhere hits every candidate alike
  for (let i = 0; i < runs; i++) for (const c of candidates) perRound.get(c).push(once(c));
}

const ours = median(perRound.get(candidates[0]));
const lines = [
  `chpst -u nobody true: ${rounds * runs} runs each, interleaved; median and spread (p10-p90) per run`,
  '',
  '| command | median ms | p10 ms | p90 ms | ratio to Debian |',
  '| --- | ---: | ---: | ---: | ---: |',
];
const debian = candidates.find((c) => c.file === '/usr/bin/chpst');
const debianMedian = debian ? median(perRound.get(debian)) : undefined;
for (const c of candidates) {
  const xs = [...perRound.get(c)].sort((a, b) => a - b);
  const m = median(xs);
  const p = (q) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))];
  const ratio = debianMedian ? `${(m / debianMedian).toFixed(1)}x` : 'n/a';
  lines.push(`| ${c.name} | ${m.toFixed(2)} | ${p(0.1).toFixed(2)} | ${p(0.9).toFixed(2)} | ${ratio} |`);
}
if (debianMedian) lines.push('', `runit-ts chpst costs ${(ours - debianMedian).toFixed(1)} ms more per start than Debian's.`);
console.log(lines.join('\n'));

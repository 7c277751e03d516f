#!/usr/bin/env node
// Start-up cost of a short-lived command: wall time of `chpst -u nobody
// true`, runit-ts's bin/chpst against Debian's /usr/bin/chpst, with a bare
// `node -e 0` as the floor every Node program pays; interleaved runs.
// Standalone: node bench/chpst.js [rounds] [runs-per-round]
import { spawnSync } from 'node:child_process';
import { implementations, checkPrerequisites, isMain, option, median, percentile, elapsedMs, fmt, table } from './lib.js';

function once(file, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = elapsedMs(t0);
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

/** Returns { [impl]: ms[], node: ms[] }: `rounds` x `runs` runs each, interleaved. */
export function chpst({ impls = implementations(), rounds = 7, runs = 10 } = {}) {
  const candidates = [
    ...impls.map((i) => ({ name: i.name, file: i.bin('chpst'), args: ['-u', 'nobody', 'true'] })),
    // what any Node program pays, for reference
    { name: 'node', file: process.execPath, args: ['-e', '0'] },
  ];
  for (const c of candidates) once(c.file, c.args); // warm the page cache
  const result = Object.fromEntries(candidates.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    // interleave, so that load from elsewhere hits every candidate alike
    for (let i = 0; i < runs; i++) for (const c of candidates) result[c.name].push(once(c.file, c.args));
  }
  return result;
}

if (isMain(import.meta)) {
  checkPrerequisites(option('root'), ['chpst']);
  const rounds = Number(process.argv[2] ?? 7);
  const runs = Number(process.argv[3] ?? 10);
  const r = chpst({ impls: implementations(option('root')), rounds, runs });
  const theirs = median(r.runit);
  console.log(`chpst -u nobody true: ${rounds * runs} runs each, interleaved; median and spread (p10-p90) per run\n`);
  console.log(
    table(
      ['command', 'median ms', 'p10 ms', 'p90 ms', 'ratio to runit'],
      Object.entries(r).map(([name, xs]) => [
        name === 'node' ? '`node -e 0` (floor)' : `${name} chpst`,
        fmt(median(xs), 2),
        fmt(percentile(xs, 0.1), 2),
        fmt(percentile(xs, 0.9), 2),
        `${(median(xs) / theirs).toFixed(1)}x`,
      ]),
    ),
  );
}

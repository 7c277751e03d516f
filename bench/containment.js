#!/usr/bin/env node
// The cost of containment per start (issue 14, Measure; docs/containment.md):
// bench/supervision.js's crash loop (50 services exiting at once, restarted
// once a second) under runit-ts's runsvdir three ways — a cgroup per service
// (the default as root), a process group per start (RUNIT_TS_CGROUP=off),
// none (`kill-mode` `process`, runit's way) — beside Debian's runsvdir. The
// supervision CPU per restart of each, and what containment adds per start:
// the difference to runit-ts without it. Goal: at most +0.5 ms per start.
//
//   node bench/containment.js [--quick] [--out DIR] [--root DIR]
//     --quick  one round of 5 s (default: 3 rounds of 20 s)
//     --out    writes containment.json and containment.md there
//     --root   the runit-ts checkout to measure (default: this one)
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { implementations, checkPrerequisites, isMain, flag, option, median, table, fmt, ratio, machine } from './lib.js';
import { crashLoop } from './supervision.js';

/** runit-ts's variants and runit, as crashLoop takes them. */
export function containmentVariants(tsRoot) {
  const [ts, runit] = implementations(tsRoot);
  return [
    { name: 'runit-ts cgroup', bin: ts.bin },
    { name: 'runit-ts pgrp', bin: ts.bin, env: { RUNIT_TS_CGROUP: 'off' } },
    { name: 'runit-ts none', bin: ts.bin, files: { 'kill-mode': 'process\n' } },
    runit,
  ];
}

/** The crash loop under each variant: { n, seconds, [name]: { cpu: s[], starts: [] } }. */
export function containmentBench({ tsRoot, quick = false, onProgress = () => {} } = {}) {
  return crashLoop({ impls: containmentVariants(tsRoot), seconds: quick ? 5 : 20, rounds: quick ? 1 : 3, onProgress });
}

/** Rows: variant, restarts, CPU ms per restart (median of rounds), against runit, added per start against none. */
export function containmentRows(result) {
  const perStart = (name) => median(result[name].cpu.map((cpu, i) => (cpu * 1000) / Math.max(1, result[name].starts[i])));
  const none = perStart('runit-ts none');
  const runit = perStart('runit');
  return Object.keys(result)
    .filter((k) => typeof result[k] === 'object')
    .map((name) => {
      const ms = perStart(name);
      const added = name.startsWith('runit-ts') && name !== 'runit-ts none' ? `${ms - none >= 0 ? '+' : ''}${fmt(ms - none, 3)} ms` : '–';
      return [name, String(median(result[name].starts)), fmt(ms, 3), ratio(ms, runit), added];
    });
}

export const CONTAINMENT_HEADERS = ['variant', 'restarts (median)', 'supervision CPU ms per restart', 'vs runit', 'containment per start'];

if (isMain(import.meta)) {
  const quick = flag('quick');
  const out = option('out');
  const tsRoot = option('root');
  checkPrerequisites(tsRoot);
  const result = await containmentBench({ tsRoot, quick, onProgress: (s) => process.stderr.write(`${s}\n`) });
  const md = `${table(CONTAINMENT_HEADERS, containmentRows(result))}\n`;
  process.stdout.write(md);
  if (out) {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'containment.json'), `${JSON.stringify({ machine: machine(tsRoot), result }, null, 2)}\n`);
    writeFileSync(join(out, 'containment.md'), md);
  }
}

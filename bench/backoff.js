#!/usr/bin/env node
// Crash loop with backoff (issue 14, Measure): `n` services whose run exits
// at once (each start appends two bytes to the service's `starts`), under
//   - runit-ts's runsvdir with a `backoff` file (FIRST CAP, default `1 8`),
//     measured once every service has reached the cap;
//   - runit-ts's runsvdir without it (runit's one-second throttle);
//   - Debian's runsvdir without it (the file means nothing to runit).
// For each: restarts per minute over a window, and the CPU time
// (scheduler run time, /proc/PID/task/*/schedstat, as the crash phase of
// bench/supervision.js) of the supervision processes (runsvdir, runsv,
// runit-ts's fd holder; not the services) divided by the restarts in the
// window. At the cap each service restarts once per CAP seconds (plus the
// run's own time), so the rate falls to n * 60 / CAP a minute: the window
// with backoff starts half a cap after a round of restarts and lasts a
// whole number of caps, so its edges fall between two rounds.
//
//   node bench/backoff.js [--quick] [--out DIR] [--root DIR] [--n N] [--backoff 'FIRST CAP']
//     --quick  one round, windows of 2 caps and 5 s (default: 3 rounds, 8 caps and 20 s)
//     --out    writes backoff.json (the results) and backoff.md (the table) there
//     --root   the runit-ts checkout to measure (its bin/ and dist/; default: this one)
import { writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  implementations,
  checkPrerequisites,
  isMain,
  flag,
  option,
  sleep,
  tempDir,
  removeDir,
  makeServices,
  startGroup,
  supervision,
  cpuSecondsOf,
  waitUntil,
  roundOrder,
  machine,
  loadMonitor,
  median,
  table,
  fmt,
  ratio,
} from './lib.js';

const CRASH_RUN = '#!/bin/sh\necho x >>starts\nexit 1\n';
/** Starts of one service so far (two bytes each). */
const startsOf = (dir) => (statSync(join(dir, 'starts'), { throwIfNoEntry: false })?.size ?? 0) / 2;
const totalStarts = (dirs) => dirs.reduce((sum, d) => sum + startsOf(d), 0);

/** CPU seconds per pid (pids that come or go between two readings are left out). */
const cpuByPid = (pids) => new Map(pids.map((p) => [p, cpuSecondsOf([p])]));
function cpuDelta(before, after) {
  let s = 0;
  for (const [pid, t] of after) if (before.has(pid)) s += t - before.get(pid);
  return s;
}

/** `FIRST CAP` in seconds. */
function parseBackoff(text) {
  const [first, cap] = text.trim().split(/\s+/).map(Number);
  if (!(first > 0 && cap >= first)) throw new Error(`--backoff: not FIRST CAP: ${text}`);
  return { first, cap };
}

/**
 * How many starts bring a service to the cap: after the k-th death the
 * delay is FIRST * 2^(k-1), so the start after the delay that reaches CAP.
 */
function startsToCap({ first, cap }) {
  let starts = 1;
  for (let delay = first; delay < cap; delay *= 2) starts++;
  return starts;
}

/**
 * One configuration: `n` crashing services under `impl`'s runsvdir, with
 * `backoff` (runit-ts) or without. Returns { restarts, windowS, cpuS, counts }.
 */
async function measure({ impl, n, backoff, caps, seconds, onProgress }) {
  const base = tempDir('runit-ts-bench-backoff-');
  const dirs = makeServices(base, n, { run: CRASH_RUN });
  if (backoff) for (const d of dirs) writeFileSync(join(d, 'backoff'), `${backoff.first} ${backoff.cap}\n`);
  const runsvdir = startGroup(impl.bin('runsvdir'), [base]);
  try {
    await waitUntil(() => dirs.every((d) => startsOf(d) >= 1), { timeout: 60000, interval: 20 });
    let windowMs;
    if (backoff) {
      // every service at the cap: its delays so far were FIRST, 2 FIRST, ... CAP
      const k = startsToCap(backoff);
      const ramp = backoff.first * 2 ** k + 30;
      await waitUntil(() => dirs.every((d) => startsOf(d) >= k), { timeout: ramp * 1000, interval: 20 });
      onProgress(`  at the cap (${k} starts each); window of ${caps} x ${backoff.cap} s`);
      // mid-way between two rounds of restarts
      await sleep((backoff.cap * 1000) / 2);
      windowMs = caps * backoff.cap * 1000;
    } else {
      await sleep(1500);
      windowMs = seconds * 1000;
    }
    const sup = supervision(runsvdir.pid);
    const before = cpuByPid(sup.pids);
    const starts0 = totalStarts(dirs);
    const t0 = process.hrtime.bigint();
    await sleep(windowMs);
    const after = cpuByPid(sup.pids);
    const restarts = totalStarts(dirs) - starts0;
    const windowS = Number(process.hrtime.bigint() - t0) / 1e9;
    return { restarts, windowS, cpuS: cpuDelta(before, after), counts: sup.counts };
  } finally {
    await runsvdir.stop();
    removeDir(base);
  }
}

/**
 * The three configurations, `rounds` times, alternated.
 * Returns { n, backoff, caps, seconds, rows: { name, impl, backoff, runs: [...] }[] }.
 */
export async function backoffBench({
  impls = implementations(),
  n = 50,
  backoff = { first: 1, cap: 8 },
  caps = 8,
  seconds = 20,
  rounds = 3,
  onProgress = () => {},
} = {}) {
  const ts = impls.find((i) => i.name === 'runit-ts');
  const configs = [
    { name: `runit-ts, backoff ${backoff.first} ${backoff.cap} (at the cap)`, impl: ts, backoff },
    ...impls.map((impl) => ({ name: `${impl.name}, no backoff`, impl, backoff: undefined })),
  ];
  const rows = configs.map((c) => ({ name: c.name, impl: c.impl.name, backoff: c.backoff, runs: [] }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, c] of roundOrder([...configs.entries()], round)) {
      onProgress(`backoff bench: ${c.name}, round ${round + 1}/${rounds}`);
      rows[i].runs.push(await measure({ impl: c.impl, n, backoff: c.backoff, caps, seconds, onProgress }));
    }
  }
  return { n, backoff, caps, seconds, rounds, rows };
}

export const BACKOFF_HEADERS = [
  'configuration',
  'restarts/min',
  'expected/min',
  'supervision CPU ms/restart',
  'ratio to runit',
  'supervision CPU % of a core',
  'supervision processes',
];

/** One table row per configuration: medians over the rounds. */
export function backoffRows(results) {
  const perRestart = (row) => median(row.runs.map((r) => (r.restarts ? (r.cpuS * 1000) / r.restarts : NaN)));
  const runit = results.rows.find((r) => r.impl === 'runit' && !r.backoff);
  return results.rows.map((row) => {
    const perMin = median(row.runs.map((r) => (r.restarts / r.windowS) * 60));
    // without backoff runit's throttle: about one start a second each
    const expected = row.backoff ? (results.n * 60) / row.backoff.cap : results.n * 60;
    const counts = row.runs.at(-1)?.counts ?? {};
    return [
      row.name,
      fmt(perMin, 0),
      `${row.backoff ? '' : '≈ '}${fmt(expected, 0)}`,
      fmt(perRestart(row), 3),
      runit ? ratio(perRestart(row), perRestart(runit)) : 'n/a',
      fmt(median(row.runs.map((r) => (r.cpuS / r.windowS) * 100)), 2),
      Object.entries(counts)
        .filter(([k, v]) => v && k !== 'other')
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ];
  });
}

export function backoffMarkdown(results) {
  const { n, backoff, caps, seconds, rounds } = results;
  return [
    `Crash loop of ${n} services (run exits 1 at once), medians of ${rounds} round(s); windows: ${caps} x ${backoff.cap} s at the cap with backoff, ${seconds} s without.`,
    '',
    table(BACKOFF_HEADERS, backoffRows(results)),
    '',
    'CPU: scheduler run time of runsvdir, runsv and the fd holder (not the services) over the window, divided by the restarts in it; ratio = ms per restart ÷ runit’s without backoff.',
  ].join('\n');
}

if (isMain(import.meta)) {
  const quick = flag('quick');
  const tsRoot = option('root');
  checkPrerequisites(tsRoot, ['runsvdir', 'runsv', 'sv']);
  const impls = implementations(tsRoot);
  const started = Date.now();
  const load = loadMonitor();
  const progress = (s) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
  const results = await backoffBench({
    impls,
    n: Number(option('n', '50')),
    backoff: parseBackoff(option('backoff', '1 8')),
    caps: quick ? 2 : 8,
    seconds: quick ? 5 : 20,
    rounds: quick ? 1 : 3,
    onProgress: progress,
  });
  const out = { machine: machine(tsRoot), quick, ...results, load: load.stop(), elapsedSeconds: Math.round((Date.now() - started) / 1000) };
  const markdown = `${backoffMarkdown(results)}\n\nLoad while measuring: 1-minute load average ${out.load.loadavg1Mean} (max ${out.load.loadavg1Max}), machine busy ${fmt(out.load.busyShare * 100, 0)} %.`;
  console.log(markdown);
  const outDir = option('out');
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'backoff.json'), `${JSON.stringify(out, null, 2)}\n`);
    writeFileSync(join(outDir, 'backoff.md'), `${markdown}\n`);
  }
}

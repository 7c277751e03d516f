#!/usr/bin/env node
// Readiness and start order (issue 13, Measure), side by side with Debian's runit.
//
// Ready to started: `app` needs `db`; db's run waits for a trigger file,
// then takes a timestamp (`date +%s%N`) and says it is ready; app's run
// takes a timestamp first thing once it may go on. The figure is the
// difference (it includes one `date` exec on each side, alike for both).
//   - runit-ts: db has `notification-fd` (run writes a newline to fd 3),
//     app has `needs/db`; runsvdir starts app's run once db is ready.
//   - runit: runit's idiom. db's run creates a file `ready` when ready and
//     db/check tests for it; app/run begins `sv start ../db || exit 1`, so
//     sv polls ./check (every 420 ms) until it succeeds.
//   The trigger is written a random 0-500 ms after app is waiting, so the
//   poll's phase is not the bench's.
//
// Idle cost: db and app up, nothing happening, for `--idle` seconds: CPU
// ticks (utime + stime of /proc/PID/stat, 10 ms each) and context switches
// (voluntary + involuntary, every thread) of the supervision processes
// (runsvdir and every runsv; not the services), for runit-ts with readiness
// and needs (and needs-bound, which keeps the needs watched), runit-ts with
// neither, and runit (its runsvdir looks at the directory every 5 s).
//
//   node bench/readiness.js [--quick] [--rounds N] [--idle S] [--out DIR] [--root DIR]
//     --quick  3 rounds, 3 s idle (default: 15 rounds, 10 s idle)
//     --out    writes readiness.json (the results) and readiness.md (the tables) there
//     --root   the runit-ts checkout to measure (its bin/ and dist/; default: this one)
import { writeFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  implementations,
  checkPrerequisites,
  isMain,
  flag,
  option,
  sleep,
  tempDir,
  removeDir,
  startGroup,
  supervision,
  waitUntil,
  roundOrder,
  machine,
  loadMonitor,
  median,
  percentile,
  table,
  fmt,
  ratio,
  readText,
  isUp,
} from './lib.js';

/** A service directory from { relative path: content }; run and check executable. */
function makeService(dir, files) {
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content, { mode: /(^|\/)(run|check)$/.test(name) ? 0o755 : 0o644 });
  }
}

/** db and app for `impl` in `svdir`: readiness and needs (runit-ts), or runit's idiom. */
function makePair(svdir, impl, { readiness = true, bound = false } = {}) {
  const db = join(svdir, 'db');
  const app = join(svdir, 'app');
  const wait = 'while [ ! -e go ]; do sleep 0.01; done\n';
  if (impl.name === 'runit-ts' && readiness) {
    makeService(db, {
      'notification-fd': '3\n',
      run: `#!/bin/sh\n${wait}date +%s%N > ready-at\necho >&3\nexec sleep 1000000\n`,
    });
    makeService(app, {
      'needs/db': '',
      ...(bound ? { 'needs-bound': '' } : {}),
      run: '#!/bin/sh\ndate +%s%N > started-at\nexec sleep 1000000\n',
    });
  } else if (impl.name === 'runit-ts') {
    makeService(db, { run: `#!/bin/sh\n${wait}date +%s%N > ready-at\nexec sleep 1000000\n` });
    makeService(app, { run: '#!/bin/sh\ndate +%s%N > started-at\nexec sleep 1000000\n' });
  } else {
    makeService(db, {
      run: `#!/bin/sh\nrm -f ready\n${wait}date +%s%N > ready-at\ntouch ready\nexec sleep 1000000\n`,
      check: '#!/bin/sh\ntest -e ready\n',
    });
    makeService(app, {
      run: `#!/bin/sh\ntouch began\n${impl.bin('sv')} start ../db >/dev/null || exit 1\ndate +%s%N > started-at\nexec sleep 1000000\n`,
    });
  }
  return { db, app };
}

/** One round: ms from db's ready timestamp to app's start timestamp. */
async function latencyRound(impl) {
  const base = tempDir();
  const svdir = join(base, 'service');
  mkdirSync(svdir);
  const { db, app } = makePair(svdir, impl);
  const runsvdir = startGroup(impl.bin('runsvdir'), [svdir]);
  try {
    await waitUntil(() => isUp(db), { timeout: 30000, interval: 5 });
    // app is waiting: held by its needs (runit-ts), or its run is in `sv start` (runit)
    if (impl.name === 'runit-ts')
      await waitUntil(() => /^waiting db$/m.test(readText(join(app, 'supervise/readiness')) ?? ''), { timeout: 30000, interval: 5 });
    else await waitUntil(() => readText(join(app, 'began')) !== undefined, { timeout: 30000, interval: 5 });
    await sleep(Math.random() * 500);
    writeFileSync(join(db, 'go'), '');
    await waitUntil(() => /^\d+\n$/.test(readText(join(app, 'started-at')) ?? ''), { timeout: 30000, interval: 2 });
    await waitUntil(() => /^\d+\n$/.test(readText(join(db, 'ready-at')) ?? ''), { timeout: 30000, interval: 2 });
    const ns = BigInt(readText(join(app, 'started-at')).trim()) - BigInt(readText(join(db, 'ready-at')).trim());
    return Number(ns) / 1e6;
  } finally {
    await runsvdir.stop();
    removeDir(base);
  }
}

/**
 * What the figure holds besides the supervisor: one shell stamps with
 * `date`, then a new shell is exec'd whose first line stamps again (as
 * app's run does). Ms between the two stamps, no supervisor between them.
 */
function shellBaselineRound() {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'next'), '#!/bin/sh\ndate +%s%N > started-at\n', { mode: 0o755 });
    spawnSync('/bin/sh', ['-c', 'date +%s%N > ready-at; exec ./next'], { cwd: dir });
    const ns = BigInt(readText(join(dir, 'started-at')).trim()) - BigInt(readText(join(dir, 'ready-at')).trim());
    return Number(ns) / 1e6;
  } finally {
    removeDir(dir);
  }
}

/** utime+stime ticks (all threads) and context switches (every thread) of `pids`. */
function activity(pids) {
  let ticks = 0;
  let switches = 0;
  for (const pid of pids) {
    const stat = readText(`/proc/${pid}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {}
    for (const tid of tasks) {
      let status;
      try {
        status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'latin1');
      } catch {
        continue;
      }
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) switches += Number(m[1]);
    }
  }
  return { ticks, switches };
}

/** Idle cost of db + app under `impl` for `seconds`: { ticks, switches, processes }. */
async function idleRound(impl, { readiness, bound }, seconds) {
  const base = tempDir();
  const svdir = join(base, 'service');
  mkdirSync(svdir);
  const { db, app } = makePair(svdir, impl, { readiness, bound });
  writeFileSync(join(db, 'go'), '');
  const runsvdir = startGroup(impl.bin('runsvdir'), [svdir]);
  try {
    await waitUntil(() => isUp(db) && isUp(app) && readText(join(app, 'started-at')) !== undefined, { timeout: 30000, interval: 10 });
    if (impl.name === 'runit-ts' && readiness) await waitUntil(() => /^state ready/m.test(readText(join(db, 'supervise/readiness')) ?? ''), { timeout: 30000 });
    // let start-up settle (koffi's load, the first status writes, runit's first rescan)
    await sleep(1500);
    const { pids, counts } = supervision(runsvdir.pid);
    const before = activity(pids);
    await sleep(seconds * 1000);
    const after = activity(pids);
    return { ticks: after.ticks - before.ticks, switches: after.switches - before.switches, processes: counts };
  } finally {
    await runsvdir.stop();
    removeDir(base);
  }
}

export async function readinessBench({ impls, rounds, idleSeconds, onProgress = () => {} }) {
  const latency = Object.fromEntries(impls.map((i) => [i.name, []]));
  const baseline = [];
  for (let round = 0; round < rounds; round++) {
    for (const impl of roundOrder(impls, round)) latency[impl.name].push(await latencyRound(impl));
    baseline.push(shellBaselineRound());
    onProgress(`latency round ${round + 1}/${rounds}`);
  }
  const ts = impls.find((i) => i.name === 'runit-ts');
  const runit = impls.find((i) => i.name === 'runit');
  const configurations = [
    { name: 'runit-ts, notification-fd + needs/ + needs-bound', impl: ts, readiness: true, bound: true },
    { name: 'runit-ts, notification-fd + needs/', impl: ts, readiness: true, bound: false },
    { name: 'runit-ts, neither', impl: ts, readiness: false, bound: false },
    { name: 'runit, check + `sv start db` in run', impl: runit, readiness: false, bound: false },
  ].filter((c) => c.impl);
  const idle = [];
  for (const c of configurations) {
    idle.push({ name: c.name, seconds: idleSeconds, ...(await idleRound(c.impl, c, idleSeconds)) });
    onProgress(`idle: ${c.name}`);
  }
  return { rounds, latency, baseline, idle };
}

export function readinessMarkdown({ rounds, latency, baseline = [], idle }) {
  const names = Object.keys(latency);
  const base = latency.runit ? median(latency.runit) : NaN;
  const latencyRows = names.map((n) => [
    n === 'runit-ts' ? 'runit-ts: notification-fd + needs/' : 'runit: ./check + `sv start db \\|\\| exit 1`',
    fmt(median(latency[n]), 2),
    fmt(Math.min(...latency[n]), 2),
    fmt(percentile(latency[n], 0.9), 2),
    ratio(median(latency[n]), base),
  ]);
  if (baseline.length > 0)
    latencyRows.push([
      'no supervisor: a `date`, then a new shell whose first line is `date` (in both figures above)',
      fmt(median(baseline), 2),
      fmt(Math.min(...baseline), 2),
      fmt(percentile(baseline, 0.9), 2),
      '–',
    ]);
  const idleRows = idle.map((r) => [
    r.name,
    String(r.ticks),
    String(r.switches),
    fmt(r.switches / r.seconds, 1),
    Object.entries(r.processes)
      .filter(([k, v]) => v && k !== 'other')
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  ]);
  const supervisorPart = latency['runit-ts'] && baseline.length > 0 ? median(latency['runit-ts']) - median(baseline) : Number.NaN;
  return [
    `From db ready to app started, ${rounds} round(s), ms (a \`date\` exec on each side included):`,
    '',
    table(['how', 'median ms', 'min ms', 'p90 ms', 'ratio to runit'], latencyRows),
    '',
    ...(Number.isFinite(supervisorPart)
      ? [`runit-ts's median less what it holds besides the supervisor (the no-supervisor line): ${fmt(supervisorPart, 2)} ms (goal ≤ 5 ms).`, '']
      : []),
    `Idle, db and app up, nothing happening, ${idle[0]?.seconds ?? 0} s: supervision processes (runsvdir, runsv; not the services):`,
    '',
    table(['configuration', 'CPU ticks (10 ms)', 'context switches', 'per second', 'processes'], idleRows),
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
  const results = await readinessBench({
    impls,
    rounds: Number(option('rounds', quick ? '3' : '15')),
    idleSeconds: Number(option('idle', quick ? '3' : '10')),
    onProgress: progress,
  });
  const out = { machine: machine(tsRoot), quick, ...results, load: load.stop(), elapsedSeconds: Math.round((Date.now() - started) / 1000) };
  const markdown = `${readinessMarkdown(results)}\n\nLoad while measuring: 1-minute load average ${out.load.loadavg1Mean} (max ${out.load.loadavg1Max}), machine busy ${fmt(out.load.busyShare * 100, 0)} %.`;
  console.log(markdown);
  const outDir = option('out');
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'readiness.json'), `${JSON.stringify(out, null, 2)}\n`);
    writeFileSync(join(outDir, 'readiness.md'), `${markdown}\n`);
  }
}

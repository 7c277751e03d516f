#!/usr/bin/env node
// Supervision overhead, runit-ts against Debian's runit in one run:
//   sv      `sv status X` wall time; `sv -w 10 restart X` until X runs again
//   restart kill -9 of a service until its replacement runs
//   scale   N services under runsvdir: time until all are up, memory of the
//           supervision processes (not the services), CPU over an idle spell
// Usage: node bench/supervision.js [--quick] [--json FILE]
import { spawnSync } from 'node:child_process';
import { writeFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import {
  ours, debian, median, percentile, sleep, tempDir, removeDir, makeServices, readText, startGroup,
  processTree, memoryOf, cpuSecondsOf, waitUntil, table, ratio, fmt,
} from './lib.js';

const quick = process.argv.includes('--quick');
const jsonIndex = process.argv.indexOf('--json');
const jsonFile = jsonIndex > 0 ? process.argv[jsonIndex + 1] : undefined;
const ROUNDS = quick ? 3 : 7;
const SCALES = quick ? [10, 100] : [10, 100, 1000];
const IDLE_SECONDS = quick ? 5 : 30;

const impls = [
  { name: 'runit-ts', runsv: ours('runsv'), runsvdir: ours('runsvdir'), sv: ours('sv') },
  { name: 'runit', runsv: debian('runsv'), runsvdir: debian('runsvdir'), sv: debian('sv') },
];

const pidOf = (dir) => Number(readText(join(dir, 'supervise/pid')) || 0);
const isUp = (dir) => readText(join(dir, 'supervise/stat')) === 'run\n' && pidOf(dir);

function timeCommand(file, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.status}: ${r.stdout}${r.stderr}`);
  return ms;
}

/** Milliseconds from now until `dir` runs a pid other than `oldPid` (inotify + 1 ms poll). */
function untilReplaced(dir, oldPid) {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    let watcher;
    const check = () => {
      const pid = pidOf(dir);
      if (pid && pid !== oldPid && readText(join(dir, 'supervise/stat')) === 'run\n') {
        watcher?.close();
        clearInterval(poll);
        resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    };
    watcher = watch(join(dir, 'supervise'), check);
    const poll = setInterval(check, 1);
    check();
  });
}

async function benchOneService() {
  const results = Object.fromEntries(impls.map((i) => [i.name, { status: [], restart: [], kill: [] }]));
  const setups = [];
  for (const impl of impls) {
    const base = tempDir();
    const [dir] = makeServices(base, 1);
    const runsv = startGroup(impl.runsv, [dir]);
    await waitUntil(() => isUp(dir));
    setups.push({ impl, base, dir, runsv });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const { impl, dir } of setups) {
      const r = results[impl.name];
      r.status.push(timeCommand(impl.sv, ['status', dir]));
      await sleep(50);
      r.restart.push(timeCommand(impl.sv, ['-w', '10', 'restart', dir]));
      await waitUntil(() => isUp(dir));
      // a service that ran a while, so runsv's 1-s throttle does not apply
      await sleep(1100);
      const old = pidOf(dir);
      const replaced = untilReplaced(dir, old);
      process.kill(old, 'SIGKILL');
      r.kill.push(await replaced);
      await sleep(1100);
    }
  }
  for (const { runsv, base } of setups) {
    await runsv.stop();
    removeDir(base);
  }
  return results;
}

/** Supervision processes: runsvdir, every runsv and the loggers (not the services). */
function supervisors(rootPid) {
  return processTree(rootPid, (p) => p.pid === rootPid || ['runsv', 'node', 'svlogd', 'cat'].includes(p.comm));
}

async function benchScale(n, log) {
  const out = {};
  for (const impl of impls) {
    const base = tempDir();
    const dirs = makeServices(base, n, { log });
    const t0 = process.hrtime.bigint();
    const runsvdir = startGroup(impl.runsvdir, [base]);
    await waitUntil(() => dirs.every(isUp), { timeout: 120000, interval: 10 });
    const upMs = Number(process.hrtime.bigint() - t0) / 1e6;
    await sleep(1000);
    const pids = supervisors(runsvdir.pid).map((p) => p.pid);
    const memory = memoryOf(pids);
    let idleCpu;
    if (n === 100 && !log) {
      const before = cpuSecondsOf(pids);
      await sleep(IDLE_SECONDS * 1000);
      idleCpu = cpuSecondsOf(pids) - before;
    }
    out[impl.name] = { upMs, processes: pids.length, ...memory, idleCpu };
    await runsvdir.stop();
    removeDir(base);
  }
  return out;
}

const report = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, oneService: await benchOneService(), scale: [] };
for (const n of SCALES) for (const log of [false, true]) report.scale.push({ n, log, ...(await benchScale(n, log)) });

const a = report.oneService['runit-ts'];
const b = report.oneService.runit;
const lines = [];
lines.push(`### One service (${ROUNDS} rounds, medians; ms)`, '');
lines.push(
  table(
    ['metric', 'runit-ts', 'runit', 'ratio'],
    [
      ['`sv status X`', fmt(median(a.status)), fmt(median(b.status)), ratio(median(a.status), median(b.status))],
      ['`sv -w 10 restart X` until X runs', fmt(median(a.restart)), fmt(median(b.restart)), ratio(median(a.restart), median(b.restart))],
      ['kill -9 until replacement runs (median)', fmt(median(a.kill)), fmt(median(b.kill)), ratio(median(a.kill), median(b.kill))],
      ['kill -9 until replacement runs (p90)', fmt(percentile(a.kill, 0.9)), fmt(percentile(b.kill, 0.9)), ratio(percentile(a.kill, 0.9), percentile(b.kill, 0.9))],
    ],
  ),
);
lines.push('', '### N services under runsvdir (supervision processes only; memory in MB)', '');
const mb = (kb) => fmt(kb / 1024, 1);
lines.push(
  table(
    ['N', 'logs', 'metric', 'runit-ts', 'runit', 'ratio'],
    report.scale.flatMap((s) => {
      const x = s['runit-ts'];
      const y = s.runit;
      const rows = [
        [s.n, s.log ? 'cat' : '-', 'all up (ms)', fmt(x.upMs, 0), fmt(y.upMs, 0), ratio(x.upMs, y.upMs)],
        [s.n, s.log ? 'cat' : '-', 'USS', mb(x.uss), mb(y.uss), ratio(x.uss, y.uss)],
        [s.n, s.log ? 'cat' : '-', 'PSS', mb(x.pss), mb(y.pss), ratio(x.pss, y.pss)],
        [s.n, s.log ? 'cat' : '-', 'RSS', mb(x.rss), mb(y.rss), ratio(x.rss, y.rss)],
      ];
      if (x.idleCpu !== undefined) rows.push([s.n, '-', `CPU s over ${IDLE_SECONDS} s idle`, fmt(x.idleCpu, 2), fmt(y.idleCpu, 2), ratio(x.idleCpu, y.idleCpu)]);
      return rows;
    }),
  ),
);
console.log(lines.join('\n'));
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(report, null, 2));

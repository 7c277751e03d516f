#!/usr/bin/env node
// The supervisor's own death under load (issue 7): 100 services, each
// logging numbered lines through svlogd; the supervision processes are
// killed with SIGKILL 20 times and runsvdir started again. Counts duplicate
// service instances and lines lost, runit-ts beside Debian's runit.
// Usage: node bench/host-kill.js [--services N] [--kills K] [--tt] [--sleep S] (default 20 and 10:
// runit's duplicates pile up, and at 100 x 20 they overload a 2-core machine)
import { readdirSync, readlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { implementations, benchEnv, sleep, tempDir, removeDir, readText, startGroup, processTree, waitUntil, table } from './lib.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SERVICES = arg('--services', 20);
const KILLS = arg('--kills', 10);
/** --tt: the loggers stamp lines (svlogd -tt), as a restarted logger must not write a line twice with another stamp */
const STAMPS = process.argv.includes('--tt');
/** --sleep S: pause between two lines of a service (0: as fast as the shell goes, so the loggers are always busy) */
const PAUSE = arg('--sleep', 0.02);

/** For each marker, the live processes whose command line holds it (one /proc scan), without their own transient forks. */
function instancesOf(markers) {
  const found = new Map();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const cmdline = readText(`/proc/${p}/cmdline`) ?? '';
    if (!cmdline.includes('hk-')) continue;
    const stat = readText(`/proc/${p}/stat`) ?? '';
    if (stat.includes(') Z')) continue;
    found.set(Number(p), { ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), cmdline });
  }
  return markers.map((m) => [...found].filter(([, v]) => v.cmdline.includes(m) && !found.has(v.ppid)).map(([pid]) => pid));
}

function makeTree(base, tag) {
  const markers = [];
  for (let i = 0; i < SERVICES; i++) {
    const marker = `hk-${tag}-${process.pid}-s${i}-`;
    markers.push(marker);
    const s = join(base, `s${i}`);
    mkdirSync(join(s, 'log/main'), { recursive: true });
    // each line names its instance ($$), so every instance's sequence can be checked
    writeFileSync(join(s, 'run'), `#!/bin/sh\nexec sh -c 'n=0; while :; do n=$((n+1)); echo "$$ $n"; ${PAUSE > 0 ? `sleep ${PAUSE}; ` : ''}done' ${marker}\n`, {
      mode: 0o755,
    });
    writeFileSync(join(s, 'log/run'), `#!/bin/sh\nexec svlogd ${STAMPS ? '-tt ' : ''}./main\n`, { mode: 0o755 });
    // every old file kept: a line rotated away would count as lost
    writeFileSync(join(s, 'log/main/config'), 'n0\n');
  }
  return markers;
}

/** Lines missing inside each instance's numbered sequence, and lines written again (a number at or below the last one seen), summed over services. */
function linesLost(base) {
  let lost = 0;
  let duplicated = 0;
  let lines = 0;
  for (let i = 0; i < SERVICES; i++) {
    const dir = join(base, `s${i}`, 'log/main');
    const files = readdirSync(dir)
      .filter((f) => f.startsWith('@'))
      .sort()
      .concat('current');
    const last = new Map();
    for (const f of files) {
      for (const line of (readText(join(dir, f)) ?? '').split('\n')) {
        const m = /^(?:\d{4}-\d\d-\d\d_[\d:.]+ )?(\d+) (\d+)$/.exec(line);
        if (!m) continue;
        lines++;
        const n = Number(m[2]);
        const prev = last.get(m[1]) ?? 0;
        if (n > prev + 1) lost += n - prev - 1;
        if (n <= prev) duplicated++;
        last.set(m[1], Math.max(prev, n));
      }
    }
  }
  return { lost, duplicated, lines };
}

async function scenario(impl) {
  const base = tempDir();
  bases.push(base);
  const markers = makeTree(base, impl.name);
  const env = benchEnv();
  let host = startGroup(impl.runsvdir, [base], { env });
  const allUp = () => instancesOf(markers).every((pids) => pids.length >= 1);
  await waitUntil(allUp, { timeout: 120000, interval: 200 });
  let duplicates = 0;
  const orphans = new Set();
  for (let k = 0; k < KILLS; k++) {
    // kill the supervision processes only: runsvdir and every runsv
    for (const p of processTree(host.pid, (p) => p.pid === host.pid || p.comm === 'runsv')) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {}
    }
    await host.exited;
    for (const pids of instancesOf(markers)) for (const pid of pids) orphans.add(pid);
    await sleep(200);
    host = startGroup(impl.runsvdir, [base], { env });
    await waitUntil(allUp, { timeout: 120000, interval: 200 });
    // give a duplicating supervisor time to start its second copies
    await sleep(1500);
    duplicates += instancesOf(markers).filter((pids) => pids.length > 1).length;
  }
  await sleep(500);
  // stop everything: services, loggers, holders
  await host.stop('SIGKILL');
  for (const pids of instancesOf(markers)) for (const pid of pids) orphans.add(pid);
  for (const pid of orphans) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  // loggers left by killed runsv processes write what they still read, then end
  await sleep(1000);
  const { lost, duplicated, lines } = linesLost(base);
  killLeftLoggers(base);
  removeDir(base);
  return { duplicates, lost, duplicated, lines };
}

/** Every process whose cwd is under `base` (services, runsv, svlogd): started by this run. */
function killLeftLoggers(base) {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let cwd;
    try {
      cwd = readlinkSync(`/proc/${p}/cwd`);
    } catch {
      continue;
    }
    if (cwd.startsWith(base)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {}
    }
  }
}

// interrupted (Ctrl-C, a timeout): leave no process of this run behind
const bases = [];
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const base of bases) killLeftLoggers(base);
    process.exit(130);
  });
}

const impls = implementations().map((i) => ({ name: i.name, runsvdir: i.bin('runsvdir') }));
const results = {};
for (const impl of impls) results[impl.name] = await scenario(impl);
console.log(`### Supervisor killed with SIGKILL ${KILLS} times under load (${SERVICES} services logging numbered lines)\n`);
console.log(
  table(
    ['metric', 'runit-ts', 'runit'],
    [
      ['duplicate service instances seen (sum over restarts)', results['runit-ts'].duplicates, results.runit.duplicates],
      ['lines lost', results['runit-ts'].lost, results.runit.lost],
      ['lines written twice', results['runit-ts'].duplicated, results.runit.duplicated],
      ['lines logged', results['runit-ts'].lines, results.runit.lines],
    ],
  ),
);

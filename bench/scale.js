#!/usr/bin/env node
// The scale curve (issue 12, goal 7): N = 10, 100, 1,000, 10,000 services,
// each with a logger (`exec svlogd -tt ./main`: hosted in-process by
// runit-ts's runsvdir, a runsv + svlogd process per service under Debian's),
// runit-ts and Debian's runit side by side, interleaved. For each N:
//   upMs      runsvdir(s) started → every service and log service up
//   memory    USS, PSS, RSS of the supervision processes (runsvdir, runsv,
//             svlogd, fd holder; not the services)
//   svStatus  `sv status` of one service, median of several runs
//   allStatus the status of all N in one command: `runit-ts status --json`;
//             runit has none, so Debian's `sv status` of every directory
//   idleCpu   CPU of supervision over a short idle window
//   restart   `sv -w 60 restart` of a few services (controllability)
//
// What one process may hold decides how many runsvdirs an N takes:
//   runit     runsvdir.c has MAXSERVICES 1000: above that, one runsvdir per
//             1,000 services (runit's own way to go further), and only while
//             N × 3 processes (runsv, svlogd, service) fit under
//             kernel.pid_max with room for the rest of the machine.
//   runit-ts  one runsvdir holds 12-16 descriptors per service
//             (src/scanner/fd-budget.ts); it raises RLIMIT_NOFILE to the hard
//             limit, and the hard limit to fs.nr_open where it may
//             (CAP_SYS_RESOURCE). Where the hard limit cannot hold N
//             services, one runsvdir per as many as it holds (the rest would
//             wait for descriptors, said once each).
// Standalone: node bench/scale.js [--max N] [--out DIR] [--idle SECONDS]
//   writes DIR/scale.json and DIR/scale.png (default: bench/scale.json,
//   bench/charts/scale.png). Helpers written here rather than in lib.js:
//   hostLayout, limitsReport, cpuByPid/cpuDelta (as in supervision.js).
import { writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import {
  root,
  implementations,
  checkPrerequisites,
  isMain,
  option,
  sleep,
  tempDir,
  removeDir,
  makeServices,
  startGroup,
  supervision,
  memoryOf,
  cpuSecondsOf,
  waitAllUp,
  timeCommand,
  elapsedMs,
  median,
  machine,
  loadMonitor,
  table,
  ratio,
  fmt,
  processTable,
} from './lib.js';

const RUNIT_MAXSERVICES = 1000; // runsvdir.c
/** runit-ts: descriptors per service with an in-process logger (fd-budget.ts FD_FIRST_GUESS) and the share of the limit used */
const TS_FDS_PER_SERVICE = 16;
const TS_LIMIT_SHARE = 0.9;
/** pids left for the rest of the machine (other work, the bench itself) */
const PID_MARGIN = 2000;
/** runs of the status of all N, each a whole command (median kept) */
const ALL_STATUS_RUNS = 3;

const readNumber = (path) => {
  try {
    return Number(readFileSync(path, 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return NaN;
  }
};

/** The host's limits that decide what fits, and whether this process could raise its hard NOFILE. */
export function limitsReport() {
  const sh = (cmd) => spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' }).stdout.trim();
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return {
    nofileSoft: Number(sh('ulimit -Sn')),
    nofileHard: Number(sh('ulimit -Hn')),
    nrOpen: readNumber('/proc/sys/fs/nr_open'),
    fileMax: readNumber('/proc/sys/fs/file-max'),
    capSysResource: capEff !== undefined && (BigInt(`0x${capEff}`) & (1n << 24n)) !== 0n,
    pidMax: readNumber('/proc/sys/kernel/pid_max'),
    threadsMax: readNumber('/proc/sys/kernel/threads-max'),
    nproc: /^Max processes\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1],
    inotifyWatches: readNumber('/proc/sys/fs/inotify/max_user_watches'),
    inotifyInstances: readNumber('/proc/sys/fs/inotify/max_user_instances'),
    epollWatches: readNumber('/proc/sys/fs/epoll/max_user_watches'),
    processesNow: processTable().length,
  };
}

/**
 * How `impl` runs `n` services here: { hosts, perHost } or { skip: why }.
 */
export function hostLayout(impl, n, limits) {
  if (impl.name === 'runit') {
    const processes = n * 3 + Math.ceil(n / RUNIT_MAXSERVICES);
    if (limits.processesNow + processes + PID_MARGIN > limits.pidMax)
      return {
        skip: `${processes} processes (runsv + svlogd + service per service) do not fit under kernel.pid_max ${limits.pidMax} with ${limits.processesNow} running and ${PID_MARGIN} spare (sysctl -w kernel.pid_max=4194304)`,
      };
    const hosts = Math.ceil(n / RUNIT_MAXSERVICES);
    return { hosts, perHost: Math.ceil(n / hosts), why: hosts > 1 ? `runsvdir.c MAXSERVICES ${RUNIT_MAXSERVICES}` : undefined };
  }
  const hard = limits.capSysResource ? Math.max(limits.nofileHard, limits.nrOpen) : limits.nofileHard;
  const fit = Math.floor((hard * TS_LIMIT_SHARE) / TS_FDS_PER_SERVICE);
  const hosts = Math.max(1, Math.ceil(n / fit));
  return {
    hosts,
    perHost: Math.ceil(n / hosts),
    why:
      hosts > 1
        ? `RLIMIT_NOFILE hard ${limits.nofileHard}${limits.capSysResource ? '' : ', no CAP_SYS_RESOURCE to raise it'}: one runsvdir holds ~${fit} services with loggers`
        : undefined,
  };
}

/** CPU seconds per pid (so that pids that come or go between two readings are left out). */
const cpuByPid = (pids) => new Map(pids.map((p) => [p, cpuSecondsOf([p])]));
function cpuDelta(before, after) {
  let s = 0;
  for (const [pid, t] of after) if (before.has(pid)) s += t - before.get(pid);
  return s;
}

/** One run of `n` services under `impl`: every figure of the curve. */
async function oneRun(impl, n, layout, { idleSeconds, statusRuns, restarts, settleMs, onProgress }) {
  const base = tempDir('runit-ts-scale-');
  const groups = [];
  const dirs = [];
  for (let h = 0; h < layout.hosts; h++) {
    const dir = join(base, `d${h}`);
    mkdirSync(dir);
    const count = Math.min(layout.perHost, n - h * layout.perHost);
    groups.push({ dir, dirs: makeServices(dir, count, { log: true, run: '#!/bin/sh\nexec sleep 100000\n' }) });
    dirs.push(...groups.at(-1).dirs);
  }
  const hosts = [];
  const t0 = process.hrtime.bigint();
  try {
    for (const g of groups) hosts.push(startGroup(impl.bin('runsvdir'), [g.dir]));
    await waitAllUp(dirs, { log: true, timeout: 600000, interval: n >= 1000 ? 250 : 10 });
    const upMs = elapsedMs(t0);
    onProgress(`  ${impl.name} n=${n}: all up in ${(upMs / 1000).toFixed(1)} s (${layout.hosts} runsvdir${layout.hosts > 1 ? 's' : ''})`);
    await sleep(settleMs);
    const pids = [];
    const counts = {};
    for (const h of hosts) {
      const s = supervision(h.pid);
      pids.push(...s.pids);
      for (const [k, v] of Object.entries(s.counts)) counts[k] = (counts[k] ?? 0) + v;
    }
    const mem = memoryOf(pids);
    const status = [];
    for (let i = 0; i < statusRuns; i++) status.push(timeCommand(impl.bin('sv'), ['status', dirs[0]]));
    const [command, ...args] = impl.name === 'runit' ? [impl.bin('sv'), 'status'] : [impl.bin('runit-ts'), 'status', '--json'];
    const allStatus = [];
    for (let i = 0; i < ALL_STATUS_RUNS; i++) allStatus.push(timeCommand(command, [...args, ...dirs], { maxBuffer: 1 << 28 }));
    const before = cpuByPid(pids);
    await sleep(idleSeconds * 1000);
    const idleCpu = cpuDelta(before, cpuByPid(pids));
    // controllable: a few services restarted (each ran > 1 s: runsv's throttle, sv's whole seconds)
    const restart = [];
    const restartFailures = [];
    for (let i = 0; i < restarts; i++) {
      const d = dirs[Math.floor((i * dirs.length) / restarts)];
      try {
        restart.push(timeCommand(impl.bin('sv'), ['-w', '60', 'restart', d]));
      } catch (err) {
        restartFailures.push(err.message.trim());
        onProgress(`  ${impl.name} n=${n}: ${err.message.trim()}`);
      }
    }
    return { upMs, ...mem, counts, statusMs: median(status), status, allStatusMs: median(allStatus), idleCpu, restart, restartFailures, hosts: layout.hosts };
  } finally {
    for (const h of hosts) await h.stop();
    removeDir(base);
  }
}

/**
 * The curve: for each N (up to `max`), each implementation in alternating
 * order, `rounds(n)` runs. Returns { limits, idleSeconds, points: [{ n, [impl]: {...} | { skip } }] }.
 */
export async function scaleCurve({
  impls = implementations(),
  ns = [10, 100, 1000, 10000],
  max = Infinity,
  rounds = (n) => (n <= 100 ? 3 : 1),
  idleSeconds = 10,
  statusRuns = 7,
  restarts = 3,
  settleMs = 2000,
  onProgress = () => {},
} = {}) {
  const limits = limitsReport();
  const points = [];
  for (const n of ns.filter((x) => x <= max)) {
    const point = { n };
    const layouts = Object.fromEntries(impls.map((i) => [i.name, hostLayout(i, n, limitsReport())]));
    for (const i of impls) point[i.name] = layouts[i.name].skip ? { skip: layouts[i.name].skip } : { layout: layouts[i.name], runs: [] };
    const R = rounds(n);
    for (let round = 0; round < R; round++) {
      for (const impl of round % 2 ? [...impls].reverse() : impls) {
        const p = point[impl.name];
        if (p.skip) continue;
        onProgress(`scale n=${n} ${impl.name} round ${round + 1}/${R}`);
        const t = Date.now();
        p.runs.push(await oneRun(impl, n, p.layout, { idleSeconds, statusRuns, restarts, settleMs, onProgress }));
        p.runs.at(-1).wallS = (Date.now() - t) / 1000;
      }
    }
    for (const i of impls) {
      const p = point[i.name];
      if (p.skip) continue;
      const m = (k) => median(p.runs.map((r) => r[k]));
      Object.assign(p, {
        upMs: m('upMs'),
        uss: m('uss'),
        pss: m('pss'),
        rss: m('rss'),
        statusMs: m('statusMs'),
        allStatusMs: m('allStatusMs'),
        idleCpu: m('idleCpu'),
      });
      p.restartMs = median(p.runs.flatMap((r) => r.restart));
      p.restartFailures = p.runs.flatMap((r) => r.restartFailures);
      p.counts = p.runs.at(-1).counts;
    }
    points.push(point);
  }
  return { limits, idleSeconds, points };
}

/** The markdown table: medians and ratios runit-ts ÷ runit. */
export function scaleReport(result) {
  const [a, b] = ['runit-ts', 'runit'];
  const MB = (kb) => kb / 1024;
  const cell = (p, k, f) => (p.skip ? 'n/a' : f(p[k]));
  const rows = result.points.map((pt) => {
    const x = pt[a];
    const y = pt[b];
    const both = (k, f, conv = (v) => v) => [cell(x, k, (v) => f(conv(v))), cell(y, k, (v) => f(conv(v))), x.skip || y.skip ? 'n/a' : ratio(x[k], y[k])];
    return [
      pt.n.toLocaleString('en-US'),
      `${x.layout?.hosts ?? '-'} / ${y.layout?.hosts ?? '-'}`,
      ...both('upMs', (v) => fmt(v / 1000, 2)),
      ...both('uss', (v) => fmt(v, 1), MB),
      ...both('pss', (v) => fmt(v, 1), MB),
      ...both('rss', (v) => fmt(v, 1), MB),
      ...both('statusMs', (v) => fmt(v, 1)),
      ...both('allStatusMs', (v) => fmt(v, 0)),
      ...both('idleCpu', (v) => fmt(v * 1000, 1)),
      ...both('restartMs', (v) => fmt(v, 0)),
    ];
  });
  const h = (what) => [`${what} ts`, `${what} runit`, 'ratio'];
  const lines = [
    table(
      [
        'N',
        'runsvdirs ts / runit',
        ...h('all up s'),
        ...h('USS MB'),
        ...h('PSS MB'),
        ...h('RSS MB'),
        ...h('sv status ms'),
        ...h('status of all ms'),
        ...h(`idle CPU ms / ${result.idleSeconds} s`),
        ...h('sv -w restart ms'),
      ],
      rows,
    ),
    '',
    "status of all: `runit-ts status --json` of the N directories (runit-ts), Debian's `sv status` of them (runit has no status of all).",
  ];
  for (const pt of result.points)
    for (const impl of [a, b]) {
      const p = pt[impl];
      if (p.skip) lines.push(`- N=${pt.n} ${impl}: not run: ${p.skip}`);
      else if (p.layout.why) lines.push(`- N=${pt.n} ${impl}: ${p.layout.hosts} runsvdirs of ≤${p.layout.perHost}: ${p.layout.why}`);
      for (const f of p.restartFailures ?? []) lines.push(`- N=${pt.n} ${impl}: restart FAILED: ${f}`);
    }
  const l = result.limits;
  lines.push(
    `- limits here: RLIMIT_NOFILE ${l.nofileSoft}/${l.nofileHard} (fs.nr_open ${l.nrOpen}; CAP_SYS_RESOURCE ${l.capSysResource ? 'yes' : 'no'}), kernel.pid_max ${l.pidMax}, kernel.threads-max ${l.threadsMax}, ulimit -u ${l.nproc}, fs.inotify.max_user_watches ${l.inotifyWatches}, max_user_instances ${l.inotifyInstances}, fs.epoll.max_user_watches ${l.epollWatches}`,
  );
  return lines.join('\n');
}

/** The chart's data: one row per implementation and N that ran. */
export const chartRows = (result) =>
  result.points.flatMap((pt) =>
    ['runit-ts', 'runit']
      .filter((impl) => !pt[impl].skip)
      .map((impl) => ({
        impl,
        n: pt.n,
        hosts: pt[impl].layout.hosts,
        ussMB: pt[impl].uss / 1024,
        upS: pt[impl].upMs / 1000,
        statusMs: pt[impl].statusMs,
        idleCpuMs: pt[impl].idleCpu * 1000,
      })),
  );

if (isMain(import.meta)) {
  checkPrerequisites();
  const max = Number(option('max', '10000'));
  const outDir = option('out');
  const idleSeconds = Number(option('idle', '10'));
  const progress = (s) => process.stderr.write(`${s}\n`);
  const load = loadMonitor();
  const uptimeBefore = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
  const t0 = Date.now();
  const curve = await scaleCurve({ max, idleSeconds, onProgress: progress });
  const results = {
    machine: { ...machine(), freeMemGiB: Math.round((os.freemem() / 2 ** 30) * 10) / 10 },
    load: { ...load.stop(), uptimeBefore, uptimeAfter: spawnSync('uptime', { encoding: 'utf8' }).stdout.trim() },
    wallS: (Date.now() - t0) / 1000,
    scaleCurve: curve,
  };
  console.log(scaleReport(curve));
  console.log(`\nload: ${results.load.uptimeBefore} → ${results.load.uptimeAfter}; ${results.wallS.toFixed(0)} s in all`);
  const jsonFile = outDir ? join(outDir, 'scale.json') : join(root, 'bench/scale.json');
  if (outDir) mkdirSync(outDir, { recursive: true });
  writeFileSync(jsonFile, JSON.stringify(results, null, 2));
  console.log(jsonFile);
  try {
    const { renderCharts } = await import('./charts.js');
    for (const f of await renderCharts({ machine: results.machine, scaleCurve: curve }, outDir ?? join(root, 'bench/charts'))) console.log(f);
  } catch (err) {
    console.error(`chart not drawn: ${err.message}`);
  }
}

#!/usr/bin/env node
// `npm run bench`: runit-ts against Debian's runit 2.1.2, side by side in
// one run, every phase interleaving the two: memory and start time for N
// services, restart after kill -9, sv, svlogd throughput, idle and
// crash-loop CPU, chpst, the restart of a service that execs chpst,
// runit-ts status and /metrics at N services. Prints a markdown table (medians, ratio to runit,
// targets) and writes results.json, RESULTS.md and charts/*.png.
//
//   node bench/run.js [--quick] [--out DIR] [--only LIST] [--root DIR]
//     --quick  a smoke run of a minute or two (fewer rounds, N up to 100, short
//              idle and crash-loop spells, 100k log lines); writes into a
//              new temporary directory unless --out is given
//     --out    where results.json, RESULTS.md and charts/ go (default: bench/)
//     --only   a comma-separated subset of: sv, scale, tmpfs, floor, idle, crash, svlogd, chpst,
//              chpstrestart, observe, readiness, backoff, containment
//              (tmpfs: the scale phase again with the services on a tmpfs;
//              floor: runsvdir supervising nothing, one runsv with one service)
//     --root   the runit-ts checkout to measure (its bin/ and dist/; default: this one)
//     --tmpfs  the tmpfs directory of the tmpfs phase (default: /dev/shm)
//
// Needs Debian's runit (apt-get install runit) and a build (npm run build);
// the charts need the devDependencies and a font (fonts-dejavu-core).
import { writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { root, implementations, checkPrerequisites, flag, option, machine, loadMonitor, tempDir, table, median, ratio, fmt } from './lib.js';
import { oneService, scale, floor, idle, crashLoop } from './supervision.js';
import { throughput } from './svlogd.js';
import { chpst, chpstRestart, floorRows, FLOOR_HEADERS, NO_CGROUP } from './chpst.js';
import { observe, observeRows, OBSERVE_HEADERS } from './observe.js';
import { readinessBench, readinessMarkdown } from './readiness.js';
import { backoffBench, backoffMarkdown } from './backoff.js';
import { containmentBench, containmentRows, CONTAINMENT_HEADERS } from './containment.js';
import { report } from './report.js';

const quick = flag('quick');
const tsRoot = option('root', root);
const only = option('only')?.split(',');
const outDir = option('out') ?? (quick ? tempDir('runit-ts-bench-out-') : join(root, 'bench'));
const want = (phase) => !only || only.includes(phase);

checkPrerequisites(tsRoot);
const impls = implementations(tsRoot);
const config = quick
  ? {
      oneService: { rounds: 3, kills: 4 },
      scale: { ns: [10, 100], rounds: 1 },
      floor: { rounds: 1 },
      idle: { seconds: 5, rounds: 1 },
      crashLoop: { seconds: 5, rounds: 1 },
      svlogd: { lines: 100000, rounds: 1 },
      chpst: { rounds: 3, runs: 5 },
      chpstRestart: { kills: 4 },
      observe: { sizes: [100], rounds: 3, idleSeconds: 3 },
      readiness: { rounds: 3, idleSeconds: 3 },
      backoff: { caps: 2, seconds: 5, rounds: 1 },
    }
  : {
      oneService: { rounds: 9, kills: 15 },
      scale: { ns: [10, 100, 1000], rounds: 'N=1000: 3, else 5' },
      floor: { rounds: 3 },
      idle: { seconds: 30, rounds: 3 },
      crashLoop: { seconds: 20, rounds: 3 },
      svlogd: { lines: 1000000, rounds: 5 },
      chpst: { rounds: 7, runs: 10 },
      chpstRestart: { kills: 15 },
      observe: { sizes: [100, 1000], rounds: 9, idleSeconds: 10 },
      readiness: { rounds: 15, idleSeconds: 10 },
      backoff: { caps: 8, seconds: 20, rounds: 3 },
    };

const started = Date.now();
const progress = (s) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
const load = loadMonitor();
const results = { machine: { ...machine(tsRoot), root: tsRoot }, quick, config };

if (want('sv')) {
  progress('one service: sv status, sv -w 10 restart, kill -9');
  results.oneService = await oneService({ impls, ...config.oneService });
}
if (want('scale')) {
  const { ns, rounds } = config.scale;
  results.scale = await scale({ impls, ns, rounds: typeof rounds === 'number' ? rounds : undefined, onProgress: progress });
}
const tmpfsDir = option('tmpfs') ?? '/dev/shm';
/** The file system type of `dir`, as stat -f names it (ext2/ext3 for ext4, tmpfs). */
const fsType = (dir) => spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout?.trim() || 'unknown';
if (want('tmpfs') && existsSync(tmpfsDir)) {
  const { ns, rounds } = config.scale;
  results.scaleTmpfs = {
    dir: tmpfsDir,
    rows: await scale({ impls, ns, rounds: typeof rounds === 'number' ? rounds : undefined, base: tmpfsDir, onProgress: progress }),
  };
}
if (want('floor')) results.floor = await floor({ impls, ...config.floor, onProgress: progress });
if (want('idle')) results.idle = await idle({ impls, ...config.idle, onProgress: progress });
if (want('crash')) results.crashLoop = await crashLoop({ impls, ...config.crashLoop, onProgress: progress });
if (want('svlogd')) results.svlogd = await throughput({ impls, ...config.svlogd, onProgress: progress });
if (want('chpst')) {
  progress('chpst -u nobody true, sv status X and node -e 0');
  results.chpst = await chpst({ impls, ...config.chpst });
}
if (want('chpstrestart')) {
  progress('kill -9 of a service whose run execs chpst -u nobody');
  results.chpstRestart = await chpstRestart({ impls, ...config.chpstRestart });
}
if (want('observe')) results.observe = await observe({ ...config.observe, onProgress: progress });
if (want('readiness')) results.readiness = await readinessBench({ impls, ...config.readiness, onProgress: progress });
if (want('backoff')) results.backoff = await backoffBench({ impls, ...config.backoff, onProgress: progress });
if (want('containment')) results.containment = await containmentBench({ tsRoot, quick, onProgress: progress });
results.load = load.stop();
results.seconds = Math.round((Date.now() - started) / 1000);

const { rows, markdown } = report(results);
// the start-up goal (issue 12): short-lived commands within 1.3x of a bare
// `node -e 0` run without NODE_EXTRA_CA_CERTS, measured in the same phase
const startup = results.chpst
  ? [
      'Start-up against the floor (same phase, interleaved; goal: at most 1.3x of `node -e 0` without NODE_EXTRA_CA_CERTS, whether or not the caller sets it):',
      '',
      table(FLOOR_HEADERS, floorRows(results.chpst)),
      '',
    ].join('\n')
  : '';
// boot on each file system (issue 12, goal 3: 100 with loggers <= 0.7x runit,
// 1,000 <= 0.5x), with the CPU supervision used until all were up
const bootRows = (set, fs) =>
  set.map((s) => {
    const a = s['runit-ts'];
    const b = s.runit;
    const target = s.log && s.n === 100 ? 0.7 : s.log && s.n >= 1000 ? 0.5 : undefined;
    const r = median(a.upMs) / median(b.upMs);
    return [
      `${fs}, N=${s.n}, ${s.log ? 'svlogd loggers' : 'no loggers'}`,
      fmt(median(a.upMs), 0),
      fmt(median(b.upMs), 0),
      ratio(median(a.upMs), median(b.upMs)),
      target ? `≤ ${target}× ${r <= target ? 'met' : 'not met'}` : '',
      a.cpu?.length ? fmt(median(a.cpu) * 1000, 0) : 'n/a',
      b.cpu?.length ? fmt(median(b.cpu) * 1000, 0) : 'n/a',
    ];
  });
const boot =
  results.scale || results.scaleTmpfs
    ? [
        'All up, by file system (wall ms from runsvdir’s start; CPU ms of the supervision processes until then):',
        '',
        table(
          ['case', 'runit-ts ms', 'runit ms', 'ratio', 'target', 'runit-ts CPU ms', 'runit CPU ms'],
          [
            ...bootRows(results.scale ?? [], `${fsType(tmpdir())} (${tmpdir()})`),
            ...bootRows(results.scaleTmpfs?.rows ?? [], `${fsType(tmpfsDir)} (${tmpfsDir})`),
          ],
        ),
        '',
      ].join('\n')
    : '';
const floorTable = results.floor
  ? [
      'Memory floor (USS MB, median):',
      '',
      table(
        ['process', 'runit-ts', 'runit', 'ratio'],
        ['runsvdir', 'runsv'].map((what) => {
          const a = median(results.floor[what]['runit-ts'].uss) / 1024;
          const b = median(results.floor[what].runit.uss) / 1024;
          return [what === 'runsvdir' ? 'runsvdir, 0 services' : 'runsv, 1 service (no log)', fmt(a, 2), fmt(b, 2), ratio(a, b)];
        }),
      ),
      '',
    ].join('\n')
  : '';
// issue 12's goals, each from the phase that measures it
const goal = (what, value, target, met) => [what, value, target, value === 'n/a' ? 'not measured' : met ? 'met' : '**not met**'];
const m12 = (xs) => (xs?.length ? median(xs) : Number.NaN);
const startupRatio = results.chpst
  ? Math.max(
      ...floorRows(results.chpst)
        .slice(2)
        .map((r) => Number.parseFloat(r[3])),
    )
  : Number.NaN;
const chpstRatio = results.chpstRestart ? m12(results.chpstRestart['runit-ts']) / m12(results.chpstRestart.runit) : Number.NaN;
const chpstNoCgroupRatio = results.chpstRestart ? m12(results.chpstRestart[NO_CGROUP]) / m12(results.chpstRestart.runit) : Number.NaN;
const bootRatio = (n) => {
  const s = results.scale?.find((x) => x.n === n && x.log);
  return s ? m12(s['runit-ts'].upMs) / m12(s.runit.upMs) : Number.NaN;
};
const crash = results.crashLoop;
const perStart = (x) => m12(x.cpu.map((cpu, k) => cpu / x.starts[k]));
const crashRatio = crash ? perStart(crash['runit-ts']) / perStart(crash.runit) : Number.NaN;
const uss = (n, log) => {
  const s = results.scale?.find((x) => x.n === n && x.log === log);
  return s ? m12(s['runit-ts'].uss) / m12(s.runit.uss) : Number.NaN;
};
const hosted = rows.find((r) => r.id === 'hosted-mbs');
const show = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
const goals12 = [
  'Issue 12, goals measured here (ratio = runit-ts ÷ runit unless said; goals 7 and 8 by bench/scale.js and bench/host-kill.js, below):',
  '',
  table(
    ['goal', 'measured', 'target', ''],
    [
      goal('1. `sv status`, `chpst -u nobody true` vs `node -e 0` without NODE_EXTRA_CA_CERTS (worst)', show(startupRatio), '≤ 1.3×', startupRatio <= 1.3),
      goal('2. kill -9 → the replacement of `exec chpst -u nobody PROG` runs PROG', show(chpstRatio), '≤ 1.5×', chpstRatio <= 1.5),
      goal('2. the same, runit-ts with RUNIT_TS_CGROUP=off (no move into a cgroup)', show(chpstNoCgroupRatio), '≤ 1.5×', chpstNoCgroupRatio <= 1.5),
      goal('3. all up, 100 services with loggers', show(bootRatio(100)), '≤ 0.7×', bootRatio(100) <= 0.7),
      goal('3. all up, 1,000 services with loggers', show(bootRatio(1000)), '≤ 0.5×', bootRatio(1000) <= 0.5),
      goal('4. crash loop: supervision CPU per restart', show(crashRatio), '≤ 1.0×', crashRatio <= 1),
      goal('5. supervision USS, 100 services without loggers', show(uss(100, false)), '≤ 1.2×', uss(100, false) <= 1.2),
      goal('6. a service writing into its in-process logger (MB/s)', show(hosted?.ratio ?? Number.NaN), '≥ 2×', (hosted?.ratio ?? 0) >= 2),
    ],
  ),
  '',
].join('\n');
const observeTable = results.observe
  ? ['Seeing the services (issue 15): wall ms, medians; `/metrics` goal ≤ 50 ms at 1,000:', '', table(OBSERVE_HEADERS, observeRows(results.observe)), ''].join(
      '\n',
    )
  : '';
// issues 13 and 14: readiness and start order, backoff, containment
const policyTable = [
  ...(results.readiness
    ? ['Readiness and start order (issue 13; goal: db ready to app started ≤ 5 ms, idle costs nothing):', '', readinessMarkdown(results.readiness), '']
    : []),
  ...(results.backoff ? ['Crash loop with backoff (issue 14; restarts fall to the cap’s rate):', '', backoffMarkdown(results.backoff), ''] : []),
  ...(results.containment
    ? ['Containment per start (issue 14; goal ≤ +0.5 ms against none):', '', table(CONTAINMENT_HEADERS, containmentRows(results.containment)), '']
    : []),
].join('\n');
results.summary = rows;
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

let charts = [];
try {
  const { renderCharts } = await import('./charts.js');
  charts = await renderCharts(results, join(outDir, 'charts'));
} catch (err) {
  progress(`charts skipped: ${err.message} (they need the devDependencies: npm ci)`);
}

// sections written by hand (the start-up phases of bench/startup.js) are
// kept when RESULTS.md is written again
const KEPT = [
  '## Start-up by phase',
  '## chpst in run',
  '## Boot',
  '## Crash loop',
  '## Supervision memory',
  '## Measured after the full run',
  '## Scale curve',
  '## No line lost when the host dies',
  '## Readiness, backoff and containment (issues 13 and 14)',
];
const previous = existsSync(join(outDir, 'RESULTS.md')) ? readFileSync(join(outDir, 'RESULTS.md'), 'utf8') : '';
const kept = KEPT.flatMap((heading) => {
  const at = previous.indexOf(`\n${heading}`);
  if (at < 0) return [];
  const next = previous.indexOf('\n## ', at + 1);
  return [previous.slice(at + 1, next < 0 ? undefined : next + 1).trimEnd(), ''];
});

const m = results.machine;
const l = results.load;
const doc = [
  '# Benchmark results: runit-ts against Debian runit',
  '',
  `Latest full run of \`npm run bench\` (\`node bench/run.js${quick ? ' --quick' : ''}\`), ${m.date.replace('T', ' ').slice(0, 16)} UTC, ${results.seconds} s. Medians over the rounds; **ratio = runit-ts ÷ runit**; the target column is issue 8's, issue 12's goals have a table of their own below.`,
  '',
  '| machine | |',
  '| --- | --- |',
  `| cores | ${m.cores} × ${m.cpuModel} |`,
  `| memory | ${m.memoryGiB} GiB |`,
  `| kernel | ${m.kernel} |`,
  `| node | ${m.node} |`,
  `| runit (Debian package) | ${m.runit ?? 'unknown'} |`,
  `| runit-ts | ${m.commit ?? 'unknown'} |`,
  `| load during the run | 1-min load average ${l.loadavg1Mean} mean, ${l.loadavg1Max} max (${l.samples} samples); CPU busy ${(l.busyShare * 100).toFixed(0)} % of ${m.cores} cores; the load average counts the processes the bench starts (a N = 1,000 phase starts thousands at once, runit's 3,000) |`,
  '',
  markdown,
  '',
  ...(startup ? [startup] : []),
  ...(boot ? [boot] : []),
  ...(floorTable ? [floorTable] : []),
  goals12,
  ...(observeTable ? [observeTable] : []),
  ...(policyTable ? [policyTable] : []),
  ...(charts.length ? ['Charts:', '', ...charts.map((c) => `![${relative(outDir, c)}](${relative(outDir, c)})`), ''] : []),
  '## How it measures',
  '',
  "- Both implementations run the same service directories: runit-ts under its `runsvdir` (every supervisor in one Node process; a `log/run` of `exec svlogd -tt ./main` is hosted in-process, plus one `sleep` process, `runit-ts-fdholder`, holding the log pipes), runit under Debian's `runsvdir` (a `runsv` per service, Debian's `svlogd` per logger). PATH is set so that `svlogd` is `/usr/bin/svlogd`.",
  '- Phases alternate the order of the two each round; every runsvdir runs in its own process group, killed (and waited for) between runs.',
  '- **memory**: USS (private clean + dirty), PSS and RSS from `/proc/PID/smaps_rollup`, summed over supervision processes — runsvdir, runsv, svlogd, the fd holder — not services; 2 s after all are up. PSS of the Node process depends on how many other Node processes share its pages at that moment; USS does not.',
  "- **start**: from spawning runsvdir until `supervise/stat` (and `log/supervise/stat`) of every service says `run`. The service directory's mtime is set 10 s back first: runit's runsvdir waits a second before scanning a directory modified in the current second.",
  "- **restart**: one service under runsvdir, kill -9 of its process (after it ran 1.1 s, so runsv's restart throttle does not apply) until `supervise/pid` names a new running process (inotify + 1 ms poll).",
  "- **sv**: each implementation's `sv` against its own supervisor; wall time of the whole command, Node's start included.",
  '- **throughput**: 100-byte numbered lines, `-tt`, config `s1000000` and `n0`; every line of every file read back and checked. "svlogd process": `cat input | svlogd -tt dir`. "service → its logger": a service `cat`s the input to its stdout, timed from `u` until every byte is in the log directory.',
  '- **CPU**: scheduler run time (`/proc/PID/task/*/schedstat`) of the supervision processes; idle with 100 services and loggers under both runsvdirs at once; crash loop with 50 services whose `run` exits at once (each start counted), one implementation at a time.',
  "- **chpst** and **start-up**: wall time of `chpst -u nobody true` (as root) and `sv status X` (X supervised by Debian's `runsv`), interleaved with `node -e 0` as the environment has it and without NODE_EXTRA_CA_CERTS: the floor of any Node command, which runit-ts's launchers keep Node from loading.",
  '',
  ...kept,
];
writeFileSync(join(outDir, 'RESULTS.md'), doc.join('\n'));
console.log(markdown);
if (startup) console.log(`\n${startup}`);
if (boot) console.log(`\n${boot}`);
if (floorTable) console.log(`\n${floorTable}`);
console.log(`\n${goals12}`);
if (observeTable) console.log(`\n${observeTable}`);
if (policyTable) console.log(`\n${policyTable}`);
progress(`wrote ${join(outDir, 'results.json')}, ${join(outDir, 'RESULTS.md')}${charts.length ? `, ${charts.length} charts` : ''}`);

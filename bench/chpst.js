#!/usr/bin/env node
// Start-up cost of the short-lived commands: wall time of `chpst -u nobody
// true` and `sv status X`, runit-ts's bin/ against Debian's /usr/bin, next
// to the floor of any Node command: a bare `node -e 0` run WITHOUT
// NODE_EXTRA_CA_CERTS (Node loads the certificates that variable names as
// it starts, 50-80 ms here; runit-ts's launchers keep Node from doing so).
// `node -e 0` with the environment as given is measured too, and when that
// environment sets NODE_EXTRA_CA_CERTS, runit-ts's commands are also run
// without it. Every candidate once per turn, the order reversed every
// other turn; X is a service supervised by Debian's runsv for the phase.
// Standalone: node bench/chpst.js [rounds] [runs-per-round]; the restart of
// a service whose run execs chpst (issue 12, goal 2): node bench/chpst.js restart [kills]
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  implementations,
  checkPrerequisites,
  isMain,
  option,
  median,
  percentile,
  elapsedMs,
  fmt,
  table,
  tempDir,
  removeDir,
  startGroup,
  waitUntil,
  isUp,
  pidOf,
  readText,
  roundOrder,
  sleep,
  benchEnv,
} from './lib.js';

const CA = 'NODE_EXTRA_CA_CERTS';

function once(c) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c.file, c.args, { env: c.env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = elapsedMs(t0);
  if (r.status !== 0) throw new Error(`${c.file} ${c.args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

/**
 * `rounds` x `runs` runs of each candidate, interleaved. Returns ms arrays:
 * { [impl]: chpst, node: `node -e 0` as given, floor: `node -e 0` without
 * NODE_EXTRA_CA_CERTS, sv: { [impl]: `sv status X` }, bare: { chpst, sv }
 * (runit-ts's without NODE_EXTRA_CA_CERTS; only when the environment sets
 * it), ca: the value it was given, or null }.
 */
export async function chpst({ impls = implementations(), rounds = 7, runs = 10 } = {}) {
  const given = { ...process.env };
  const bare = { ...process.env };
  delete bare[CA];
  const ts = impls.find((i) => i.name === 'runit-ts');
  const base = tempDir();
  const dir = join(base, 'x');
  mkdirSync(dir);
  writeFileSync(join(dir, 'run'), '#!/bin/sh\nexec sleep 1000000\n', { mode: 0o755 });
  const runsv = startGroup('/usr/bin/runsv', [dir]);
  const result = { ca: process.env[CA] ?? null, sv: {}, bare: {} };
  try {
    await waitUntil(() => isUp(dir), { timeout: 15000, interval: 10 });
    const candidates = [
      ...impls.map((i) => ({ set: result, key: i.name, file: i.bin('chpst'), args: ['-u', 'nobody', 'true'], env: given })),
      ...impls.map((i) => ({ set: result.sv, key: i.name, file: i.bin('sv'), args: ['status', dir], env: given })),
      // what any Node program pays, as the environment is, and the floor
      { set: result, key: 'node', file: process.execPath, args: ['-e', '0'], env: given },
      { set: result, key: 'floor', file: process.execPath, args: ['-e', '0'], env: bare },
      ...(ts && result.ca !== null
        ? [
            { set: result.bare, key: 'chpst', file: ts.bin('chpst'), args: ['-u', 'nobody', 'true'], env: bare },
            { set: result.bare, key: 'sv', file: ts.bin('sv'), args: ['status', dir], env: bare },
          ]
        : []),
    ];
    for (const c of candidates) {
      c.set[c.key] = [];
      once(c); // warm the page cache
    }
    for (let turn = 0; turn < rounds * runs; turn++) {
      // interleaved, so that load from elsewhere hits every candidate alike
      for (const c of turn % 2 ? [...candidates].reverse() : candidates) c.set[c.key].push(once(c));
    }
  } finally {
    await runsv.stop();
    removeDir(base);
  }
  return result;
}

/** The pid in `dir`'s supervise/status once it is a new one whose program is `comm` (chpst has exec'd it). */
function untilProgramRuns(dir, oldPid, comm) {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      const pid = pidOf(dir);
      if (pid && pid !== oldPid && readText(`/proc/${pid}/comm`) === `${comm}\n`) {
        clearInterval(poll);
        resolve(elapsedMs(t0));
      }
    }, 1);
  });
}

/** chpstRestart's name for runit-ts run with RUNIT_TS_CGROUP=off. */
export const NO_CGROUP = 'runit-ts, RUNIT_TS_CGROUP=off';

/**
 * Issue 12, goal 2: a service whose run is `exec chpst -u nobody PROG`,
 * under each implementation's runsvdir with that implementation's chpst;
 * `kills` times (interleaved) kill -9 of PROG, then the time until the
 * replacement PROG runs (chpst has exec'd it), each kill after the service
 * ran 1.1 s (runsv's one-second throttle stays out of it). runit-ts
 * applies that line itself (README: "chpst applied by the supervisor").
 * Returns { [impl]: ms[], [NO_CGROUP]: ms[] }.
 */
export async function chpstRestart({ impls = implementations(), kills = 15 } = {}) {
  const setups = [];
  // runit-ts once more without cgroups: a start's move into its cgroup waits
  // for an RCU grace period where cgroup2 is mounted without favordynmods
  const ts = impls.find((i) => i.name === 'runit-ts');
  const candidates = [
    ...impls.map((impl) => ({ impl, env: benchEnv() })),
    ...(ts ? [{ impl: { ...ts, name: NO_CGROUP }, env: { ...benchEnv(), RUNIT_TS_CGROUP: 'off' } }] : []),
  ];
  const result = Object.fromEntries(candidates.map((c) => [c.impl.name, []]));
  try {
    for (const { impl, env } of candidates) {
      const base = tempDir();
      const dir = join(base, 'x');
      mkdirSync(dir);
      writeFileSync(join(dir, 'run'), `#!/bin/sh\nexec ${impl.bin('chpst')} -u nobody sleep 1000000\n`, { mode: 0o755 });
      setups.push({ impl, base, dir, runsvdir: startGroup(impl.bin('runsvdir'), [base], { env }) });
    }
    for (const s of setups) {
      await waitUntil(() => isUp(s.dir) && readText(`/proc/${pidOf(s.dir)}/comm`) === 'sleep\n', { timeout: 15000, interval: 10 });
      s.upSince = Date.now();
    }
    for (let k = 0; k < kills; k++) {
      for (const s of roundOrder(setups, k)) {
        await sleep(Math.max(0, s.upSince + 1100 - Date.now()));
        const old = pidOf(s.dir);
        const replaced = untilProgramRuns(s.dir, old, 'sleep');
        process.kill(old, 'SIGKILL');
        result[s.impl.name].push(await replaced);
        s.upSince = Date.now();
      }
    }
  } finally {
    for (const { runsvdir, base, dir } of setups) {
      await runsvdir.stop();
      // without a cgroup, runit-ts's service leads a process group of its own: the group kill missed it
      const pid = pidOf(dir);
      if (pid && readText(`/proc/${pid}/comm`) === 'sleep\n') process.kill(pid, 'SIGKILL');
      removeDir(base);
    }
  }
  return result;
}

/**
 * Rows of runit-ts's short-lived commands against the floor: command,
 * NODE_EXTRA_CA_CERTS, median ms, ratio to the floor (the start-up goal:
 * at most 1.3x).
 */
export function floorRows(r) {
  const floor = median(r.floor);
  const ca = r.ca === null ? 'unset' : 'set';
  const row = (what, env, xs) => [what, env, fmt(median(xs), 1), `${(median(xs) / floor).toFixed(2)}x`];
  return [
    row('`node -e 0` (floor)', 'unset', r.floor),
    row('`node -e 0`', ca, r.node),
    row('runit-ts `sv status X`', ca, r.sv['runit-ts']),
    ...(r.bare?.sv ? [row('runit-ts `sv status X`', 'unset', r.bare.sv)] : []),
    row('runit-ts `chpst -u nobody true`', ca, r['runit-ts']),
    ...(r.bare?.chpst ? [row('runit-ts `chpst -u nobody true`', 'unset', r.bare.chpst)] : []),
  ];
}
export const FLOOR_HEADERS = ['command', 'NODE_EXTRA_CA_CERTS', 'median ms', 'ratio to floor'];

if (isMain(import.meta) && process.argv[2] === 'restart') {
  checkPrerequisites(option('root'), ['chpst', 'runsvdir']);
  const r = await chpstRestart({ impls: implementations(option('root')), kills: Number(process.argv[3] ?? 15) });
  const ms = (xs) => [fmt(median(xs), 2), fmt(percentile(xs, 0.1), 2), fmt(percentile(xs, 0.9), 2)];
  const runit = median(r.runit);
  console.log(
    table(
      ['kill -9 → the replacement `exec chpst -u nobody sleep` runs sleep', 'median ms', 'p10 ms', 'p90 ms', 'ratio to runit'],
      Object.entries(r).map(([name, xs]) => [name, ...ms(xs), `${(median(xs) / runit).toFixed(2)}x`]),
    ),
  );
} else if (isMain(import.meta)) {
  checkPrerequisites(option('root'), ['chpst', 'sv', 'runsv']);
  const rounds = Number(process.argv[2] ?? 7);
  const runs = Number(process.argv[3] ?? 10);
  const r = await chpst({ impls: implementations(option('root')), rounds, runs });
  const floor = median(r.floor);
  const line = (what, xs) => [what, fmt(median(xs), 2), fmt(percentile(xs, 0.1), 2), fmt(percentile(xs, 0.9), 2), `${(median(xs) / floor).toFixed(2)}x`];
  console.log(`${rounds * runs} runs each, interleaved; median and spread (p10-p90) per run; NODE_EXTRA_CA_CERTS ${r.ca === null ? 'unset' : `= ${r.ca}`}\n`);
  console.log(
    table(
      ['command', 'median ms', 'p10 ms', 'p90 ms', 'ratio to floor'],
      [
        line('`node -e 0` without NODE_EXTRA_CA_CERTS (floor)', r.floor),
        line('`node -e 0`', r.node),
        ...Object.entries(r.sv).map(([name, xs]) => line(`${name} \`sv status X\``, xs)),
        ...(r.bare.sv ? [line('runit-ts `sv status X` without NODE_EXTRA_CA_CERTS', r.bare.sv)] : []),
        ...implementations().map(({ name }) => line(`${name} \`chpst -u nobody true\``, r[name])),
        ...(r.bare.chpst ? [line('runit-ts `chpst -u nobody true` without NODE_EXTRA_CA_CERTS', r.bare.chpst)] : []),
      ],
    ),
  );
}

#!/usr/bin/env node
// Supervision overhead, runit-ts against Debian's runit, interleaved:
//   oneService  `sv status X` wall time; `sv -w 10 restart X` until X runs
//               again; kill -9 of X until its replacement runs
//   scale       N services under runsvdir, with and without loggers
//               (`exec svlogd -tt ./main`): time until all are up; USS, PSS
//               and RSS of the supervision processes (not the services)
//   idle        CPU of supervision over an idle spell, 100 services + loggers
//   crashLoop   CPU of supervision while 50 services exit at once, again and again
//   floor       memory of runsvdir supervising nothing, and of one runsv
//               supervising one service (no log)
// Every phase runs runit-ts under its runsvdir (supervisors in-process,
// canonical loggers hosted) and runit under Debian's runsvdir (one runsv
// process per service, one svlogd process per logger).
// Standalone: node bench/supervision.js [--quick] [--json FILE]
import { writeFileSync, watch, statSync } from 'node:fs';
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
  readText,
  startGroup,
  benchEnv,
  supervision,
  memoryOf,
  cpuSecondsOf,
  waitUntil,
  waitAllUp,
  timeCommand,
  elapsedMs,
  pidOf,
  isUp,
  roundOrder,
} from './lib.js';

/** Milliseconds from now until `dir` runs a pid other than `oldPid` (inotify + 1 ms poll). */
function untilReplaced(dir, oldPid) {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    let watcher;
    let poll;
    const check = () => {
      const pid = pidOf(dir);
      if (pid && pid !== oldPid && readText(join(dir, 'supervise/stat')) === 'run\n') {
        watcher?.close();
        clearInterval(poll);
        resolve(elapsedMs(t0));
      }
    };
    watcher = watch(join(dir, 'supervise'), check);
    poll = setInterval(check, 1);
    check();
  });
}

/**
 * One service under each runsvdir. `rounds` of `sv status` and `sv -w 10
 * restart`, then `kills` kill -9s, each restart and kill after the service
 * ran 1.1 s (below).
 * Returns { [impl]: { status: ms[], restart: ms[], kill: ms[] } }.
 */
export async function oneService({ impls = implementations(), rounds = 9, kills = 15 } = {}) {
  const results = Object.fromEntries(impls.map((i) => [i.name, { status: [], restart: [], kill: [] }]));
  const setups = [];
  try {
    for (const impl of impls) {
      const base = tempDir();
      const [dir] = makeServices(base, 1);
      setups.push({ impl, base, dir, runsvdir: startGroup(impl.bin('runsvdir'), [base]) });
    }
    for (const s of setups) await waitAllUp([s.dir]);
    for (const s of setups) s.upSince = Date.now();
    // Every restart and kill hits a service that has run 1.1 s: runsv
    // delays the restart of a service that ran less than a second, and
    // runit's sv compares start times in whole seconds (a restart in the
    // second the service started looks done at once).
    const ripe = (s) => sleep(Math.max(0, s.upSince + 1100 - Date.now()));
    for (let round = 0; round < rounds; round++) {
      for (const s of roundOrder(setups, round)) {
        const r = results[s.impl.name];
        r.status.push(timeCommand(s.impl.bin('sv'), ['status', s.dir]));
        await ripe(s);
        r.restart.push(timeCommand(s.impl.bin('sv'), ['-w', '10', 'restart', s.dir]));
        await waitUntil(() => isUp(s.dir));
        s.upSince = Date.now();
      }
    }
    for (let k = 0; k < kills; k++) {
      for (const s of roundOrder(setups, k)) {
        await ripe(s);
        const old = pidOf(s.dir);
        const replaced = untilReplaced(s.dir, old);
        process.kill(old, 'SIGKILL');
        results[s.impl.name].kill.push(await replaced);
        s.upSince = Date.now();
      }
    }
  } finally {
    for (const { runsvdir, base } of setups) {
      await runsvdir.stop();
      removeDir(base);
    }
  }
  return results;
}

/**
 * N services under runsvdir, with loggers or not: time from runsvdir's
 * start until every service (and log service) is up, then, `settleMs`
 * later, the memory of the supervision processes. The service directories
 * are made under `base` (default: the temporary directory; a tmpfs such as
 * /dev/shm to measure without a disk file system, as Debian keeps
 * supervise/ under /run). Each round also records the CPU seconds the
 * supervision processes used until all were up (`cpu`), which load on the
 * machine does not change as much as the wall time.
 * Returns [{ n, log, [impl]: { upMs[], cpu[] (s), uss[], pss[], rss[] (kB), counts } }].
 */
export async function scale({
  impls = implementations(),
  ns = [10, 100, 1000],
  logs = [false, true],
  rounds = (n) => (n >= 1000 ? 3 : 5),
  settleMs = 2000,
  base = undefined,
  onProgress = () => {},
} = {}) {
  const out = [];
  for (const n of ns) {
    for (const log of logs) {
      const entry = { n, log };
      for (const impl of impls) entry[impl.name] = { upMs: [], cpu: [], uss: [], pss: [], rss: [], counts: undefined };
      const R = typeof rounds === 'function' ? rounds(n) : rounds;
      for (let round = 0; round < R; round++) {
        for (const impl of roundOrder(impls, round)) {
          onProgress(`scale n=${n} log=${log} ${impl.name} round ${round + 1}/${R}${base ? ` (${base})` : ''}`);
          const top = tempDir(undefined, base);
          const dirs = makeServices(top, n, { log });
          const t0 = process.hrtime.bigint();
          const runsvdir = startGroup(impl.bin('runsvdir'), [top]);
          try {
            await waitAllUp(dirs, { log });
            const upMs = elapsedMs(t0);
            // supervision's CPU until all were up (runit's runsv and svlogd processes all stay)
            entry[impl.name].cpu.push(cpuSecondsOf(supervision(runsvdir.pid).pids));
            await sleep(settleMs);
            const { pids, counts } = supervision(runsvdir.pid);
            const m = memoryOf(pids);
            const e = entry[impl.name];
            e.upMs.push(upMs);
            e.uss.push(m.uss);
            e.pss.push(m.pss);
            e.rss.push(m.rss);
            e.counts = counts;
          } finally {
            await runsvdir.stop();
            removeDir(top);
          }
        }
      }
      out.push(entry);
    }
  }
  return out;
}

/**
 * The memory floor: each runsvdir supervising an empty directory, and each
 * runsv supervising one service without a log, `settleMs` after start.
 * Returns { runsvdir: { [impl]: { uss[], pss[], rss[] } }, runsv: { same } }.
 */
export async function floor({ impls = implementations(), rounds = 3, settleMs = 2000, onProgress = () => {} } = {}) {
  const result = { runsvdir: {}, runsv: {} };
  for (const what of ['runsvdir', 'runsv']) for (const impl of impls) result[what][impl.name] = { uss: [], pss: [], rss: [] };
  for (let round = 0; round < rounds; round++) {
    for (const impl of roundOrder(impls, round)) {
      for (const what of ['runsvdir', 'runsv']) {
        onProgress(`floor ${what} ${impl.name} round ${round + 1}/${rounds}`);
        const top = tempDir();
        const [dir] = what === 'runsv' ? makeServices(top, 1) : [];
        const proc = startGroup(impl.bin(what), [what === 'runsv' ? dir : top]);
        try {
          if (dir) await waitAllUp([dir]);
          await sleep(settleMs);
          const m = memoryOf(supervision(proc.pid).pids);
          const e = result[what][impl.name];
          e.uss.push(m.uss);
          e.pss.push(m.pss);
          e.rss.push(m.rss);
        } finally {
          await proc.stop();
          removeDir(top);
        }
      }
    }
  }
  return result;
}

/** CPU seconds per pid (so that pids that come or go between two readings are left out). */
const cpuByPid = (pids) => new Map(pids.map((p) => [p, cpuSecondsOf([p])]));
function cpuDelta(before, after) {
  let s = 0;
  for (const [pid, t] of after) if (before.has(pid)) s += t - before.get(pid);
  return s;
}

/**
 * `n` idle services with loggers under both runsvdirs at once; CPU seconds
 * of supervision over `seconds`, `rounds` times.
 * Returns { n, seconds, [impl]: { cpu: s[], counts } }.
 */
export async function idle({ impls = implementations(), n = 100, seconds = 30, rounds = 3, settleMs = 3000, onProgress = () => {} } = {}) {
  const result = { n, seconds };
  for (const impl of impls) result[impl.name] = { cpu: [], counts: undefined };
  for (let round = 0; round < rounds; round++) {
    onProgress(`idle round ${round + 1}/${rounds} (${seconds} s)`);
    const setups = impls.map((impl) => {
      const base = tempDir();
      const dirs = makeServices(base, n, { log: true });
      return { impl, base, dirs, runsvdir: startGroup(impl.bin('runsvdir'), [base]) };
    });
    try {
      for (const s of setups) await waitAllUp(s.dirs, { log: true });
      await sleep(settleMs);
      for (const s of setups) {
        const sup = supervision(s.runsvdir.pid);
        s.pids = sup.pids;
        result[s.impl.name].counts = sup.counts;
        s.before = cpuByPid(s.pids);
      }
      await sleep(seconds * 1000);
      for (const s of setups) result[s.impl.name].cpu.push(cpuDelta(s.before, cpuByPid(s.pids)));
    } finally {
      for (const s of setups) {
        await s.runsvdir.stop();
        removeDir(s.base);
      }
    }
  }
  return result;
}

const CRASH_RUN = '#!/bin/sh\necho x >>starts\nexit 1\n';
const startsOf = (dirs) => dirs.reduce((sum, d) => sum + (statSync(join(d, 'starts'), { throwIfNoEntry: false })?.size ?? 0) / 2, 0);

/**
 * `n` services whose run exits at once (after counting its start), under
 * each runsvdir in turn: CPU seconds of supervision over `seconds`, and how
 * many starts there were. Returns { n, seconds, [impl]: { cpu: s[], starts: [] } }.
 */
export async function crashLoop({ impls = implementations(), n = 50, seconds = 20, rounds = 3, settleMs = 1500, onProgress = () => {} } = {}) {
  const result = { n, seconds };
  for (const impl of impls) result[impl.name] = { cpu: [], starts: [], counts: undefined };
  for (let round = 0; round < rounds; round++) {
    for (const impl of roundOrder(impls, round)) {
      onProgress(`crash loop ${impl.name} round ${round + 1}/${rounds} (${seconds} s)`);
      const base = tempDir();
      const dirs = makeServices(base, n, { run: CRASH_RUN });
      // a variant of an implementation: files in each service directory, variables for its runsvdir
      for (const d of dirs) for (const [name, text] of Object.entries(impl.files ?? {})) writeFileSync(join(d, name), text);
      const runsvdir = startGroup(impl.bin('runsvdir'), [base], impl.env ? { env: { ...benchEnv(), ...impl.env } } : {});
      try {
        await waitUntil(() => dirs.every((d) => readText(join(d, 'starts')) !== undefined), { timeout: 60000, interval: 20 });
        await sleep(settleMs);
        const sup = supervision(runsvdir.pid);
        // a runsv's child between fork and exec is still called runsv: keep the runsv processes that stay
        const before = cpuByPid(sup.pids);
        const starts0 = startsOf(dirs);
        await sleep(seconds * 1000);
        const after = cpuByPid(sup.pids);
        result[impl.name].cpu.push(cpuDelta(before, after));
        result[impl.name].starts.push(startsOf(dirs) - starts0);
        result[impl.name].counts = sup.counts;
      } finally {
        await runsvdir.stop();
        removeDir(base);
      }
    }
  }
  return result;
}

if (isMain(import.meta)) {
  const { report } = await import('./report.js');
  const quick = flag('quick');
  const jsonFile = option('json');
  const impls = implementations(option('root'));
  checkPrerequisites(option('root'));
  const progress = (s) => process.stderr.write(`${s}\n`);
  const results = {
    oneService: await oneService({ impls, rounds: quick ? 3 : 9, kills: quick ? 3 : 15 }),
    scale: await scale({ impls, ns: quick ? [10, 100] : [10, 100, 1000], rounds: quick ? 1 : undefined, onProgress: progress }),
    idle: await idle({ impls, seconds: quick ? 5 : 30, rounds: quick ? 1 : 3, onProgress: progress }),
    crashLoop: await crashLoop({ impls, seconds: quick ? 5 : 20, rounds: quick ? 1 : 3, onProgress: progress }),
  };
  console.log(report(results).markdown);
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify(results, null, 2));
}

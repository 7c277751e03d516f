// Containment (issue 14): every process a service starts is attributable to
// it and is stopped with it. The cgroup v2 path (a cgroup per program under
// `<the supervisor's cgroup>/runit-ts/`, on this machine's hybrid
// hierarchy) under runsvdir, a standalone runsv and runsvdir --isolate; the
// process-group path (RUNIT_TS_CGROUP=off) with what it catches and what it
// cannot; kill-mode process (runit's way); ./finish only once the leftovers
// are gone; cgroup/ resource files against a fake cgroup tree; and
// memory-restart with a process that allocates.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdirSync, readdirSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { cgroupNameOf, ownCgroupDir } from '../dist/sys/cgroup.js';
import { removeCgroupsUnder } from '../dist/supervisor/containment.js';
import {
  bin,
  tempDir,
  makeService,
  startDetached,
  stopAll,
  running,
  run,
  waitFor,
  holds,
  readText,
  fileLines,
  procStat,
  processGone,
  supervisedPid,
} from './helpers.js';

/** @typedef {import('./helpers.js').Detached} Detached */

after(stopAll);

// --- the cgroup tree ---

/** This process's cgroup v2 directory (the supervisors started here are in it too), if any. */
const OWN = ownCgroupDir();
/** Its path as /proc/PID/cgroup shows it (`0::PATH`). */
const OWN_PATH = /^0::(\/.*)$/m.exec(readText('/proc/self/cgroup') ?? '')?.[1];
/** Where a supervisor started here makes its services' cgroups. */
const BASE = OWN && `${OWN}/runit-ts`;

/** Why the cgroup tests cannot run here, or false. */
const noCgroups = (() => {
  if (!BASE || OWN_PATH === undefined) return 'no cgroup2 hierarchy for this process';
  try {
    mkdirSync(BASE, { recursive: true });
    return existsSync(`${BASE}/cgroup.procs`) ? false : `${BASE} is not a cgroup`;
  } catch (err) {
    return `unable to make ${BASE}: ${/** @type {Error} */ (err).message}`;
  }
})();

/**
 * The name of the cgroup of service (or log) directory `dir`, below BASE.
 * @param {string} dir
 */
const nameOf = (dir) => cgroupNameOf(realpathSync(dir));

/**
 * The cgroup directory a supervisor started here makes for `dir`.
 * @param {string} dir
 */
const cgroupOf = (dir) => `${BASE}/${nameOf(dir)}`;

/**
 * The cgroup v2 line of /proc/PID/cgroup (`0::PATH`), undefined when gone.
 * @param {number} pid
 */
const cgroupLine = (pid) => /^0::.*$/m.exec(readText(`/proc/${pid}/cgroup`) ?? '')?.[0];

/**
 * The line /proc/PID/cgroup shows for a process in the cgroup of `dir`.
 * @param {string} dir
 */
const inCgroupOf = (dir) => `0::${OWN_PATH === '/' ? '' : OWN_PATH}/runit-ts/${nameOf(dir)}`;

/**
 * Kill whatever is left in the cgroup `dir` (cgroup.kill) and remove it,
 * when it is there: a test's cleanup, whatever happened in the test.
 * @param {string} dir
 */
async function removeCgroupDir(dir) {
  if (!existsSync(dir)) return;
  try {
    writeFileSync(`${dir}/cgroup.kill`, '1');
  } catch {}
  await waitFor(() => !/^populated 1$/m.test(readText(`${dir}/cgroup.events`) ?? ''), { what: `cgroup ${dir} empty` }).catch(() => {});
  try {
    rmdirSync(dir);
  } catch {}
}

// --- processes ---

/**
 * SIGKILL `pid` when it is still a live process running `comm` (a guard
 * against a pid reused since): a process that left its service on purpose.
 * @param {number} pid
 * @param {string} [comm]
 */
function killPid(pid, comm = 'sleep') {
  const s = procStat(pid);
  if (!s || s.state === 'Z' || s.comm !== comm) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
}

/**
 * SIGKILL the process group `pgid` (a service started in a group of its own).
 * @param {number} pgid
 */
function killGroup(pgid) {
  try {
    if (pgid > 0) process.kill(-pgid, 'SIGKILL');
  } catch {}
}

/**
 * A live process: exists and is not a zombie.
 * @param {number} pid
 */
const alive = (pid) => !processGone(pid);

/**
 * The pid a service's process wrote into `file` of `dir` (written then renamed: never read half-written).
 * @param {string} dir
 * @param {string} file
 */
const pidIn = (dir, file) => waitFor(() => Number(readText(join(dir, file))), { what: `${file} in ${dir}` });

/**
 * ./run whose background child (a grandchild of the supervisor) ignores TERM,
 * calls setsid when `session`, writes its pid into ./grandchild, and sleeps;
 * run itself then becomes `sleep 1000`, which TERM ends.
 * @param {{ session?: boolean }} [options]
 */
function leakyRun({ session = true } = {}) {
  const setsid = session ? 'setsid ' : '';
  return `#!/bin/sh\n${setsid}sh -c 'trap "" TERM; echo $$ > grandchild.new; mv grandchild.new grandchild; exec sleep 1000' &\nexec sleep 1000\n`;
}

/**
 * supervise/lock's lines (runit-ts's record: pid and start time, log pipe, containment).
 * @param {string} dir
 */
const lockLines = (dir) => (readText(join(dir, 'supervise/lock')) ?? '').split('\n');

/**
 * `runit-ts status --json DIR`'s service.
 * @param {string} dir
 * @returns {{ containment: string | null, cgroup: string | null, processes: { count: number } | null, log: { containment: string | null, cgroup: string | null } | null }}
 */
function statusJson(dir) {
  const r = run(bin('runit-ts'), ['status', '--json', dir]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).services[0];
}

/**
 * `runit-ts status --verbose DIR`'s output.
 * @param {string} dir
 */
const statusVerbose = (dir) => run(bin('runit-ts'), ['status', '--verbose', dir]).stdout;

/** `sv ARGS`: code and stdout. */
const sv = (/** @type {string[]} */ ...args) => run(bin('sv'), args);

/** The supervisor's environment with the cgroups of containment turned off (the process-group path). */
const NO_CGROUPS = { ...process.env, RUNIT_TS_CGROUP: 'off' };

// --- the hosts ---

/**
 * @typedef {object} Host
 * @property {string} name
 * @property {(svdir: string, env?: NodeJS.ProcessEnv) => Detached[]} supervise start supervising every service directory in svdir
 * @property {NodeJS.Signals} stop the signal that stops every service and the host
 * @property {number} stopCode the host's exit code after `stop`
 */

/** @type {Host[]} */
const HOSTS = [
  {
    name: 'runsvdir',
    supervise: (svdir, env = process.env) => [startDetached(bin('runsvdir'), [svdir], { env })],
    stop: 'SIGTERM',
    stopCode: 0,
  },
  {
    name: 'runsv',
    supervise: (svdir, env = process.env) =>
      readdirSync(svdir)
        .sort()
        .map((name) => startDetached(bin('runsv'), [join(svdir, name)], { env })),
    stop: 'SIGTERM',
    stopCode: 0,
  },
  {
    name: 'runsvdir --isolate',
    supervise: (svdir, env = process.env) => [startDetached(bin('runsvdir'), ['--isolate', svdir], { env })],
    // runit's runsvdir: TERM leaves every runsv running, HUP sends them TERM
    stop: 'SIGHUP',
    stopCode: 111,
  },
];

/** What the host processes printed on stderr so far (the supervisors' warnings). */
const stderrOf = (/** @type {Detached[]} */ hosts) => hosts.map((h) => h.output.stderr).join('');

/**
 * One test's cleanup, run whatever happened: pids and process groups to
 * kill, cgroups to empty and remove. The hosts are killed by stopAll.
 */
function cleanup() {
  /** @type {number[]} */
  const pids = [];
  /** @type {number[]} */
  const groups = [];
  /** @type {string[]} */
  const cgroups = [];
  return {
    pids,
    groups,
    cgroups,
    async run() {
      for (const pgid of groups) killGroup(pgid);
      for (const pid of pids) killPid(pid);
      await stopAll();
      for (const dir of cgroups) await removeCgroupDir(dir);
    },
  };
}

// --- 1. the cgroup path under each host ---

for (const host of HOSTS) {
  test(`${host.name}: a setsid'd grandchild that ignores TERM is in the service's cgroup; sv -w down returns once it is gone; the cgroup is removed`, {
    skip: noCgroups,
  }, async (t) => {
    const svdir = join(tempDir(), 'service');
    const dir = makeService(join(svdir, 'leaky'), { run: leakyRun(), 'log/run': '#!/bin/sh\nexec cat >> out\n' });
    const log = join(dir, 'log');
    const clean = cleanup();
    clean.cgroups.push(cgroupOf(dir), cgroupOf(log));
    t.after(() => clean.run());
    const hosts = host.supervise(svdir);
    const pid = await running(dir);
    const logPid = await running(log);
    const grandchild = await pidIn(dir, 'grandchild');
    clean.pids.push(grandchild);
    // it left run's session, and so any process group the supervisor could signal
    assert.equal(procStat(grandchild)?.session, grandchild);
    assert.notEqual(procStat(pid)?.session, grandchild);

    // the service's processes, and its log's, each in their own cgroup
    assert.equal(cgroupLine(pid), inCgroupOf(dir));
    assert.equal(cgroupLine(grandchild), inCgroupOf(dir));
    assert.equal(cgroupLine(logPid), inCgroupOf(log));
    assert.equal(`${nameOf(dir)}-log`, nameOf(log));
    // exactly run and the grandchild, once the grandchild's `mv` (which wrote its pid) has exited
    const procs = () => (readText(`${cgroupOf(dir)}/cgroup.procs`) ?? '').split('\n').filter(Boolean).map(Number).sort().join(' ');
    await waitFor(() => procs() === [pid, grandchild].sort().join(' '), { what: () => `run and the grandchild alone in the cgroup: ${procs()}` });
    // named in supervise/lock, runit-ts status --json and --verbose
    assert.equal(lockLines(dir)[2], `cgroup ${cgroupOf(dir)}`);
    assert.equal(lockLines(log)[2], `cgroup ${cgroupOf(log)}`);
    const json = statusJson(dir);
    assert.equal(json.containment, 'cgroup');
    assert.equal(json.cgroup, cgroupOf(dir));
    assert.equal(json.processes?.count, 2);
    assert.equal(json.log?.containment, 'cgroup');
    assert.equal(json.log?.cgroup, cgroupOf(log));
    assert.ok(statusVerbose(dir).includes(`cgroup ${cgroupOf(dir)}`), statusVerbose(dir));

    // sv down: TERM ends run; the grandchild ignores the TERM that follows and is killed after the default 2 s
    const t0 = Date.now();
    const down = sv('-w', '20', 'down', dir);
    const took = Date.now() - t0;
    assert.match(down.stdout, /^ok: down: .*\/leaky: \d+s, normally up\n$/);
    assert.equal(down.code, 0);
    assert.ok(processGone(pid), `run (pid ${pid}) still there`);
    assert.ok(processGone(grandchild), `the grandchild (pid ${grandchild}) still there when sv -w down returned`);
    assert.ok(took >= 1900, `down after ${took} ms: before the 2 s default for what run left`);
    // the service is down for good: its cgroup is gone, its log's is not
    await waitFor(() => !existsSync(cgroupOf(dir)), { what: `${cgroupOf(dir)} removed` });
    assert.equal(lockLines(dir)[2] ?? '', '');
    assert.equal(statusJson(dir).containment, null);
    assert.ok(existsSync(cgroupOf(log)));

    // up again: a new cgroup, a new grandchild in it
    writeFileSync(join(dir, 'grandchild'), '');
    assert.equal(sv('-w', '10', 'up', dir).code, 0);
    const again = await pidIn(dir, 'grandchild');
    clean.pids.push(again);
    assert.equal(cgroupLine(again), inCgroupOf(dir));
    assert.equal(lockLines(dir)[2], `cgroup ${cgroupOf(dir)}`);
    assert.doesNotMatch(stderrOf(hosts), /warning|fatal/);
  });
}

// --- 7. stopping the host ---

for (const host of HOSTS) {
  test(`${host.name}: ${host.stop} stops a service whose setsid'd grandchild ignores TERM: the host exits, the grandchild is gone, the cgroups are removed`, {
    skip: noCgroups,
  }, async (t) => {
    const svdir = join(tempDir(), 'service');
    const dir = makeService(join(svdir, 'leaky'), { run: leakyRun(), 'timeout-kill': '300\n', 'log/run': '#!/bin/sh\nexec cat >> out\n' });
    const log = join(dir, 'log');
    const clean = cleanup();
    clean.cgroups.push(cgroupOf(dir), cgroupOf(log));
    t.after(() => clean.run());
    const hosts = host.supervise(svdir);
    const pid = await running(dir);
    await running(log);
    const grandchild = await pidIn(dir, 'grandchild');
    clean.pids.push(grandchild);
    assert.equal(cgroupLine(grandchild), inCgroupOf(dir));
    const supervisor = procStat(pid)?.ppid ?? 0;
    const t0 = Date.now();
    for (const h of hosts) process.kill(h.pid, host.stop);
    for (const h of hosts) assert.deepEqual(await h.exited, { code: host.stopCode, signal: null });
    // under --isolate runsvdir exits at once and the runsv (run's parent) stops the service
    await waitFor(() => processGone(supervisor), { timeout: 10000, what: `the supervisor (pid ${supervisor}) gone` });
    assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
    assert.ok(processGone(pid), `run (pid ${pid}) still there`);
    assert.ok(processGone(grandchild), `the grandchild (pid ${grandchild}) still there`);
    assert.ok(!existsSync(cgroupOf(dir)), `${cgroupOf(dir)} still there`);
    assert.ok(!existsSync(cgroupOf(log)), `${cgroupOf(log)} still there`);
    assert.equal(readText(join(dir, 'supervise/stat')), 'down\n');
    assert.doesNotMatch(stderrOf(hosts), /warning|fatal/);
  });
}

// --- 2. the process-group path ---

test("RUNIT_TS_CGROUP=off: a grandchild that ignores TERM in run's process group is killed after timeout-kill; one that calls setsid escapes (documented)", async (t) => {
  const svdir = join(tempDir(), 'service');
  const grouped = makeService(join(svdir, 'grouped'), { run: leakyRun({ session: false }), 'timeout-kill': '300\n' });
  const escaped = makeService(join(svdir, 'escaped'), { run: leakyRun(), 'timeout-kill': '300\n' });
  const clean = cleanup();
  t.after(() => clean.run());
  startDetached(bin('runsvdir'), [svdir], { env: NO_CGROUPS });
  const pg = await running(grouped);
  const pe = await running(escaped);
  // each run leads a process group of its own
  clean.groups.push(pg, pe);
  const gg = await pidIn(grouped, 'grandchild');
  const ge = await pidIn(escaped, 'grandchild');
  clean.pids.push(gg, ge);
  assert.equal(procStat(pg)?.pgrp, pg);
  assert.equal(procStat(gg)?.pgrp, pg);
  assert.equal(procStat(ge)?.session, ge);
  // no cgroup of their own: where the supervisor is
  assert.equal(cgroupLine(gg), cgroupLine(process.pid));
  for (const dir of [grouped, escaped]) {
    assert.equal(lockLines(dir)[2], 'pgrp');
    assert.equal(statusJson(dir).containment, 'pgrp');
    assert.equal(statusJson(dir).cgroup, null);
    assert.ok(statusVerbose(dir).includes('process group'), statusVerbose(dir));
    if (BASE) assert.ok(!existsSync(cgroupOf(dir)), `${cgroupOf(dir)} made with RUNIT_TS_CGROUP=off`);
  }

  const t0 = Date.now();
  const down = sv('-w', '10', 'down', grouped);
  assert.equal(down.code, 0, down.stdout);
  assert.ok(processGone(gg), `the grandchild in the group (pid ${gg}) still there when sv -w down returned`);
  assert.ok(Date.now() - t0 >= 280, `down after ${Date.now() - t0} ms: before timeout-kill`);

  // what left the group is not found: down at once, the grandchild goes on
  const downEscaped = sv('-w', '10', 'down', escaped);
  assert.equal(downEscaped.code, 0, downEscaped.stdout);
  assert.ok(processGone(pe));
  await holds(() => alive(ge), 500, `the setsid'd grandchild (pid ${ge}) runs on`);
});

test('RUNIT_TS_CGROUP=off: a grandchild that ignores TERM is killed after the 2 s default when there is no timeout-kill', async (t) => {
  const svdir = join(tempDir(), 'service');
  const dir = makeService(join(svdir, 'grouped'), { run: leakyRun({ session: false }) });
  const clean = cleanup();
  t.after(() => clean.run());
  const [runsv] = HOSTS[1].supervise(svdir, NO_CGROUPS);
  const pid = await running(dir);
  clean.groups.push(pid);
  const grandchild = await pidIn(dir, 'grandchild');
  clean.pids.push(grandchild);
  assert.equal(procStat(grandchild)?.pgrp, pid);
  assert.equal(lockLines(dir)[2], 'pgrp');
  const t0 = Date.now();
  const down = sv('-w', '10', 'down', dir);
  const took = Date.now() - t0;
  assert.equal(down.code, 0, down.stdout);
  assert.ok(processGone(grandchild), `the grandchild (pid ${grandchild}) still there`);
  assert.ok(took >= 1900 && took < 5000, `down after ${took} ms`);
  assert.equal(runsv.output.stderr, '');
});

test('RUNIT_TS_CGROUP naming a place where no cgroup can be made: one warning, then process groups', async (t) => {
  const svdir = join(tempDir(), 'service');
  const dir = makeService(join(svdir, 'grouped'), { run: leakyRun({ session: false }), 'timeout-kill': '300\n' });
  const clean = cleanup();
  t.after(() => clean.run());
  const [runsv] = HOSTS[1].supervise(svdir, { ...process.env, RUNIT_TS_CGROUP: '/proc/no-cgroup-here' });
  const pid = await running(dir);
  clean.groups.push(pid);
  const grandchild = await pidIn(dir, 'grandchild');
  clean.pids.push(grandchild);
  assert.equal(lockLines(dir)[2], 'pgrp');
  assert.equal(procStat(grandchild)?.pgrp, pid);
  // a restart: the warning is not said again
  assert.equal(sv('-w', '10', 'restart', dir).code, 0);
  clean.groups.push(await running(dir, { notPid: pid }));
  assert.ok(processGone(grandchild), `the grandchild (pid ${grandchild}) still there`);
  assert.equal(
    runsv.output.stderr,
    `runsv ${dir}: warning: unable to create cgroup /proc/no-cgroup-here (RUNIT_TS_CGROUP): file does not exist: services get process groups\n`,
  );
});

test("a read-only cgroup hierarchy (a container's): one warning for the whole runsvdir, every service in a process group", { skip: noCgroups }, async (t) => {
  const svdir = join(tempDir(), 'service');
  const dirs = ['a', 'b'].map((name) => makeService(join(svdir, name), { run: '#!/bin/sh\nexec sleep 100\n' }));
  const clean = cleanup();
  t.after(() => clean.run());
  // the hierarchy read-only in a mount namespace of runsvdir's own
  const own = /** @type {string} */ (OWN);
  const mount = OWN_PATH === '/' || OWN_PATH === undefined ? own : own.slice(0, own.length - OWN_PATH.length);
  const host = startDetached('unshare', [
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    `mount -o remount,bind,ro ${mount} && exec "$0" "$1"`,
    bin('runsvdir'),
    svdir,
  ]);
  for (const dir of dirs) {
    const pid = await running(dir);
    clean.groups.push(pid);
    assert.equal(lockLines(dir)[2], 'pgrp');
    assert.equal(procStat(pid)?.pgrp, pid);
  }
  await holds(() => host.output.stderr.split('\n').length <= 2, 300, 'no second warning');
  assert.match(host.output.stderr, /^runsv [ab]: warning: unable to create cgroup \S+: read-only file system: services get process groups\n$/);
  process.kill(host.pid, 'SIGTERM');
  assert.equal((await host.exited).code, 0);
});

// --- 3. kill-mode process ---

test("kill-mode process: runit's way, nothing but the main process is stopped; the grandchild runs on", { skip: noCgroups }, async (t) => {
  const svdir = join(tempDir(), 'service');
  const dir = makeService(join(svdir, 'plain'), { run: leakyRun({ session: false }), 'kill-mode': 'process\n' });
  const clean = cleanup();
  clean.cgroups.push(cgroupOf(dir));
  t.after(() => clean.run());
  startDetached(bin('runsvdir'), [svdir]);
  const pid = await running(dir);
  const grandchild = await pidIn(dir, 'grandchild');
  clean.pids.push(grandchild);
  // in no cgroup and no process group of the service's
  assert.equal(cgroupLine(grandchild), cgroupLine(process.pid));
  assert.notEqual(procStat(pid)?.pgrp, pid);
  assert.ok(!existsSync(cgroupOf(dir)), `${cgroupOf(dir)} made for kill-mode process`);
  assert.equal(lockLines(dir)[2], 'none');
  assert.equal(statusJson(dir).containment, 'none');
  assert.ok(statusVerbose(dir).includes('not contained'), statusVerbose(dir));
  const t0 = Date.now();
  const down = sv('-w', '10', 'down', dir);
  assert.match(down.stdout, /^ok: down: .*\/plain: \d+s, normally up\n$/);
  assert.ok(Date.now() - t0 < 1500, `down after ${Date.now() - t0} ms: waited for the grandchild`);
  assert.ok(processGone(pid));
  await holds(() => alive(grandchild), 500, `the grandchild (pid ${grandchild}) runs on`);
});

// --- 4. ./finish after the leftovers ---

test('./finish runs only once what run left is gone, in the same cgroup; so does the restart', { skip: noCgroups }, async (t) => {
  const svdir = join(tempDir(), 'service');
  const dir = makeService(join(svdir, 'leaves'), {
    // run starts a grandchild that ignores TERM, waits until it has written its pid, and exits 3 0.3 s later
    run: `#!/bin/sh
rm -f grandchild
setsid sh -c 'trap "" TERM; echo $$ > grandchild.new; mv grandchild.new grandchild; exec sleep 1000' &
while [ ! -e grandchild ]; do sleep 0.01; done
cat grandchild >> grandchildren
sleep 0.3
echo $(($(date +%s%N)/1000000)) >> exits
exit 3
`,
    finish: `#!/bin/sh
g=$(cat grandchild)
s=$(cut -d' ' -f3 /proc/$g/stat 2>/dev/null)
case "$s" in ""|Z) r=gone;; *) r=alive;; esac
t=$(($(date +%s%N)/1000000))
sleep 0.2
echo "$1 $g $r $t $(grep '^0::' /proc/$$/cgroup)" >> finished
`,
    'timeout-kill': '300\n',
  });
  const clean = cleanup();
  clean.cgroups.push(cgroupOf(dir));
  t.after(() => clean.run());
  startDetached(bin('runsvdir'), [svdir]);
  // two rounds: run exits, its grandchild is killed, finish runs, run again
  await waitFor(() => fileLines(join(dir, 'finished')).length >= 2, { timeout: 10000, what: 'two ./finish runs' });
  const grandchildren = fileLines(join(dir, 'grandchildren')).map(Number);
  clean.pids.push(...grandchildren);
  assert.equal(sv('-w', '10', 'down', dir).code, 0);
  const exits = fileLines(join(dir, 'exits')).map(Number);
  const finished = fileLines(join(dir, 'finished')).map((l) => l.split(' '));
  for (const [i, [code, g, state, at, cgroup]] of finished.slice(0, 2).entries()) {
    assert.equal(code, '3');
    assert.equal(Number(g), grandchildren[i]);
    assert.equal(state, 'gone', `the grandchild (pid ${g}) was still there when ./finish ran`);
    // the grandchild ignores TERM: finish waited for timeout-kill's SIGKILL
    assert.ok(Number(at) - (exits[i] ?? 0) >= 290, `./finish ${Number(at) - (exits[i] ?? 0)} ms after run exited`);
    assert.equal(cgroup, inCgroupOf(dir));
  }
  for (const g of grandchildren) await waitFor(() => processGone(g), { what: `grandchild ${g} gone` });
});

// --- the start of run: in its cgroup before its program runs (sys/spawn.ts) ---

test('a daemon that double-forks as run starts is still in the cgroup, and gone after sv -w down', { skip: noCgroups }, async (t) => {
  const svdir = join(tempDir(), 'service');
  // three services: runsvdir starts them together, and at most two spawns are in flight at once
  const dirs = ['d1', 'd2', 'd3'].map((name) =>
    makeService(join(svdir, name), {
      run: `#!/bin/sh\nsh -c 'setsid sh -c '\\''trap "" TERM; echo $$ > grandchild.new; mv grandchild.new grandchild; exec sleep 1000'\\'' &'\nexec sleep 1000\n`,
      'timeout-kill': '300\n',
    }),
  );
  const clean = cleanup();
  clean.cgroups.push(...dirs.map(cgroupOf));
  t.after(() => clean.run());
  startDetached(bin('runsvdir'), [svdir]);
  /** @type {number[]} */
  const daemons = [];
  for (const dir of dirs) {
    await running(dir);
    const daemon = await pidIn(dir, 'grandchild');
    clean.pids.push(daemon);
    daemons.push(daemon);
  }
  for (const [i, dir] of dirs.entries()) {
    const grandchild = daemons[i] ?? 0;
    // the intermediate process has exited: the daemon is init's
    await waitFor(() => procStat(grandchild)?.ppid === 1, { what: `pid ${grandchild} reparented` });
    assert.equal(cgroupLine(grandchild), inCgroupOf(dir), `${dir}'s daemon (pid ${grandchild})`);
    assert.equal(sv('-w', '10', 'down', dir).code, 0);
    assert.ok(processGone(grandchild), `${dir}'s daemon (pid ${grandchild}) still there`);
  }
});

test("removeCgroupsUnder: a killed supervisor's empty cgroups go with its tree; a populated one and another tree's stay", { skip: noCgroups }, async (t) => {
  const top = tempDir();
  const prefix = `${BASE}/${nameOf(top)}`;
  const empty = `${prefix}-a`;
  const populated = `${prefix}-b`;
  // a tree whose name only starts like this one's
  const other = `${prefix}x-a`;
  for (const dir of [empty, populated, other]) mkdirSync(dir);
  const sleeper = startDetached('sleep', ['1000']);
  writeFileSync(`${populated}/cgroup.procs`, String(sleeper.pid));
  const clean = cleanup();
  clean.pids.push(sleeper.pid);
  clean.cgroups.push(populated, other);
  t.after(() => clean.run());
  removeCgroupsUnder(top);
  assert.equal(existsSync(empty), false, `${empty} still there`);
  assert.equal(existsSync(populated), true, `${populated} removed while populated`);
  assert.equal(existsSync(other), true, `${other} removed: not under ${top}`);
});

// --- 5. resource files, against a fake cgroup tree ---

test('cgroup/ resource files: written into the cgroup when its controller is there, else one warning; cgroup.* refused', async (t) => {
  const base = tempDir();
  const fake = join(base, 'fake');
  const svdir = join(base, 'service');
  const dir = makeService(join(svdir, 'limited'), {
    run: '#!/bin/sh\necho $$ >> starts\nexec sleep 0.3\n',
    'cgroup/memory.max': '100M\n',
    'cgroup/cpu.max': '50000 100000\n',
    'cgroup/cgroup.procs': '1\n',
  });
  const cgroup = join(fake, nameOf(dir));
  mkdirSync(cgroup, { recursive: true });
  writeFileSync(join(cgroup, 'cgroup.controllers'), 'memory pids\n');
  const clean = cleanup();
  t.after(() => clean.run());
  const [runsv] = HOSTS[1].supervise(svdir, { ...process.env, RUNIT_TS_CGROUP: fake });
  await running(dir);
  assert.equal(readText(join(cgroup, 'memory.max')), '100M');
  assert.ok(!existsSync(join(cgroup, 'cpu.max')), 'cpu.max written without the cpu controller');
  assert.equal(lockLines(dir)[2], `cgroup ${cgroup}`);
  // written again at each start
  writeFileSync(join(cgroup, 'memory.max'), 'max');
  await waitFor(() => fileLines(join(dir, 'starts')).length >= 2, { what: 'a second start' });
  await waitFor(() => readText(join(cgroup, 'memory.max')) === '100M', { what: 'memory.max written again' });
  await waitFor(() => fileLines(join(dir, 'starts')).length >= 3, { what: 'a third start' });
  const prefix = `runsv ${dir}: warning: `;
  const stderr = runsv.output.stderr;
  const cpu = `${prefix}cgroup controller cpu is not enabled for ${cgroup}: cgroup/cpu.max not applied\n`;
  assert.equal(stderr.split(cpu).length - 1, 1, stderr);
  const refused = `${prefix}cgroup/cgroup.procs: not a cgroup interface file (CONTROLLER.KNOB): ignored\n`;
  assert.equal(stderr.split(refused).length - 1, 1, stderr);
  assert.deepEqual(stderr.split('\n').filter(Boolean).sort(), [cpu, refused].map((l) => l.trimEnd()).sort(), 'other messages');
  // the refused file was not written over the supervisor's own
  assert.doesNotMatch(readText(join(cgroup, 'cgroup.procs')) ?? '', /^1$/m);
});

// --- 6. memory-restart ---

test('memory-restart: a run that allocates is restarted once over the limit; ./finish sees SERVICE_RESULT=oom-kill', async (t) => {
  const svdir = join(tempDir(), 'service');
  const dir = makeService(join(svdir, 'hungry'), {
    run: `#!/bin/sh\necho $$ >> starts\nexec ${process.execPath} -e "const a=[];setInterval(()=>a.push(Buffer.alloc(8<<20,1)),50)"\n`,
    finish: '#!/bin/sh\necho "$1 $2 $SERVICE_RESULT" >> finished\n',
    'memory-restart': '64M\n',
  });
  const clean = cleanup();
  if (BASE) clean.cgroups.push(cgroupOf(dir));
  t.after(() => clean.run());
  const [runsvdir] = HOSTS[0].supervise(svdir);
  const first = await running(dir);
  await waitFor(() => fileLines(join(dir, 'finished')).length >= 1, { timeout: 10000, what: 'a first ./finish' });
  await running(dir, { notPid: first });
  assert.ok(fileLines(join(dir, 'starts')).length >= 2);
  // stopped as by sv term: the TERM ended node
  assert.deepEqual(fileLines(join(dir, 'finished'))[0], '-1 15 oom-kill');
  const warning = /^runsv hungry: warning: memory (\d+) bytes over memory-restart 67108864: restarting$/m.exec(runsvdir.output.stderr);
  assert.ok(warning, runsvdir.output.stderr);
  assert.ok(Number(warning[1]) > 64 << 20);
  const down = sv('-w', '10', 'down', dir);
  assert.equal(down.code, 0, down.stdout);
  assert.equal(supervisedPid(dir), 0);
});

// The restart policy and stop escalation under the two other hosts of a
// supervisor: a standalone `runsv DIR` per service, and `runsvdir
// --isolate` (one runsv process per service, runit's layout). The same
// behaviours are tested under in-process runsvdir in
// restart-policy-run.test.js and stop-escalation.test.js; each test here
// runs once per host.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { bin, tempDir, makeService, startDetached, stopAll, running, run, waitFor, holds, readText, stat, procStat, fileLines } from './helpers.js';

/** @typedef {import('./helpers.js').Detached} Detached */

/** Process groups of every host started here: a host that exited may leave runsv processes or services in its group. */
const groups = new Set();
/** @param {number} pgid */
function killGroup(pgid) {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {}
}
after(async () => {
  for (const pgid of groups) killGroup(pgid);
  await stopAll();
});

/**
 * @typedef {object} Host
 * @property {string} name
 * @property {(svdir: string) => Detached[]} supervise start supervising every service directory in svdir
 * @property {(svdir: string, name: string) => string} prefix how a service's supervisor starts its messages
 */

/** @type {Host[]} */
const HOSTS = [
  {
    name: 'runsv',
    supervise: (svdir) =>
      readdirSync(svdir)
        .sort()
        .map((name) => startDetached(bin('runsv'), [join(svdir, name)])),
    prefix: (svdir, name) => `runsv ${join(svdir, name)}: `,
  },
  {
    name: 'runsvdir --isolate',
    supervise: (svdir) => [startDetached(bin('runsvdir'), ['--isolate', svdir])],
    prefix: (_svdir, name) => `runsv ${name}: `,
  },
];

/**
 * Supervise svdir under `host` for the length of `body`; every process the
 * host started (runsv processes and services included) is killed by its
 * process group afterwards.
 * @param {Host} host
 * @param {string} svdir
 * @param {(hosts: Detached[]) => Promise<void>} body
 */
async function supervised(host, svdir, body) {
  const hosts = host.supervise(svdir);
  for (const h of hosts) groups.add(h.pid);
  try {
    await body(hosts);
  } finally {
    for (const h of hosts) {
      killGroup(h.pid);
      groups.delete(h.pid);
    }
    await Promise.all(hosts.map((h) => h.exited));
  }
}

/** What every host process printed on stderr so far (runsv's messages; under --isolate runsvdir's fd 2 is theirs). */
const stderrOf = (/** @type {Detached[]} */ hosts) => hosts.map((h) => h.output.stderr).join('');

/** Everything the host processes printed on stdout (services without a log write there). */
const stdoutOf = (/** @type {Detached[]} */ hosts) => hosts.map((h) => h.output.stdout).join('');

/** /proc/PID is gone: the process ended and was reaped. */
const reaped = (/** @type {number} */ pid) => !existsSync(`/proc/${pid}`);

/** `sv ARGS`'s stdout. */
const sv = (/** @type {string[]} */ args) => run(bin('sv'), args).stdout;

/** Says so on stdout when it gets TERM, and goes on running. */
const IGNORES_TERM = '#!/bin/sh\ntrap "echo got TERM" TERM\necho started\nwhile :; do sleep 0.1; done\n';

for (const host of HOSTS) {
  test(`${host.name}: backoff restarts wait 0.2, 0.4, 0.8, 0.8 s; sv status shows the pending restart; sv up skips it`, async () => {
    const svdir = join(tempDir(), 'service');
    const dir = makeService(join(svdir, 'flaky'), {
      run: '#!/bin/sh\necho $(($(date +%s%N)/1000000)) >> starts\necho $$ >> pids\nexit 3\n',
      backoff: '0.2 0.8\n',
    });
    await supervised(host, svdir, async () => {
      const starts = () => fileLines(join(dir, 'starts')).map(Number);
      // the run's parent is a runsv process under both hosts (not runsvdir)
      const firstPid = await waitFor(() => Number(fileLines(join(dir, 'pids'))[0]), { what: 'a first start' });
      const parent = procStat(firstPid)?.ppid;
      if (parent) assert.equal(procStat(parent)?.comm, 'runsv');
      await waitFor(() => starts().length >= 5, { timeout: 15000, what: 'five starts' });
      const t = starts();
      const gaps = t.slice(1, 5).map((x, i) => x - (t[i] ?? 0));
      for (const [i, least] of [200, 400, 800, 800].entries()) assert.ok((gaps[i] ?? 0) >= least - 5, `gap ${i}: ${gaps.join(',')}`);
      assert.ok((gaps[3] ?? 0) < 1600, `capped: ${gaps.join(',')}`);
      // a pending restart, as sv status shows it
      const pending = await waitFor(() => /restart in \d+s/.test(sv(['status', dir])) && sv(['status', dir]), { what: 'a pending restart' });
      assert.match(pending, /^down: .*\/flaky: \d+s, normally up, want up, restart in [01]s\n$/);
      assert.match(readText(join(dir, 'supervise/policy')) ?? '', /^restart @[0-9a-f]{24}\n$/);
      assert.match(readText(join(dir, 'supervise/deaths')) ?? '', /^deaths \d+\n(@[0-9a-f]{24} exitcode 3\n)+$/);
      // a minute's backoff (read at the next death); sv up does not wait for it
      writeFileSync(join(dir, 'backoff'), '60 60\n');
      const far = await waitFor(() => / restart in [3-6]\ds\n$/.test(sv(['status', dir])) && starts().length, {
        timeout: 10000,
        what: 'a restart a minute away',
      });
      assert.equal(run(bin('sv'), ['up', dir]).code, 0);
      await waitFor(() => starts().length > far, { timeout: 10000, what: 'a start long before the minute' });
      // and the next death waits FIRST again (sv up reset the backoff): a minute away once more
      await waitFor(() => / restart in [3-6]\ds\n$/.test(sv(['status', dir])), { timeout: 10000, what: 'the next pending restart' });
      assert.equal(starts().length, far + 1);
    });
  });

  test(`${host.name}: give-up by ./finish exiting 125, shown by sv status; sv up clears it`, async () => {
    const svdir = join(tempDir(), 'service');
    const dir = makeService(join(svdir, 'once'), { run: '#!/bin/sh\necho x >> starts\nexit 1\n', finish: '#!/bin/sh\necho "$1 $2" >> finished\nexit 125\n' });
    await supervised(host, svdir, async (hosts) => {
      await waitFor(() => sv(['status', dir]).includes('given up'), { what: 'given up' });
      assert.match(sv(['status', dir]), /^down: .*\/once: \d+s, normally up, given up\n$/);
      assert.equal(stat(dir), 'down\n');
      assert.equal(readText(join(dir, 'supervise/policy')), 'given up\n');
      assert.equal(readText(join(dir, 'starts')), 'x\n');
      assert.equal(readText(join(dir, 'finished')), '1 0\n');
      // machine-readable too
      const json = JSON.parse(run(bin('runit-ts'), ['status', '--json', dir]).stdout).services[0];
      assert.equal(json.givenUp, true);
      assert.equal(json.want, 'down');
      await waitFor(() => stderrOf(hosts).includes(`${host.prefix(svdir, 'once')}warning: given up after ./finish exited 125: sv up starts it again\n`), {
        what: 'the give-up warning',
      });
      // still down a second later: runit's one-second restart would have come
      await holds(() => readText(join(dir, 'starts')) === 'x\n', 1200, 'no restart after giving up');
      // sv up: started again, and given up again by its finish
      assert.equal(run(bin('sv'), ['up', dir]).code, 0);
      await waitFor(() => readText(join(dir, 'starts')) === 'x\nx\n', { what: 'started again' });
      await waitFor(() => sv(['status', dir]).includes('given up') && readText(join(dir, 'finished')) === '1 0\n1 0\n', { what: 'given up again' });
    });
  });

  test(`${host.name}: give-up by the tally (3 deaths in 60 s), shown by sv status; sv up clears it`, async () => {
    const svdir = join(tempDir(), 'service');
    const dir = makeService(join(svdir, 'tally'), { run: '#!/bin/sh\necho x >> starts\nexit 2\n', 'give-up': '3 60\n', backoff: '0.05 0.1\n' });
    await supervised(host, svdir, async (hosts) => {
      await waitFor(() => sv(['status', dir]).includes('given up'), { what: 'given up' });
      assert.match(sv(['status', dir]), /^down: .*\/tally: \d+s, normally up, given up\n$/);
      assert.equal(fileLines(join(dir, 'starts')).length, 3);
      assert.match(readText(join(dir, 'supervise/deaths')) ?? '', /^deaths 3\n(@[0-9a-f]{24} exitcode 2\n){3}$/);
      await waitFor(() => stderrOf(hosts).includes(`${host.prefix(svdir, 'tally')}warning: given up after 3 deaths in 60 seconds: sv up starts it again\n`), {
        what: 'the give-up warning',
      });
      await holds(() => fileLines(join(dir, 'starts')).length === 3, 500, 'no restart after giving up');
      assert.equal(run(bin('sv'), ['up', dir]).code, 0);
      // a fresh chance: the three deaths before count no more, three new ones give up again
      await waitFor(() => sv(['status', dir]).includes('given up'), { what: 'given up again' });
      assert.equal(fileLines(join(dir, 'starts')).length, 6);
      assert.match(readText(join(dir, 'supervise/deaths')) ?? '', /^deaths 6\n/);
    });
  });

  test(`${host.name}: down-signal: sv down sends INT, not TERM`, async () => {
    const svdir = join(tempDir(), 'service');
    const dir = makeService(join(svdir, 'intish'), {
      run: "#!/bin/sh\ntrap 'echo INT >> got; exit 0' INT\ntrap 'echo QUIT >> got; exit 0' QUIT\ntrap 'echo TERM >> got; exit 0' TERM\necho $$ > pid\nwhile :; do sleep 0.05; done\n",
      'down-signal': 'SIGINT\n',
    });
    await supervised(host, svdir, async () => {
      const pid = await running(dir);
      await waitFor(() => readText(join(dir, 'pid')) === `${pid}\n`, { what: 'the traps set' });
      const out = sv(['-w', '10', 'down', dir]);
      assert.match(out, /^ok: down: .*\/intish: \d+s, normally up\n$/);
      assert.equal(readText(join(dir, 'got')), 'INT\n');
      await waitFor(() => reaped(pid), { what: `pid ${pid} gone` });
    });
  });

  test(`${host.name}: timeout-kill: sv down kills a service that traps TERM; without the file it keeps running`, async () => {
    const svdir = join(tempDir(), 'service');
    const a = makeService(join(svdir, 'a'), { run: IGNORES_TERM, 'timeout-kill': '300\n' });
    const b = makeService(join(svdir, 'b'), { run: IGNORES_TERM });
    await supervised(host, svdir, async (hosts) => {
      const pa = await running(a);
      const pb = await running(b);
      await waitFor(() => (stdoutOf(hosts).match(/started\n/g) ?? []).length === 2, { what: 'both traps set' });
      const t0 = Date.now();
      const result = run(bin('sv'), ['-w', '3', 'down', a, b]);
      assert.match(result.stdout, /^ok: down: .*\/a: \d+s, normally up$/m);
      assert.match(result.stdout, /^timeout: run: .*\/b: \(pid \d+\) \d+s, want down, got TERM$/m);
      assert.equal(result.code, 1);
      // both got TERM (their output is read once sv, run synchronously, is done); a was killed, b still runs
      await waitFor(() => (stdoutOf(hosts).match(/got TERM\n/g) ?? []).length === 2, { what: 'TERM caught by both' });
      await waitFor(() => reaped(pa), { what: `a's pid ${pa} gone` });
      assert.ok(Date.now() - t0 >= 300, 'killed before its timeout-kill');
      assert.ok(!reaped(pb), "b's pid gone");
      assert.equal(stat(b), 'run, got TERM, want down\n');
      assert.match(readText(join(a, 'supervise/deaths')) ?? '', /^deaths 1\n@[0-9a-f]{24} signal SIGKILL\n$/);
    });
  });

  test(`${host.name}: timeout-finish kills a ./finish that hangs`, async () => {
    const svdir = join(tempDir(), 'service');
    const dir = makeService(join(svdir, 'hangs'), {
      run: '#!/bin/sh\nexec sleep 1000\n',
      finish: '#!/bin/sh\necho $$ > finish.pid\nexec sleep 1000\n',
      'timeout-finish': '300\n',
    });
    await supervised(host, svdir, async (hosts) => {
      const pid = await running(dir);
      assert.equal(run(bin('sv'), ['down', dir]).code, 0);
      const finish = await waitFor(() => Number(readText(join(dir, 'finish.pid'))), { what: './finish started' });
      const t0 = Date.now();
      await waitFor(() => stat(dir) === 'finish, want down\n', { what: 'the finish state' });
      await waitFor(() => reaped(finish), { what: `./finish (pid ${finish}) gone` });
      assert.ok(Date.now() - t0 >= 250, `finish killed ${Date.now() - t0} ms after it wrote its pid`);
      await waitFor(() => stat(dir) === 'down\n', { what: 'down after the finish' });
      assert.ok(reaped(pid));
      assert.ok(
        stderrOf(hosts).includes(`${host.prefix(svdir, 'hangs')}warning: ./finish still running after timeout-finish (300 ms): killed\n`),
        stderrOf(hosts),
      );
      assert.match(sv(['status', dir]), /^down: .*\/hangs: \d+s, normally up\n$/);
    });
  });
}

test('runsv: SIGTERM stops a service that traps TERM after its timeout-kill, and runsv exits 0', async () => {
  const [host] = HOSTS;
  const svdir = join(tempDir(), 'service');
  const a = makeService(join(svdir, 'a'), { run: IGNORES_TERM, 'timeout-kill': '300\n' });
  await supervised(host, svdir, async ([runsv]) => {
    const pa = await running(a);
    await waitFor(() => runsv.output.stdout === 'started\n', { what: 'the trap set' });
    const t0 = Date.now();
    process.kill(runsv.pid, 'SIGTERM');
    await waitFor(() => runsv.output.stdout === 'started\ngot TERM\n', { what: 'TERM caught' });
    assert.deepEqual(await runsv.exited, { code: 0, signal: null });
    const took = Date.now() - t0;
    assert.ok(took >= 300 && took < 5000, `runsv exited ${took} ms after TERM`);
    assert.ok(reaped(pa), `pid ${pa} still there`);
    assert.equal(stat(a), 'down\n');
  });
});

test('runsvdir --isolate: SIGHUP sends TERM to every runsv, which kill a service that traps TERM after its timeout-kill', async () => {
  const host = HOSTS[1];
  const svdir = join(tempDir(), 'service');
  const a = makeService(join(svdir, 'a'), { run: IGNORES_TERM, 'timeout-kill': '300\n' });
  await supervised(host, svdir, async ([runsvdir]) => {
    const pa = await running(a);
    const runsv = procStat(pa)?.ppid ?? 0;
    assert.equal(procStat(runsv)?.comm, 'runsv');
    await waitFor(() => runsvdir.output.stdout === 'started\n', { what: 'the trap set' });
    process.kill(runsvdir.pid, 'SIGHUP');
    // runit's: runsvdir exits 111 at once, each runsv stops its service
    assert.deepEqual(await runsvdir.exited, { code: 111, signal: null });
    await waitFor(() => reaped(pa), { what: `a's pid ${pa} gone` });
    await waitFor(() => reaped(runsv), { what: `its runsv (pid ${runsv}) gone` });
    assert.equal(stat(a), 'down\n');
    assert.match(readText(join(a, 'supervise/deaths')) ?? '', /signal SIGKILL\n$/);
  });
});

test('runsvdir --isolate: SIGTERM exits 0 at once and leaves runsv and its service running (runit)', async () => {
  const host = HOSTS[1];
  const svdir = join(tempDir(), 'service');
  const a = makeService(join(svdir, 'a'), { run: IGNORES_TERM, 'timeout-kill': '300\n' });
  await supervised(host, svdir, async ([runsvdir]) => {
    const pa = await running(a);
    const runsv = procStat(pa)?.ppid ?? 0;
    process.kill(runsvdir.pid, 'SIGTERM');
    assert.deepEqual(await runsvdir.exited, { code: 0, signal: null });
    await holds(() => !reaped(pa) && !reaped(runsv) && !runsvdir.output.stdout.includes('got TERM'), 500, 'runsv and the service still run');
    assert.match(sv(['status', a]), /^run: .*\/a: \(pid \d+\) \d+s\n$/);
  });
});

// runsvdir hands each runsv the bound in its environment (RUNIT_TS_STOP_KILL_AFTER_MS), which services do not see
test('runsvdir --isolate: the stop of every service at SIGHUP is bounded (7 s) for a service that traps TERM without timeout-kill', async () => {
  const host = HOSTS[1];
  const svdir = join(tempDir(), 'service');
  const a = makeService(join(svdir, 'a'), { run: IGNORES_TERM });
  await supervised(host, svdir, async ([runsvdir]) => {
    const pa = await running(a);
    const runsv = procStat(pa)?.ppid ?? 0;
    // TERM before the trap is set (the containment wrapper, or sh before its trap line) ends the service at once
    await waitFor(() => runsvdir.output.stdout === 'started\n', { what: 'the trap set' });
    assert.match(readFileSync(`/proc/${runsv}/environ`, 'latin1'), /\0RUNIT_TS_STOP_KILL_AFTER_MS=7000\0|^RUNIT_TS_STOP_KILL_AFTER_MS=7000\0/);
    assert.doesNotMatch(readFileSync(`/proc/${pa}/environ`, 'latin1'), /RUNIT_TS_STOP_KILL_AFTER_MS/);
    process.kill(runsvdir.pid, 'SIGHUP');
    await runsvdir.exited;
    await waitFor(() => reaped(pa) && reaped(runsv), { timeout: 10000, what: `the service (pid ${pa}) and its runsv (pid ${runsv}) gone` });
  });
});

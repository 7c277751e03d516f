// needs-bound (docs/readiness.md): a service whose directory holds the file
// is stopped when a needed service stops being up and ready, shows
// `waiting for` meanwhile, and starts once when the need is back; without
// the file it keeps running (runit's model). Under standalone runsv,
// runsvdir and runsvdir --isolate. Also the stop order of a chain of needs
// when runsvdir stops everything on SIGHUP.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, renameSync } from 'node:fs';
import { bin, tempDir, makeService, startDetached, stopAll, waitFor, run, running, fileLines, holds, supervisedPid, processGone } from './helpers.js';

after(stopAll);

/** @param {string} dir */
const svStatus = (dir) => run(bin('sv'), ['status', dir]).stdout;

/** How long a thing that must not happen (a start, a stop) is watched for: past runsv's 1-second restart throttle. */
const QUIET_MS = 1300;

/**
 * db (ready through notification-fd) and app (needs/db, optionally
 * needs-bound) in `svdir`; each start and finish appends a line to `log`.
 * @param {string} svdir @param {boolean} bound
 */
function services(svdir, bound) {
  const log = join(svdir, '..', 'log');
  /** @param {string} what */
  const note = (what) => `echo ${what} >> ${log}`;
  makeService(join(svdir, 'db'), {
    'notification-fd': '3',
    run: `#!/bin/sh\n${note('db-start')}\n${note('db-ready')}\necho >&3\nexec sleep 100\n`,
  });
  makeService(join(svdir, 'app'), {
    'needs/db': '',
    ...(bound ? { 'needs-bound': '' } : {}),
    run: `#!/bin/sh\n${note('app-start')}\nexec sleep 100\n`,
    finish: `#!/bin/sh\n${note('app-finish')}\n`,
  });
  return { db: join(svdir, 'db'), app: join(svdir, 'app'), log };
}

/** @param {string} log */
const events = (log) => fileLines(log);

/** @type {Record<string, (svdir: string) => { stderr: () => string, stop: () => Promise<unknown> }>} */
const hosts = {
  runsv: (svdir) => {
    const db = startDetached(bin('runsv'), [join(svdir, 'db')]);
    const app = startDetached(bin('runsv'), [join(svdir, 'app')]);
    return {
      stderr: () => app.output.stderr,
      stop: async () => {
        app.kill('SIGTERM');
        await app.exited;
        db.kill('SIGTERM');
        await db.exited;
      },
    };
  },
  runsvdir: (svdir) => {
    const host = startDetached(bin('runsvdir'), [svdir]);
    return {
      stderr: () => host.output.stderr,
      stop: async () => {
        host.kill('SIGTERM');
        await host.exited;
      },
    };
  },
  'runsvdir --isolate': (svdir) => {
    const host = startDetached(bin('runsvdir'), ['--isolate', svdir]);
    return {
      stderr: () => host.output.stderr,
      // runit's runsvdir leaves its runsv processes running on TERM; HUP TERMs them
      stop: async () => {
        const pids = ['app', 'db'].map((s) => supervisedPid(join(svdir, s)));
        host.kill('SIGHUP');
        await host.exited;
        await waitFor(() => pids.every((pid) => pid === 0 || !isAlive(pid)), { what: 'services stopped' });
      },
    };
  },
};

/** @param {number} pid */
const isAlive = (pid) => !processGone(pid);

/** How many times a runsv said that app was stopped because db went down (standalone runsv names it by its path). */
const downLines = (/** @type {string} */ stderr) => stderr.match(/^runsv (\S+\/)?app: warning: stopping: needed service db is down$/gm)?.length ?? 0;

for (const [name, start] of Object.entries(hosts)) {
  test(`needs-bound under ${name}: db down stops app (waiting for db), db up starts it once`, async () => {
    const svdir = join(tempDir(), 'service');
    mkdirSync(svdir);
    const { db, app, log } = services(svdir, true);
    const host = start(svdir);
    const appPid = await running(app);
    await waitFor(() => events(log).includes('app-start'), { what: 'app started' });
    assert.deepEqual(events(log), ['db-start', 'db-ready', 'app-start']);

    run(bin('sv'), ['down', db]);
    await waitFor(() => /^down: .*: \d+s, normally up, want up, waiting for db\n$/.test(svStatus(app)), {
      what: () => `app waiting for db: ${svStatus(app)}`,
    });
    assert.equal(isAlive(appPid), false, 'app run stopped');
    await waitFor(() => events(log).includes('app-finish'), { what: 'app finished' });
    assert.deepEqual(events(log), ['db-start', 'db-ready', 'app-start', 'app-finish']);
    await waitFor(() => downLines(host.stderr()) > 0, { what: 'the stopping line' });
    // app stays down while db is
    await holds(() => !events(log).includes('app-start', 3), QUIET_MS, 'app down while db is down');

    run(bin('sv'), ['up', db]);
    await running(app, { notPid: appPid });
    await waitFor(() => events(log).filter((e) => e === 'app-start').length === 2, { what: 'app started again' });
    await holds(() => events(log).filter((e) => e === 'app-start').length === 2, QUIET_MS, 'app started once after db is back');
    assert.deepEqual(events(log), ['db-start', 'db-ready', 'app-start', 'app-finish', 'db-start', 'db-ready', 'app-start']);
    assert.match(svStatus(app), /^run: .*: \(pid \d+\) \d+s\n$/);
    assert.equal(downLines(host.stderr()), 1, `one line for one event: ${host.stderr()}`);
    await host.stop();
  });

  test(`without needs-bound under ${name}: app keeps running when db goes down`, async () => {
    const svdir = join(tempDir(), 'service');
    mkdirSync(svdir);
    const { db, app, log } = services(svdir, false);
    const host = start(svdir);
    const appPid = await running(app);
    await waitFor(() => events(log).includes('app-start'), { what: 'app started' });
    run(bin('sv'), ['down', db]);
    await waitFor(() => /^down: /.test(svStatus(db)), { what: 'db down' });
    await holds(() => supervisedPid(app) === appPid && isAlive(appPid), QUIET_MS, 'app still running');
    assert.deepEqual(events(log), ['db-start', 'db-ready', 'app-start']);
    assert.doesNotMatch(host.stderr(), /stopping/);
    await host.stop();
  });
}

test('needs-bound: a needed service that restarts restarts its dependent; one that is running but not ready holds it', async () => {
  const svdir = join(tempDir(), 'service');
  mkdirSync(svdir);
  const { db, app, log } = services(svdir, true);
  const host = hosts.runsvdir(svdir);
  const appPid = await running(app);
  // db restarted: app stopped, started again once db is ready
  run(bin('sv'), ['restart', db]);
  const second = await running(app, { notPid: appPid });
  await waitFor(() => events(log).filter((e) => e === 'app-start').length === 2, { what: 'app started again' });
  const later = events(log).slice(3);
  assert.deepEqual(
    later.filter((e) => e.startsWith('db')),
    ['db-start', 'db-ready'],
  );
  assert.deepEqual(
    later.filter((e) => e.startsWith('app')),
    ['app-finish', 'app-start'],
  );
  assert.ok(later.indexOf('db-ready') < later.indexOf('app-start'), later.join(' '));
  await waitFor(() => /^runsv app: warning: stopping: needed service db (is down|restarted)$/m.test(host.stderr()), { what: 'the stopping line' });
  // db running, never ready: app waits
  makeService(db, { run: `#!/bin/sh\necho db-start >> ${log}\nexec sleep 100\n` });
  run(bin('sv'), ['term', db]);
  await waitFor(() => /^down: .*, want up, waiting for db\n$/.test(svStatus(app)), { what: () => `app waiting: ${svStatus(app)}` });
  assert.equal(isAlive(second), false);
  await host.stop();
});

test('runsvdir HUP: a chain of needs stops in reverse (web, then app, then db)', async () => {
  const base = tempDir();
  const svdir = join(base, 'service');
  const log = join(base, 'log');
  mkdirSync(svdir);
  for (const [name, needs] of [
    ['db', []],
    ['app', ['db']],
    ['web', ['app']],
  ]) {
    makeService(join(svdir, /** @type {string} */ (name)), {
      ...Object.fromEntries(/** @type {string[]} */ (needs).map((n) => [`needs/${n}`, ''])),
      'needs-bound': '',
      run: `#!/bin/sh\ntrap 'echo ${name}-term $(date +%s%N) >> ${log}; kill $!; exit 0' TERM\nsleep 100 &\necho ${name} >> ${base}/up\nwait\n`,
    });
  }
  const runsvdir = startDetached(bin('runsvdir'), [svdir]);
  await waitFor(() => fileLines(join(base, 'up')).length === 3, { what: 'three services up, TERM trapped' });
  runsvdir.kill('SIGHUP');
  const r = await runsvdir.exited;
  assert.equal(r.code, 111);
  const lines = fileLines(log).map((l) => l.split(' '));
  assert.deepEqual(
    lines.map(([what]) => what),
    ['web-term', 'app-term', 'db-term'],
  );
  const times = lines.map(([, t]) => BigInt(t ?? 0));
  assert.ok(times[0] < times[1] && times[1] < times[2], String(times));
  // dependents were down before what they need stopped: no bound stop was needed
  assert.doesNotMatch(runsvdir.output.stderr, /stopping/);
});

test('runsvdir: services removed together stop in reverse order of needs/ (app, which takes 0.3 s, before db)', async () => {
  const base = tempDir();
  const svdir = join(base, 'service');
  const log = join(base, 'log');
  mkdirSync(svdir);
  makeService(join(svdir, 'db'), {
    run: `#!/bin/sh\ntrap 'echo db-term $(date +%s%N) >> ${log}; kill $!; exit 0' TERM\nsleep 100 &\necho db >> ${base}/up\nwait\n`,
  });
  makeService(join(svdir, 'app'), {
    'needs/db': '',
    run: `#!/bin/sh\ntrap 'sleep 0.3; echo app-exit $(date +%s%N) >> ${log}; kill $!; exit 0' TERM\nsleep 100 &\necho app >> ${base}/up\nwait\n`,
  });
  const runsvdir = startDetached(bin('runsvdir'), [svdir]);
  await waitFor(() => fileLines(join(base, 'up')).length === 2, { what: 'both up, TERM trapped' });
  // both entries gone in one scan: the directory moved away (a scan that cannot read it changes nothing), then an empty one
  renameSync(svdir, join(base, 'old'));
  await waitFor(() => runsvdir.output.stderr.includes('unable to open directory'), { what: 'the directory missed' });
  mkdirSync(svdir);
  await waitFor(() => fileLines(log).length === 2, { what: 'both stopped' });
  const lines = fileLines(log).map((l) => l.split(' '));
  assert.deepEqual(
    lines.map(([what]) => what),
    ['app-exit', 'db-term'],
  );
  // db got its TERM only once app had exited, 0.3 s after its own
  assert.ok(BigInt(lines[1]?.[1] ?? 0) >= BigInt(lines[0]?.[1] ?? 0), lines.join(' | '));
});

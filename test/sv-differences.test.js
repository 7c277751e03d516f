// Where our sv deliberately differs from runit 2.1.2 (docs/differences.md,
// section "sv"): each test names the difference and asserts our behaviour,
// and where it is deterministic, Debian's too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, symlinkSync } from 'node:fs';
import { execFile } from 'node:child_process';
import {
  bin,
  debian,
  tempDir,
  makeService,
  startDetached,
  stopAll,
  waitFor,
  stat,
  supervisedPid,
  normalizeSv,
  removeDir,
  statusRecord,
  craftSupervise,
} from './helpers.js';

after(stopAll);

/**
 * Mask the seconds only (crafted records keep their pids).
 * @param {string} text
 */
const secs = (text) => text.replace(/ \d+s\b/g, ' Ns');
const RUN = '#!/bin/sh\nexec sleep 1000\n';

/**
 * A fresh directory for one test, removed (and its supervisors stopped) after it.
 * @param {import('node:test').TestContext} t
 */
function base(t) {
  const dir = tempDir('sv-differences-');
  t.after(async () => {
    await stopAll();
    removeDir(dir);
  });
  return dir;
}

/**
 * Run an sv binary; resolves with code, output and wall-clock milliseconds.
 * @param {string} file
 * @param {string[]} args
 * @param {{ cwd: string, svdir?: string, env?: Record<string, string> }} options
 * @returns {Promise<{ code: number | string | null | undefined, stdout: string, stderr: string, ms: number }>}
 */
function sv(file, args, { cwd, svdir = cwd, env = {} }) {
  /** @type {NodeJS.ProcessEnv} */
  const environment = { ...process.env, SVDIR: svdir };
  delete environment.SVWAIT;
  Object.assign(environment, env);
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: environment }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr, ms: Date.now() - started });
    });
  });
}
/** @typedef {Parameters<typeof sv>[2]} SvOptions */
/**
 * @param {string[]} args
 * @param {SvOptions} options
 */
const ours = (args, options) => sv(bin('sv'), args, options);
/**
 * @param {string[]} args
 * @param {SvOptions} options
 */
const theirs = (args, options) => sv(debian('sv'), args, options);

/**
 * A service `svc` under Debian's runsv in `root`; resolves when stat reads `ready`.
 * @param {string} root
 * @param {Record<string, string>} files
 * @param {string} [ready]
 */
async function supervised(root, files, ready = 'run\n') {
  const dir = makeService(join(root, 'svc'), files);
  startDetached(debian('runsv'), ['svc'], { cwd: root });
  await waitFor(() => stat(dir) === ready, { what: ready.trim() });
  return dir;
}

/**
 * A status record with a zero nanosecond field.
 * @param {Parameters<typeof statusRecord>[0]} fields
 */
const record = (fields) => statusRecord({ nsec: 0, ...fields });

/**
 * supervise/ written by hand: `ok` a regular file (a "runsv" is there).
 * @param {string} dir
 * @param {Buffer} status
 */
const craft = (dir, status) => craftSupervise(dir, { status });

test('sv-event-wait: sv -w 7 up returns as soon as the service runs, with its new pid', async (t) => {
  const root = base(t);
  const dir = await supervised(root, { run: RUN, down: '' }, 'down\n');
  const r = await ours(['-w', '7', 'up', 'svc'], { cwd: root });
  const pid = supervisedPid(dir);
  assert.ok(pid > 0);
  assert.equal(secs(r.stdout), `ok: run: svc: (pid ${pid}) Ns, normally down\n`);
  assert.equal(r.code, 0);
  // generous: runit's first re-check alone comes 420 ms after sending
  assert.ok(r.ms < 2000, `took ${r.ms} ms`);
  const down = await ours(['-w', '7', 'down', 'svc'], { cwd: root });
  assert.deepEqual([down.code, secs(down.stdout)], [0, 'ok: down: svc: Ns\n']);
  const exit = await ours(['-w', '7', 'exit', 'svc'], { cwd: root });
  assert.deepEqual([exit.code, exit.stdout], [0, 'ok: svc: runsv not running\n']);
});

test('sv-event-wait: a timeout is reported only after more than -w seconds, and sv exits then', async (t) => {
  const root = base(t);
  await supervised(root, { run: RUN, check: '#!/bin/sh\nexit 1\n' });
  const r = await ours(['-w', '1', 'up', 'svc'], { cwd: root });
  assert.equal(normalizeSv(r.stdout), 'timeout: run: svc: (pid N) Ns\n');
  assert.equal(r.code, 1);
  // after the second, and then at once (generous: Node's start-up is in it)
  assert.ok(r.ms >= 1000 && r.ms < 3000, `timed out after ${r.ms} ms`);
});

test('sv-precise-time: restart right after a start reports the new pid, never the old one', async (t) => {
  const root = base(t);
  const dir = await supervised(root, { run: RUN });
  for (let i = 0; i < 2; i++) {
    const old = supervisedPid(dir);
    const r = await ours(['restart', 'svc'], { cwd: root });
    const pid = supervisedPid(dir);
    assert.notEqual(pid, old);
    assert.equal(secs(r.stdout), `ok: run: svc: (pid ${pid}) Ns\n`);
    assert.equal(r.code, 0);
  }
});

test('sv-precise-time: once right after down waits for the new run', async (t) => {
  const root = base(t);
  const dir = await supervised(root, { run: RUN });
  assert.equal(secs((await ours(['-v', 'down', 'svc'], { cwd: root })).stdout), 'ok: down: svc: Ns, normally up\n');
  const r = await ours(['-v', 'once', 'svc'], { cwd: root });
  assert.equal(secs(r.stdout), `ok: run: svc: (pid ${supervisedPid(dir)}) Ns, want down\n`);
});

test('sv-trailing-slash: "svc/" names ./svc/ when sending and when waiting', async (t) => {
  const root = base(t);
  const empty = join(root, 'empty');
  mkdirSync(empty);
  await supervised(root, { run: RUN });
  const deb = await theirs(['-w', '3', 'down', 'svc/'], { cwd: root, svdir: empty });
  assert.deepEqual([deb.code, deb.stdout], [1, 'fail: svc/: unable to change to service directory: file does not exist\n']);
  await ours(['-w', '3', 'up', 'svc/'], { cwd: root, svdir: empty });
  const r = await ours(['-w', '3', 'down', 'svc/'], { cwd: root, svdir: empty });
  assert.deepEqual([r.code, normalizeSv(r.stdout)], [0, 'ok: down: svc/: Ns, normally up\n']);
});

test('sv-check-signal: a check script killed by a signal fails', async (t) => {
  const root = base(t);
  await supervised(root, { run: RUN, check: '#!/bin/sh\nkill -9 $$\n' });
  const deb = await theirs(['-w', '1', 'up', 'svc'], { cwd: root });
  assert.deepEqual([deb.code, normalizeSv(deb.stdout)], [0, 'ok: run: svc: (pid N) Ns\n']);
  const r = await ours(['-w', '1', 'up', 'svc'], { cwd: root });
  assert.deepEqual([r.code, normalizeSv(r.stdout)], [1, 'timeout: run: svc: (pid N) Ns\n']);
});

test('sv-check-stdout: a check script writing to stdout is not failed by a closed stdout', async (t) => {
  const root = base(t);
  await supervised(root, { run: RUN, check: '#!/bin/sh\necho ready\n' });
  const deb = await theirs(['-w', '1', 'up', 'svc'], { cwd: root });
  assert.deepEqual([deb.code, normalizeSv(deb.stdout)], [1, 'timeout: run: svc: (pid N) Ns\n']);
  const r = await ours(['-w', '1', 'up', 'svc'], { cwd: root });
  assert.deepEqual([r.code, normalizeSv(r.stdout), r.stderr], [0, 'ok: run: svc: (pid N) Ns\n', '']);
});

test('sv-no-bogus-log: no "run: log:" built from the main record when log/supervise/ok is missing', async (t) => {
  const root = base(t);
  const dir = makeService(join(root, 'svc'), { run: RUN, 'log/run': RUN });
  craft(dir, record({ state: 1, pid: 4321 }));
  const deb = await theirs(['status', 'svc'], { cwd: root });
  assert.equal(normalizeSv(deb.stdout), 'run: svc: (pid N) Ns; warning: svc/log: unable to open supervise/ok: file does not exist\nrun: log: (pid N) Ns\n');
  const r = await ours(['status', 'svc'], { cwd: root });
  assert.equal(secs(r.stdout), 'run: svc: (pid 4321) Ns; warning: svc/log: unable to open supervise/ok: file does not exist\n');
  assert.equal(r.code, deb.code);
  assert.equal(r.code, 1);
});

test('sv-check-wants-up: sv check does not pass for a down service that wants up', async (t) => {
  const root = base(t);
  const dir = makeService(join(root, 'svc'), { run: RUN });
  craft(dir, record({ state: 0, want: 'u' }));
  const deb = await theirs(['-w', '0', 'check', 'svc'], { cwd: root });
  assert.deepEqual([deb.code, secs(deb.stdout)], [0, 'ok: down: svc: Ns, normally up, want up\n']);
  const r = await ours(['-w', '0', 'check', 'svc'], { cwd: root });
  assert.deepEqual([r.code, secs(r.stdout)], [1, 'timeout: down: svc: Ns, normally up, want up\n']);
  // a down service that wants down still passes at once
  craft(dir, record({ state: 0, want: 'd' }));
  const down = await ours(['-w', '0', 'check', 'svc'], { cwd: root });
  assert.deepEqual([down.code, secs(down.stdout)], [0, 'ok: down: svc: Ns, normally up\n']);
});

test('sv-lsb-status-exit: LSB status exits by the service, not by its log', async (t) => {
  const root = base(t);
  const dir = makeService(join(root, 'svc'), { run: RUN, 'log/run': RUN });
  for (const [side, target] of [
    ['deb', debian('sv')],
    ['our', bin('sv')],
  ]) {
    mkdirSync(join(root, side));
    symlinkSync(target, join(root, side, 'svc'));
  }
  craft(dir, record({ state: 0, want: 'd' }));
  craft(join(dir, 'log'), record({ state: 1, pid: 77 }));
  const deb = await sv(join(root, 'deb/svc'), ['status'], { cwd: root });
  const r = await sv(join(root, 'our/svc'), ['status'], { cwd: root });
  assert.equal(secs(r.stdout), secs(deb.stdout));
  assert.equal(secs(r.stdout), 'down: svc: Ns, normally up; run: log: (pid 77) Ns\n');
  assert.deepEqual([deb.code, r.code], [0, 3]);
  craft(dir, record({ state: 1, pid: 78 }));
  craft(join(dir, 'log'), record({ state: 0, want: 'u' }));
  const deb2 = await sv(join(root, 'deb/svc'), ['status'], { cwd: root });
  const r2 = await sv(join(root, 'our/svc'), ['status'], { cwd: root });
  assert.equal(secs(r2.stdout), 'run: svc: (pid 78) Ns; down: log: Ns, normally up, want up\n');
  assert.deepEqual([deb2.code, r2.code], [3, 0]);
});

test('sv-version: -V prints our $Id line, then the usage', async (t) => {
  const root = base(t);
  const r = await ours(['-V'], { cwd: root });
  assert.equal(r.code, 100);
  assert.match(r.stderr, /^\$Id: runit-ts sv [0-9.]+ \$\nusage: sv \[-v\] \[-w sec\] command service \.\.\.\n\n$/);
  const deb = await theirs(['-V'], { cwd: root });
  assert.match(deb.stderr, /^\$Id: [0-9a-f]{40} \$\n/);
});

// Differential: the same service under Debian's runsv and under ours,
// driven by Debian's sv; what sv prints must match modulo pids and seconds.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { bin, debian, tempDir, makeService, startDetached, stopAll, waitFor, run, readText, normalizeSv, stat } from './helpers.js';

/**
 * The service directory under Debian's runsv and under ours.
 * @typedef {{ theirs: string, ours: string }} Pair
 * @typedef {{ code: number | null, stdout: string, stderr: string }} Result
 */

after(stopAll);

const SERVICE = {
  run: '#!/bin/sh\ntrap "exit 0" TERM\necho up\nwhile :; do sleep 0.1; done\n',
  finish: '#!/bin/sh\nexit 0\n',
  'log/run': '#!/bin/sh\nexec cat > out\n',
};

/**
 * `files` as service svc under Debian's runsv and under ours.
 * @param {Record<string, string>} files
 */
async function pair(files) {
  const base = tempDir();
  /**
   * @param {string} name
   * @param {string} runsv
   */
  const start = async (name, runsv) => {
    const dir = makeService(join(base, name, 'svc'), files);
    startDetached(runsv, [dir], { cwd: join(base, name) });
    await waitFor(() => existsSync(join(dir, 'supervise/ok')) && existsSync(join(dir, 'log/supervise/ok')), { what: `${name} ready` });
    return dir;
  };
  /** @type {Pair} */
  const dirs = { theirs: await start('theirs', debian('runsv')), ours: await start('ours', bin('runsv')) };
  return { base, dirs };
}

/**
 * Debian's sv with `args` on both, by the relative name ./svc.
 * @param {Pair} dirs
 * @param {string[]} args
 */
function svBoth(dirs, args) {
  /** @param {string} dir */
  const sv = (dir) => {
    const r = run(debian('sv'), [...args, './svc'], { cwd: join(dir, '..') });
    return { code: r.code, stdout: normalizeSv(r.stdout), stderr: r.stderr };
  };
  return { theirs: sv(dirs.theirs), ours: sv(dirs.ours) };
}

/**
 * Run the same sv command on both, relative names, and compare. `status`
 * only reads, so it is asked again (for up to 3 s) while one supervisor is
 * still on its way to the state the other shows (a restart in progress).
 * @param {Pair} dirs
 * @param {string[]} args
 * @returns {Promise<Result>}
 */
async function both(dirs, args) {
  let results = svBoth(dirs, args);
  if (args[0] === 'status' && !isDeepStrictEqual(results.ours, results.theirs)) {
    // the last answers are compared below whether or not they came to agree
    await waitFor(() => isDeepStrictEqual((results = svBoth(dirs, args)).ours, results.theirs), { timeout: 3000, interval: 50 }).catch(() => {});
  }
  assert.deepEqual(results.ours, results.theirs, `sv ${args.join(' ')}`);
  return results.ours;
}

/**
 * @param {string} dir
 * @param {string} text
 */
const settled = (dir, text) => waitFor(() => stat(dir) === text, { what: text });

/**
 * Send without waiting, let both supervisors reach `stat`, then compare
 * `sv status`. (Waiting forms whose condition may already hold before the
 * letter is processed, e.g. `-w up` on a running service or `-w restart`
 * within one second of the start, race in runit itself; only the
 * deterministic ones are compared with -w.)
 * @param {Pair} dirs
 * @param {string} command
 * @param {string} state
 */
async function step(dirs, command, state) {
  await both(dirs, [command]);
  for (const dir of Object.values(dirs)) await settled(dir, state);
  return await both(dirs, ['status']);
}

test('Debian sv status/up/down/once/pause/cont/restart/exit: same output under both runsv', async () => {
  const { dirs } = await pair(SERVICE);
  for (const dir of Object.values(dirs)) await settled(dir, 'run\n');
  for (const dir of Object.values(dirs)) await waitFor(() => readText(join(dir, 'log/supervise/stat')) === 'run\n', { what: 'log' });
  assert.match((await both(dirs, ['status'])).stdout, /^run: \.\/svc: \(pid N\) Ns; run: log: \(pid N\) Ns\n$/);
  assert.match((await both(dirs, ['-w', '5', 'down'])).stdout, /^ok: down: \.\/svc: Ns, normally up\n$/);
  await both(dirs, ['status']);
  await both(dirs, ['-w', '5', 'up']);
  await both(dirs, ['-w', '5', 'pause']);
  await both(dirs, ['status']);
  await both(dirs, ['-w', '5', 'cont']);
  await step(dirs, 'once', 'run, want down\n');
  await both(dirs, ['-w', '5', 'down']);
  await step(dirs, 'once', 'run, want down\n');
  await step(dirs, 'up', 'run\n');
  await step(dirs, 'hup', 'run\n');
  const before = Object.values(dirs).map((d) => readText(join(d, 'supervise/pid')));
  await both(dirs, ['restart']);
  for (const [i, dir] of Object.values(dirs).entries()) {
    await waitFor(() => readText(join(dir, 'supervise/stat')) === 'run\n' && readText(join(dir, 'supervise/pid')) !== before[i], { what: 'restarted' });
  }
  await both(dirs, ['status']);
  assert.equal((await both(dirs, ['-w', '5', 'exit'])).stdout, 'ok: ./svc: runsv not running\n');
  await both(dirs, ['status']);
});

test('Debian sv on a service that starts down, and on the log service', async () => {
  const { dirs } = await pair({ ...SERVICE, down: '' });
  for (const dir of Object.values(dirs)) await settled(dir, 'down\n');
  for (const dir of Object.values(dirs)) await waitFor(() => readText(join(dir, 'log/supervise/stat')) === 'run\n', { what: 'log' });
  assert.match((await both(dirs, ['status'])).stdout, /^down: \.\/svc: Ns; run: log: \(pid N\) Ns\n$/);
  await both(dirs, ['-w', '5', 'up']);
  for (const [name, dir] of Object.entries(dirs)) {
    const r = run(debian('sv'), ['-w', '5', 'down', './log'], { cwd: dir });
    assert.equal(normalizeSv(r.stdout), 'ok: down: ./log: Ns, normally up\n', name);
  }
  await both(dirs, ['status']);
  await both(dirs, ['-w', '5', 'exit']);
});

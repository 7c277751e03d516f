// runit-ts events: a line per change, as it happens, over runit-ts's
// runsvdir and over Debian's runsv.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { renameSync, readdirSync, readFileSync } from 'node:fs';
import { bin, debian, tempDir, makeService, startDetached, stopAll, running, run, waitFor, removeDir } from './helpers.js';
import { statusChanges, eventLine } from '../dist/observe/events.js';

after(stopAll);

const SLEEPER = { run: '#!/bin/sh\nexec sleep 1000\n' };

/**
 * How many inotify watches process `pid` holds: the watcher is ready once it
 * watches every supervise/ (and the services directory).
 * @param {number} pid
 */
function inotifyWatches(pid) {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      n += readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1')
        .split('\n')
        .filter((l) => l.startsWith('inotify wd:')).length;
    } catch {}
  }
  return n;
}

/**
 * The events printed so far, as [service, event] pairs (JSON lines).
 * @param {import('./helpers.js').Detached} events
 */
const seen = (events) =>
  events.output.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .map((/** @type {any} */ e) => `${e.service}${e.log ? '/log' : ''} ${e.event}${e.pid ? ` ${e.pid}` : ''}`);

test('events over runit-ts: down, up, restart after kill -9, a service added, paused, removed', async () => {
  const base = tempDir();
  const svdir = join(base, 'service');
  makeService(join(svdir, 'a'), SLEEPER);
  makeService(join(svdir, 'b'), SLEEPER);
  startDetached(bin('runsvdir'), [svdir]);
  await running(join(svdir, 'a'));
  const b = await running(join(svdir, 'b'));
  const env = { ...process.env, SVDIR: svdir };
  const events = startDetached(bin('runit-ts'), ['events', '--json'], { env });
  // the services directory, a/supervise, b/supervise (and a/, b/ for their log/, which they lack: nothing)
  await waitFor(() => inotifyWatches(events.pid ?? 0) === 3, { what: 'watching' });
  assert.equal(run(bin('sv'), ['down', 'a'], { env }).code, 0);
  await waitFor(() => seen(events).includes('a down'), { what: 'a down' });
  // the two may be published at once (then no pid is left to show)
  assert.match(seen(events).join(','), /^a want down( \d+)?,a down$/);
  assert.equal(run(bin('sv'), ['up', 'a'], { env }).code, 0);
  const a = await running(join(svdir, 'a'));
  await waitFor(() => seen(events).includes(`a up ${a}`), { what: 'a up' });
  process.kill(b, 'SIGKILL');
  const b2 = await running(join(svdir, 'b'), { notPid: b });
  await waitFor(() => seen(events).includes(`b restart ${b2}`) || seen(events).includes(`b up ${b2}`), { what: 'b again' });
  makeService(join(base, 'c'), SLEEPER);
  renameSync(join(base, 'c'), join(svdir, 'c'));
  const c = await running(join(svdir, 'c'));
  await waitFor(() => seen(events).includes(`c up ${c}`), { what: 'c up' });
  assert.equal(run(bin('sv'), ['pause', 'c'], { env }).code, 0);
  await waitFor(() => seen(events).includes(`c paused ${c}`), { what: 'c paused' });
  removeDir(join(svdir, 'b'));
  await waitFor(() => seen(events).includes('b removed'), { what: 'b removed' });
  assert.ok(seen(events).indexOf('c added') < seen(events).indexOf(`c up ${c}`));
  assert.equal(events.output.stderr, '');
  // it ends, with 0, when told to
  process.kill(events.pid ?? 0, 'SIGTERM');
  assert.deepEqual(await events.exited, { code: 0, signal: null });
});

test('events over Debian runsv: a named service and its log service', async () => {
  const dir = join(tempDir(), 'svc');
  makeService(dir, { ...SLEEPER, 'log/run': '#!/bin/sh\nexec sleep 1001\n' });
  startDetached(debian('runsv'), [dir]);
  await running(dir);
  await running(join(dir, 'log'));
  const events = startDetached(bin('runit-ts'), ['events', '--json', dir]);
  await waitFor(() => inotifyWatches(events.pid ?? 0) === 2, { what: 'watching' });
  assert.equal(run(debian('sv'), ['down', join(dir, 'log')]).code, 0);
  await waitFor(() => seen(events).includes(`${dir}/log down`), { what: 'log down' });
  assert.equal(run(debian('sv'), ['restart', dir]).code, 0);
  const pid = await waitFor(() => seen(events).find((e) => e.startsWith(`${dir} up `) || e.startsWith(`${dir} restart `)), { what: 'service again' });
  assert.match(pid, / \d+$/);
  assert.equal(events.output.stderr, '');
});

test('statusChanges and eventLine', () => {
  /** @type {any} */
  const base = {
    supervised: true,
    error: null,
    state: 'run',
    pid: 10,
    since: 0,
    want: 'up',
    normallyUp: true,
    paused: false,
    gotTerm: false,
    supervisorPid: null,
    inProcess: false,
    processes: null,
    deaths: null,
    lastExit: null,
    givenUp: false,
    restartAt: null,
    ready: null,
    readiness: null,
    statusText: null,
    waitingFor: [],
  };
  assert.deepEqual(statusChanges(base, { ...base }), []);
  assert.deepEqual(statusChanges({ ...base, state: 'down', pid: null }, { ...base, state: 'down', pid: null, want: 'down', givenUp: true }), [
    'want down',
    'given up',
  ]);
  assert.deepEqual(statusChanges(base, { ...base, pid: 11 }), ['restart']);
  assert.deepEqual(statusChanges(base, { ...base, state: 'down', pid: null, want: 'down' }), ['want down', 'down']);
  assert.deepEqual(statusChanges({ ...base, state: 'down', pid: null }, { ...base, pid: 12 }), ['up']);
  assert.deepEqual(statusChanges(base, { ...base, state: 'finish', pid: 13 }), ['finish']);
  assert.deepEqual(statusChanges(base, { ...base, paused: true }), ['paused']);
  /** @type {any} */
  const gone = { ...base, supervised: false, error: 'runsv not running', state: null, pid: null, want: null, paused: null };
  assert.deepEqual(statusChanges(base, gone), ['supervisor down']);
  assert.deepEqual(statusChanges(gone, base), ['supervisor up', 'up']);
  const line = eventLine({ time: 1796197212.5, service: 'web', log: true, event: 'up', pid: 7 });
  assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.500 web\/log: up \(pid 7\)\n$/);
});

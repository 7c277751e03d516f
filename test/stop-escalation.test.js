// Stops that a service ignores: runsvdir's shutdown escalates to SIGKILL
// after a bounded time (7 s, or the service's timeout-kill), its log
// service still stopped after it so its last lines are written; and s6's
// timeout-kill for sv down.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { bin, tempDir, makeService, startDetached, stopAll, waitFor, run, readText, supervisedPid, processExists } from './helpers.js';

after(stopAll);

/** Says so on stdout when it gets TERM, and goes on running. */
const IGNORES_TERM = '#!/bin/sh\ntrap "echo got TERM" TERM\necho started\nwhile :; do sleep 0.1; done\n';

const stat = (/** @type {string} */ dir) => readText(join(dir, 'supervise/stat'));

/** @param {string} dir */
async function runningPid(dir) {
  return waitFor(() => stat(dir) === 'run\n' && supervisedPid(dir), { what: `${dir} running` });
}

/** The pid is gone, or a zombie no one has reaped yet. */
const gone = (/** @type {number} */ pid) => !processExists(pid) || readText(`/proc/${pid}/stat`)?.includes(') Z');

test('runsvdir SIGTERM: a service that traps TERM is killed after 7 s; its log gets its last line; runsvdir exits 0', async () => {
  const dir = join(tempDir(), 'service');
  const a = makeService(join(dir, 'a'), { run: IGNORES_TERM, 'log/run': '#!/bin/sh\nexec svlogd ./main\n', 'log/main/config': '' });
  // and a log service that reads on after EOF: killed too, after the service
  const b = makeService(join(dir, 'b'), { run: IGNORES_TERM, 'log/run': '#!/bin/sh\ntrap "" TERM\ncat >> out\nwhile :; do sleep 0.1; done\n' });
  const runsvdir = startDetached(bin('runsvdir'), [dir]);
  const pa = await runningPid(a);
  const pb = await runningPid(b);
  const bLog = await runningPid(join(b, 'log'));
  await waitFor(() => readText(join(a, 'log/main/current')) === 'started\n', { what: "a's first line logged" });
  await waitFor(() => readText(join(b, 'log/out')) === 'started\n', { what: "b's first line logged" });
  const t0 = Date.now();
  process.kill(runsvdir.pid, 'SIGTERM');
  // TERM is caught and said; the service still runs meanwhile
  await waitFor(() => readText(join(a, 'log/main/current')) === 'started\ngot TERM\n', { what: "a's TERM line" });
  assert.ok(!gone(pa), 'a ended at TERM');
  await waitFor(() => runsvdir.exitCode !== null || runsvdir.signalCode !== null, { timeout: 15000, what: 'runsvdir exit' });
  assert.deepEqual(await runsvdir.exited, { code: 0, signal: null });
  assert.ok(Date.now() - t0 >= 7000, `runsvdir exited ${Date.now() - t0} ms after TERM, before the 7 s grace`);
  for (const pid of [pa, pb, bLog]) assert.ok(gone(pid), `pid ${pid} still runs`);
  assert.equal(readText(join(a, 'log/main/current')), 'started\ngot TERM\n');
  assert.equal(readText(join(b, 'log/out')), 'started\ngot TERM\n');
  assert.equal(stat(a), 'down\n');
  assert.equal(stat(join(b, 'log')), 'down\n');
});

test("runsvdir SIGTERM: a service's timeout-kill replaces the 7 s", async () => {
  const dir = join(tempDir(), 'service');
  const a = makeService(join(dir, 'a'), { run: IGNORES_TERM, 'timeout-kill': '200\n' });
  const runsvdir = startDetached(bin('runsvdir'), [dir]);
  const pa = await runningPid(a);
  const t0 = Date.now();
  process.kill(runsvdir.pid, 'SIGTERM');
  assert.deepEqual(await runsvdir.exited, { code: 0, signal: null });
  // the service's 200 ms, not runsvdir's 7 s (a generous bound for a loaded machine)
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.ok(gone(pa));
});

test('timeout-kill (s6): sv down kills a service that ignores TERM; without the file it keeps running (runit)', async () => {
  const dir = join(tempDir(), 'service');
  const a = makeService(join(dir, 'a'), { run: IGNORES_TERM, 'timeout-kill': '300\n' });
  const b = makeService(join(dir, 'b'), { run: IGNORES_TERM });
  startDetached(bin('runsvdir'), [dir]);
  const pa = await runningPid(a);
  const pb = await runningPid(b);
  // a is down once killed; b is waited for in vain until sv's timeout
  const result = run(bin('sv'), ['-w', '3', 'down', a, b]);
  assert.match(result.stdout, /^ok: down: .*\/a: \d+s, normally up$/m);
  assert.match(result.stdout, /^timeout: run: .*\/b: \(pid \d+\) \d+s, want down, got TERM$/m);
  assert.ok(gone(pa));
  assert.ok(!gone(pb));
});

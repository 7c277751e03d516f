// Scale limits (issue 12, goal 7): runsvdir's descriptor budget when
// thousands of services arrive at once, and the limits runsvdir raises at
// start-up. The budget is driven with a fake clock and a fake descriptor
// table in which a service opens part of its descriptors when it is taken
// on and the rest later (as a supervisor does: lock, control and ok at
// once; log pipe, pidfd and log files once its programs start).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { bin, tempDir, makeService, startDetached, stopAll, running, waitFor, readText, run } from './helpers.js';
import { FdBudget, FD_PER_SERVICE, PENDING_MS, reserveFor, countDescriptors } from '../dist/scanner/fd-budget.js';

/**
 * A process with `limit` descriptors, `base` of them open before any
 * service; a service opens `atOnce` when taken on and the rest of its
 * `perService` `openLaterMs` later.
 * @param {{ limit: number, base?: number, perService?: number, atOnce?: number, openLaterMs?: number }} options
 */
function world({ limit, base = 30, perService = FD_PER_SERVICE, atOnce = 5, openLaterMs = 1500 }) {
  let now = 0;
  /** @type {{ at: number, later: number }[]} admission times, when the rest is opened */
  const services = [];
  const open = () => base + services.reduce((n, s) => n + atOnce + (now - s.at >= s.later ? perService - atOnce : 0), 0);
  const budget = new FdBudget(
    () => ({ open: open(), services: services.length }),
    () => limit,
    () => now,
  );
  return {
    budget,
    open,
    services,
    /** @param {number} ms */
    advance(ms) {
      now += ms;
    },
    /** every waiting service tries again, as RestartingHost does each second */
    /** @param {number} waiting */
    tryAll(waiting) {
      let admitted = 0;
      for (let i = 0; i < waiting; i++) {
        if (budget.admit()) {
          // a busy host: the services taken on together finish opening over openLaterMs
          services.push({ at: now, later: (openLaterMs * ((admitted % 100) + 1)) / 100 });
          admitted++;
        }
      }
      return admitted;
    },
  };
}

for (const [perService, openLaterMs] of [
  [FD_PER_SERVICE, 1500],
  [16, 1500],
  [16, 25000],
  [16, 50000],
])
  test(`10,000 services arriving at once against a limit of 20,000 descriptors, each holding ${perService} (the last opened within ${openLaterMs / 1000} s): the host never runs into its limit`, () => {
    const limit = 20000;
    const w = world({ limit, perService, openLaterMs });
    let waiting = 10000;
    let highest = 0;
    // three minutes of retries, one a second, with the descriptors opened as time passes
    for (let second = 0; second < 180; second++) {
      waiting -= w.tryAll(waiting);
      for (let step = 0; step < 10; step++) {
        w.advance(100);
        highest = Math.max(highest, w.open());
      }
    }
    const held = w.open();
    assert.ok(held <= limit - reserveFor(limit), `${held} descriptors held at the end, limit ${limit}, reserve ${reserveFor(limit)}`);
    assert.ok(highest <= limit - reserveFor(limit), `at most ${highest} held at once`);
    // and the budget was not needlessly shy: the services that fit were taken on
    const fit = Math.floor((limit - reserveFor(limit) - 30) / perService);
    assert.ok(w.services.length >= fit - 2 && w.services.length <= fit, `${w.services.length} services taken on, ${fit} fit`);
    assert.equal(w.budget.descriptorsPerService, perService);
    assert.equal(waiting, 10000 - w.services.length);
  });

test('a service restarting again and again keeps no memory of its old admissions', () => {
  const w = world({ limit: 1 << 20, openLaterMs: 0 });
  for (let i = 0; i < 5000; i++) {
    assert.equal(w.tryAll(1), 1);
    w.services.pop(); // it ended: its descriptors are closed again
    w.advance(PENDING_MS / 4);
  }
  // what is still pending: the last few, not 5,000
  assert.ok(w.budget.starting <= 4, `${w.budget.starting} starting`);
  assert.ok(/** @type {any} */ (w.budget).pending.length <= 2048);
});

test('the reserve grows with the limit: 16 at 128, 400 at 20,000, at most 1,024', () => {
  assert.equal(reserveFor(128), 16);
  assert.equal(reserveFor(4096), 81);
  assert.equal(reserveFor(20000), 400);
  assert.equal(reserveFor(1 << 20), 1024);
});

test('countDescriptors counts the open descriptors and the services holding supervise/lock (log services apart)', async () => {
  const { mkdtempSync, mkdirSync, openSync, closeSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'runit-ts-fdcount-'));
  const before = countDescriptors();
  const fds = [];
  for (const name of ['a', 'b', 'c']) {
    for (const sub of ['supervise', 'log/supervise']) {
      mkdirSync(join(dir, name, sub), { recursive: true });
      writeFileSync(join(dir, name, sub, 'lock'), '');
      fds.push(openSync(join(dir, name, sub, 'lock'), 'r'));
    }
  }
  const after = countDescriptors();
  for (const fd of fds) closeSync(fd);
  assert.equal(after.open - before.open, 6);
  assert.equal(after.services - before.services, 3);
});

after(stopAll);

/** CAP_SYS_RESOURCE (bit 24) in this process's effective set: what raising a hard limit takes. */
const mayRaiseHard = (() => {
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return eff !== undefined && (BigInt(`0x${eff}`) & (1n << 24n)) !== 0n;
})();
const nrOpen = Number(readFileSync('/proc/sys/fs/nr_open', 'utf8'));
const openFiles = (/** @type {string | undefined} */ limits) =>
  /^Max open files\s+(\d+)\s+(\d+)/m
    .exec(limits ?? '')
    ?.slice(1)
    .map(Number);

test('runsvdir raises its NOFILE limit as far as it may; its services keep the soft and hard limits it was started with', async () => {
  const dir = join(tempDir(), 'service');
  makeService(join(dir, 'probe'), {
    run: '#!/bin/sh\ngrep "open files" /proc/self/limits > limits\nexec sleep 1000\n',
    'log/run': '#!/bin/sh\ngrep "open files" /proc/self/limits > limits\nexec cat\n',
  });
  const hard = Number(run('/bin/sh', ['-c', 'ulimit -Hn']).stdout.trim());
  // below nr_open, so that a privileged runsvdir has room to raise it
  const startHard = Math.min(hard, nrOpen - 1);
  const soft = Math.min(startHard, 1000) - 7;
  const runsvdir = startDetached('/bin/sh', ['-c', `ulimit -Hn ${startHard} && ulimit -Sn ${soft} && exec "$0" "$1"`, bin('runsvdir'), dir]);
  await running(join(dir, 'probe'));
  await waitFor(() => readText(join(dir, 'probe/limits')) && readText(join(dir, 'probe/log/limits')), { what: 'limits files' });
  for (const file of ['probe/limits', 'probe/log/limits']) assert.deepEqual(openFiles(readText(join(dir, file))), [soft, startHard], file);
  const own = openFiles(readText(`/proc/${runsvdir.pid}/limits`));
  // with CAP_SYS_RESOURCE up to the kernel's ceiling; without, soft up to hard
  assert.deepEqual(own, mayRaiseHard ? [nrOpen, nrOpen] : [startHard, startHard], `CAP_SYS_RESOURCE: ${mayRaiseHard}`);
});

// MAINPID= (docs/readiness.md): recorded in supervise/readiness as sent,
// reset at each start, and not followed: supervise/pid, sv status and the
// process watched stay those of the run runsv started.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { bin, tempDir, makeService, startDetached, stopAll, waitFor, run, running, supervisedPid } from './helpers.js';
import { sendDatagram } from '../dist/sys/unix-dgram.js';
import { readReadiness } from '../dist/protocol/readiness.js';

after(stopAll);

test('MAINPID= is recorded (mainpid N), not followed, and forgotten at the next start', async () => {
  const dir = makeService(join(tempDir(), 'svc'), { 'notify-socket': '', run: '#!/bin/sh\nexec sleep 100\n' });
  const runsv = startDetached(bin('runsv'), [dir]);
  const pid = await running(dir);
  const socket = join(dir, 'supervise/notify');
  await waitFor(() => existsSync(socket), { what: 'supervise/notify' });
  sendDatagram(socket, Buffer.from('MAINPID=4242\nREADY=1'));
  await waitFor(() => readReadiness(join(dir, 'supervise'))?.state === 'ready', { what: 'ready' });
  assert.equal(readReadiness(join(dir, 'supervise'))?.mainPid, 4242);
  assert.equal(supervisedPid(dir), pid);
  assert.match(run(bin('sv'), ['status', dir]).stdout, new RegExp(`^run: .*: \\(pid ${pid}\\) \\d+s, ready \\d+s\\n$`));
  // the signal goes to the run runsv started, and its exit is what counts
  run(bin('sv'), ['term', dir]);
  const next = await running(dir, { notPid: pid });
  await waitFor(() => readReadiness(join(dir, 'supervise'))?.state === 'starting', { what: 'starting again' });
  assert.equal(readReadiness(join(dir, 'supervise'))?.mainPid, undefined);
  assert.notEqual(next, pid);
  runsv.kill('SIGTERM');
  await runsv.exited;
});

// A supervisor killed with SIGKILL and started again adopts what it left
// running: no duplicate service, the log pipe recovered, no line lost.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, readdirSync, readlinkSync } from 'node:fs';
import {
  bin,
  tempDir,
  makeService,
  startDetached,
  stopAll,
  waitFor,
  readText,
  supervisedPid,
  processExists,
  processGone,
  processesWith,
  stat,
  logText,
  loggedBytes,
  bytesWritten as writtenBytes,
} from './helpers.js';

// Adopted processes stay in the process group of the runsvdir that started
// them, which stopAll no longer knows once that runsvdir was killed.
const orphans = new Set();
after(async () => {
  for (const pid of orphans) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  await stopAll();
});

/**
 * A service printing numbered lines; its run script's argv carries `marker`.
 * @param {string} dir
 * @param {string} marker
 */
function numberedService(dir, marker) {
  return makeService(dir, {
    run: `#!/bin/sh\nexec sh -c 'n=0; while :; do n=$((n+1)); echo "line $n"; sleep 0.005; done' ${marker}\n`,
    'log/run': '#!/bin/sh\nexec cat >> out\n',
  });
}

/**
 * Assert that `text` is "line 1", "line 2", ... with more than ten lines.
 * @param {string} text
 */
function assertContiguous(text) {
  const numbers = text
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.split(' ')[1]));
  assert.ok(numbers.length > 10);
  for (const [i, n] of numbers.entries()) assert.equal(n, i + 1, `line ${i + 1} lost or duplicated`);
}

test('runsvdir killed with SIGKILL three times: the service is adopted, never duplicated, no line lost', async () => {
  const base = tempDir();
  const dir = join(base, 'service');
  const marker = `marker-${process.pid}-a`;
  const svc = numberedService(join(dir, 'a'), marker);
  let host = startDetached(bin('runsvdir'), [dir]);
  const pid = await waitFor(() => stat(svc) === 'run\n' && supervisedPid(svc), { what: 'running' });
  const logPid = await waitFor(() => Number(readText(join(svc, 'log/supervise/pid')) || 0), { what: 'log running' });
  orphans.add(pid).add(logPid);
  for (let i = 0; i < 3; i++) {
    process.kill(host.pid, 'SIGKILL');
    await host.exited;
    host = startDetached(bin('runsvdir'), [dir]);
    await waitFor(() => host.output.stderr.includes(`runsv a: warning: adopted running run (pid ${pid})`), { what: 'adoption' });
    assert.deepEqual(processesWith(marker), [pid]);
  }
  assert.equal(supervisedPid(svc), pid);
  assert.equal(Number(readText(join(svc, 'log/supervise/pid'))), logPid);
  // the adopted service is still controlled: stop it, its log ends after it
  process.kill(host.pid, 'SIGTERM');
  assert.equal((await host.exited).code, 0);
  assert.deepEqual(processesWith(marker), []);
  assert.ok(processGone(logPid), 'log service ended');
  assertContiguous(readText(join(svc, 'log/out')) ?? '');
});

test('an adopted service that exits is noticed and restarted', async () => {
  const svc = numberedService(join(tempDir(), 'svc'), `marker-${process.pid}-b`);
  let runsv = startDetached(bin('runsv'), [svc]);
  const pid = await waitFor(() => stat(svc) === 'run\n' && supervisedPid(svc), { what: 'running' });
  orphans.add(pid);
  process.kill(runsv.pid, 'SIGKILL');
  await runsv.exited;
  runsv = startDetached(bin('runsv'), [svc]);
  await waitFor(() => runsv.output.stderr.includes(`adopted running run (pid ${pid})`), { what: 'adoption' });
  process.kill(pid, 'SIGKILL');
  const next = await waitFor(() => supervisedPid(svc) !== pid && stat(svc) === 'run\n' && supervisedPid(svc), { what: 'restart after adopted exit' });
  assert.notEqual(next, pid);
  assert.ok(processExists(next));
});

test('a recorded pid that is now another process is never adopted', async () => {
  const svc = makeService(join(tempDir(), 'svc'), { run: '#!/bin/sh\nexec sleep 1000\n' });
  let runsv = startDetached(bin('runsv'), [svc]);
  const pid = await waitFor(() => stat(svc) === 'run\n' && supervisedPid(svc), { what: 'running' });
  orphans.add(pid);
  process.kill(runsv.pid, 'SIGKILL');
  await runsv.exited;
  // as if the pid had been reused: same pid, another start time
  // the record in supervise/lock: `PID STARTTIME` (protocol/supervise-record.ts)
  const [, start] = (readText(join(svc, 'supervise/lock')) ?? '').split('\n')[0].split(' ');
  assert.match(start, /^\d+$/);
  writeFileSync(join(svc, 'supervise/lock'), `${pid} ${Number(start) + 1}\n`);
  runsv = startDetached(bin('runsv'), [svc]);
  const next = await waitFor(() => supervisedPid(svc) !== pid && stat(svc) === 'run\n' && supervisedPid(svc), { what: 'fresh start' });
  assert.notEqual(next, pid);
  assert.doesNotMatch(runsv.output.stderr, /adopted/);
  // the impostor was left alone
  assert.ok(processExists(pid));
  process.kill(pid, 'SIGKILL');
});

// What an in-process logger has read but not yet written dies with its host
// (README: the guarantee is for what is in the pipe), so the host is killed
// while the service is stopped and the logger has written all the service wrote.
test('in-process logger: a killed runsvdir leaves the pipe held, the service never gets SIGPIPE, what it writes meanwhile is all logged', async () => {
  const base = tempDir();
  const dir = join(base, 'service');
  const marker = `marker-${process.pid}-hosted`;
  const svc = makeService(join(dir, 'a'), {
    run: `#!/bin/sh\nexec sh -c 'n=0; while :; do n=$((n+1)); echo "line $n"; sleep 0.002; done' ${marker}\n`,
    'log/run': '#!/bin/sh\nexec svlogd ./main\n',
    'log/main/config': 's100000000\n',
  });
  let host = startDetached(bin('runsvdir'), [dir]);
  const pid = await waitFor(() => stat(svc) === 'run\n' && supervisedPid(svc), { what: 'running' });
  orphans.add(pid);
  await waitFor(() => Number(readText(join(svc, 'log/supervise/pid'))) === host.pid, { what: 'hosted logger' });
  // what the service wrote into the pipe: its writes, less the "0\n" its start wrote to cgroup.procs when it has a cgroup (docs/containment.md)
  const preamble = /^0::.*\/runit-ts\//m.test(readText(`/proc/${pid}/cgroup`) ?? '') ? 2 : 0;
  const bytesWritten = (/** @type {number} */ pid) => writtenBytes(pid) - preamble;
  // a holder process has the pipe once it settled
  const pipe = readlinkSync(`/proc/${pid}/fd/1`);
  /** @param {number} holder */
  const heldBy = (holder) => {
    try {
      return readdirSync(`/proc/${holder}/fd`).some((fd) => readlinkSync(`/proc/${holder}/fd/${fd}`) === pipe);
    } catch {
      return false;
    }
  };
  await waitFor(() => processesWith('2147483647').some(heldBy), { what: 'fd holder' });
  const logdir = join(svc, 'log/main');
  for (let i = 0; i < 2; i++) {
    // the logger has caught up when the log holds every byte the stopped service wrote
    process.kill(pid, 'SIGSTOP');
    await waitFor(() => loggedBytes(logdir) === bytesWritten(pid), { what: () => `logger caught up: ${loggedBytes(logdir)} of ${bytesWritten(pid)} bytes` });
    process.kill(host.pid, 'SIGKILL');
    await host.exited;
    const before = bytesWritten(pid);
    process.kill(pid, 'SIGCONT');
    // the service writes lines into the pipe while no supervisor runs
    await waitFor(() => bytesWritten(pid) > before + 100, { what: 'lines written without a supervisor' });
    assert.deepEqual(processesWith(marker), [pid], 'service alive without its supervisor');
    host = startDetached(bin('runsvdir'), [dir]);
    await waitFor(() => host.output.stderr.includes(`adopted running run (pid ${pid})`), { what: 'adoption' });
  }
  process.kill(host.pid, 'SIGTERM');
  assert.equal((await host.exited).code, 0);
  // an unfinished current found at start-up was kept as @....u: read all, in order
  assertContiguous(logText(logdir));
  // holders end with the runsvdir that started them
  await waitFor(() => !processesWith('2147483647').some(heldBy), { what: 'no holder left' });
});

// A supervisor killed with SIGKILL and started again adopts what it left
// running: no duplicate service, the log pipe recovered, no line lost.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, readdirSync, readlinkSync } from 'node:fs';
import { bin, tempDir, makeService, startDetached, stopAll, waitFor, readText, supervisedPid, processExists } from './helpers.js';

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

const stat = (dir) => readText(join(dir, 'supervise/stat'));

/**
 * Pids of live (non-zombie) processes whose command line contains `marker`,
 * leaving out their own children (a shell's fork before it execs `sleep`
 * still shows the shell's command line).
 */
function processesWith(marker) {
  const found = new Map();
  for (const p of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const stat = readText(`/proc/${p}/stat`) ?? '';
    if (!(readText(`/proc/${p}/cmdline`) ?? '').includes(marker) || stat.includes(') Z')) continue;
    found.set(Number(p), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  return [...found].filter(([, ppid]) => !found.has(ppid)).map(([pid]) => pid);
}

/** A service printing numbered lines; its run script's argv carries `marker`. */
function numberedService(dir, marker) {
  return makeService(dir, {
    run: `#!/bin/sh\nexec sh -c 'n=0; while :; do n=$((n+1)); echo "line $n"; sleep 0.005; done' ${marker}\n`,
    'log/run': '#!/bin/sh\nexec cat >> out\n',
  });
}

/** Waits until `file` ends with a newline and has not grown for 100 ms. */
async function caughtUp(file) {
  let last = -1;
  let since = Date.now();
  await waitFor(
    () => {
      const text = readText(file) ?? '';
      if (text.length !== last) {
        last = text.length;
        since = Date.now();
      }
      return text.endsWith('\n') && Date.now() - since >= 100;
    },
    { what: `${file} caught up` },
  );
}

function assertContiguous(path) {
  const numbers = (readText(path) ?? '')
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
  assert.ok(!processExists(logPid) || readText(`/proc/${logPid}/stat`).includes(') Z'), 'log service ended');
  assertContiguous(join(svc, 'log/out'));
});

test('an adopted service that exits is noticed at once and restarted', async () => {
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
  const [, start] = readText(join(svc, 'supervise/pidstart')).trim().split(' ');
  writeFileSync(join(svc, 'supervise/pidstart'), `${pid} ${Number(start) + 1}\n`);
  runsv = startDetached(bin('runsv'), [svc]);
  const next = await waitFor(() => supervisedPid(svc) !== pid && stat(svc) === 'run\n' && supervisedPid(svc), { what: 'fresh start' });
  assert.notEqual(next, pid);
  assert.doesNotMatch(runsv.output.stderr, /adopted/);
  // the impostor was left alone
  assert.ok(processExists(pid));
  process.kill(pid, 'SIGKILL');
});

test('in-process logger: a killed runsvdir leaves the pipe held, the service never gets SIGPIPE, no line lost', async () => {
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
  // a holder process has the pipe once it settled
  const pipe = readlinkSync(`/proc/${pid}/fd/1`);
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
    // What the logger has read but not yet written dies with its host (README:
    // the guarantee is for what is in the pipe): kill it once it has caught up.
    process.kill(pid, 'SIGSTOP');
    await caughtUp(join(logdir, 'current'));
    process.kill(host.pid, 'SIGKILL');
    await host.exited;
    process.kill(pid, 'SIGCONT');
    // the service keeps writing into the pipe while no supervisor runs
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(processesWith(marker), [pid], 'service alive without its supervisor');
    host = startDetached(bin('runsvdir'), [dir]);
    await waitFor(() => host.output.stderr.includes(`adopted running run (pid ${pid})`), { what: 'adoption' });
  }
  process.kill(host.pid, 'SIGTERM');
  assert.equal((await host.exited).code, 0);
  // an unfinished current found at start-up was kept as @....u: read all, in order
  const files = [
    ...readdirSync(logdir)
      .filter((f) => f.startsWith('@'))
      .sort(),
    'current',
  ];
  writeFileSync(join(base, 'all'), files.map((f) => readText(join(logdir, f))).join(''));
  assertContiguous(join(base, 'all'));
  // holders end with the runsvdir that started them
  await waitFor(() => !processesWith('2147483647').some(heldBy), { what: 'no holder left' });
});

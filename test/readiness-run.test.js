// Readiness wired into the supervisor (issue 13, docs/readiness.md): real
// runsv and runsvdir processes, services that say they are ready through
// s6's notification-fd or systemd's sd_notify (Debian's systemd-notify and
// raw datagrams), the watchdog, sv status and sv -w, and needs/ ordering.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { bin, debian, tempDir, makeService, startDetached, stopAll, waitFor, run, readText, running, processExists, fileLines } from './helpers.js';
import { sendDatagram } from '../dist/sys/unix-dgram.js';
import { readReadiness } from '../dist/protocol/readiness.js';

after(stopAll);

const hasSystemdNotify = spawnSync('sh', ['-c', 'command -v systemd-notify']).status === 0;

/** @param {string} dir */
const readiness = (dir) => readReadiness(join(dir, 'supervise'));

/**
 * A service directory supervised by our runsv; resolves once it runs.
 * @param {Record<string, string>} files
 */
async function supervised(files, name = 'svc') {
  const dir = makeService(join(tempDir(), name), files);
  const runsv = startDetached(bin('runsv'), [dir]);
  await running(dir);
  return { dir, runsv };
}

/**
 * A datagram to a notify socket; a full queue (net.unix.max_dgram_qlen) makes the sender wait, as a flood does.
 * @param {string} socket @param {Buffer} data
 */
async function send(socket, data) {
  await waitFor(
    () => {
      try {
        sendDatagram(socket, data);
        return true;
      } catch (err) {
        if (/** @type {NodeJS.ErrnoException} */ (err).code === 'EAGAIN') return false;
        throw err;
      }
    },
    { what: 'room in the socket queue', interval: 2 },
  );
}

/** @param {string} dir */
const svStatus = (dir) => run(bin('sv'), ['status', dir]).stdout;

test('notification-fd: ready only at the newline after other bytes; sv -w start returns then, not before', async () => {
  const dir = makeService(join(tempDir(), 'db'), {
    'notification-fd': '3\n',
    down: '',
    run: '#!/bin/sh\nprintf "no newline yet" >&3\nwhile [ ! -e go ]; do sleep 0.05; done\ntouch said-ready\necho >&3\nexec sleep 100\n',
  });
  const runsv = startDetached(bin('runsv'), [dir]);
  await waitFor(() => existsSync(join(dir, 'supervise/status')), { what: 'supervise/status' });
  const waiting = startDetached(bin('sv'), ['-w', '10', 'start', dir]);
  const pid = await running(dir);
  assert.equal(readiness(dir)?.state, 'starting');
  assert.match(svStatus(dir), /^run: .*\(pid \d+\) \d+s, normally down, starting\n$/);
  assert.equal(processExists(waiting.pid ?? 0), true, 'sv -w start still waits while the service is only running');
  writeFileSync(join(dir, 'go'), '');
  const r = await waiting.exited;
  assert.equal(r.code, 0);
  assert.ok(existsSync(join(dir, 'said-ready')), 'sv returned after the newline was written');
  assert.match(waiting.output.stdout, /^ok: run: .*, normally down, ready \ds\n$/);
  assert.equal(readiness(dir)?.state, 'ready');
  assert.equal(readText(join(dir, 'supervise/pid')), `${pid}\n`);
  // the 20-byte status is runit's: Debian's sv reads it as it always did
  const deb = run(debian('sv'), ['status', dir]);
  assert.match(deb.stdout, /^run: .*\(pid \d+\) \d+s, normally down\n$/);
  runsv.kill('SIGTERM');
  await runsv.exited;
});

test('notification-fd: end of file without a newline leaves it up, not ready; ready resets at each start', async () => {
  const { dir } = await supervised({
    'notification-fd': '3\n',
    run: '#!/bin/sh\nif [ -e ready-now ]; then echo >&3; else exec 3>&-; fi\nexec sleep 100\n',
  });
  await waitFor(() => readiness(dir)?.state === 'never', { what: 'state never' });
  assert.match(svStatus(dir), /, not ready\n$/);
  writeFileSync(join(dir, 'ready-now'), '');
  const pid = Number(readText(join(dir, 'supervise/pid')));
  run(bin('sv'), ['t', dir]);
  await running(dir, { notPid: pid });
  await waitFor(() => readiness(dir)?.state === 'ready', { what: 'ready after the restart' });
  const r = run(bin('sv'), ['-w', '5', 'restart', dir]);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /, ready \ds\n$/);
});

test('an s6-style service directory: notification-fd 5, the descriptors below it closed, ready at its newline', async () => {
  const { dir } = await supervised({
    'notification-fd': '5',
    run: '#!/bin/sh\nls /proc/$$/fd > fds\necho ready >&5\nexec sleep 100\n',
  });
  await waitFor(() => readiness(dir)?.state === 'ready', { what: 'ready' });
  assert.ok(!fileLines(join(dir, 'fds')).includes('3') && !fileLines(join(dir, 'fds')).includes('4'), 'no descriptor 3 or 4 given');
});

test('a service without readiness files: no supervise/readiness, sv status as runit prints it', async () => {
  const { dir } = await supervised({ run: '#!/bin/sh\nexec sleep 100\n' });
  assert.equal(existsSync(join(dir, 'supervise/readiness')), false);
  assert.equal(svStatus(dir), run(debian('sv'), ['status', dir]).stdout);
});

test('sd_notify with Debian systemd-notify: READY=1 and STATUS= shown by sv status', { skip: !hasSystemdNotify && 'no systemd-notify' }, async () => {
  const { dir } = await supervised({
    'notify-socket': '',
    run: '#!/bin/sh\nenv > env\nsystemd-notify --ready --status="accepting connections"\nexec sleep 100\n',
  });
  await waitFor(() => readiness(dir)?.state === 'ready', { what: 'ready' });
  const env = readFileSync(join(dir, 'env'), 'utf8');
  assert.match(env, /^NOTIFY_SOCKET=\/.*\/supervise\/notify$/m);
  assert.match(svStatus(dir), /^run: .*, ready \ds, status: accepting connections\n$/);
  assert.equal(readiness(dir)?.status, 'accepting connections');
  // runit-ts status shows it too
  const json = JSON.parse(run(bin('runit-ts'), ['status', '--json', dir]).stdout).services[0];
  assert.deepEqual([json.ready, json.readiness, json.statusText], [true, 'ready', 'accepting connections']);
  assert.match(run(bin('runit-ts'), ['status', dir]).stdout, / ready, status: accepting connections\n$/);
});

test('sd_notify raw datagrams: RELOADING then READY; garbage and oversized datagrams ignored with bounded warnings', async () => {
  const { dir, runsv } = await supervised({ 'notify-socket': '', run: '#!/bin/sh\nexec sleep 100\n' });
  const socket = join(dir, 'supervise/notify');
  await waitFor(() => existsSync(socket), { what: 'supervise/notify' });
  sendDatagram(socket, Buffer.from('READY=1\nSTATUS=one'));
  await waitFor(() => readiness(dir)?.state === 'ready', { what: 'ready' });
  sendDatagram(socket, Buffer.from('RELOADING=1\nSTATUS=reloading config'));
  await waitFor(() => readiness(dir)?.state === 'reloading', { what: 'reloading' });
  assert.match(svStatus(dir), /, reloading, status: reloading config\n$/);
  for (let i = 0; i < 20; i++) await send(socket, Buffer.from([0x52, 0x00, 0xff, 0x3d, 0x31, i]));
  await send(socket, Buffer.alloc(5000, 0x41));
  await send(socket, Buffer.from('READY=1\nSTATUS=two'));
  await waitFor(() => readiness(dir)?.state === 'ready' && readiness(dir)?.status === 'two', { what: 'ready again' });
  const warnings = runsv.output.stderr.split('\n').filter((l) => l.includes('notify:'));
  assert.ok(warnings.length >= 1 && warnings.length <= 6, runsv.output.stderr);
  assert.match(runsv.output.stderr, /runsv .*: warning: notify: datagram with NUL bytes from pid \d+: ignored/);
  assert.match(svStatus(dir), /, ready \ds, status: two\n$/);
});

test('watchdog: a ready service that misses its ping gets SIGABRT, ./finish learns why (SERVICE_RESULT=watchdog), it is restarted', async () => {
  const { dir } = await supervised({
    'notify-socket': '',
    watchdog: '0.3',
    run: '#!/bin/sh\necho "$WATCHDOG_USEC" > usec\nexec sleep 100\n',
    finish: '#!/bin/sh\necho "$1 $2 $SERVICE_RESULT" >> finished\n',
  });
  const pid = Number(readText(join(dir, 'supervise/pid')));
  await waitFor(() => readText(join(dir, 'usec')), { what: 'usec' });
  assert.equal(readText(join(dir, 'usec')), '300000\n');
  // not ready yet: no watchdog
  sendDatagram(join(dir, 'supervise/notify'), Buffer.from('READY=1'));
  await waitFor(() => readText(join(dir, 'finished')), { what: 'finish after the watchdog' });
  assert.equal(readText(join(dir, 'finished')), '-1 6 watchdog\n');
  await running(dir, { notPid: pid });
});

test('needs/ under runsvdir: b starts once a is ready (one start), stops before a', async () => {
  const base = tempDir();
  const svdir = join(base, 'service');
  const log = join(base, 'log');
  mkdirSync(svdir);
  /** @param {string} what */
  const note = (what) => `echo ${what} $(date +%s%N) >> ${log}`;
  makeService(join(svdir, 'a'), {
    'notification-fd': '3',
    run: `#!/bin/sh\n${note('a-start')}\nsleep 0.5\n${note('a-ready')}\necho >&3\nexec sleep 100\n`,
    finish: `#!/bin/sh\n${note('a-finish')}\n`,
  });
  makeService(join(svdir, 'b'), {
    'needs/a': '',
    run: `#!/bin/sh\n${note('b-start')}\nexec sleep 100\n`,
    finish: `#!/bin/sh\n${note('b-finish')}\n`,
  });
  const runsvdir = startDetached(bin('runsvdir'), [svdir]);
  await waitFor(() => existsSync(join(svdir, 'b/supervise/readiness')), { what: 'b waiting' });
  const waitingLine = run(bin('sv'), ['status', join(svdir, 'b')]).stdout;
  await waitFor(() => fileLines(log).some((l) => l.startsWith('b-start')), { what: 'b started' });
  assert.match(waitingLine, /^(down: .*, want up, waiting for a|run: .*)\n$/);
  runsvdir.kill('SIGTERM');
  await runsvdir.exited;
  const events = fileLines(log).map((l) => l.split(' ')[0]);
  assert.deepEqual(events, ['a-start', 'a-ready', 'b-start', 'b-finish', 'a-finish']);
  const at = Object.fromEntries(fileLines(log).map((l) => l.split(' ')));
  assert.ok(BigInt(at['b-start']) > BigInt(at['a-ready']));
});

test('sv -w start on a service that never becomes ready: runit-ts sv times out as runit words it; Debian sv sees it run', async () => {
  const dir = makeService(join(tempDir(), 'never'), { 'notification-fd': '3\n', down: '', run: '#!/bin/sh\nexec sleep 100\n' });
  startDetached(bin('runsv'), [dir]);
  await waitFor(() => existsSync(join(dir, 'supervise/ok')), { what: 'supervised' });
  const r = run(bin('sv'), ['-w', '1', 'start', dir]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^timeout: run: .*never: \(pid \d+\) \d+s, normally down, starting\n$/);
  // the 20-byte status is runit's: Debian's sv sees a running service
  assert.match(run(debian('sv'), ['status', dir]).stdout, /^run: .*never: \(pid \d+\) \d+s, normally down\n$/);
});

test('needs/ cycle under runsvdir: reported once, both still start', async () => {
  const svdir = join(tempDir(), 'service');
  makeService(join(svdir, 'a'), { 'needs/b': '', run: '#!/bin/sh\nexec sleep 100\n' });
  makeService(join(svdir, 'b'), { 'needs/a': '', run: '#!/bin/sh\nexec sleep 100\n' });
  const runsvdir = startDetached(bin('runsvdir'), [svdir]);
  await running(join(svdir, 'a'));
  await running(join(svdir, 'b'));
  // one line per service in the cycle, once
  const cycleLines = runsvdir.output.stderr
    .split('\n')
    .filter((l) => l.includes('cycle'))
    .sort();
  assert.deepEqual(cycleLines, [
    `runsvdir ${svdir}: warning: a: needs form a cycle: a -> b -> a: started without waiting for b`,
    `runsvdir ${svdir}: warning: b: needs form a cycle: b -> a -> b: started without waiting for a`,
  ]);
});

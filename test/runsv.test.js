// runsv integration tests: real processes in temporary service directories.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { statSync, readFileSync, writeFileSync, symlinkSync, openSync, closeSync, writeSync, constants, existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  bin,
  debian,
  tempDir,
  makeService,
  startDetached,
  stopAll,
  waitFor,
  holds,
  arrivals,
  run,
  readText,
  fileLines,
  supervisedPid,
  processExists,
  processGone,
  running,
  stat,
  statusOf,
  removeDir,
} from './helpers.js';
import { TAI_OFFSET } from '../dist/protocol/tai64n.js';

after(stopAll);

/**
 * Send control letters straight into supervise/control.
 * @param {string} dir
 * @param {string} letters
 */
function control(dir, letters) {
  const fd = openSync(join(dir, 'supervise/control'), constants.O_WRONLY | constants.O_NONBLOCK);
  writeSync(fd, letters);
  closeSync(fd);
}

/** @param {string} dir */
const status = (dir) => {
  const s = statusOf(dir);
  assert.ok(s, `${dir}/supervise/status decodes`);
  return s;
};

/** Says which signals it got; `starts` gets its pid once its traps are set. */
const TRAP_RUN = `#!/bin/sh
for s in HUP ALRM INT QUIT USR1 USR2 CONT; do trap "echo $s >> signals" $s; done
trap 'echo TERM >> signals; exit 0' TERM
echo $$ >> starts
while :; do sleep 0.1; done
`;

/**
 * A service directory with `files`, supervised by `runsv` (ours by default);
 * resolves once supervise/ is there.
 * @param {Record<string, string>} files
 * @param {{ runsv?: string }} [options]
 */
async function supervise(files, { runsv = bin('runsv') } = {}) {
  const dir = makeService(join(tempDir(), 'svc'), files);
  const child = startDetached(runsv, [dir]);
  await waitFor(() => existsSync(join(dir, 'supervise/ok')) && stat(dir), { what: 'supervise/ files' });
  return { dir, child };
}

/**
 * @param {string} dir
 * @param {number} [notPid]
 */
const runningPid = (dir, notPid = 0) => running(dir, { notPid });

/**
 * The pid of a running service once its traps are set (a signal sent
 * earlier would take its default action): TRAP_RUN and the like write their
 * pid to `starts` then.
 * @param {string} dir
 * @param {number} [notPid]
 */
async function trappingPid(dir, notPid = 0) {
  const pid = await runningPid(dir, notPid);
  await waitFor(() => fileLines(join(dir, 'starts')).includes(String(pid)), { what: `traps of ${pid} set` });
  return pid;
}

test('starts ./run and publishes supervise/ with runit modes and bytes', async () => {
  const { dir } = await supervise({ run: '#!/bin/sh\nexec sleep 1000\n' });
  const pid = await runningPid(dir);
  assert.ok(processExists(pid));
  /** @param {string} p */
  const mode = (p) => statSync(join(dir, 'supervise', p)).mode;
  assert.equal(mode('.') & 0o777, 0o700);
  for (const fifo of ['control', 'ok']) {
    assert.ok(statSync(join(dir, 'supervise', fifo)).isFIFO());
    assert.equal(mode(fifo) & 0o777, 0o600);
  }
  assert.equal(mode('lock') & 0o777, 0o600);
  assert.equal(readText(join(dir, 'supervise/pid')), `${pid}\n`);
  const s = status(dir);
  assert.equal(s.pid, pid);
  assert.equal(s.state, 1);
  assert.equal(s.wantUp, true);
  assert.equal(readFileSync(join(dir, 'supervise/status')).length, 20);
  assert.ok(Math.abs(Number(s.time.sec - TAI_OFFSET) - Date.now() / 1000) < 5);
});

test('down file: starts down, u brings it up, d sends TERM then CONT and runs finish', async () => {
  const { dir } = await supervise({
    // ends only on a CONT that comes with or after a TERM
    run: `#!/bin/sh
trap 'echo TERM >> signals; term=1' TERM
trap 'echo CONT >> signals; [ -n "$term" ] && exit 0' CONT
echo $$ >> starts
while :; do sleep 0.1; done
`,
    down: '',
    finish: '#!/bin/sh\necho "$@" >> finished\n',
  });
  assert.equal(stat(dir), 'down\n');
  assert.equal(readText(join(dir, 'supervise/pid')), '');
  control(dir, 'u');
  const pid = await trappingPid(dir);
  control(dir, 'd');
  await waitFor(() => stat(dir) === 'down\n', { what: 'down' });
  assert.deepEqual(fileLines(join(dir, 'signals')), ['TERM', 'CONT']);
  assert.deepEqual(fileLines(join(dir, 'finished')), ['0 0']);
  assert.ok(processGone(pid));
  assert.equal(status(dir).wantUp, false);
});

test('finish gets the exit code, or -1 and the signal', async () => {
  const { dir } = await supervise({
    run: '#!/bin/sh\nif [ ! -e once ]; then : > once; exit 3; fi\nexec sleep 1000\n',
    finish: '#!/bin/sh\necho "$@" >> finished\n',
  });
  await waitFor(() => fileLines(join(dir, 'finished')).length === 1, { what: 'first finish' });
  assert.deepEqual(fileLines(join(dir, 'finished')), ['3 0']);
  const pid = await runningPid(dir);
  process.kill(pid, 'SIGKILL');
  await waitFor(() => fileLines(join(dir, 'finished')).length === 2, { what: 'second finish' });
  assert.deepEqual(fileLines(join(dir, 'finished')), ['3 0', '-1 9']);
});

/** Prints 1 when a process killed by SIGABRT in the cwd dumps core here (core_pattern, limits). */
const CORE_PROBE = [
  'import os, resource, signal',
  'resource.setrlimit(resource.RLIMIT_CORE, (-1, -1))',
  'pid = os.fork()',
  'if pid == 0: os.kill(os.getpid(), signal.SIGABRT)',
  'print(int(os.WCOREDUMP(os.waitpid(pid, 0)[1])))',
].join('\n');

test('finish gets the signal + 128 when the service dumped core', async () => {
  const { dir } = await supervise({
    run: '#!/bin/sh\nulimit -c unlimited\nexec sleep 1000\n',
    finish: '#!/bin/sh\necho "$@" >> finished\nrm -f core core.*\n',
  });
  // whether this kernel writes a core for a process in that directory (core_pattern)
  const probe = spawnSync('python3', ['-c', CORE_PROBE], { cwd: dir, encoding: 'utf8' });
  const coreDumped = probe.stdout.trim() === '1';
  rmSync(join(dir, 'core'), { force: true });
  const pid = await runningPid(dir);
  process.kill(pid, 'SIGABRT');
  await waitFor(() => fileLines(join(dir, 'finished')).length === 1, { what: 'finish' });
  assert.deepEqual(fileLines(join(dir, 'finished')), [coreDumped ? '-1 134' : '-1 6']);
});

test('o runs the service once; u restarts it after it exits', async () => {
  const { dir } = await supervise({ run: '#!/bin/sh\necho run >> runs\nexit 0\n', down: '' });
  const initially = status(dir).time;
  const changed = () => {
    const { time } = status(dir);
    return time.sec !== initially.sec || time.nsec !== initially.nsec;
  };
  control(dir, 'o');
  // ./run may append to runs before the supervisor has published its start: down must be a new one
  await waitFor(() => fileLines(join(dir, 'runs')).length === 1 && stat(dir) === 'down\n' && changed(), { what: 'one run' });
  // must not happen: a restart within the throttle window (1 s) and beyond
  await holds(() => fileLines(join(dir, 'runs')).length === 1 && stat(dir) === 'down\n', 1300, 'one run, then down');
  control(dir, 'u');
  await waitFor(() => fileLines(join(dir, 'runs')).length >= 2, { what: 'restart after u' });
});

test('signal letters reach the service: h a i q 1 2 t, p/c pause flags', async () => {
  const { dir } = await supervise({ run: TRAP_RUN });
  const pid = await trappingPid(dir);
  control(dir, 'haiq12');
  await waitFor(() => fileLines(join(dir, 'signals')).length >= 6, { what: 'six signals' });
  assert.deepEqual(fileLines(join(dir, 'signals')).sort(), ['ALRM', 'HUP', 'INT', 'QUIT', 'USR1', 'USR2']);
  control(dir, 'p');
  await waitFor(() => stat(dir) === 'run, paused\n' && status(dir).paused, { what: 'paused' });
  await waitFor(() => /\) T /.test(readText(`/proc/${pid}/stat`) ?? ''), { what: 'stopped process' });
  control(dir, 'c');
  await waitFor(() => stat(dir) === 'run\n' && !status(dir).paused, { what: 'continued' });
  control(dir, 't');
  const next = await runningPid(dir, pid);
  assert.notEqual(next, pid);
  assert.ok(fileLines(join(dir, 'signals')).includes('TERM'));
});

test('k kills the service with SIGKILL; it is restarted and the state stays consistent', async () => {
  const { dir } = await supervise({ run: TRAP_RUN, finish: '#!/bin/sh\necho "$@" >> finished\n' });
  const pid = await trappingPid(dir);
  control(dir, 'k');
  const next = await runningPid(dir, pid);
  assert.notEqual(next, pid);
  assert.deepEqual(fileLines(join(dir, 'finished')), ['-1 9']);
  assert.equal(fileLines(join(dir, 'signals')).includes('TERM'), false);
});

test('custom control/t exiting 0 replaces the TERM; control/h output goes to the log', async () => {
  const { dir } = await supervise({
    run: TRAP_RUN,
    'control/t': '#!/bin/sh\necho custom-t >> custom\nexit 0\n',
    'control/h': '#!/bin/sh\necho from-control-h\nexit 1\n',
    'log/run': '#!/bin/sh\nexec cat > out\n',
  });
  await trappingPid(dir);
  control(dir, 'h');
  await waitFor(() => fileLines(join(dir, 'signals')).includes('HUP'), { what: 'HUP after control/h failed' });
  await waitFor(() => readText(join(dir, 'log/out'))?.includes('from-control-h'), { what: 'control/h output in log' });
  control(dir, 'd');
  await waitFor(() => fileLines(join(dir, 'custom')).length === 1 && stat(dir) === 'run, want down\n', { what: 'custom t' });
  assert.equal(fileLines(join(dir, 'signals')).includes('TERM'), false);
  await waitFor(() => fileLines(join(dir, 'signals')).includes('CONT'), { what: 'CONT after custom t' });
});

test('x stops the service, then its log, then runsv exits 0', async () => {
  const { dir, child } = await supervise({
    run: '#!/bin/sh\necho hello\nexec sleep 1000\n',
    'log/run': '#!/bin/sh\ncat > out\necho log-done > done\n',
  });
  await runningPid(dir);
  await waitFor(() => readText(join(dir, 'log/out')) === 'hello\n', { what: 'log line' });
  control(dir, 'x');
  const { code } = await child.exited;
  assert.equal(code, 0);
  assert.equal(readText(join(dir, 'log/done')), 'log-done\n');
  assert.equal(readText(join(dir, 'supervise/stat')), 'down\n');
  assert.equal(readText(join(dir, 'log/supervise/stat')), 'down\n');
});

test('SIGTERM acts as x', async () => {
  const { dir, child } = await supervise({ run: TRAP_RUN });
  const pid = await trappingPid(dir);
  process.kill(child.pid, 'SIGTERM');
  assert.equal((await child.exited).code, 0);
  assert.ok(fileLines(join(dir, 'signals')).includes('TERM'));
  await waitFor(() => !processExists(pid), { what: 'service gone' });
});

test('garbage on supervise/control is ignored and control still works', async () => {
  const { dir } = await supervise({ run: TRAP_RUN });
  const pid = await trappingPid(dir);
  control(dir, Buffer.from([0, 255, 10, 0x7a, 0x55, 0x44, 13]).toString('latin1'));
  control(dir, 'h');
  await waitFor(() => fileLines(join(dir, 'signals')).includes('HUP'), { what: 'HUP' });
  assert.equal(supervisedPid(dir), pid);
  assert.equal(stat(dir), 'run\n');
});

test('the restart throttle is a timer: control letters are answered while it runs', async () => {
  const { dir } = await supervise({ run: '#!/bin/sh\necho x >> runs\nexit 1\n' });
  await waitFor(() => fileLines(join(dir, 'runs')).length >= 2, { what: 'second run' });
  const t0 = Date.now();
  await waitFor(() => fileLines(join(dir, 'runs')).length >= 4, { timeout: 6000, what: 'fourth run' });
  // about once a second, never in a tight loop
  assert.ok(Date.now() - t0 >= 1500, 'restarts are throttled');
  control(dir, 'p');
  await waitFor(() => (stat(dir) ?? '').includes('paused'), { timeout: 400, what: 'paused while throttled' });
  control(dir, 'd');
  await waitFor(() => stat(dir) === 'down, paused\n', { timeout: 1500, what: 'down' });
  const count = fileLines(join(dir, 'runs')).length;
  // must not happen: a run after d, although the throttle's timer was pending
  await holds(() => fileLines(join(dir, 'runs')).length === count, 1200, `${count} runs`);
});

test("a missing ./run (and log/run) gives runit's message and is retried each second", async () => {
  const { dir, child } = await supervise({ 'log/.keep': '' });
  const message = `runsv ${dir}: fatal: unable to start ./run: file does not exist\n`;
  await waitFor(() => arrivals(child, message).length >= 2, { timeout: 4000, what: 'two messages' });
  const times = arrivals(child, message);
  for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 800, `attempt ${i + 1} after ${times[i] - times[i - 1]} ms`);
  assert.ok(child.output.stderr.includes(`runsv ${dir}: fatal: unable to start log/./run: file does not exist\n`));
});

test('a non-executable ./run: access denied', async () => {
  const dir = makeService(join(tempDir(), 'svc'), {});
  writeFileSync(join(dir, 'run'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  const child = startDetached(bin('runsv'), [dir]);
  await waitFor(() => child.output.stderr.includes('unable to start ./run: access denied'), { what: 'message' });
});

test('a second runsv on the same directory fails like runit', async () => {
  const { dir } = await supervise({ run: '#!/bin/sh\nexec sleep 1000\n' });
  const second = run(bin('runsv'), [dir]);
  assert.equal(second.code, 111);
  assert.equal(second.stderr, `runsv ${dir}: fatal: unable to lock supervise/lock: temporary failure\n`);
});

test('usage and start-up errors', () => {
  const usage = run(bin('runsv'), []);
  assert.equal(usage.code, 1);
  assert.equal(usage.stderr, 'usage: runsv dir\n\n');
  const missing = run(bin('runsv'), ['/nonexistent-dir']);
  assert.equal(missing.code, 111);
  assert.equal(missing.stderr, 'runsv /nonexistent-dir: fatal: unable to change to directory: file does not exist\n');
  const base = tempDir();
  const file = join(base, 'file');
  writeFileSync(file, '');
  assert.equal(run(bin('runsv'), [file]).code, 111);
  const plain = makeService(join(base, 'plain'), { run: '#!/bin/sh\nexec sleep 1\n', supervise: '' });
  const r = run(bin('runsv'), [plain]);
  assert.equal(r.code, 111);
  assert.equal(r.stderr, `runsv ${plain}: fatal: unable to open supervise/lock: not a directory\n`);
  const fifo = makeService(join(base, 'fifo'), { run: '#!/bin/sh\nexec sleep 1\n', 'supervise/control': '' });
  const f = run(bin('runsv'), [fifo]);
  assert.equal(f.code, 111);
  assert.equal(f.stderr, `runsv ${fifo}: fatal: supervise/control exists but is not a fifo\n`);
  removeDir(base);
});

test('supervise/ as a symlink: the target is created', async () => {
  const base = tempDir();
  const dir = makeService(join(base, 'svc'), { run: '#!/bin/sh\nexec sleep 1000\n' });
  symlinkSync('../state', join(dir, 'supervise'));
  startDetached(bin('runsv'), [dir]);
  await runningPid(dir);
  assert.ok(statSync(join(base, 'state')).isDirectory());
  assert.equal(statSync(join(base, 'state')).mode & 0o777, 0o700);
  assert.ok(existsSync(join(base, 'state/status')));
});

test('log that is not a directory: warning, service runs without log', async () => {
  const { dir, child } = await supervise({ run: '#!/bin/sh\nexec sleep 1000\n', log: 'not a dir' });
  await runningPid(dir);
  await waitFor(() => child.output.stderr.includes(`runsv ${dir}: warning: ./log: not a directory.\n`), { what: 'warning' });
});

test('log service: cwd log/, stdin from the pipe; log/down starts it down', async () => {
  const { dir } = await supervise({
    run: '#!/bin/sh\necho line1\nexec sleep 1000\n',
    'log/run': '#!/bin/sh\npwd > cwd\nexec cat > out\n',
    'log/down': '',
  });
  await runningPid(dir);
  assert.equal(readText(join(dir, 'log/supervise/stat')), 'down\n');
  assert.equal(existsSync(join(dir, 'log/supervise/pid')), false);
  control(join(dir, 'log'), 'u');
  await waitFor(() => readText(join(dir, 'log/out')) === 'line1\n', { what: 'buffered line reaches the log' });
  assert.equal(readText(join(dir, 'log/cwd')), `${join(dir, 'log')}\n`);
});

test('no line lost: 20 restarts of the service while its log restarts too', async () => {
  const { dir } = await supervise({
    // TERM ends the loop between two lines; a write that TERM interrupts
    // (full pipe) fails whole and is not counted: each number printed once
    run: `#!/bin/sh
trap 'stop=1' TERM
n=$(cat n 2>/dev/null || echo 0)
while [ -z "$stop" ]; do m=$((n+1)); echo "line $m" 2>/dev/null || continue; n=$m; echo $n > n.new; mv n.new n; done
`,
    // reads byte by byte (never more than a line) and exits every 300 lines
    'log/run': '#!/bin/sh\ni=0\nwhile IFS= read -r l; do echo "$l" >> out; i=$((i+1)); [ $i -ge 300 ] && exit 0; done\n',
  });
  let pid = await runningPid(dir);
  const written = () => Number(readText(join(dir, 'n')) || 0);
  for (let i = 0; i < 20; i++) {
    // each run writes before it is stopped, so every restart cuts a stream of lines
    const before = written();
    await waitFor(() => written() > before, { what: `run ${i + 1} writing` });
    control(dir, 't');
    pid = await runningPid(dir, pid);
  }
  control(dir, 'x');
  await waitFor(() => readText(join(dir, 'supervise/stat')) === 'down\n' && readText(join(dir, 'log/supervise/stat')) === 'down\n', {
    timeout: 20000,
    what: 'everything down',
  });
  const last = Number(readText(join(dir, 'n')));
  const got = fileLines(join(dir, 'log/out'));
  assert.ok(last > 20, `last ${last}, got ${got.length}`);
  assert.equal(got.length, last);
  for (const [i, line] of got.entries()) assert.equal(line, `line ${i + 1}`);
});

test('interop: Debian sv controls a service under runit-ts runsv', async () => {
  const { dir } = await supervise({ run: '#!/bin/sh\nexec sleep 1000\n', 'log/run': '#!/bin/sh\nexec cat > out\n' });
  await runningPid(dir);
  /** @param {string[]} a */
  const sv = (...a) => run(debian('sv'), a);
  assert.match(sv('status', dir).stdout, /^run: \/.*: \(pid \d+\) \d+s; run: log: \(pid \d+\) \d+s\n$/);
  const down = sv('-w', '5', 'down', dir);
  assert.equal(down.code, 0);
  assert.match(down.stdout, /^ok: down: .*: \d+s, normally up\n$/);
  const up = sv('-w', '5', 'up', dir);
  assert.match(up.stdout, /^ok: run: .*: \(pid \d+\) \d+s\n$/);
  const exit = sv('-w', '5', 'exit', dir);
  assert.equal(exit.code, 0);
  assert.equal(exit.stdout, `ok: ${dir}: runsv not running\n`);
});

test('the service gets the soft RLIMIT_NOFILE runsv was started with, not the one Node raised', async () => {
  const dir = makeService(join(tempDir(), 'svc'), {
    run: '#!/bin/sh\ngrep "open files" /proc/self/limits > limits\nenv > env\nexec sleep 1000\n',
  });
  const hard = run('/bin/sh', ['-c', 'ulimit -Hn']).stdout.trim();
  const soft = hard === 'unlimited' ? 1000 : Math.min(Number(hard), 1000) - 7;
  startDetached('/bin/sh', ['-c', `ulimit -Sn ${soft} && exec "$0" "$1"`, bin('runsv'), dir]);
  await waitFor(() => readText(join(dir, 'env')), { what: 'service env' });
  assert.match(readText(join(dir, 'limits')) ?? '', new RegExp(`^Max open files\\s+${soft}\\s`));
  assert.doesNotMatch(readText(join(dir, 'env')) ?? '', /RUNIT_TS/);
});

// runit-ts's svlogd on its own: signals, time rotation, the deliberate
// differences from runit (named as in docs/differences.md), nothing lost
// through rotation and processors, a full disk, and the engine hosted in
// this very process.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdirSync, writeFileSync, readFileSync, statSync, rmSync, existsSync, closeSync, fstatSync, writeSync } from 'node:fs';
import fsCjs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { bin, debian, isRoot, tempDir, smallDisk, startWithInput, stopAll, waitFor, holds, arrivals, oldFiles, logText } from './helpers.js';
import { Logger } from '../dist/logger/logger.js';
import { pipe } from '../dist/sys/fd.js';

/** @typedef {import('./helpers.js').Detached} Detached */

after(stopAll);

const base = () => tempDir('svlogd-');

/**
 * A log directory `name` under `root`, with `config` when given.
 * @param {string} root
 * @param {string} [name]
 * @param {string} [config]
 */
function logDir(root, name = 'log', config) {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  if (config !== undefined) writeFileSync(join(d, 'config'), config);
  return d;
}

const old = oldFiles;
/** @param {string} path */
const read = (path) => readFileSync(path, 'latin1');

/**
 * Start bin/svlogd reading a pipe we write to.
 * @param {string} root
 * @param {string[]} args
 */
const svlogd = (root, args) => startWithInput(bin('svlogd'), args, { cwd: root });

/**
 * @param {Detached} child
 * @param {string} text
 */
const stderrHas = (child, text) => waitFor(() => child.output.stderr.includes(text), { what: JSON.stringify(text), timeout: 10000 });

test('EOF: everything written, current complete (0744), exit 0', async () => {
  const root = base();
  const dir = logDir(root);
  const child = svlogd(root, ['-v', 'log']);
  child.stdin.end('a\nb\n');
  assert.deepEqual(await child.exited, { code: 0, signal: null });
  assert.equal(read(join(dir, 'current')), 'a\nb\n');
  assert.equal(statSync(join(dir, 'current')).mode & 0o777, 0o744);
  assert.equal(child.output.stderr, 'svlogd: info: new: log/current\nsvlogd: info: close: log\n');
});

test('input from a regular file and from /dev/null', () => {
  const root = base();
  logDir(root);
  writeFileSync(join(root, 'in'), 'x\ny\n');
  let r = spawnSync('/bin/sh', ['-c', `"$0" log < in`, bin('svlogd')], { cwd: root });
  assert.equal(r.status, 0);
  r = spawnSync('/bin/sh', ['-c', `"$0" log < /dev/null`, bin('svlogd')], { cwd: root });
  assert.equal(r.status, 0);
  assert.equal(read(join(root, 'log/current')), 'x\ny\n');
});

test('svlogd-term-line: TERM in the middle of a line waits for its end and writes it (runit dropped it)', async () => {
  const root = base();
  const dir = logDir(root);
  const child = svlogd(root, ['-v', 'log']);
  await stderrHas(child, 'new: log/current');
  // one write: once its complete line is in current, svlogd holds the partial one
  child.stdin.write('one\npartial');
  await waitFor(() => read(join(dir, 'current')) === 'one\n', { what: 'the complete line written' });
  process.kill(child.pid, 'SIGTERM');
  await stderrHas(child, 'sigterm received.');
  child.stdin.write(' end\nafter\n');
  assert.deepEqual(await child.exited, { code: 0, signal: null });
  assert.equal(read(join(dir, 'current')), 'one\npartial end\nafter\n');
});

test('svlogd-term-line: TERM with a line that never ends: it gets a newline within about a second', async () => {
  const root = base();
  const dir = logDir(root);
  const child = svlogd(root, ['log']);
  await waitFor(() => existsSync(join(dir, 'current')), { what: 'current' });
  // one write: once its complete line is in current, svlogd holds the unfinished one
  child.stdin.write('complete\nunfinished');
  await waitFor(() => read(join(dir, 'current')) === 'complete\n', { what: 'the complete line written' });
  const start = Date.now();
  process.kill(child.pid, 'SIGTERM');
  assert.deepEqual(await child.exited, { code: 0, signal: null });
  assert.ok(Date.now() - start < 3000);
  assert.equal(read(join(dir, 'current')), 'complete\nunfinished\n');
});

test('TERM between lines: exits 0 with everything written, current complete (0744)', async () => {
  const root = base();
  const dir = logDir(root);
  const child = svlogd(root, ['log']);
  child.stdin.write('l1\nl2\n');
  await waitFor(() => existsSync(join(dir, 'current')) && read(join(dir, 'current')) === 'l1\nl2\n', { what: 'both lines' });
  process.kill(child.pid, 'SIGTERM');
  assert.deepEqual(await child.exited, { code: 0, signal: null });
  assert.equal(read(join(dir, 'current')), 'l1\nl2\n');
  assert.equal(statSync(join(dir, 'current')).mode & 0o777, 0o744);
});

test('HUP: current closed (0744) and reopened, config read again', async () => {
  const root = base();
  const dir = logDir(root, 'log', 'pA:\n');
  const child = svlogd(root, ['-v', 'log']);
  child.stdin.write('first\n');
  await waitFor(() => existsSync(join(dir, 'current')) && read(join(dir, 'current')) === 'A:first\n', { what: 'first line' });
  writeFileSync(join(dir, 'config'), 'pB:\n');
  process.kill(child.pid, 'SIGHUP');
  await stderrHas(child, 'append: log/current');
  child.stdin.end('second\n');
  assert.equal((await child.exited).code, 0);
  assert.equal(read(join(dir, 'current')), 'A:first\nB:second\n');
  assert.equal(
    child.output.stderr,
    ['read: log/config', 'new: log/current', 'sighangup received.', 'close: log', 'read: log/config', 'append: log/current', 'close: log']
      .map((l) => `svlogd: info: ${l}\n`)
      .join(''),
  );
});

test('HUP when no directory can be opened any more: fatal, exit 111', async () => {
  const root = base();
  const dir = logDir(root);
  const child = svlogd(root, ['log']);
  await waitFor(() => existsSync(join(dir, 'current')), { what: 'current' });
  rmSync(dir, { recursive: true });
  writeFileSync(dir, 'now a file');
  process.kill(child.pid, 'SIGHUP');
  assert.deepEqual(await child.exited, { code: 111, signal: null });
  assert.equal(child.output.stderr, 'svlogd: warning: unable to change directory: log: not a directory\nsvlogd: fatal: no functional log directories.\n');
});

test('ALRM: rotates a non-empty current, leaves an empty one', async () => {
  const root = base();
  const dir = logDir(root);
  const child = svlogd(root, ['-v', 'log']);
  child.stdin.write('before\n');
  await waitFor(() => existsSync(join(dir, 'current')) && read(join(dir, 'current')) === 'before\n', { what: 'first line' });
  process.kill(child.pid, 'SIGALRM');
  await waitFor(() => old(dir).length === 1, { what: 'rotation' });
  process.kill(child.pid, 'SIGALRM');
  await waitFor(() => child.output.stderr.split('sigalarm received.').length === 3, { what: 'second ALRM' });
  child.stdin.end('after\n');
  assert.equal((await child.exited).code, 0);
  const [rotated] = old(dir);
  assert.match(rotated, /^@4[0-9a-f]{23}\.s$/);
  assert.equal(statSync(join(dir, rotated)).mode & 0o777, 0o744);
  assert.equal(read(join(dir, rotated)), 'before\n');
  assert.equal(read(join(dir, 'current')), 'after\n');
  assert.equal(old(dir).length, 1);
  assert.match(child.output.stderr, /svlogd: info: rename: log\/current @4[0-9a-f]{23}\.s 7\n/);
});

test('t: a non-empty current is rotated when its time is up', async () => {
  const root = base();
  const dir = logDir(root, 'log', 't1\n');
  const child = svlogd(root, ['log']);
  child.stdin.write('tick\n');
  await waitFor(() => old(dir).length === 1, { timeout: 5000, what: 'time rotation' });
  assert.equal(read(join(dir, old(dir)[0])), 'tick\n');
  // must not happen: a rotation of the empty current, within one and a half periods
  await holds(() => old(dir).length === 1, 1500, 'one old file');
  child.stdin.end();
  assert.equal((await child.exited).code, 0);
});

test('svlogd-remove-all-excess: n removes every old file over the limit (runit removed one per rotation)', () => {
  const root = base();
  /** @type {Record<string, string[]>} */
  const results = {};
  for (const [who, file] of [
    ['theirs', debian('svlogd')],
    ['ours', bin('svlogd')],
  ]) {
    // -l 5, s20: a rotation once 15 bytes are in, after the second line
    const dir = logDir(root, who, 's20\nn2\n');
    for (let i = 1; i <= 5; i++) writeFileSync(join(dir, `@40000000000000000000000${i}.s`), `old ${i}\n`, { mode: 0o744 });
    const r = spawnSync(file, ['-l', '5', who], { cwd: root, input: '123456789\n123456789\n' });
    assert.equal(r.status, 0);
    results[who] = old(dir);
  }
  assert.equal(results.theirs.length, 5, 'runit: 5 old + 1 new, one deleted');
  assert.equal(results.ours.length, 2);
  assert.equal(read(join(root, 'ours', results.ours[1])), '123456789\n123456789\n');
});

test('svlogd-processor-throttle: a failing processor is restarted at most once a second, and given up at the end', async () => {
  const root = base();
  const dir = logDir(root, 'log', '!echo failing >&2; exit 1\n');
  const child = svlogd(root, ['log']);
  child.stdin.write('x\n');
  await waitFor(() => existsSync(join(dir, 'current')) && read(join(dir, 'current')) === 'x\n', { what: 'the line' });
  process.kill(child.pid, 'SIGALRM');
  // each start fails at once: the failures come as often as the restarts
  const failed = 'svlogd: warning: processor failed, restart: log\n';
  await waitFor(() => arrivals(child, failed).length >= 3, { what: 'three failures of the processor', timeout: 10000 });
  const times = arrivals(child, failed);
  for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 800, `restart ${i} after ${times[i] - times[i - 1]} ms`);
  child.stdin.end();
  assert.equal((await child.exited).code, 0);
  assert.match(child.output.stderr, /svlogd: warning: processor failed, left unprocessed: log\/@4[0-9a-f]{23}\.u\n$/);
  const [u] = old(dir);
  assert.match(u, /\.u$/);
  assert.equal(read(join(dir, u)), 'x\n', 'the unprocessed file is kept');
});

test('svlogd-processor-signal: a processor killed by a signal has failed; runit took it for success', () => {
  const root = base();
  /** @type {Record<string, string[][]>} */
  const results = {};
  for (const [who, file] of [
    ['theirs', debian('svlogd')],
    ['ours', bin('svlogd')],
  ]) {
    const dir = logDir(root, who, 's10\n!head -c 3; kill -9 $$\n');
    const r = spawnSync(file, ['-l', '5', who], { cwd: root, input: 'some line\n', timeout: 20000 });
    assert.equal(r.status, 0);
    results[who] = old(dir).map((n) => [n.slice(-1), read(join(dir, n))]);
  }
  assert.deepEqual(results.theirs, [['s', 'som']], 'runit kept the truncated output and removed the input');
  assert.deepEqual(results.ours, [['u', 'some line\n']]);
});

test('svlogd-processor-queue: a hanging processor does not stop logging; rotated files wait for it', async () => {
  const root = base();
  const dir = logDir(root, 'log', 's100\nn2\n!sleep 1000\n');
  const child = svlogd(root, ['log']);
  for (let i = 0; i < 10; i++) child.stdin.write(`${String(i).padStart(40, '-')}\n`);
  await waitFor(() => old(dir).length >= 4, { what: 'rotations while the processor hangs' });
  child.stdin.write('still logging\n');
  await waitFor(() => existsSync(join(dir, 'current')) && read(join(dir, 'current')).includes('still logging\n'), { what: 'the new line' });
  // all waiting files are kept whatever n says: they are not processed yet
  const lines = [...old(dir), 'current'].map((n) => read(join(dir, n))).join('');
  for (let i = 0; i < 10; i++) assert.ok(lines.includes(`${String(i).padStart(40, '-')}\n`));
});

test('no line lost: 1 000 000 numbered lines through s100000 with a processor', { timeout: 300000 }, async () => {
  const root = base();
  const dir = logDir(root, 'log', 's100000\nn0\n!tr 0-9 a-j\n');
  const r = spawnSync('/bin/sh', ['-c', `seq -f 'line %07.0f' 1 1000000 | "$0" log`, bin('svlogd')], { cwd: root, timeout: 280000 });
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(r.stderr.toString(), '');
  const names = old(dir);
  assert.ok(names.length >= 120, `${names.length} rotations`);
  assert.deepEqual(
    names.filter((n) => !n.endsWith('.s')),
    [],
    'every rotated file processed',
  );
  /** @param {string} c */
  const digit = (c) => c.charCodeAt(0) - 97;
  let expect = 1;
  for (const name of names) {
    for (const line of read(join(dir, name)).split('\n').slice(0, -1)) {
      const n = Number([...line.slice(5)].map(digit).join(''));
      assert.equal(n, expect, `${name}: ${line}`);
      expect++;
    }
  }
  for (const line of read(join(dir, 'current')).split('\n').slice(0, -1)) {
    assert.equal(line, `line ${String(expect).padStart(7, '0')}`);
    expect++;
  }
  assert.equal(expect, 1000001);
});

test('full disk: svlogd pauses, continues once space is freed, every line arrives', { skip: !isRoot && 'needs root (mount)' }, async (t) => {
  const disk = smallDisk('256k');
  if (!disk) return t.skip('mount failed');
  try {
    const dir = logDir(disk.mnt, 'log', 's40000\nn100\n');
    writeFileSync(join(disk.mnt, 'filler'), Buffer.alloc(150 * 1024));
    const child = svlogd(disk.mnt, ['log']);
    let input = '';
    for (let i = 1; i <= 30000; i++) input += `${i}\n`;
    child.stdin.end(input);
    await stderrHas(child, 'svlogd: pausing: unable to write to current: log: out of disk space\n');
    rmSync(join(disk.mnt, 'filler'));
    assert.deepEqual(await child.exited, { code: 0, signal: null });
    const lines = logText(dir, '.s').split('\n').slice(0, -1);
    assert.equal(lines.length, 30000);
    for (const [i, l] of lines.entries()) assert.equal(l, String(i + 1));
  } finally {
    await stopAll();
    disk.unmount();
  }
});

test('svlogd-term-paused: TERM while pausing on a full disk ends after one more try, saying how many bytes were not written', {
  skip: !isRoot && 'needs root (mount)',
}, async (t) => {
  const disk = smallDisk('256k');
  if (!disk) return t.skip('mount failed');
  try {
    const dir = logDir(disk.mnt, 'log', 's0\n');
    writeFileSync(join(disk.mnt, 'filler'), Buffer.alloc(200 * 1024));
    const child = svlogd(disk.mnt, ['log']);
    const line = `${'y'.repeat(99)}\n`;
    const total = 1000 * line.length;
    child.stdin.write(line.repeat(1000));
    await stderrHas(child, 'pausing: unable to write to current: log: out of disk space');
    const start = Date.now();
    process.kill(child.pid, 'SIGTERM');
    assert.deepEqual(await child.exited, { code: 0, signal: null });
    assert.ok(Date.now() - start < 6000, 'bounded');
    const written = statSync(join(dir, 'current')).size;
    const m = /svlogd: warning: giving up after sigterm, (\d+) bytes not written: log: out of disk space\n$/.exec(child.output.stderr);
    assert.ok(m, child.output.stderr);
    assert.equal(Number(m[1]), total - written);
  } finally {
    await stopAll();
    disk.unmount();
  }
});

test('in-process: two Loggers on one event loop, rotate(), terminate(), keepInput', async () => {
  const root = base();
  /** @type {string[]} */
  const messages = [];
  /** @type {import('../dist/logger/report.js').Reporter} */
  const reporter = {
    info: (t) => messages.push(`info: ${t}`),
    warning: (t) => messages.push(`warning: ${t}`),
    pausing: (t) => messages.push(`pausing: ${t}`),
    fatal: (t) => messages.push(`fatal: ${t}`),
    alert: (d) => messages.push(`alert: ${d}`),
  };
  const a = pipe();
  const b = pipe();
  logDir(root, 'a', 'e*!*\n');
  logDir(root, 'b');
  const la = new Logger({ input: a.read, dirs: ['a'], cwd: root, timestamp: 2, reporter });
  const lb = new Logger({ input: b.read, keepInput: true, dirs: ['b'], cwd: root, verbose: true, reporter });
  la.start();
  lb.start();
  writeSync(a.write, 'hello\nalert!\n');
  writeSync(b.write, 'first\n');
  await waitFor(() => existsSync(join(root, 'b/current')) && read(join(root, 'b/current')) === 'first\n', { what: 'b: first line' });
  lb.rotate();
  await waitFor(() => old(join(root, 'b')).length === 1, { what: 'b rotated' });
  writeSync(b.write, 'second\nunfinished');
  await waitFor(() => existsSync(join(root, 'a/current')) && read(join(root, 'a/current')).split('\n').length === 3, { what: 'a: both lines' });
  closeSync(a.write);
  assert.deepEqual(await la.done, { code: 0, killed: false });
  lb.terminate();
  assert.deepEqual(await lb.done, { code: 0, killed: false });
  assert.match(read(join(root, 'a/current')), /^\d{4}-\d\d-\d\d_[\d:.]+ hello\n\d{4}-\d\d-\d\d_[\d:.]+ alert!\n$/);
  assert.ok(messages.some((m) => /^alert: \d{4}-.* alert!\n$/.test(m)));
  assert.equal(read(join(root, 'b/current')), 'second\nunfinished\n');
  assert.ok(messages.includes('info: close: b'));
  // keepInput: the pipe is still open for its owner
  assert.ok(fstatSync(b.read).isFIFO());
  closeSync(b.read);
  closeSync(b.write);
});

test("rotation: the old files one rotation removes are gone before the next renames, even with a slow unlink (-v lines in runit's order)", async (t) => {
  const root = base();
  logDir(root, 'log', 's200\nn2\n');
  // the engine's fs calls see this through the module namespace
  const realUnlink = fsCjs.unlink;
  // (a slow unlink is what this test is about, not a wait)
  fsCjs.unlink = /** @type {typeof fsCjs.unlink} */ ((path, cb) => void setTimeout(() => realUnlink(path, cb), 30));
  syncBuiltinESMExports();
  t.after(() => {
    fsCjs.unlink = realUnlink;
    syncBuiltinESMExports();
  });
  /** @type {string[]} */
  const messages = [];
  /** @type {import('../dist/logger/report.js').Reporter} */
  const reporter = {
    info: (m) => messages.push(m),
    warning: (m) => messages.push(`warning: ${m}`),
    pausing: (m) => messages.push(`pausing: ${m}`),
    fatal: (m) => messages.push(`fatal: ${m}`),
    alert: () => {},
  };
  const p = pipe();
  const logger = new Logger({ input: p.read, dirs: ['log'], cwd: root, verbose: true, reporter });
  logger.start();
  let input = '';
  for (let i = 0; i < 100; i++) input += `line ${String(i).padStart(3, '0')} ${'x'.repeat(40)}\n`;
  writeSync(p.write, input);
  closeSync(p.write);
  assert.deepEqual(await logger.done, { code: 0, killed: false });
  const steps = messages.filter((m) => /^(rename|delete): /.test(m)).map((m) => m.slice(0, 6));
  const renames = steps.filter((m) => m === 'rename').length;
  assert.ok(renames > 10, `${renames} rotations`);
  // n2: from the third rotation on, each rename is followed by the one deletion it makes
  const expected = [];
  for (let k = 1; k <= renames; k++) expected.push('rename', ...(k > 2 ? ['delete'] : []));
  assert.deepEqual(steps, expected);
  assert.equal(old(join(root, 'log')).length, 2);
});

test('bin/svlogd: Node does not load NODE_EXTRA_CA_CERTS; processors get it as svlogd was given it (set, empty, unset)', () => {
  for (const value of ['/nonexistent/extra-ca.pem', '', undefined]) {
    const root = base();
    const dir = logDir(root, 'log', 's10\n!echo "[${NODE_EXTRA_CA_CERTS-unset}]"; cat >/dev/null\n');
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    if (value !== undefined) env.NODE_EXTRA_CA_CERTS = value;
    const r = spawnSync(bin('svlogd'), ['-l', '5', 'log'], { cwd: root, input: 'some line\n', env });
    assert.equal(r.status, 0, r.stderr.toString());
    // Node warns when it cannot load the file: it never tried
    assert.equal(r.stderr.toString(), '');
    const [processed] = old(dir);
    assert.equal(read(join(dir, processed)), `[${value ?? 'unset'}]\n`);
  }
});

test('processors start with the NOFILE limit svlogd was started with (Node raises its own)', () => {
  const root = base();
  const dir = logDir(root, 'log', 's10\n!ulimit -n; cat >/dev/null\n');
  const r = spawnSync('/bin/sh', ['-c', 'ulimit -n 512 && printf "some line\\n" | "$0" -l 5 log', bin('svlogd')], { cwd: root });
  assert.equal(r.status, 0, r.stderr.toString());
  const [processed] = old(dir);
  assert.equal(read(join(dir, processed)), '512\n');
});

// Differential tests: Debian's /usr/bin/sv and our bin/sv on identical
// service directories (one copy each, same relative names through $SVDIR);
// stdout (pids and seconds masked), stderr and exit codes must match.
// Deliberate differences are tested in sv-differences.test.js.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, symlinkSync, rmSync, chmodSync } from 'node:fs';
import {
  bin,
  debian,
  tempDir,
  makeService,
  startDetached,
  stopAll,
  waitFor,
  readText,
  normalizeSv,
  removeDir,
  statusRecord as record,
  craftSupervise,
} from './helpers.js';

/**
 * @typedef {'deb' | 'our'} Side
 * @typedef {{ code: number, stdout: string, stderr: string }} Result
 * @typedef {{ env?: Record<string, string>, cwd?: string, prog?: string }} SvOptions
 */

after(stopAll);

/** @type {Side[]} */
const ROOTS = ['deb', 'our'];
const SV = { deb: debian('sv'), our: bin('sv') };
const RUN = '#!/bin/sh\nexec sleep 1000\n';

/**
 * Two empty roots, deb/ and our/, each later holding a service `svc`.
 * @param {import('node:test').TestContext} t
 */
function roots(t) {
  const base = tempDir('sv-diff-');
  for (const r of ROOTS) mkdirSync(join(base, r));
  t.after(async () => {
    await stopAll();
    removeDir(base);
  });
  return base;
}

function cleanEnv(extra = {}) {
  const env = { ...process.env };
  delete env.SVWAIT;
  delete env.SVDIR;
  return { ...env, ...extra };
}

/**
 * Run one side: SVDIR is that side's root, cwd too unless given.
 * @param {string} base
 * @param {Side} side
 * @param {string[]} args
 * @param {SvOptions} [options]
 * @returns {Promise<Result>}
 */
function sv(base, side, args, { env = {}, cwd = '', prog } = {}) {
  const file = prog ? join(base, `${side}-bin`, prog) : SV[side];
  return new Promise((resolve) => {
    execFile(file, args, { cwd: join(base, side, cwd), env: cleanEnv({ SVDIR: join(base, side), ...env }) }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** @param {Result} r */
const norm = (r) => ({ code: r.code, stdout: normalizeSv(r.stdout), stderr: r.stderr });

/**
 * Run Debian's sv and ours at the same time, each on its own copy; they must agree.
 * @param {string} base
 * @param {string[]} args
 * @param {SvOptions} [options]
 */
async function both(base, args, options) {
  const [deb, our] = (await Promise.all([sv(base, 'deb', args, options), sv(base, 'our', args, options)])).map(norm);
  assert.deepEqual(our, deb, `sv ${args.join(' ')}`);
  return our;
}

/**
 * The same service files in both roots.
 * @param {string} base
 * @param {Record<string, string>} files
 * @param {string} [name]
 */
function services(base, files, name = 'svc') {
  for (const r of ROOTS) makeService(join(base, r, name), files);
}

/**
 * The same hand-written supervise/ in `sub` of both roots (helpers craftSupervise).
 * @param {string} base
 * @param {string} sub
 * @param {Parameters<typeof craftSupervise>[1]} [files]
 */
function craft(base, sub, files) {
  for (const r of ROOTS) craftSupervise(join(base, r, sub), files);
}

/**
 * @param {string} base
 * @param {Side} side
 * @param {string} [sub]
 */
const sent = (base, side, sub = 'svc') => readFileSync(join(base, side, sub, 'supervise/control'), 'latin1');
/**
 * @param {string} base
 * @param {string} [sub]
 */
const resetControl = (base, sub = 'svc') => {
  for (const r of ROOTS) writeFileSync(join(base, r, sub, 'supervise/control'), '');
};

/**
 * Debian's runsv on `svc` in both roots; wait until stat reads `ready`.
 * @param {string} base
 * @param {Record<string, string>} files
 * @param {string} [ready]
 */
async function supervised(base, files, ready = 'run\n') {
  services(base, files);
  for (const r of ROOTS) startDetached(debian('runsv'), ['svc'], { cwd: join(base, r) });
  for (const r of ROOTS) {
    const dir = join(base, r, 'svc');
    await waitFor(() => readText(join(dir, 'supervise/stat')) === ready, { what: `${r} ${ready.trim()}` });
    if (files['log/run']) await waitFor(() => readText(join(dir, 'log/supervise/stat')) === 'run\n', { what: `${r} log` });
  }
}

/**
 * @param {string} base
 * @param {string} stat
 */
const settle = (base, stat) =>
  Promise.all(ROOTS.map((r) => waitFor(() => readText(join(base, r, 'svc/supervise/stat')) === stat, { what: `${r} ${stat.trim()}` })));

test('usage, option errors and usage exit codes', async (t) => {
  const base = roots(t);
  for (const args of [
    [],
    ['status'],
    ['-x', 'status', 'svc'],
    ['-w'],
    ['-vq'],
    ['bogus', 'svc'],
    ['rr', 'svc'],
    ['force-x', 'svc'],
    ['U', 'svc'],
    ['', 'svc'],
  ]) {
    const r = await both(base, args);
    assert.equal(r.code, 100);
    assert.match(r.stderr, /usage: sv \[-v\] \[-w sec\] command service \.\.\.\n\n$/);
  }
  assert.equal((await both(base, ['-x'])).stderr, 'sv: illegal option -- x\nusage: sv [-v] [-w sec] command service ...\n\n');
  assert.equal((await both(base, ['-v', '-w'])).stderr, 'sv: option requires an argument -- w\nusage: sv [-v] [-w sec] command service ...\n\n');
});

test('missing services, SVDIR and relative names, exit code counts and cap at 99', async (t) => {
  const base = roots(t);
  services(base, { run: RUN });
  craft(base, 'svc', { status: record({ state: 1, pid: 77 }) });
  assert.equal((await both(base, ['status', 'nosuch'])).stdout, 'fail: nosuch: unable to change to service directory: file does not exist\n');
  assert.equal((await both(base, ['status', 'svc', './svc', 'svc/', './nosuch', 'nosuch/', ''])).code, 3);
  assert.equal((await both(base, ['status', 'svc'], { env: { SVDIR: '/nonexistent' } })).code, 1);
  assert.equal((await both(base, ['status', 'svc'], { env: { SVDIR: '' } })).code, 1);
  // SVDIR without a trailing slash, a plain file as service, a name under a file
  writeFileSync(join(base, 'deb', 'file'), '');
  writeFileSync(join(base, 'our', 'file'), '');
  assert.equal((await both(base, ['status', 'file', 'file/x', 'svc'])).code, 2);
  const many = Array.from({ length: 120 }, (_, i) => `n${i}`);
  assert.equal((await both(base, ['up', ...many])).code, 99);
});

test('status of crafted status records (states, flags, down file, log, long record)', async (t) => {
  const base = roots(t);
  services(base, { run: RUN, 'log/run': RUN });
  const cases = [
    { state: 1, pid: 1234 },
    { state: 1, pid: 1234, paused: 1, want: 'd', term: 1 },
    { state: 2, pid: 99, want: 'd' },
    { state: 0, want: 'u' },
    { state: 0, want: 'd' },
    { state: 0, pid: 5, paused: 3, term: 2 },
    { state: 7, pid: 0, want: 'x' },
    { state: 1, pid: 1, ago: -100 },
    { state: 1, pid: 4242, extra: 5 },
  ];
  for (const c of cases) {
    for (const sub of ['svc', 'svc/log']) craft(base, sub, { status: record(c) });
    await both(base, ['status', 'svc']);
    for (const r of ROOTS) writeFileSync(join(base, r, 'svc/down'), '');
    for (const r of ROOTS) writeFileSync(join(base, r, 'svc/log/down'), '');
    await both(base, ['status', 'svc']);
    for (const r of ROOTS) rmSync(join(base, r, 'svc/down'));
    for (const r of ROOTS) rmSync(join(base, r, 'svc/log/down'));
  }
  craft(base, 'svc', { status: record({ state: 1, pid: 12 }) });
  assert.equal((await both(base, ['status', 'svc'])).stdout, 'run: svc: (pid N) Ns; run: log: (pid N) Ns\n');
});

test('status trouble: no supervise, no status, bad format, directory, no runsv, log problems', async (t) => {
  const base = roots(t);
  services(base, { run: RUN });
  let r = await both(base, ['status', 'svc']);
  assert.deepEqual(r, { code: 1, stdout: 'warning: svc: unable to open supervise/ok: file does not exist\n', stderr: '' });
  craft(base, 'svc', {});
  assert.equal((await both(base, ['status', 'svc'])).stdout, 'warning: svc: unable to open supervise/status: file does not exist\n');
  craft(base, 'svc', { status: Buffer.alloc(10) });
  assert.equal((await both(base, ['status', 'svc'])).stdout, 'warning: svc: unable to read supervise/status: bad format\n');
  for (const r of ROOTS) rmSync(join(base, r, 'svc/supervise'), { recursive: true });
  craft(base, 'svc', { status: 'dir' });
  assert.equal((await both(base, ['status', 'svc'])).stdout, 'warning: svc: unable to read supervise/status: is a directory\n');
  for (const r of ROOTS) rmSync(join(base, r, 'svc/supervise'), { recursive: true });
  craft(base, 'svc', { status: record({ state: 0 }), ok: 'fifo' });
  r = await both(base, ['status', 'svc']);
  assert.deepEqual(r, { code: 1, stdout: 'fail: svc: runsv not running\n', stderr: '' });
  assert.equal((await both(base, ['exit', 'svc'])).stdout, 'ok: svc: runsv not running\n');
  assert.equal((await both(base, ['-v', 'exit', 'svc'])).code, 0);
  assert.equal((await both(base, ['shutdown', 'svc'])).code, 0);
  assert.equal((await both(base, ['-v', 'up', 'svc'])).stdout, 'fail: svc: runsv not running\n');

  // `down` that cannot be stat()ed: a warning on stderr, no body
  for (const r of ROOTS) rmSync(join(base, r, 'svc/supervise'), { recursive: true });
  craft(base, 'svc', { status: record({ state: 1, pid: 3 }) });
  for (const r of ROOTS) symlinkSync('down', join(base, r, 'svc/down'));
  r = await both(base, ['status', 'svc']);
  assert.deepEqual(r, { code: 0, stdout: '\n', stderr: 'warning: unable to stat svc/down: symbolic link loop\n' });
  for (const r of ROOTS) rmSync(join(base, r, 'svc/down'));

  // log is a file; log's runsv not running
  for (const r of ROOTS) writeFileSync(join(base, r, 'svc/log'), '');
  assert.equal((await both(base, ['status', 'svc'])).stdout, 'run: svc: (pid N) Ns; warning: svc/log: unable to change directory: not a directory\n');
  for (const r of ROOTS) rmSync(join(base, r, 'svc/log'));
  for (const r of ROOTS) mkdirSync(join(base, r, 'svc/log'));
  craft(base, 'svc/log', { status: record({ state: 0 }), ok: 'fifo' });
  r = await both(base, ['status', 'svc']);
  assert.deepEqual(r, { code: 1, stdout: 'run: svc: (pid N) Ns; fail: svc/log: runsv not running\n', stderr: '' });
  craft(base, 'svc/log', { status: Buffer.alloc(3), ok: 'none' });
});

test('command words send the same letters (first-letter rule, want byte, once without TERM)', async (t) => {
  const base = roots(t);
  services(base, { run: RUN });
  const words = [
    'up',
    'u',
    'down',
    'once',
    'pause',
    'cont',
    'hup',
    'alarm',
    'interrupt',
    'quit',
    '1',
    '2',
    'term',
    'kill',
    'exit',
    'e',
    'x',
    'check',
    'checkup',
    'try',
    'cx',
    'status',
    'stat',
    'start',
    'stop',
    'shutdown',
    'restart',
    'reload',
    'try-restart',
    'force-stop',
    'force-reload',
    'force-restart',
    'force-shutdown',
  ];
  /** @param {string} word */
  const compare = async (word) => {
    resetControl(base);
    await both(base, [word, 'svc'], { env: { SVWAIT: '0' } });
    assert.equal(sent(base, 'our'), sent(base, 'deb'), `letters sent for ${word}`);
  };
  craft(base, 'svc', { status: record({ state: 1, pid: 50, want: 'u' }) });
  for (const word of words) await compare(word);
  // the want byte decides whether u/d/x are sent at all
  for (const status of [
    record({ state: 1, pid: 50, want: 'd', term: 1 }),
    record({ state: 1, pid: 50, want: 'd', term: 0 }),
    record({ state: 0, want: 'd', term: 0, ago: -100 }),
  ]) {
    craft(base, 'svc', { status });
    for (const word of ['up', 'down', 'd', 'once', 'exit', 'stop', 'term']) await compare(word);
  }
});

test('-v with letters that pass at once, -w 0 timeouts, kill on timeout', async (t) => {
  const base = roots(t);
  services(base, { run: RUN });
  craft(base, 'svc', { status: record({ state: 1, pid: 50, want: 'u', ago: 10 }) });
  for (const word of ['hup', 'alarm', 'interrupt', 'quit', '1', '2', 'cont', 'reload']) {
    assert.match((await both(base, ['-v', word, 'svc'])).stdout, /^ok: run: svc: \(pid N\) Ns\n$/);
  }
  assert.deepEqual(await both(base, ['-w', '0', 'pause', 'svc']), { code: 1, stdout: 'timeout: run: svc: (pid N) Ns\n', stderr: '' });
  assert.deepEqual(await both(base, ['-w0', 'down', 'svc']), { code: 1, stdout: 'timeout: run: svc: (pid N) Ns\n', stderr: '' });
  assert.equal((await both(base, ['-w0', 'term', 'svc'])).code, 1);
  // SVWAIT that is not a number means 0
  assert.equal((await both(base, ['-v', 'down', 'svc'], { env: { SVWAIT: 'abc' } })).code, 1);
  resetControl(base);
  assert.deepEqual(await both(base, ['-w', '0', 'force-stop', 'svc']), { code: 1, stdout: 'kill: run: svc: (pid N) Ns\n', stderr: '' });
  assert.equal(sent(base, 'our'), sent(base, 'deb'));
  assert.equal(sent(base, 'our'), 'k');
  resetControl(base);
  assert.equal((await both(base, ['-w', '0', 'Term', 'svc'])).stdout, 'kill: run: svc: (pid N) Ns\n');
  craft(base, 'svc', { status: record({ state: 1, pid: 50, want: 'u', paused: 1 }) });
  assert.equal((await both(base, ['-v', 'pause', 'svc'])).stdout, 'ok: run: svc: (pid N) Ns, paused\n');
});

test('control FIFO trouble: no runsv on control, control missing', async (t) => {
  const base = roots(t);
  services(base, { run: RUN });
  craft(base, 'svc', { status: record({ state: 1, pid: 50, want: 'd' }), control: 'fifo' });
  assert.deepEqual(await both(base, ['up', 'svc']), { code: 1, stdout: 'fail: svc: runsv not running\n', stderr: '' });
  assert.deepEqual(await both(base, ['exit', 'svc']), { code: 0, stdout: 'ok: svc: runsv not running\n', stderr: '' });
  for (const r of ROOTS) rmSync(join(base, r, 'svc/supervise/control'));
  assert.deepEqual(await both(base, ['-v', 'up', 'svc']), {
    code: 1,
    stdout: 'warning: svc: unable to open supervise/control: file does not exist\n',
    stderr: '',
  });
});

test('LSB mode: symlinked name, status exit codes 0/3/4/1, usage 2', async (t) => {
  const base = roots(t);
  for (const r of ROOTS) {
    mkdirSync(join(base, `${r}-bin`));
    for (const name of ['svc', 'nosuch']) symlinkSync(SV[r], join(base, `${r}-bin`, name));
  }
  services(base, { run: RUN });
  /**
   * @param {string[]} args
   * @param {SvOptions} [opts]
   */
  const lsb = (args, opts = {}) => both(base, args, { prog: 'svc', ...opts });
  for (const args of [[], ['bogus'], ['sfoo'], ['rr'], ['-x', 'status']]) {
    const r = await lsb(args);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: svc \[-w sec\] command\n\n$/);
  }
  // no supervise: status unknown
  assert.deepEqual(await lsb(['status']), { code: 4, stdout: 'warning: svc: unable to open supervise/ok: file does not exist\n', stderr: '' });
  craft(base, 'svc', { status: record({ state: 1, pid: 8 }) });
  assert.deepEqual(await lsb(['status']), { code: 0, stdout: 'run: svc: (pid N) Ns\n', stderr: '' });
  assert.deepEqual(await lsb(['status', 'ignored', 'operands']), { code: 0, stdout: 'run: svc: (pid N) Ns\n', stderr: '' });
  assert.deepEqual(await lsb(['-v', 'start']), { code: 0, stdout: 'ok: run: svc: (pid N) Ns\n', stderr: '' });
  assert.equal((await lsb(['-w', '0', 'stop'])).code, 1);
  craft(base, 'svc', { status: record({ state: 0, want: 'd' }) });
  assert.deepEqual(await lsb(['status']), { code: 3, stdout: 'down: svc: Ns, normally up\n', stderr: '' });
  craft(base, 'svc', { status: Buffer.alloc(5) });
  assert.equal((await lsb(['status'])).code, 4);
  for (const r of ROOTS) rmSync(join(base, r, 'svc/supervise'), { recursive: true });
  craft(base, 'svc', { status: record({ state: 0 }), ok: 'fifo' });
  assert.deepEqual(await lsb(['status']), { code: 1, stdout: 'fail: svc: runsv not running\n', stderr: '' });
  assert.equal((await lsb(['start'])).code, 1);
  assert.deepEqual(await both(base, ['status'], { prog: 'nosuch' }), {
    code: 1,
    stdout: 'fail: nosuch: unable to change to service directory: file does not exist\n',
    stderr: '',
  });
});

test('real runsv: status, up, down, pause, cont with -v and -w, down file and log', async (t) => {
  const base = roots(t);
  await supervised(base, { run: RUN, down: '', 'log/run': '#!/bin/sh\nexec cat >/dev/null\n' }, 'down\n');
  assert.match((await both(base, ['status', 'svc'])).stdout, /^down: svc: Ns; run: log: \(pid N\) Ns\n$/);
  assert.equal((await both(base, ['-v', 'up', 'svc'])).stdout, 'ok: run: svc: (pid N) Ns, normally down\n');
  assert.equal((await both(base, ['status', 'svc'])).stdout, 'run: svc: (pid N) Ns, normally down; run: log: (pid N) Ns\n');
  assert.equal((await both(base, ['-w', '5', 'pause', 'svc'])).stdout, 'ok: run: svc: (pid N) Ns, normally down, paused\n');
  assert.equal((await both(base, ['-w5', 'cont', 'svc'])).stdout, 'ok: run: svc: (pid N) Ns, normally down\n');
  assert.equal((await both(base, ['-v', 'down', 'svc'])).stdout, 'ok: down: svc: Ns\n');
  assert.equal((await both(base, ['status', 'svc', './svc'])).code, 0);
  assert.equal((await both(base, ['stop', 'svc'])).stdout, 'ok: down: svc: Ns\n');
  assert.equal((await both(base, ['up', 'svc'])).stdout, '');
  await settle(base, 'run\n');
  assert.equal((await both(base, ['check', 'svc'])).stdout, 'ok: run: svc: (pid N) Ns, normally down\n');
  assert.equal((await both(base, ['-v', 'up', 'svc'])).stdout, 'ok: run: svc: (pid N) Ns, normally down\n');
  assert.equal((await both(base, ['-v', 'exit', 'svc'])).stdout, 'ok: svc: runsv not running\n');
  assert.equal((await both(base, ['status', 'svc'])).stdout, 'fail: svc: runsv not running\n');
});

test('real runsv: timeout with a failing check script, kill on force-stop of a TERM-ignoring service', async (t) => {
  const base = roots(t);
  await supervised(base, { run: '#!/bin/sh\ntrap "" TERM\nexec sleep 1000\n', down: '', check: '#!/bin/sh\nexit 1\n' }, 'down\n');
  assert.deepEqual(await both(base, ['-w', '1', 'up', 'svc']), { code: 1, stdout: 'timeout: run: svc: (pid N) Ns, normally down\n', stderr: '' });
  assert.deepEqual(await both(base, ['start', 'svc'], { env: { SVWAIT: 'x' } }), {
    code: 1,
    stdout: 'timeout: run: svc: (pid N) Ns, normally down\n',
    stderr: '',
  });
  assert.deepEqual(await both(base, ['-w', '1', 'force-stop', 'svc']), {
    code: 1,
    stdout: 'kill: run: svc: (pid N) Ns, normally down, want down, got TERM\n',
    stderr: '',
  });
  await settle(base, 'down\n');
  assert.equal((await both(base, ['status', 'svc'])).stdout, 'down: svc: Ns\n');
  // a check script that cannot be executed passes, with a warning
  for (const r of ROOTS) chmodSync(join(base, r, 'svc/check'), 0o644);
  assert.deepEqual(await both(base, ['-w', '3', 'up', 'svc']), {
    code: 0,
    stdout: 'ok: run: svc: (pid N) Ns, normally down\n',
    stderr: 'warning: unable to run svc/check: access denied\n',
  });
});

test('real runsv: try-restart and force-reload of a running service', async (t) => {
  const base = roots(t);
  await supervised(base, { run: RUN });
  assert.equal((await both(base, ['try-restart', 'svc'])).stdout, 'ok: run: svc: (pid N) Ns\n');
  await settle(base, 'run\n');
  assert.equal((await both(base, ['force-reload', 'svc'])).stdout, 'ok: run: svc: (pid N) Ns\n');
});

// The launchers in bin/: generated from one template, found through
// symbolic links and from a path with a space, and NODE_EXTRA_CA_CERTS
// kept from Node's start-up but handed on unchanged (chpst's program, a
// runsv or runsvdir service, sv's ./check).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { root, tempDir, makeService, startDetached, stopAll, waitFor, readText, run, removeDir, normalizeSv } from './helpers.js';
import { commandInvocation, startEnviron, COMMANDS } from '../dist/sys/launch.js';

const base = tempDir('runit-ts-launchers-');
after(async () => {
  await stopAll();
  removeDir(base);
});

// a checkout whose path has a space: the launchers and dist/ copied, the
// dependencies (koffi) shared
const checkout = join(base, 'check out');
mkdirSync(checkout);
cpSync(join(root, 'bin'), join(checkout, 'bin'), { recursive: true });
cpSync(join(root, 'dist'), join(checkout, 'dist'), { recursive: true });
symlinkSync(join(root, 'node_modules'), join(checkout, 'node_modules'));
/** @param {string} name */
const bin = (name) => join(checkout, 'bin', name);

// symbolic links in another directory: absolute, relative, and a chain
const links = join(base, 'other dir');
mkdirSync(links);
symlinkSync(bin('sv'), join(links, 'sv'));
symlinkSync(join(links, 'sv'), join(links, 'foo'));
symlinkSync('../check out/bin/chpst', join(links, 'softlimit'));
symlinkSync(bin('runsv'), join(links, 'runsv'));
const debianLinks = join(base, 'debian');
mkdirSync(debianLinks);
symlinkSync('/usr/bin/sv', join(debianLinks, 'foo'));

const NODE_WARNING = /Warning|extra certs/i;
/**
 * The environment with NODE_EXTRA_CA_CERTS set to `value`, or unset.
 * @param {string | undefined} value
 * @param {Record<string, string>} [extra]
 */
function envWith(value, extra = {}) {
  /** @type {NodeJS.ProcessEnv} */
  const env = { ...process.env, PWD: base, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  if (value !== undefined) env.NODE_EXTRA_CA_CERTS = value;
  return env;
}
const CA_VALUES = ['/nonexistent/extra-ca.pem', '', undefined];

test('bin/ is what scripts/launcher.sh and the command table make of it, and package.json maps every command there', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts/launchers.js'), '--check'], { encoding: 'utf8' });
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.deepEqual(Object.keys(COMMANDS).sort(), [
    'chpst',
    'envdir',
    'envuidgid',
    'pgrphack',
    'runit',
    'runit-init',
    'runit-ts',
    'runsv',
    'runsvchdir',
    'runsvdir',
    'setlock',
    'setuidgid',
    'softlimit',
    'sv',
    'svlogd',
    'utmpset',
  ]);
});

test('sv through a chain of links from another directory, in a checkout path with a space: as Debian sv', () => {
  const missing = join(base, 'no such service');
  const ours = run(join(links, 'sv'), ['status', missing], { env: envWith(undefined) });
  const theirs = run('/usr/bin/sv', ['status', missing]);
  assert.deepEqual(ours, theirs);
  assert.equal(ours.stdout, `fail: ${missing}: unable to change to service directory: file does not exist\n`);
});

test('sv as an LSB script: a link /x/foo -> ... -> sv is service foo, as with Debian sv', () => {
  const svdir = join(base, 'svdir');
  mkdirSync(svdir, { recursive: true });
  for (const args of [[], ['status'], ['-w', '1', 'start'], ['bogus']]) {
    const ours = run(join(links, 'foo'), args, { env: envWith(undefined, { SVDIR: svdir }) });
    const theirs = run(join(debianLinks, 'foo'), args, { env: envWith(undefined, { SVDIR: svdir }) });
    assert.deepEqual(ours, theirs, `foo ${args.join(' ')}`);
  }
  assert.deepEqual(run(join(links, 'foo'), []), { code: 2, signal: null, stdout: '', stderr: 'usage: foo [-w sec] command\n\n' });
});

test("chpst's personality comes from the link's name; the launcher is found through a relative link", () => {
  const r = run(join(links, 'softlimit'), ['-o', '17', '/bin/sh', '-c', 'ulimit -n']);
  assert.deepEqual(r, { code: 0, signal: null, stdout: '17\n', stderr: '' });
});

test("chpst execs its program with the environment unchanged, NODE_EXTRA_CA_CERTS included (set, empty, unset), as Debian's chpst", () => {
  /** @param {{ stdout: string }} r */
  const entries = (r) => r.stdout.split('\0').filter(Boolean).sort();
  for (const value of CA_VALUES) {
    const env = envWith(value);
    // (the launcher's shell sets PWD when it does not name the working directory)
    const ours = spawnSync(bin('chpst'), ['/usr/bin/env', '-0'], { env, cwd: base, encoding: 'utf8' });
    const theirs = spawnSync('/usr/bin/chpst', ['/usr/bin/env', '-0'], { env, cwd: base, encoding: 'utf8' });
    // Node warns when it cannot load the file: it never tried
    assert.equal(ours.stderr, '');
    assert.equal(ours.status, 0);
    assert.deepEqual(entries(ours), entries(theirs));
    const ca = entries(ours).filter((e) => e.startsWith('NODE_EXTRA_CA_CERTS='));
    assert.deepEqual(ca, value === undefined ? [] : [`NODE_EXTRA_CA_CERTS=${value}`]);
    assert.deepEqual(
      entries(ours).filter((e) => e.startsWith('RUNIT_TS_')),
      [],
    );
  }
});

/**
 * A service that writes what it got as NODE_EXTRA_CA_CERTS into `ca`, then waits.
 * @param {string} dir
 */
function caService(dir) {
  return makeService(dir, { run: '#!/bin/sh\necho "[${NODE_EXTRA_CA_CERTS-unset}]" > ca.new && mv ca.new ca\nexec sleep 1000\n' });
}

test('runsv (through a link): the service gets NODE_EXTRA_CA_CERTS as runsv was given it (set, empty, unset)', async () => {
  for (const [i, value] of CA_VALUES.entries()) {
    const svc = caService(join(base, `runsv-ca-${i}`));
    const runsv = startDetached(join(links, 'runsv'), [svc], { env: envWith(value) });
    assert.equal(await waitFor(() => readText(join(svc, 'ca')), { timeout: 15000, what: 'the service' }), `[${value ?? 'unset'}]\n`);
    // stop the service, then runsv
    await waitFor(() => readText(join(svc, 'supervise/pid')), { timeout: 15000, what: 'supervise/pid' });
    const control = openSync(join(svc, 'supervise/control'), 'w');
    writeSync(control, 'dx');
    closeSync(control);
    assert.deepEqual(await runsv.exited, { code: 0, signal: null });
    assert.doesNotMatch(runsv.output.stderr, NODE_WARNING);
  }
});

test('runsvdir: services get NODE_EXTRA_CA_CERTS as runsvdir was given it', async () => {
  const dir = join(base, 'runsvdir-ca');
  const svc = caService(join(dir, 'a'));
  const runsvdir = startDetached(bin('runsvdir'), [dir], { env: envWith('/nonexistent/runsvdir-ca.pem') });
  assert.equal(await waitFor(() => readText(join(svc, 'ca')), { timeout: 15000, what: 'the service' }), '[/nonexistent/runsvdir-ca.pem]\n');
  process.kill(runsvdir.pid, 'SIGTERM');
  assert.deepEqual(await runsvdir.exited, { code: 0, signal: null });
  assert.doesNotMatch(runsvdir.output.stderr, NODE_WARNING);
});

test("sv: ./check gets NODE_EXTRA_CA_CERTS as sv was given it, not as the service's supervisor was", async () => {
  const svc = makeService(join(base, 'sv-check'), {
    run: '#!/bin/sh\nexec sleep 1000\n',
    check: '#!/bin/sh\necho "[${NODE_EXTRA_CA_CERTS-unset}]" >> checked\n',
  });
  const runsv = startDetached(bin('runsv'), [svc], { env: envWith(undefined) });
  await waitFor(() => readText(join(svc, 'supervise/pid')), { timeout: 15000, what: 'supervise/pid' });
  const r = run(bin('sv'), ['-w', '10', 'check', svc], { env: envWith('/nonexistent/sv-ca.pem') });
  assert.equal(r.stderr, '');
  assert.equal(normalizeSv(r.stdout), `ok: run: ${svc}: (pid N) Ns\n`);
  assert.equal(readText(join(svc, 'checked')), '[/nonexistent/sv-ca.pem]\n');
  const control = openSync(join(svc, 'supervise/control'), 'w');
  writeSync(control, 'dx');
  closeSync(control);
  assert.deepEqual(await runsv.exited, { code: 0, signal: null });
});

test('commandInvocation: what a launcher runs, for a command started by another (no bin/)', () => {
  const env = { A: 'b', NODE_EXTRA_CA_CERTS: '/x.pem', RUNIT_TS_NOFILE: '5', RUNIT_TS_ARGV0: 'stale' };
  const runsv = commandInvocation('runsv', env, 1024n);
  assert.equal(runsv.file, process.execPath);
  assert.deepEqual(runsv.args.slice(0, -1), COMMANDS.runsv.nodeOptions);
  assert.equal(runsv.args.at(-1), join(root, 'dist/cli/runsv.cjs'));
  assert.deepEqual(runsv.env, { A: 'b', RUNIT_TS_EXTRA_CA_CERTS: '/x.pem', RUNIT_TS_NOFILE: '1024' });
  assert.equal(commandInvocation('runit', {}, 0xffffffffffffffffn).env.RUNIT_TS_NOFILE, 'unlimited');
  assert.deepEqual(commandInvocation('sv', { A: 'b' }, 1024n).env, { A: 'b' });
  assert.throws(() => commandInvocation('bogus', {}), /no such command/);
  // and the command so started runs
  const sv = commandInvocation('sv', envWith('/nonexistent/sv.pem'));
  const r = spawnSync(sv.file, [...sv.args, 'status', join(base, 'none')], { env: sv.env, encoding: 'utf8' });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, `fail: ${join(base, 'none')}: unable to change to service directory: file does not exist\n`);
});

test('startEnviron: the environment as given, from the one the launcher handed to Node', () => {
  const entries = ['A=1', 'RUNIT_TS_EXTRA_CA_CERTS=/a b\n', 'RUNIT_TS_FDS= 3', 'RUNIT_TS_EXTRA=kept', 'B'].map((e) => Buffer.from(e));
  assert.deepEqual(
    startEnviron(entries).map((e) => e.toString()),
    ['A=1', 'NODE_EXTRA_CA_CERTS=/a b\n', 'RUNIT_TS_EXTRA=kept', 'B'],
  );
});

// Security (issue 7, part 3): supervise/ modes, a non-root user against a
// root service, privileges dropped for good, svlogd and symbolic links
// planted by another user, environment directories that try to set other
// variables. runit's behaviour (Debian's binaries) is checked beside ours
// where the two differ on purpose.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, readdirSync, statSync, lstatSync, chownSync, existsSync, symlinkSync, readlinkSync } from 'node:fs';
import {
  bin,
  debian,
  isRoot,
  tempDir,
  makeService,
  startDetached,
  startWithInput,
  stopAll,
  waitFor,
  holds,
  run,
  readText,
  supervisedPid,
  processExists,
  running,
  stat,
  asUser,
  othersBin,
  NOBODY,
} from './helpers.js';

after(stopAll);

/**
 * A fresh directory others can reach (tempDir is 0700).
 * @param {string} [prefix]
 */
const scratch = (prefix = 'runit-ts-sec-') => tempDir(prefix, 0o755);

const haveDebian = existsSync(debian('runsv')) && existsSync(debian('svlogd')) && existsSync(debian('chpst'));
/**
 * @param {string} file
 * @param {string[]} args
 */
const asNobody = (file, args) => asUser(NOBODY, file, args);
/** @param {string} path */
const mode = (path) => lstatSync(path).mode;

/**
 * Modes of runit's supervise/ files: directory 0700, FIFOs 0600, lock 0600, records 0644.
 * @param {string} superviseDir
 */
function assertSuperviseModes(superviseDir) {
  assert.equal(mode(superviseDir) & 0o7777, 0o700, `${superviseDir} is 0700`);
  for (const fifo of ['control', 'ok']) {
    const st = lstatSync(join(superviseDir, fifo));
    assert.ok(st.isFIFO(), `${fifo} is a FIFO`);
    assert.equal(st.mode & 0o7777, 0o600, `${superviseDir}/${fifo} is 0600`);
  }
  assert.equal(mode(join(superviseDir, 'lock')) & 0o7777, 0o600);
  for (const file of ['pid', 'stat', 'status']) assert.equal(mode(join(superviseDir, file)) & 0o7777, 0o644, file);
}

const LOG_SERVICE = { run: '#!/bin/sh\nexec sleep 1000\n', 'log/run': '#!/bin/sh\nexec cat > /dev/null\n' };

test('supervise/ is 0700 and its FIFOs 0600, under runsv and runsvdir, for the service and its log, whatever the umask', async () => {
  const base = scratch();
  // runsv, log as a process, started with umask 000 (runit: mkdir 0700, mkfifo 0600)
  const alone = makeService(join(base, 'alone'), LOG_SERVICE);
  startDetached('sh', ['-c', 'umask 000 && exec "$0" "$1"', bin('runsv'), alone]);
  // runsvdir: in-process supervisors and an in-process logger
  const dir = join(base, 'service');
  const hosted = makeService(join(dir, 'hosted'), { run: '#!/bin/sh\nexec sleep 1000\n', 'log/run': '#!/bin/sh\nexec svlogd ./main\n', 'log/main/config': '' });
  const host = startDetached('sh', ['-c', 'umask 000 && exec "$0" "$1"', bin('runsvdir'), dir]);
  for (const svc of [alone, hosted]) {
    await running(svc);
    await waitFor(() => Number(readText(join(svc, 'log/supervise/pid'))), { what: 'log running' });
    assertSuperviseModes(join(svc, 'supervise'));
    assertSuperviseModes(join(svc, 'log/supervise'));
  }
  assert.equal(Number(readText(join(hosted, 'log/supervise/pid'))), host.pid);
  if (haveDebian) {
    // the same modes as runit's own runsv
    const theirs = makeService(join(base, 'theirs'), LOG_SERVICE);
    startDetached('sh', ['-c', 'umask 000 && exec "$0" "$1"', debian('runsv'), theirs]);
    await running(theirs);
    await waitFor(() => Number(readText(join(theirs, 'log/supervise/pid'))), { what: 'log running' });
    assertSuperviseModes(join(theirs, 'supervise'));
    assertSuperviseModes(join(theirs, 'log/supervise'));
  }
});

test('a non-root user can neither control a root service nor read its status, through sv or the FIFOs', {
  skip: !isRoot && 'needs root (setpriv)',
}, async () => {
  const base = scratch();
  const dir = join(base, 'service');
  const svc = makeService(join(dir, 'a'), LOG_SERVICE);
  startDetached(bin('runsvdir'), [dir]);
  const pid = await running(svc);
  const logPid = await waitFor(() => Number(readText(join(svc, 'log/supervise/pid'))), { what: 'log running' });
  const before = { status: readFileSync(join(svc, 'supervise/status')), stat: stat(svc) };
  /** @param {string} name */
  const denied = (name) => `warning: ${name}: unable to open supervise/ok: access denied\n`;
  // ours from a copy nobody can reach (the checkout may be private)
  const svs = haveDebian ? [othersBin('sv'), debian('sv')] : [othersBin('sv')];
  for (const sv of svs) {
    for (const args of [['status'], ['down'], ['exit'], ['kill'], ['-w', '2', 'restart']]) {
      for (const name of [svc, join(svc, 'log')]) {
        const r = run(...asNobody(sv, [...args, name]), { cwd: base });
        assert.equal(r.stdout, denied(name), `${sv} ${args.join(' ')} ${name}`);
        assert.equal(r.code, 1, `${sv} ${args.join(' ')}`);
      }
    }
  }
  // straight at the FIFOs and files
  for (const path of ['supervise/control', 'supervise/ok', 'supervise/status', 'log/supervise/control']) {
    const r = run(...asNobody('sh', ['-c', 'echo d > "$0" || cat "$0"', join(svc, path)]));
    assert.notEqual(r.code, 0, path);
    assert.match(r.stderr, /Permission denied/);
  }
  // must not happen: any change, in the next 200 ms either
  await holds(
    () =>
      supervisedPid(svc) === pid &&
      processExists(pid) &&
      processExists(logPid) &&
      readFileSync(join(svc, 'supervise/status')).equals(before.status) &&
      stat(svc) === before.stat,
    200,
    'the service, its log and their records unchanged',
  );
  assert.deepEqual({ status: readFileSync(join(svc, 'supervise/status')), stat: stat(svc) }, before);
  // root still controls it
  const r = run(bin('sv'), ['-w', '5', 'restart', svc]);
  assert.match(r.stdout, /^ok: run: /);
});

// chpst -u and the regaining of privileges (setuid, seteuid, setgid,
// setgroups all denied afterwards) are test/chpst.test.js "after -u,
// privileges cannot be regained"; here the capability sets and the
// personalities.
test('chpst -u and setuidgid leave no capability and no root id behind', { skip: !isRoot && 'needs root' }, () => {
  /** @param {string} text */
  const fields = (text) =>
    Object.fromEntries(
      text
        .split('\n')
        .filter((l) => /^(Uid|Gid|Groups|Cap\w+):/.test(l))
        .map((l) => {
          const [name, value] = l.split(/:\s*/);
          return [name, value];
        }),
    );
  /** @type {[string, string[]][]} */
  const commands = [
    [bin('chpst'), ['-u', 'nobody']],
    [bin('setuidgid'), ['nobody']],
    [bin('chpst'), ['-u', ':65534:65534']],
  ];
  for (const [file, args] of commands) {
    const r = run(file, [...args, 'cat', '/proc/self/status']);
    assert.equal(r.code, 0, r.stderr);
    const f = fields(r.stdout);
    assert.equal(f.Uid, '65534\t65534\t65534\t65534', file);
    assert.equal(f.Gid, '65534\t65534\t65534\t65534', file);
    assert.doesNotMatch(f.Groups, /\b0\b/);
    for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) assert.equal(f[cap], '0000000000000000', `${file} ${cap}`);
  }
});

// ---- svlogd and symbolic links planted in its directory by another user ----

/**
 * A log directory owned by nobody (so nobody can plant links in it), and a
 * root-only directory holding the files a planted link points at.
 */
function plantingGround() {
  const base = scratch('runit-ts-svlogd-');
  const log = join(base, 'log');
  mkdirSync(log);
  chownSync(log, NOBODY, NOBODY);
  const secret = tempDir('runit-ts-secret-');
  const target = join(secret, 'precious');
  // executable: runit's svlogd takes an executable `current` for a complete one and appends
  writeFileSync(target, 'precious\n', { mode: 0o755 });
  return { base, log, secret, target };
}

/**
 * As nobody: ln -s TARGET PATH (replacing PATH).
 * @param {string} target
 * @param {string} path
 */
function plant(target, path) {
  const r = run(...asNobody('ln', ['-sfn', target, path]));
  assert.equal(r.code, 0, r.stderr);
}

/**
 * @param {string} svlogd
 * @param {string} cwd
 * @param {string[]} args
 * @param {string} input
 */
function svlogdOnce(svlogd, cwd, args, input) {
  return spawnSync(svlogd, args, { cwd, input, encoding: 'utf8', timeout: 20000 });
}

/** @param {string} target */
const intact = (target) => {
  assert.equal(readFileSync(target, 'utf8'), 'precious\n');
  assert.equal(statSync(target).mode & 0o7777, 0o755);
};

test('svlogd-nofollow: a `current` planted as a symbolic link by another user is moved aside, never written through', { skip: !isRoot && 'needs root' }, () => {
  const { base, log, target } = plantingGround();
  plant(target, join(log, 'current'));
  const r = svlogdOnce(bin('svlogd'), base, ['log'], 'hello\n');
  assert.equal(r.status, 0, r.stderr);
  intact(target);
  assert.equal(readFileSync(join(log, 'current'), 'utf8'), 'hello\n');
  assert.ok(lstatSync(join(log, 'current')).isFile());
  // the link is kept, as runit keeps an unfinished current, as @....u
  const saved = readdirSync(log).filter((f) => f.endsWith('.u'));
  assert.equal(saved.length, 1);
  assert.equal(readlinkSync(join(log, saved[0])), target);
  if (haveDebian) {
    // runit's svlogd appends to the target and changes its mode
    const theirs = plantingGround();
    plant(theirs.target, join(theirs.log, 'current'));
    svlogdOnce(debian('svlogd'), theirs.base, ['log'], 'hello\n');
    assert.equal(readFileSync(theirs.target, 'utf8'), 'precious\nhello\n');
    assert.equal(statSync(theirs.target).mode & 0o7777, 0o744);
  }
});

test('svlogd-nofollow: a `current` swapped for a link while svlogd runs is not followed at HUP', { skip: !isRoot && 'needs root' }, async () => {
  const { base, log, target } = plantingGround();
  const child = startWithInput(bin('svlogd'), ['log'], { cwd: base });
  child.stdin.write('one\n');
  await waitFor(() => readText(join(log, 'current')) === 'one\n', { what: 'first line' });
  // nobody moves current away (it is their directory) and plants a link
  assert.equal(run(...asNobody('mv', [join(log, 'current'), join(log, 'moved')])).code, 0);
  plant(target, join(log, 'current'));
  process.kill(child.pid, 'SIGHUP');
  await waitFor(() => lstatSync(join(log, 'current')).isFile(), { what: 'a new current' });
  child.stdin.end('two\n');
  assert.equal((await child.exited).code, 0, child.output.stderr);
  intact(target);
  assert.equal(readFileSync(join(log, 'current'), 'utf8'), 'two\n');
});

test('svlogd-nofollow: a planted `lock` creates nothing; planted processor files are neither read nor truncated', {
  skip: !isRoot && 'needs root',
}, async () => {
  let { base, log, secret, target } = plantingGround();
  plant(join(secret, 'created'), join(log, 'lock'));
  const r = svlogdOnce(bin('svlogd'), base, ['log'], 'hello\n');
  assert.equal(r.status, 111);
  assert.equal(r.stderr, 'svlogd: warning: unable to lock directory: log: symbolic link loop\nsvlogd: fatal: no functional log directories.\n');
  assert.equal(existsSync(join(secret, 'created')), false);
  if (haveDebian) {
    svlogdOnce(debian('svlogd'), base, ['log'], 'hello\n');
    assert.equal(existsSync(join(secret, 'created')), true, 'runit creates the target');
  }

  // a processor configured by the directory's owner: state and newstate planted
  ({ base, log, secret, target } = plantingGround());
  writeFileSync(join(log, 'config'), 's100\n!cat\n');
  plant(target, join(log, 'newstate'));
  plant(target, join(log, 'state'));
  const child = startWithInput(bin('svlogd'), ['log'], { cwd: base });
  child.stdin.write(`${'x'.repeat(99)}\n`.repeat(3));
  await waitFor(() => /unable to open state for processor: log: symbolic link loop/.test(child.output.stderr), { what: 'refused state' });
  // remove the links (nobody's own): the processor then goes on
  assert.equal(run(...asNobody('rm', ['-f', join(log, 'state'), join(log, 'newstate')])).code, 0);
  await waitFor(() => readdirSync(log).some((f) => f.endsWith('.s')), { what: 'processed', timeout: 10000 });
  child.stdin.end();
  assert.equal((await child.exited).code, 0);
  intact(target);
});

test('svlogd follows links in a directory only it can write, as runit does', () => {
  const base = scratch('runit-ts-svlogd-');
  const log = join(base, 'log');
  mkdirSync(log);
  const elsewhere = join(base, 'elsewhere');
  writeFileSync(elsewhere, 'old\n', { mode: 0o755 });
  symlinkSync(elsewhere, join(log, 'current'));
  const r = svlogdOnce(bin('svlogd'), base, ['log'], 'new\n');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(elsewhere, 'utf8'), 'old\nnew\n');
  assert.ok(lstatSync(join(log, 'current')).isSymbolicLink());
});

// ---- environment directories ----

/** An environment directory whose names try to set other variables. */
function trickyEnvDir() {
  const dir = join(scratch('runit-ts-env-'), 'env');
  mkdirSync(dir);
  writeFileSync(join(dir, 'FOO=injected'), ''); // runit: sets FOO=injected
  writeFileSync(join(dir, 'PATH=evil'), 'x\n'); // runit: PATH=evil=x
  writeFileSync(join(dir, 'NL\nLD_PRELOAD'), '/evil.so\n'); // a second line in `env` output
  writeFileSync(join(dir, 'NUL'), 'a\0INJ=1\n'); // NUL becomes a newline, inside the value
  writeFileSync(join(dir, 'GOOD'), 'ok\n');
  return dir;
}

/**
 * The environment a program got, as its NUL-separated entries.
 * @param {string} file
 * @param {string[]} args
 */
function environOf(file, args) {
  const r = spawnSync(file, [...args, 'cat', '/proc/self/environ'], { env: { PATH: '/usr/bin:/bin' }, encoding: 'latin1' });
  return { code: r.status, stderr: r.stderr, entries: r.stdout.split('\0').filter(Boolean) };
}

test('chpst-envdir-names: a file name with = or a newline cannot set another variable; values keep their bytes in one entry', () => {
  const dir = trickyEnvDir();
  const ours = environOf(bin('chpst'), ['-e', dir]);
  assert.equal(ours.code, 0, ours.stderr);
  assert.ok(ours.entries.includes('GOOD=ok'));
  assert.ok(ours.entries.includes('PATH=/usr/bin:/bin'));
  assert.ok(ours.entries.includes('NUL=a\nINJ=1'));
  assert.ok(!ours.entries.some((e) => e.startsWith('FOO') || e.startsWith('INJ') || e.includes('LD_PRELOAD') || e.includes('evil')), ours.entries.join(' | '));
  // with -v each is named
  const verbose = spawnSync(bin('chpst'), ['-v', '-e', dir, 'true'], { encoding: 'latin1' });
  for (const name of ['FOO=injected', 'PATH=evil', 'NL\nLD_PRELOAD'])
    assert.ok(verbose.stderr.includes(`chpst: warning: unable to read ${dir}/${name}: invalid variable name\n`), name);
  // envdir, where an unusable entry is fatal, runs nothing
  const r = spawnSync(bin('envdir'), [dir, 'sh', '-c', 'echo ran'], { encoding: 'latin1' });
  assert.equal(r.status, 111);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^chpst: fatal: unable to read .*: invalid variable name\n$/);
  if (haveDebian) {
    // runit's chpst lets the names through
    const theirs = environOf(debian('chpst'), ['-e', dir]);
    assert.ok(theirs.entries.includes('FOO=injected'));
    assert.ok(theirs.entries.includes('PATH=evil=x'));
    assert.ok(theirs.entries.includes('NUL=a\nINJ=1'));
  }
});

// Differential tests: the same probe under Debian's /usr/bin/chpst and
// under bin/chpst, with the same options, must see the same process state;
// bad input must give the same messages and exit codes. Differences made
// on purpose are listed by name in docs/differences.md (## chpst).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync, symlinkSync, existsSync, openSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  bin,
  debian,
  tempDir,
  runWithPid,
  readText,
  statusProbe,
  parseStatusProbe,
  shellProbe,
  readShellProbe,
  withFailingSyscalls,
  canFailSyscalls,
  othersBin,
  chrootWithShell,
} from './helpers.js';
import { flockExclusive } from '../dist/sys/fd.js';

const ours = bin('chpst');
const theirs = debian('chpst');
const haveDebian = existsSync(theirs);
/** The working directory both chpsts are started in. */
const work = tempDir('chpst-diff-', 0o755);

/**
 * A fresh directory every user may write to (probes run as other users write there).
 * @param {string} [name]
 */
const scratch = (name = 'd') => tempDir(`chpst-diff-${name}-`, 0o777);

// chpst started as from a run script: PWD valid, some signals ignored and
// blocked, real-time ones among them (the status probe compares SigIgn and SigBlk)
const env = { PATH: '/usr/bin:/bin', LANG: 'C', PWD: work, HOME: '/root', KEEP: 'kept' };
const PY_START = `import os, signal, sys
signal.signal(signal.SIGHUP, signal.SIG_IGN)
signal.signal(signal.SIGRTMIN + 2, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGRTMAX - 1})
os.execv(sys.argv[1], sys.argv[1:])`;

/**
 * Run a program to completion in `work` with the environment above: code, signal, stdout, stderr, pid.
 * @param {string} file
 * @param {string[]} args
 * @param {import('node:child_process').SpawnSyncOptions} [options]
 */
const run = (file, args, options = {}) => runWithPid(file, args, { timeout: 20000, env, cwd: work, ...options });
/**
 * chpst started by a program that ignores SIGHUP and SIGRTMIN+2 and blocks SIGUSR1 and SIGRTMAX-1.
 * @param {string} chpst
 * @param {string[]} args
 */
const start = (chpst, args) => run('python3', ['-c', PY_START, chpst, ...args]);

/**
 * The state statusProbe sees, without what differs between any two processes.
 * @param {string} chpst
 * @param {string[]} args
 */
function statusOf(chpst, args) {
  const r = start(chpst, [...args, ...statusProbe]);
  assert.equal(r.code, 0, `${chpst} ${args.join(' ')}: ${r.stderr}`);
  const s = parseStatusProbe(r.stdout);
  return { ...s, pid: undefined, pgrpIsPid: s.pgrp === r.pid, sessionIsPid: s.session === r.pid, pgrp: undefined, session: undefined, stderr: r.stderr };
}

/**
 * What shellProbe sees, the probe's directory and pid made comparable.
 * @param {string} chpst
 * @param {string[]} args
 */
function shellOf(chpst, args) {
  const dir = scratch('probe');
  const r = start(chpst, [...args, ...shellProbe(dir)]);
  assert.equal(r.code, 0, `${chpst} ${args.join(' ')}: ${r.stderr}`);
  const p = readShellProbe(dir);
  return { ...p, argv: p.argv.map((a) => (a === dir ? 'DIR' : a)), environ: p.environ.sort(), pid: p.pid === r.pid, stderr: r.stderr };
}

function makeEnvDir() {
  const dir = scratch('env');
  writeFileSync(join(dir, 'A'), 'hello  \t\nsecond\n');
  writeFileSync(join(dir, 'EMPTY'), '');
  writeFileSync(join(dir, 'KEEP'), '');
  writeFileSync(join(dir, 'NL'), '\n');
  writeFileSync(join(dir, 'NUL'), 'a\0b \n');
  writeFileSync(join(dir, '.hidden'), 'x');
  writeFileSync(join(dir, 'PATH'), '/nonexistent');
  writeFileSync(join(dir, 'UID'), 'from envdir');
  writeFileSync(join(dir, 'BIN'), Buffer.from([0xe9, 0xff, 0x20]));
  // (a name with `=` is chpst-envdir-names, below)
  mkdirSync(join(dir, 'SUB'));
  return dir;
}

const envDir = makeEnvDir();
const lockDir = scratch('locks');

const optionSets = [
  [],
  ['-u', 'nobody'],
  ['-u', 'nobody:daemon:adm'],
  ['-u', ':1234:5:6'],
  ['-u', '::5'],
  ['-u', ':1234:'],
  ['-U', 'nobody:daemon'],
  ['-U', ':7:8:9', '-u', 'nobody'],
  ['-b', 'zero'],
  ['-e', envDir],
  ['-v', '-e', envDir],
  ['-e', envDir, '-U', 'nobody'],
  ['-n', '3'],
  ['-n', '-2'],
  ['-n', '+1', '-n', '4'],
  ['-P'],
  ['-m', '300000000'],
  ['-d', '200000000', '-m', '100000000'],
  ['-m', '100000000', '-d', '200000000'],
  ['-o', '100', '-p', '50', '-f', '3000', '-c', '1000', '-r', '5000', '-t', '10'],
  ['-o', '99999999999999999999'],
  ['-o', '9223372036854775808'],
  ['-c', ''],
  ['-l', join(lockDir, 'l1')],
  ['-L', join(lockDir, 'l2')],
  ['-P', '-n', '2', '-u', 'nobody:daemon', '-U', ':1:2', '-e', envDir, '-l', join(lockDir, 'l3'), '-o', '200', '-c', '0'],
  ['-0'],
];
// options that leave the status probe no stdout
const noStdout = [['-1'], ['-vP', '-2'], ['-1', '-2', '-0']];

test("same process state under Debian's chpst and ours (status probe)", { skip: !haveDebian }, () => {
  for (const args of optionSets) {
    assert.deepEqual(statusOf(ours, args), statusOf(theirs, args), args.join(' '));
  }
});

test("same fds, environment, argv, cwd and exe under Debian's chpst and ours (shell probe)", { skip: !haveDebian }, () => {
  for (const args of [...optionSets, ...noStdout]) {
    assert.deepEqual(shellOf(ours, args), shellOf(theirs, args), args.join(' '));
  }
});

test('same state with fds closed or inherited at start, and a lowered NOFILE limit', { skip: !haveDebian }, () => {
  const script = 'ulimit -Sn 1000; exec 3</etc/hostname 7>/dev/null 12</etc/hostname; exec "$@" <&- 2>&-';
  /**
   * @param {string} chpst
   * @param {string[]} args
   */
  const probe = (chpst, args) => {
    const dir = scratch('probe');
    const r = run('/bin/bash', ['-c', script, 'bash', chpst, ...args, ...shellProbe(dir)]);
    assert.equal(r.code, 0);
    const s = run('/bin/bash', ['-c', script, 'bash', chpst, ...args, ...statusProbe]);
    return { ...readShellProbe(dir), pid: 0, environ: [], argv: [], limits: parseStatusProbe(s.stdout).limits };
  };
  for (const args of [[], ['-l', join(lockDir, 'l4')], ['-o', '500']]) assert.deepEqual(probe(ours, args), probe(theirs, args), args.join(' '));
});

/** A root directory to chroot into, with a shell and a user `ghost` that exists only there. */
const makeRoot = () => chrootWithShell(scratch('root'));

test('-/ root: same chroot, same look-ups inside it', { skip: !haveDebian }, () => {
  /** @param {string} chpst */
  const outcome = (chpst) => {
    const root = makeRoot();
    const r = run(chpst, ['-/', root, '-u', 'ghost:ghosts:spirits', '-U', 'ghost', '/bin/sh', '-c', 'pwd >/out; echo "$UID $GID" >>/out']);
    const st = existsSync(join(root, 'out')) ? statSync(join(root, 'out')) : undefined;
    return [r.code, r.stderr, readText(join(root, 'out')), st?.uid, st?.gid];
  };
  assert.deepEqual(outcome(ours), outcome(theirs));
  assert.deepEqual(outcome(ours), [0, '', '/\n4321 4322\n', 4321, 4322]);
});

/**
 * Symlinks named after the personalities, to `target`.
 * @param {string} target
 */
function names(target) {
  const dir = scratch('names');
  for (const name of ['envdir', 'envuidgid', 'pgrphack', 'setuidgid', 'softlimit', 'setlock', 'dsetlock', 'denvdir', 'dchpst', 'xyz'])
    symlinkSync(target, join(dir, name));
  return dir;
}
const ourNames = names(ours);
const theirNames = names(theirs);

test('same state under the personalities', { skip: !haveDebian }, () => {
  const plain = scratch('env');
  writeFileSync(join(plain, 'X'), 'x\n');
  writeFileSync(join(plain, 'KEEP'), '');
  /** @type {[string, string[]][]} */
  const cases = [
    ['setuidgid', ['nobody']],
    ['envuidgid', ['nobody']],
    ['envdir', [plain]],
    ['denvdir', [plain]],
    ['pgrphack', []],
    ['softlimit', ['-c', '=', '-o', '77', '-s', '1000000', '-l', '5']],
    ['softlimit', ['-m', '300000000', '-d', '=', '-a', '400000000']],
    ['setlock', [join(lockDir, 's1')]],
    ['setlock', ['-n', join(lockDir, 's2')]],
    ['dsetlock', ['-xX', join(lockDir, 's3')]],
  ];
  for (const [name, args] of cases) {
    assert.deepEqual(statusOf(join(ourNames, name), args), statusOf(join(theirNames, name), args), `${name} ${args.join(' ')}`);
    assert.deepEqual(shellOf(join(ourNames, name), args), shellOf(join(theirNames, name), args), `${name} ${args.join(' ')}`);
  }
});

/**
 * Outcome of a command that is expected to fail: exit code, stdout, stderr; whether it ran the program.
 * @param {string} file
 * @param {string[]} args
 * @param {import('node:child_process').SpawnSyncOptions} [options]
 */
function outcome(file, args, options) {
  const marker = join(scratch('marker'), 'ran');
  const r = run(
    file,
    args.map((a) => (a === 'MARK' ? marker : a)),
    options,
  );
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, ran: existsSync(marker) };
}

test('same messages and exit codes for bad input', { skip: !haveDebian }, () => {
  const dir = scratch();
  const notExec = join(dir, 'notexec');
  writeFileSync(notExec, 'echo hi\n', { mode: 0o644 });
  const badElf = join(dir, 'badelf');
  writeFileSync(badElf, '\x7fELFjunk', { mode: 0o755 });
  const withSub = scratch('env');
  mkdirSync(join(withSub, 'SUB'));
  const held = join(dir, 'held');
  const fd = openSync(held, 'w');
  flockExclusive(fd, false);
  const touch = ['touch', 'MARK'];
  const cases = [
    [],
    ['-v'],
    ['-x', ...touch],
    ['-u'],
    ['-vP0x'],
    ['-n', 'x', ...touch],
    ['-n', '--1', ...touch],
    ['-o', '5k', ...touch],
    ['-m', '=', ...touch],
    ['-l', 'a', '-L', 'b', ...touch],
    ['-u', 'nosuchuser', ...touch],
    ['-u', 'nobody:nosuchgroup', ...touch],
    ['-u', 'nobody:', ...touch],
    ['-u', 'nobody:1', ...touch],
    ['-u', ':1234', ...touch],
    ['-u', ':12x:3', ...touch],
    ['-u', ':1:2:x', ...touch],
    ['-U', 'nosuchuser', ...touch],
    ['-e', '/nonexistent', ...touch],
    ['-e', '/etc/hostname', ...touch],
    ['-/', '/nonexistent', ...touch],
    ['-l', '/nonexistent/lock', ...touch],
    ['-L', held, ...touch],
    ['/nonexistent/prog'],
    ['nosuchprogram'],
    ['-b', 'other', 'nosuchprogram'],
    ['-'],
    [notExec],
    [badElf],
    [dir],
    ['--weird', 'touch', 'MARK'],
  ];
  for (const args of cases) assert.deepEqual(outcome(ours, args), outcome(theirs, args), args.join(' '));

  /** @type {[string, string[]][]} */
  const personalityCases = [
    ['envdir', []],
    ['envdir', [withSub, ...touch]],
    ['envdir', ['/nonexistent', ...touch]],
    ['setuidgid', ['nobody']],
    ['setuidgid', ['nobody:daemon', ...touch]],
    ['setuidgid', [':1:2', ...touch]],
    ['envuidgid', [':5:6', ...touch]],
    ['envuidgid', []],
    ['pgrphack', []],
    ['pgrphack', ['/nonexistent']],
    ['setlock', []],
    ['setlock', ['f']],
    ['setlock', ['-z']],
    ['dsetlock', ['-z']],
    ['setlock', [held, ...touch]],
    ['setlock', ['-N', held, ...touch]],
    ['setlock', ['-x', held, ...touch]],
    ['setlock', ['-xX', held, ...touch]],
    ['setlock', ['-x', '/nonexistent/lock', ...touch]],
    ['setlock', ['/nonexistent/lock', ...touch]],
    ['setlock', ['-x', join(dir, 'free'), '/nonexistent']],
    ['setlock', [join(dir, 'free'), '/nonexistent']],
    ['softlimit', []],
    ['softlimit', ['-z']],
    ['softlimit', ['-c']],
    ['softlimit', ['-c', 'x', ...touch]],
    ['softlimit', ['-c', '1']],
    ['dchpst', ['-Q']],
    ['xyz', []],
  ];
  for (const [name, args] of personalityCases) {
    assert.deepEqual(outcome(join(ourNames, name), args), outcome(join(theirNames, name), args), `${name} ${args.join(' ')}`);
  }
  closeSync(fd);
});

test('same messages when the kernel refuses a change or the user lacks a privilege', { skip: !haveDebian }, () => {
  const secret = scratch('env');
  writeFileSync(join(secret, 'SECRET'), 'x', { mode: 0o600 });
  // the inner chpst runs as nobody: ours from a copy nobody can reach (the checkout may be private)
  /**
   * @param {string} chpst
   * @param {string[]} args
   */
  const nested = (chpst, args) => outcome(theirs, ['-u', 'nobody', chpst, ...args, 'touch', 'MARK']);
  for (const args of [
    ['-e', secret],
    ['-n', '-5'],
    ['-/', '/'],
    ['-u', 'root'],
    ['-U', 'root', '-u', ':0:0'],
  ]) {
    assert.deepEqual(nested(othersBin('chpst'), args), nested(theirs, args), args.join(' '));
  }
  // close stdin that was never open
  /** @param {string} chpst */
  const closed = (chpst) => outcome('/bin/sh', ['-c', 'exec "$@" <&-', 'sh', chpst, '-0', 'touch', 'MARK']);
  assert.deepEqual(closed(ours), closed(theirs));
  if (!canFailSyscalls) return;
  /** @type {import('./helpers.js').SyscallRule[][]} */
  const ruleSets = [
    ['setgroups'],
    ['setgid'],
    ['setuid'],
    [
      { name: 'prlimit64', arg: 1, value: 4, nonzero: 2 },
      { name: 'setrlimit', arg: 0, value: 4 },
    ],
  ];
  for (const rules of ruleSets) {
    /** @param {string} chpst */
    const failing = (chpst) => {
      const [file, argv] = withFailingSyscalls(rules, [chpst, '-u', 'nobody', '-c', '5', 'touch', 'MARK']);
      return outcome(file, argv);
    };
    const a = failing(ours);
    assert.deepEqual(a, failing(theirs), JSON.stringify(rules));
    assert.equal(a.code, 111);
  }
});

test('deliberate differences, by name (docs/differences.md)', { skip: !haveDebian }, () => {
  // chpst-chdir-option: -C dir, which Debian's chpst lacks
  assert.match(outcome(theirs, ['-C', '/', 'true']).stderr, /^chpst: illegal option -- C\n/);
  assert.equal(outcome(ours, ['-C', '/', 'true']).code, 0);
  // chpst-version: -V names runit-ts
  assert.match(outcome(ours, ['-V']).stderr, /^\$Id: runit-ts chpst \S+ \$\n/);
  // chpst-number-overflow: runit wraps 2^64+500 to 500 and :2^32:0 to root; here they saturate or are invalid
  /** @param {string} chpst */
  const wrap = (chpst) => parseStatusProbe(run(chpst, ['-o', '18446744073709552116', ...statusProbe]).stdout).limits['Max open files'];
  assert.equal(wrap(theirs).soft, '500');
  assert.equal(wrap(ours).soft, wrap(ours).hard);
  assert.equal(outcome(theirs, ['-u', ':4294967296:0', 'id', '-u']).stdout, '0\n');
  assert.equal(outcome(ours, ['-u', ':4294967296:0', 'id', '-u']).stderr, 'chpst: fatal: invalid uid/gids: 4294967296:0\n');
  // chpst-envdir-missing-file: runit gives a dangling symlink the previous file's value
  const dir = scratch('env');
  for (let i = 1; i <= 6; i++) {
    writeFileSync(join(dir, `V${i}`), `val${i}\n`);
    symlinkSync('/nonexistent', join(dir, `L${i}`));
  }
  /** @param {string} chpst */
  const linked = (chpst) => shellOf(chpst, ['-e', dir]).environ.filter((e) => /^L\d=/.test(e));
  assert.deepEqual(linked(ours), []);
  assert.notDeepEqual(linked(theirs), []);
  // chpst-envdir-names: runit lets `F=G` set F; here such a name sets nothing
  const named = scratch('env');
  writeFileSync(join(named, 'F=G'), 'v');
  /** @param {string} chpst */
  const fs = (chpst) => shellOf(chpst, ['-e', named]).environ.filter((e) => e.startsWith('F='));
  assert.deepEqual(fs(theirs), ['F=G=v']);
  assert.deepEqual(fs(ours), []);
  // chpst-launcher-env: started by a program other than a shell, the launcher's shell exports PWD
  /** @param {string} chpst */
  const direct = (chpst) => shellOf(chpst, []).environ;
  const { PWD, ...noPwd } = env;
  /** @param {string} chpst */
  const without = (chpst) => {
    const d = scratch('probe');
    spawnSync(chpst, shellProbe(d), { env: noPwd, cwd: work });
    return readShellProbe(d).environ.sort();
  };
  assert.deepEqual(direct(ours), direct(theirs));
  assert.deepEqual(without(ours), [...without(theirs), `PWD=${work}`].sort());
});

// chpst integration tests: each option runs a probe under bin/chpst and
// reads the probe's real state from /proc. `npm run build` first.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, chmodSync, symlinkSync, readFileSync, existsSync, statSync, realpathSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import {
  bin,
  tempDir,
  runWithPid,
  openFlags,
  O_CLOEXEC,
  O_NONBLOCK,
  readText,
  waitFor,
  startDetached,
  stopAll,
  statusProbe,
  parseStatusProbe,
  shellProbe,
  readShellProbe,
  withFailingSyscalls,
  canFailSyscalls,
  othersBin,
  chrootWithShell,
} from './helpers.js';
import { flockExclusive, mkfifo } from '../dist/sys/fd.js';

/** @typedef {import('node:child_process').SpawnSyncOptions} SpawnSyncOptions */

const chpst = bin('chpst');
const PATH = '/usr/bin:/bin';
const baseEnv = { PATH, LANG: 'C' };
after(stopAll);

/**
 * A fresh directory every user may write to (probes run as other users write there).
 * @param {string} [name]
 */
const scratch = (name = 'd') => tempDir(`chpst-${name}-`, 0o777);

/**
 * Run a program to completion with the test's small environment: code, signal, stdout, stderr, pid.
 * @param {string} file
 * @param {string[]} args
 * @param {SpawnSyncOptions} [options]
 */
const run = (file, args, options = {}) => runWithPid(file, args, { timeout: 20000, env: baseEnv, ...options });
/**
 * @param {string[]} args
 * @param {SpawnSyncOptions} [options]
 */
const status = (args, options) => {
  const r = run(chpst, [...args, ...statusProbe], options);
  assert.equal(r.code, 0, r.stderr);
  return parseStatusProbe(r.stdout);
};
/**
 * @param {string[]} args
 * @param {SpawnSyncOptions} [options]
 */
const shell = (args, options) => {
  const dir = scratch('probe');
  const r = run(chpst, [...args, ...shellProbe(dir)], options);
  assert.equal(r.code, 0, r.stderr);
  return { ...readShellProbe(dir), pidOfChpst: r.pid };
};
/**
 * Programs run through a shell, as in a run script: `exec chpst ...`
 * @param {string} script
 * @param {string[]} args
 * @param {SpawnSyncOptions} [options]
 */
const viaShell = (script, args, options) => run('/bin/sh', ['-c', script, 'sh', ...args], options);

test("chpst execs: the program has chpst's pid, no Node thread or process is left", () => {
  const probe = shell([]);
  assert.equal(probe.pid, probe.pidOfChpst);
  assert.equal(probe.exe, realpathSync('/bin/sh'));
  const r = run(chpst, statusProbe);
  assert.equal(parseStatusProbe(r.stdout).pid, r.pid);
  assert.match(r.stdout, /^Threads:\s+1$/m);
  assert.match(r.stdout, /^Name:\s+cat$/m);
});

test('clean state: fds 0-2 open, blocking, inheritable; nothing ignored or blocked; only the environment given', () => {
  const probe = shell([], { env: { ...baseEnv, A: '1', B: 'x y' } });
  for (const fd of [0, 1, 2]) {
    const flags = openFlags(probe, fd);
    assert.equal(flags & O_CLOEXEC, 0, `fd ${fd} close-on-exec`);
    assert.equal(flags & O_NONBLOCK, 0, `fd ${fd} non-blocking`);
  }
  // Node's own descriptors are gone: the same as a probe started without chpst
  const dir = scratch();
  run(shellProbe(dir)[0], shellProbe(dir).slice(1));
  assert.deepEqual(probe.fds, readShellProbe(dir).fds);
  // the launcher is a shell, which exports PWD (docs/differences.md chpst-launcher-env)
  assert.deepEqual(probe.environ.filter((e) => !e.startsWith('PWD=')).sort(), ['A=1', 'B=x y', 'LANG=C', `PATH=${PATH}`]);
  const s = status([]);
  assert.equal(s.sigIgn, '0000000000000000');
  assert.equal(s.sigBlk, '0000000000000000');
});

test('through a shell, the environment is exactly the one chpst was given', () => {
  const dir = scratch();
  const r = viaShell('exec "$@"', [chpst, ...shellProbe(dir)], { env: { ...baseEnv, PWD: '/', Z: 'z' }, cwd: '/' });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readShellProbe(dir).environ.sort(), ['LANG=C', `PATH=${PATH}`, 'PWD=/', 'Z=z']);
});

const PY_SIGNALS = `import os, signal, sys
signal.signal(signal.SIGHUP, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM})
os.execv(sys.argv[1], sys.argv[1:])`;

test('ignored signals and the signal mask chpst was started with reach the program', () => {
  const r = run('python3', ['-c', PY_SIGNALS, chpst, ...statusProbe]);
  assert.equal(r.code, 0, r.stderr);
  const s = parseStatusProbe(r.stdout);
  // python ignores SIGPIPE and SIGXFSZ itself, and HUP here; USR1 (10) and TERM (15) blocked
  assert.equal(BigInt(`0x${s.sigIgn}`), (1n << 0n) | (1n << 12n) | (1n << 24n));
  assert.equal(BigInt(`0x${s.sigBlk}`), (1n << 9n) | (1n << 14n));
});

test('fds: closed ones stay closed, inherited ones stay inherited', () => {
  const dir = scratch();
  const r = run('/bin/bash', ['-c', 'exec 3</etc/hostname 7>/dev/null 12</etc/hostname; exec "$@" <&- 2>&-', 'bash', chpst, ...shellProbe(dir)]);
  assert.equal(r.code, 0, r.stderr);
  const probe = readShellProbe(dir);
  for (const fd of [1, 3, 7, 12]) assert.ok(probe.fds.includes(fd), `fd ${fd}`);
  assert.ok(!probe.fds.includes(0) && !probe.fds.includes(2));
  assert.equal(probe.fdFlags[0], undefined);
  assert.equal(openFlags(probe, 3) & O_CLOEXEC, 0);
});

test('the soft NOFILE limit chpst was started with reaches the program, unless -o', () => {
  let r = viaShell('ulimit -Sn 1000; exec "$@"', [chpst, ...statusProbe]);
  assert.equal(parseStatusProbe(r.stdout).limits['Max open files'].soft, '1000');
  r = viaShell('ulimit -Sn 1000; exec "$@"', [chpst, '-o', '500', ...statusProbe]);
  assert.equal(parseStatusProbe(r.stdout).limits['Max open files'].soft, '500');
});

test('-u user: groups, gid, uid; user:group:group; numeric :uid:gid:gid', () => {
  let s = status(['-u', 'nobody']);
  assert.deepEqual(s.uid, [65534, 65534, 65534, 65534]);
  assert.deepEqual(s.gid, [65534, 65534, 65534, 65534]);
  assert.deepEqual(s.groups, [65534]);
  s = status(['-u', 'nobody:daemon:adm']);
  assert.deepEqual(s.uid, [65534, 65534, 65534, 65534]);
  assert.deepEqual(s.gid, [1, 1, 1, 1]);
  assert.deepEqual(s.groups, [1, 4]);
  s = status(['-u', ':1234:5:6']);
  assert.deepEqual(s.uid, [1234, 1234, 1234, 1234]);
  assert.deepEqual(s.gid, [5, 5, 5, 5]);
  assert.deepEqual(s.groups, [5, 6]);
  s = status(['-u', ':1234:']);
  assert.deepEqual(s.gid, [0, 0, 0, 0]);
});

const PY_REGAIN = `import os
for name, call in [('setuid', lambda: os.setuid(0)), ('seteuid', lambda: os.seteuid(0)), ('setgid', lambda: os.setgid(0)), ('setgroups', lambda: os.setgroups([0]))]:
    try:
        call()
        print(name, 'succeeded')
    except PermissionError:
        print(name, 'denied')
print(os.getresuid(), os.getresgid(), os.getgroups())`;

test('after -u, privileges cannot be regained', () => {
  const r = run(chpst, ['-u', 'nobody', 'python3', '-c', PY_REGAIN]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'setuid denied\nseteuid denied\nsetgid denied\nsetgroups denied\n(65534, 65534, 65534) (65534, 65534, 65534) [65534]\n');
});

test('-U sets $UID and $GID only', () => {
  const probe = shell(['-U', 'nobody:daemon']);
  assert.ok(probe.environ.includes('UID=65534'));
  assert.ok(probe.environ.includes('GID=1'));
  assert.ok(shell(['-U', ':7:8:9']).environ.includes('GID=8'));
  assert.deepEqual(status(['-U', 'nobody']).uid, [0, 0, 0, 0]);
});

test('-b argv0: looked up by its name, run under another', () => {
  const dir = scratch();
  const r = run(chpst, ['-b', 'zero', 'sh', '-c', 'echo "$0" >"$1/argv0"; cat /proc/$$/cmdline >"$1/cmdline"', 'name', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readText(join(dir, 'cmdline')), `zero\0-c\0echo "$0" >"$1/argv0"; cat /proc/$$/cmdline >"$1/cmdline"\0name\0${dir}\0`);
});

function makeEnvDir() {
  const dir = scratch('env');
  writeFileSync(join(dir, 'A'), 'hello  \t\nsecond\n');
  writeFileSync(join(dir, 'EMPTY'), '');
  writeFileSync(join(dir, 'NL'), '\n');
  writeFileSync(join(dir, 'NUL'), 'a\0b \n');
  writeFileSync(join(dir, '.hidden'), 'x');
  writeFileSync(join(dir, 'PATH'), '/nonexistent');
  writeFileSync(join(dir, 'BIN'), Buffer.from([0xe9, 0xff]));
  mkdirSync(join(dir, 'SUB'));
  return dir;
}

test("-e dir: first lines, unset on empty, NULs, hidden files and subdirectories skipped; PATH for lookup is chpst's", () => {
  const dir = makeEnvDir();
  const probe = shell(['-e', dir], { env: { ...baseEnv, EMPTY: 'was set', KEEP: 'k' } });
  const env = new Map(probe.environ.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  assert.equal(env.get('A'), 'hello');
  assert.equal(env.has('EMPTY'), false);
  assert.equal(env.get('NL'), '');
  assert.equal(env.get('NUL'), 'a\nb');
  assert.equal(env.get('BIN'), '\xe9\xff');
  assert.equal(env.get('PATH'), '/nonexistent');
  assert.equal(env.get('KEEP'), 'k');
  assert.equal(env.has('.hidden'), false);
  assert.equal(env.has('SUB'), false);
  // the program was found with chpst's PATH although the envdir sets another
  const r = run(chpst, ['-e', dir, 'sh', '-c', 'echo $PATH']);
  assert.equal(r.stdout, '/nonexistent\n');
});

test('-e dir with -v warns about a subdirectory', () => {
  const dir = scratch('env');
  mkdirSync(join(dir, 'SUB'));
  const r = run(chpst, ['-v', '-e', dir, 'true']);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, `chpst: warning: unable to read ${dir}/SUB: is a directory\n`);
  assert.equal(run(chpst, ['-e', dir, 'true']).stderr, '');
});

test('-e dir: a dangling symbolic link removes its variable (docs/differences.md chpst-envdir-missing-file)', () => {
  const dir = scratch('env');
  writeFileSync(join(dir, 'V1'), 'one\n');
  symlinkSync('/nonexistent', join(dir, 'L'));
  writeFileSync(join(dir, 'V2'), 'two\n');
  const probe = shell(['-e', dir], { env: { ...baseEnv, L: 'before' } });
  assert.ok(probe.environ.includes('V1=one') && probe.environ.includes('V2=two'));
  assert.equal(
    probe.environ.some((e) => e.startsWith('L=')),
    false,
  );
});

test('-e dir: a FIFO without writer reads as empty, without blocking', () => {
  const dir = scratch('env');
  mkfifo(join(dir, 'F'), 0o644);
  const probe = shell(['-e', dir], { env: { ...baseEnv, F: 'set' } });
  assert.equal(
    probe.environ.some((e) => e.startsWith('F=')),
    false,
  );
});

/** A root directory to chroot into, with a shell and a user `ghost` that exists only there. */
const makeRoot = () => chrootWithShell(scratch('root'));

test('-/ root: chdir and chroot; users are looked up inside the new root', () => {
  const root = makeRoot();
  const r = run(chpst, ['-/', root, '-u', 'ghost:ghosts:spirits', '/bin/sh', '-c', 'pwd >/out; echo $$ >>/out']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readText(join(root, 'out')), `/\n${r.pid}\n`);
  const st = statSync(join(root, 'out'));
  assert.equal(st.uid, 4321);
  assert.equal(st.gid, 4322);
  // ghost does not exist outside
  assert.equal(run(chpst, ['-u', 'ghost', 'true']).stderr, 'chpst: fatal: unknown user/group: ghost\n');
});

test('-C dir (void extension): working directory after the chroot', () => {
  const root = makeRoot();
  mkdirSync(join(root, 'sub'));
  chmodSync(join(root, 'sub'), 0o777);
  let r = run(chpst, ['-/', root, '-C', '/sub', '/bin/sh', '-c', 'pwd >out']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readText(join(root, 'sub/out')), '/sub\n');
  assert.equal(shell(['-C', '/tmp']).cwd, '/tmp');
  r = run(chpst, ['-C', '/nonexistent', 'true']);
  assert.deepEqual([r.code, r.stderr], [111, 'chpst: fatal: unable to change directory: /nonexistent: file does not exist\n']);
});

test("-n inc: nice value, relative to chpst's own", () => {
  const base = status([]).nice;
  assert.equal(status(['-n', '5']).nice, base + 5);
  assert.equal(status(['-n', '+3']).nice, base + 3);
  assert.equal(status(['-n', '-2']).nice, base - 2);
  assert.equal(status(['-n', '-1', '-n', '4']).nice, base + 4);
});

test('-P: new session and process group; harmless for a group leader', () => {
  const r = run(chpst, ['-P', ...statusProbe]);
  const s = parseStatusProbe(r.stdout);
  assert.equal(s.session, r.pid);
  assert.equal(s.pgrp, r.pid);
  const leader = run('python3', ['-c', 'import os, sys; os.setpgid(0, 0); os.execv(sys.argv[1], sys.argv[1:])', chpst, '-P', ...statusProbe]);
  assert.equal(leader.code, 0, leader.stderr);
  const t = parseStatusProbe(leader.stdout);
  assert.equal(t.pgrp, leader.pid);
  assert.notEqual(t.session, leader.pid);
});

test('-0 -1 -2 close stdin, stdout, stderr', () => {
  let probe = shell(['-0']);
  assert.deepEqual([probe.fdFlags[0], typeof probe.fdFlags[1], typeof probe.fdFlags[2]], [undefined, 'string', 'string']);
  probe = shell(['-1', '-2']);
  assert.deepEqual([typeof probe.fdFlags[0], probe.fdFlags[1], probe.fdFlags[2]], ['string', undefined, undefined]);
  const r = viaShell('exec "$@" <&-', [chpst, '-0', 'true']);
  assert.deepEqual([r.code, r.stderr], [111, 'chpst: fatal: unable to close stdin: file descriptor not open\n']);
});

test('limits: -m -d -o -p -f -c -r -t set soft limits; above the hard limit means the hard limit', () => {
  const s = status(['-m', '300000000', '-d', '200000000', '-o', '100', '-p', '50', '-f', '3000', '-c', '1000', '-r', '5000', '-t', '10']);
  /** @param {string} name */
  const soft = (name) => s.limits[name].soft;
  // what runit sets: the value, or the hard limit when that is lower
  /**
   * @param {string} name
   * @param {string} value
   */
  const capped = (name, value) => {
    const hard = s.limits[name].hard;
    return hard === 'unlimited' || BigInt(hard) >= BigInt(value) ? value : hard;
  };
  assert.equal(soft('Max data size'), '200000000');
  assert.equal(soft('Max stack size'), capped('Max stack size', '300000000'));
  assert.equal(soft('Max address space'), capped('Max address space', '300000000'));
  assert.equal(soft('Max open files'), '100');
  assert.equal(soft('Max processes'), '50');
  assert.equal(soft('Max file size'), '3000');
  assert.equal(soft('Max core file size'), '1000');
  assert.equal(soft('Max resident set'), '5000');
  assert.equal(soft('Max cpu time'), '10');
  assert.equal(soft('Max locked memory'), capped('Max locked memory', '300000000'));
  const t = status(['-o', '99999999999999999999999']);
  assert.equal(t.limits['Max open files'].soft, t.limits['Max open files'].hard);
});

test('-l waits for the lock, -L fails at once; the lock is held by the program on the lowest free fd', async () => {
  const dir = scratch();
  const lock = join(dir, 'lock');
  const fd = openSync(lock, 'w');
  flockExclusive(fd, false);
  let r = run(chpst, ['-L', lock, 'touch', join(dir, 'ran')]);
  assert.deepEqual([r.code, r.stderr], [111, `chpst: fatal: unable to lock: ${lock}: temporary failure\n`]);
  assert.equal(existsSync(join(dir, 'ran')), false);

  const waiter = startDetached(chpst, ['-l', lock, 'sh', '-c', 'echo got; readlink /proc/$$/fd/3; grep flags /proc/$$/fdinfo/3; exec sleep 60'], {
    env: baseEnv,
  });
  const inode = statSync(lock).ino;
  // blocked in flock(): /proc/locks shows a waiter (->) on the lock file
  await waitFor(
    () =>
      readFileSync('/proc/locks', 'utf8')
        .split('\n')
        .some((l) => l.includes('->') && l.includes(`:${inode} `)),
    { what: 'a waiter' },
  );
  assert.equal(waiter.output.stdout, '');
  closeSync(fd);
  await waitFor(() => waiter.output.stdout.includes('flags'), { what: 'the lock' });
  // fd 3 is the lowest one the test runner does not pass on
  assert.equal(waiter.output.stdout, `got\n${lock}\nflags:\t0106001\n`);
  // held by the program now
  r = run(chpst, ['-L', lock, 'true']);
  assert.equal(r.code, 111);
  const created = join(dir, 'created');
  run(chpst, ['-l', created, 'true']);
  assert.equal(statSync(created).mode & 0o777, 0o600 & ~process.umask());
});

test("bad input: runit's messages, exit 111, nothing executed", () => {
  const dir = scratch();
  const marker = join(dir, 'ran');
  const touch = ['touch', marker];
  const notExec = join(dir, 'notexec');
  writeFileSync(notExec, 'echo hi\n', { mode: 0o644 });
  const noShebang = join(dir, 'noshebang');
  writeFileSync(noShebang, '\x7fELFjunk', { mode: 0o755 });
  const unreadable = scratch('env');
  writeFileSync(join(unreadable, 'SECRET'), 'x', { mode: 0o600 });
  /** @type {[string[], string][]} */
  const cases = [
    [['-u', 'nosuchuser', ...touch], 'chpst: fatal: unknown user/group: nosuchuser'],
    [['-u', 'nobody:nosuchgroup', ...touch], 'chpst: fatal: unknown user/group: nobody:nosuchgroup'],
    [['-u', ':1234', ...touch], 'chpst: fatal: invalid uid/gids: 1234'],
    [['-u', ':4294967296:0', ...touch], 'chpst: fatal: invalid uid/gids: 4294967296:0'],
    [['-U', 'nosuchuser', ...touch], 'chpst: fatal: unknown user/group: nosuchuser'],
    [['-e', '/nonexistent', ...touch], 'chpst: fatal: unable to switch to directory: /nonexistent: file does not exist'],
    [['-e', '/etc/hostname', ...touch], 'chpst: fatal: unable to switch to directory: /etc/hostname: not a directory'],
    [['-/', '/nonexistent', ...touch], 'chpst: fatal: unable to change directory: /nonexistent: file does not exist'],
    [['-l', '/nonexistent/lock', ...touch], 'chpst: fatal: unable to open lock: /nonexistent/lock: file does not exist'],
    [['/nonexistent/prog'], 'chpst: fatal: unable to run: /nonexistent/prog: file does not exist'],
    [['nosuchprogram'], 'chpst: fatal: unable to run: nosuchprogram: file does not exist'],
    [['-b', 'other', 'nosuchprogram'], 'chpst: fatal: unable to run: other: file does not exist'],
    [[notExec], `chpst: fatal: unable to run: ${notExec}: access denied`],
    [[noShebang], `chpst: fatal: unable to run: ${noShebang}: exec format error`],
    [[dir], `chpst: fatal: unable to run: ${dir}: access denied`],
  ];
  for (const [args, message] of cases) {
    const r = run(chpst, args);
    assert.deepEqual([r.code, r.stderr, r.stdout], [111, `${message}\n`, ''], args.join(' '));
    assert.equal(existsSync(marker), false, args.join(' '));
  }
  // unreadable files and a nice level refused: as an unprivileged user, who
  // runs chpst from a copy it can reach (the checkout may be private)
  const inner = othersBin('chpst');
  let r = run(chpst, ['-u', 'nobody', inner, '-e', unreadable, ...touch]);
  assert.deepEqual([r.code, r.stderr], [111, `chpst: fatal: unable to read ${unreadable}/SECRET: access denied\n`]);
  r = run(chpst, ['-u', 'nobody', inner, '-n', '-5', ...touch]);
  assert.deepEqual([r.code, r.stderr], [111, 'chpst: fatal: unable to set nice level: permission denied\n']);
  r = run(chpst, ['-u', 'nobody', inner, '-/', '/', ...touch]);
  assert.deepEqual([r.code, r.stderr], [111, 'chpst: fatal: unable to change root directory: permission denied\n']);
  r = run(chpst, ['-u', 'nobody', inner, '-u', 'root', ...touch]);
  assert.deepEqual([r.code, r.stderr], [111, 'chpst: fatal: unable to setgroups: permission denied\n']);
  assert.equal(existsSync(marker), false);
});

test('bad input: the kernel refusing groups, gid, uid or a limit aborts before exec', { skip: !canFailSyscalls }, () => {
  const dir = scratch();
  const marker = join(dir, 'ran');
  /** @type {[import('./helpers.js').SyscallRule[], string[], string][]} */
  const cases = [
    [['setgroups'], ['-u', 'nobody'], 'unable to setgroups: permission denied'],
    [['setgid'], ['-u', 'nobody'], 'unable to setgid: permission denied'],
    [['setuid'], ['-u', 'nobody'], 'unable to setuid: permission denied'],
    [
      [
        { name: 'prlimit64', arg: 1, value: 4, nonzero: 2 },
        { name: 'setrlimit', arg: 0, value: 4 },
      ],
      ['-c', '5'],
      'unable to setrlimit(): permission denied',
    ],
  ];
  for (const [rules, args, message] of cases) {
    const [file, argv] = withFailingSyscalls(rules, [chpst, ...args, 'touch', marker]);
    const r = run(file, argv);
    assert.deepEqual([r.code, r.stderr], [111, `chpst: fatal: ${message}\n`], message);
    assert.equal(existsSync(marker), false);
  }
});

test("usage: exit 100, runit's texts; -V prints a version first", () => {
  const usage =
    'usage: chpst [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog\n\n';
  assert.deepEqual(Object.values(run(chpst, [])).slice(0, 4), [100, null, '', usage]);
  assert.equal(run(chpst, ['-x']).stderr, `chpst: illegal option -- x\n${usage}`);
  assert.equal(run(chpst, ['-n', 'x', 'true']).stderr, usage);
  const v = run(chpst, ['-V']);
  assert.deepEqual([v.code, v.stderr], [100, `$Id: runit-ts chpst 0.1.0 $\n${usage}`]);
});

/**
 * A directory of symlinks to `target` named after the personalities.
 * @param {string} target
 */
function personalities(target) {
  const dir = scratch('names');
  for (const name of ['envdir', 'envuidgid', 'pgrphack', 'setuidgid', 'softlimit', 'setlock', 'dsetlock', 'xyz']) symlinkSync(target, join(dir, name));
  return dir;
}

test('launchers: bin/<personality> are the same launcher as bin/chpst', () => {
  const launcher = readFileSync(chpst);
  for (const name of ['envdir', 'envuidgid', 'pgrphack', 'setuidgid', 'softlimit', 'setlock']) {
    assert.deepEqual(readFileSync(bin(name)), launcher, name);
    assert.ok(statSync(bin(name)).mode & 0o111, name);
  }
});

test('personalities by name: bin/ copies and symlinks, one leading d stripped', () => {
  const names = personalities(chpst);
  assert.equal(run(bin('envdir'), []).stderr, 'usage: envdir dir child\n\n');
  assert.equal(run(join(names, 'dsetlock'), []).stderr, 'usage: setlock [ -nNxX ] file program [ arg ... ]\n\n');
  assert.equal(run(join(names, 'dsetlock'), ['-z']).stderr, 'dsetlock: illegal option -- z\nusage: setlock [ -nNxX ] file program [ arg ... ]\n\n');
  assert.match(run(join(names, 'xyz'), []).stderr, /^usage: xyz \[-vVP012\]/);
  const r = run(join(names, 'setuidgid'), ['nobody', ...statusProbe]);
  assert.deepEqual(parseStatusProbe(r.stdout).uid, [65534, 65534, 65534, 65534]);
});

test('envdir: like -e, but a subdirectory is fatal', () => {
  const dir = scratch('env');
  writeFileSync(join(dir, 'X'), 'x\n');
  let r = run(bin('envdir'), [dir, 'sh', '-c', 'echo $X']);
  assert.deepEqual([r.code, r.stdout], [0, 'x\n']);
  mkdirSync(join(dir, 'SUB'));
  r = run(bin('envdir'), [dir, 'true']);
  assert.deepEqual([r.code, r.stderr], [111, `chpst: fatal: unable to read ${dir}/SUB: is a directory\n`]);
});

test('setuidgid and envuidgid: an account name only', () => {
  const s = parseStatusProbe(run(bin('setuidgid'), ['nobody', ...statusProbe]).stdout);
  assert.deepEqual([s.uid[0], s.gid[0], s.groups], [65534, 65534, [65534]]);
  let r = run(bin('setuidgid'), ['nobody:daemon', 'true']);
  assert.deepEqual([r.code, r.stderr], [111, 'chpst: fatal: unknown account: nobody:daemon\n']);
  r = run(bin('envuidgid'), ['nobody', 'sh', '-c', 'echo $UID $GID']);
  assert.equal(r.stdout, '65534 65534\n');
  r = run(bin('envuidgid'), [':5:6', 'true']);
  assert.deepEqual([r.code, r.stderr], [111, 'chpst: fatal: unknown account: :5:6\n']);
  assert.equal(run(bin('setuidgid'), ['nobody']).stderr, 'usage: setuidgid account child\n\n');
});

test('pgrphack: new session', () => {
  const r = run(bin('pgrphack'), statusProbe);
  const s = parseStatusProbe(r.stdout);
  assert.deepEqual([s.session, s.pgrp], [r.pid, r.pid]);
});

test("softlimit: its letters; = is the hard limit; a bad number prints chpst's usage", () => {
  let r = run(bin('softlimit'), ['-c', '=', '-o', '77', '-s', '1000000', ...statusProbe]);
  const s = parseStatusProbe(r.stdout);
  assert.equal(s.limits['Max core file size'].soft, s.limits['Max core file size'].hard);
  assert.equal(s.limits['Max open files'].soft, '77');
  assert.equal(s.limits['Max stack size'].soft, '1000000');
  r = run(bin('softlimit'), ['-c', 'x', 'true']);
  assert.deepEqual([r.code, r.stderr.split(' [')[0]], [100, 'usage: softlimit']);
  assert.match(r.stderr, /^usage: softlimit \[-vVP012\]/);
});

test('setlock: fails at once by default and with -N, -n waits, -x exits 0 quietly, -X undoes -x', async () => {
  const dir = scratch();
  const lock = join(dir, 'lock');
  const fd = openSync(lock, 'w');
  flockExclusive(fd, false);
  const setlock = bin('setlock');
  for (const args of [[lock], ['-N', lock], ['-xX', lock]]) {
    const r = run(setlock, [...args, 'true']);
    assert.deepEqual([r.code, r.stderr], [111, `chpst: fatal: unable to lock: ${lock}: temporary failure\n`]);
  }
  for (const args of [
    ['-x', lock, 'true'],
    ['-x', join(dir, 'missing/lock'), 'true'],
    ['-x', join(dir, 'other'), '/nonexistent'],
  ]) {
    const r = run(setlock, args);
    assert.deepEqual([r.code, r.stderr], [0, ''], args.join(' '));
  }
  const waiter = startDetached(setlock, ['-n', lock, 'echo', 'got'], { env: baseEnv });
  const inode = statSync(lock).ino;
  await waitFor(
    () =>
      readFileSync('/proc/locks', 'utf8')
        .split('\n')
        .some((l) => l.includes('->') && l.includes(`:${inode} `)),
    { what: 'a waiter' },
  );
  closeSync(fd);
  assert.deepEqual(await waiter.exited, { code: 0, signal: null });
  assert.equal(waiter.output.stdout, 'got\n');
});

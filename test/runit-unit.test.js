// The stage runner's decisions against a recording fake of the system:
// what a host's process 1 would do (halt, reboot, sync), which cannot run
// in a test, and the timing rules with a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, symlinkSync } from 'node:fs';
import { StageRunner, STAGE2_RESTART_MS, STAGE2_STOP_MS, HALT_AFTER_POWEROFF_MS } from '../dist/init/runner.js';
import { RB } from '../dist/sys/reboot.js';
import { detectMode } from '../dist/init/mode.js';
import { readSettings, stageDir } from '../dist/init/settings.js';
import { flagFiles, DEBIAN_FLAGS } from '../dist/init/flags.js';
import { execCheck } from '../dist/init/platform.js';
import { tempDir } from './helpers.js';

/**
 * @typedef {import('../dist/sys/spawn.js').ExitStatus} ExitStatus
 * @typedef {import('../dist/init/platform.js').Program} Program
 * @typedef {import('../dist/init/platform.js').Platform} Platform
 */

/** @implements {Platform} */
class FakeSystem {
  constructor() {
    /** @type {string[]} lines printed */
    this.lines = [];
    /** @type {(string | number)[][]} what was done to the system, in order */
    this.calls = [];
    /** @type {Map<string, number>} modes of the files that exist */
    this.modes = new Map();
    /** @type {{ at: number, fn: () => void }[]} */
    this.timers = [];
    this.now = 0;
    this.nextPid = 100;
    /** @type {Map<number, { path: string, onExit: (status: ExitStatus) => void }>} */
    this.running = new Map();
    this.others = 0;
    /** @type {number | undefined} */
    this.exitCode = undefined;
  }
  /**
   * @param {string} path
   * @param {Program} _program
   * @param {(status: ExitStatus) => void} onExit
   */
  start(path, _program, onExit) {
    const pid = this.nextPid++;
    this.running.set(pid, { path, onExit });
    this.calls.push(['start', path]);
    return pid;
  }
  /**
   * the running program started from `path` ends
   * @param {string} path
   * @param {ExitStatus} [status]
   */
  end(path, status = { code: 0, signal: 0 }) {
    for (const [pid, child] of this.running) {
      if (child.path !== path) continue;
      this.running.delete(pid);
      child.onExit(status);
      return pid;
    }
    throw new Error(`${path} is not running`);
  }
  /** @param {string} path */
  pidOf(path) {
    for (const [pid, child] of this.running) if (child.path === path) return pid;
    return undefined;
  }
  /**
   * @param {number} pid
   * @param {number} signal
   */
  kill(pid, signal) {
    this.calls.push(['kill', pid, signal]);
  }
  /** @param {number} signal */
  killAll(signal) {
    this.calls.push(['killAll', signal]);
    return this.others > 0;
  }
  reapOrphans() {}
  /** @param {string} path */
  ownerExecutable(path) {
    return ((this.modes.get(path) ?? 0) & 0o100) !== 0;
  }
  /**
   * @param {string} path
   * @param {number} mode
   */
  chmod(path, mode) {
    this.calls.push(['chmod', path, mode]);
    this.modes.set(path, mode);
  }
  /** @param {string} path */
  exists(path) {
    return this.modes.has(path);
  }
  /** @param {string} line */
  print(line) {
    this.lines.push(line);
  }
  regetConsole() {}
  /**
   * @param {number} ms
   * @param {() => void} fn
   */
  setTimer(ms, fn) {
    const timer = { at: this.now + ms, fn };
    this.timers.push(timer);
    return () => void (this.timers = this.timers.filter((t) => t !== timer));
  }
  /**
   * the fake clock moves on by `ms`, running the timers that come due
   * @param {number} ms
   */
  advance(ms) {
    const until = this.now + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = due.at;
      due.fn();
    }
    this.now = until;
  }
  sync() {
    this.calls.push(['sync']);
  }
  /** @param {number} howto */
  reboot(howto) {
    this.calls.push(['reboot', howto]);
  }
  /** @param {number} code */
  exit(code) {
    this.exitCode = code;
  }
}

const VERSION = '$Id: test $';

/**
 * @typedef {{ graceMs?: number, runitFlags?: boolean }} SetupOptions
 */

/**
 * A stage runner on the fake system, started (stage 1 running).
 * @param {import('../dist/init/mode.js').Mode} mode
 * @param {SetupOptions} [options]
 */
function setup(mode, { graceMs = 8000, runitFlags = true } = {}) {
  const dir = tempDir('runit-unit-');
  // flagFiles() looks for DIR/stopit on disk to choose the pair
  if (runitFlags) writeFileSync(join(dir, 'stopit'), '');
  const sys = new FakeSystem();
  const runner = new StageRunner(sys, { dir, mode, graceMs, version: VERSION });
  runner.start();
  return { dir, sys, runner, path: (/** @type {string | number} */ n) => `${dir}/${n}` };
}

/**
 * From boot into stage 2.
 * @param {import('../dist/init/mode.js').Mode} mode
 * @param {SetupOptions} [options]
 */
function toStage2(mode, options) {
  const s = setup(mode, options);
  s.sys.end(s.path(1));
  s.sys.lines.length = 0;
  s.sys.calls.length = 0;
  return s;
}

test('host: after stage 3, KILL to all, then reboot when the reboot file is executable', () => {
  const { sys, path } = setup('host');
  sys.modes.set(path('reboot'), 0o100);
  for (const n of [1, 2, 3]) sys.end(path(n));
  assert.deepEqual(sys.lines, [
    `- runit: ${VERSION}: booting.`,
    ...[1, 2, 3].flatMap((n) => [`- runit: enter stage: ${path(n)}`, `- runit: leave stage: ${path(n)}`]),
    '- runit: sending KILL signal to all processes...',
    '- runit: system reboot.',
  ]);
  assert.deepEqual(sys.calls.slice(3), [['killAll', 9], ['sync'], ['reboot', RB.AUTOBOOT]]);
  assert.equal(sys.exitCode, undefined, 'process 1 never exits');
});

test('host: without the reboot file, power off, and 2 s later halt; DIR/nosync skips sync', () => {
  const { sys, path } = setup('host');
  sys.modes.set(path('nosync'), 0o644);
  for (const n of [1, 2, 3]) sys.end(path(n));
  assert.deepEqual(sys.lines.slice(-2), ['- runit: sending KILL signal to all processes...', '- runit: power off...']);
  assert.deepEqual(sys.calls.slice(3), [
    ['killAll', 9],
    ['reboot', RB.POWER_OFF],
  ]);
  sys.advance(HALT_AFTER_POWEROFF_MS);
  assert.equal(sys.lines.at(-1), '- runit: system halt.');
  assert.deepEqual(sys.calls.at(-1), ['reboot', RB.HALT_SYSTEM]);
  assert.equal(sys.calls.filter((c) => c[0] === 'sync').length, 0);
});

test('system mode (RUNIT_CONTAINER=0 in a namespace): exit 6 for reboot, 0 for halt, no reboot(2)', () => {
  const a = setup('system');
  a.sys.modes.set(a.path('reboot'), 0o100);
  for (const n of [1, 2, 3]) a.sys.end(a.path(n));
  assert.equal(a.sys.exitCode, 6);
  const b = setup('system');
  for (const n of [1, 2, 3]) b.sys.end(b.path(n));
  assert.equal(b.sys.exitCode, 0);
  assert.equal(b.sys.lines.at(-1), '- runit: power off...');
  for (const s of [a, b])
    assert.deepEqual(
      s.sys.calls.filter((c) => c[0] === 'reboot' || c[0] === 'sync'),
      [],
    );
});

test('host: signals outside stage 2 are dropped with a warning; CONT without the stop file does nothing', () => {
  const { sys, runner, path } = setup('host');
  runner.signal('CONT');
  assert.equal(sys.lines.at(-1), '- runit: warning: signals only work in stage 2.');
  sys.end(path(1));
  const before = sys.lines.length;
  runner.signal('CONT');
  runner.signal('INT'); // no ctrlaltdel
  runner.signal('TERM'); // not a signal runit acts on
  assert.equal(sys.lines.length, before);
  assert.deepEqual(
    sys.calls.filter((c) => c[0] === 'kill'),
    [],
  );
});

test('host: CONT with the stop file: TERM to stage 2, KILL after 5 s if it is still there, then stage 3', () => {
  const { sys, runner, path } = toStage2('host');
  sys.modes.set(path('stopit'), 0o100);
  const pid = sys.pidOf(path(2));
  runner.signal('CONT');
  assert.deepEqual(sys.calls, [
    ['chmod', path('stopit'), 0],
    ['kill', pid, 15],
  ]);
  sys.advance(STAGE2_STOP_MS - 1);
  assert.equal(sys.calls.length, 2);
  sys.advance(1);
  assert.deepEqual(sys.calls.at(-1), ['kill', pid, 9]);
  assert.equal(sys.lines.at(-1), '- runit: warning: stage 2 not terminated, sending sigkill...');
  sys.end(path(2), { code: null, signal: 9 });
  assert.deepEqual(sys.lines.slice(-2), [`- runit: leave stage: ${path(2)}`, `- runit: enter stage: ${path(3)}`]);
  assert.ok(!sys.lines.some((l) => l.includes('child crashed')), 'a stopped stage 2 is no failure');
});

test("host: Debian's pair of flag files when DIR/stopit does not exist", () => {
  const { sys, runner, path } = toStage2('host', { runitFlags: false });
  sys.modes.set(path('stopit'), 0o100); // not looked at
  runner.signal('CONT');
  assert.deepEqual(sys.calls, []);
  sys.modes.set(DEBIAN_FLAGS.stopit, 0o100);
  runner.signal('CONT');
  assert.deepEqual(sys.calls[0], ['chmod', DEBIAN_FLAGS.stopit, 0]);
});

test('host: stage 2 exiting 111 is killed (process group) and restarted after 5 s; signals wait for it', () => {
  const { sys, runner, path } = toStage2('host');
  const pid = sys.end(path(2), { code: 111, signal: 0 });
  assert.deepEqual(sys.calls, [['kill', -pid, 9]]);
  assert.deepEqual(sys.lines, [`- runit: warning: child failed: ${path(2)}`, '- runit: warning: killing all processes in stage 2...']);
  sys.modes.set(path('stopit'), 0o100);
  runner.signal('CONT');
  assert.equal(sys.lines.length, 2, 'nothing yet');
  sys.advance(STAGE2_RESTART_MS);
  const again = sys.pidOf(path(2));
  assert.deepEqual(sys.lines.slice(2), ['- runit: warning: restarting.', `- runit: enter stage: ${path(2)}`]);
  assert.deepEqual(sys.calls.slice(1), [
    ['start', path(2)],
    ['chmod', path('stopit'), 0],
    ['kill', again, 15],
  ]);
});

test('host: ctrlaltdel runs to its end; stage 2 ending meanwhile is handled after it', () => {
  const { sys, runner, path } = toStage2('host');
  sys.modes.set(path('ctrlaltdel'), 0o755);
  runner.signal('INT');
  assert.deepEqual(sys.lines, ['- runit: ctrl-alt-del request...', `- runit: enter stage: ${path('ctrlaltdel')}`]);
  sys.end(path(2), { code: 0, signal: 0 });
  assert.equal(sys.lines.length, 2);
  sys.end(path('ctrlaltdel'));
  assert.deepEqual(sys.lines.slice(2), [`- runit: leave stage: ${path('ctrlaltdel')}`, `- runit: leave stage: ${path(2)}`, `- runit: enter stage: ${path(3)}`]);
});

test('host: stage 1 crashing skips stage 2', () => {
  const { sys, path } = setup('host');
  sys.end(path(1), { code: null, signal: 11 });
  assert.deepEqual(sys.lines.slice(2), [
    `- runit: warning: child crashed: ${path(1)}`,
    `- runit: leave stage: ${path(1)}`,
    '- runit: warning: skipping stage 2...',
    `- runit: enter stage: ${path(3)}`,
  ]);
});

test('container: TERM and CONT to stage 2 only; the grace period ends in KILL to all and exit 2', () => {
  const { sys, runner, path } = toStage2('container', { graceMs: 3000 });
  const pid = sys.pidOf(path(2));
  runner.signal('TERM');
  runner.signal('TERM'); // once is enough
  assert.deepEqual(sys.calls, [
    ['kill', pid, 15],
    ['kill', pid, 18],
  ]);
  sys.advance(2999);
  assert.equal(sys.calls.length, 2);
  sys.advance(1);
  assert.deepEqual(sys.calls.at(-1), ['killAll', 9]);
  assert.equal(sys.exitCode, undefined, 'waits for stage 2 to be reaped');
  sys.end(path(2), { code: null, signal: 9 });
  assert.equal(sys.exitCode, 2);
  assert.deepEqual(sys.lines, ['- runit: warning: grace period over, sending KILL signal to all processes...', `- runit: leave stage: ${path(2)}`]);
});

test('container: leftovers after stage 3 get TERM; exit 0 once the last is gone', () => {
  const { sys, runner, path } = toStage2('container');
  runner.signal('INT');
  sys.end(path(2));
  sys.others = 1;
  sys.end(path(3));
  assert.deepEqual(sys.calls.slice(-3), [
    ['killAll', 0],
    ['killAll', 15],
    ['killAll', 18],
  ]);
  assert.equal(sys.lines.at(-1), '- runit: sending TERM signal to all processes...');
  assert.equal(sys.exitCode, undefined);
  runner.reaped();
  assert.equal(sys.exitCode, undefined, 'one is still there');
  sys.others = 0;
  runner.reaped();
  assert.equal(sys.exitCode, 0);
  sys.advance(60_000);
  assert.ok(!sys.lines.some((l) => l.includes('grace period')), 'the grace timer was cancelled');
});

test('container: stage 2 ending by itself with an error, or stage 3 failing, makes the exit status 1', () => {
  const a = toStage2('container');
  a.sys.end(a.path(2), { code: 3, signal: 0 });
  assert.equal(a.sys.lines[0], `- runit: warning: child failed: ${a.path(2)}`);
  a.sys.end(a.path(3));
  assert.equal(a.sys.exitCode, 1);
  const b = toStage2('container');
  b.sys.end(b.path(2));
  b.sys.end(b.path(3), { code: 1, signal: 0 });
  assert.equal(b.sys.exitCode, 1);
  const c = toStage2('container');
  c.sys.end(c.path(2));
  c.sys.end(c.path(3));
  assert.equal(c.sys.exitCode, 0);
});

test('container: TERM during the restart delay goes straight to stage 3', () => {
  const { sys, runner, path } = toStage2('container');
  sys.end(path(2), { code: 111, signal: 0 });
  runner.signal('TERM');
  assert.deepEqual(sys.lines.slice(-2), [`- runit: leave stage: ${path(2)}`, `- runit: enter stage: ${path(3)}`]);
  sys.advance(STAGE2_RESTART_MS);
  assert.equal(sys.pidOf(path(2)), undefined, 'not restarted');
});

test('mode: the initial PID namespace is the host, any other a container unless RUNIT_CONTAINER says otherwise', () => {
  assert.equal(detectMode(0xeffffffc, undefined), 'host');
  assert.equal(detectMode(undefined, undefined), 'host');
  assert.equal(detectMode(4026532201, undefined), 'container');
  assert.equal(detectMode(4026532201, false), 'system');
  assert.equal(detectMode(0xeffffffc, false), 'host');
  assert.equal(detectMode(0xeffffffc, true), 'container');
});

test('settings: RUNIT_DIR, RUNIT_GRACE, RUNIT_CONTAINER', () => {
  assert.deepEqual(readSettings({}), { dir: '/etc/runit', graceMs: 8000, container: undefined, warnings: [] });
  assert.deepEqual(readSettings({ RUNIT_DIR: '/srv/runit/', RUNIT_GRACE: '2.5', RUNIT_CONTAINER: '0' }), {
    dir: '/srv/runit',
    graceMs: 2500,
    container: false,
    warnings: [],
  });
  assert.deepEqual(readSettings({ RUNIT_GRACE: '-1', RUNIT_CONTAINER: 'yes' }).warnings, [
    'invalid RUNIT_GRACE: -1, using 8 seconds.',
    'invalid RUNIT_CONTAINER: yes, must be 0 or 1.',
  ]);
  assert.equal(stageDir({ RUNIT_DIR: 'relative' }), join(process.cwd(), 'relative'));
});

test("flag files: runit's pair when DIR/stopit exists (a dangling symlink counts), else Debian's", () => {
  const dir = tempDir();
  assert.deepEqual(flagFiles(dir), { stopit: '/run/runit.stopit', reboot: '/run/runit.reboot' });
  symlinkSync('/nonexistent/stopit', join(dir, 'stopit'));
  assert.deepEqual(flagFiles(dir), { stopit: `${dir}/stopit`, reboot: `${dir}/reboot` });
});

test('execCheck: what execve would say before the stage is started through /bin/sh', () => {
  const dir = tempDir();
  /**
   * @param {string} name
   * @param {string} content
   * @param {number} mode
   */
  const file = (name, content, mode) => {
    writeFileSync(join(dir, name), content, { mode });
    return join(dir, name);
  };
  assert.equal(execCheck(join(dir, 'missing')), 'ENOENT');
  assert.equal(execCheck(dir), 'EACCES');
  assert.equal(execCheck(file('script', '#!/bin/sh\n', 0o755)), undefined);
  assert.equal(execCheck(file('noshebang', 'echo hi\n', 0o755)), 'ENOEXEC');
  assert.equal(execCheck('/bin/true'), undefined);
  assert.equal(execCheck(file('plain', '#!/bin/sh\n', 0o644)), 'EACCES');
});

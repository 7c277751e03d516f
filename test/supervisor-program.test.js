// The supervisor's state machine for one program, driven through a fake
// platform: a fake clock and timers, fake children whose exits the test
// decides. No process is started and nothing sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Program, FORK_RETRY_MS, LEFTOVER_KILL_MS, LEFTOVER_GRACE_MS, MEMORY_CHECK_MS } from '../dist/supervisor/program.js';
import { State } from '../dist/protocol/status.js';
import { TAI_OFFSET } from '../dist/protocol/tai64n.js';

/** @typedef {import('../dist/sys/spawn.js').ExitStatus} ExitStatus */
/** @typedef {import('../dist/supervisor/status-files.js').ProgramView} ProgramView */
/** @typedef {import('../dist/protocol/status.js').Want} Want */

/** A child the test ends with `exit`. */
class FakeChild {
  /**
   * @param {number} pid
   * @param {'run' | 'finish'} what
   * @param {readonly string[]} args
   * @param {(status: ExitStatus) => void} onExit
   * @param {import('../dist/supervisor/platform.js').StartExtra} [extra]
   */
  constructor(pid, what, args, onExit, extra) {
    this.pid = pid;
    this.extra = extra;
    this.startTime = String(pid);
    this.what = what;
    this.args = args;
    /** @type {string[]} */
    this.signals = [];
    this.onExit = onExit;
  }
  /** @param {string} signal */
  signal(signal) {
    this.signals.push(signal);
  }
  /** @param {ExitStatus} [status] */
  exit(status = { code: 0, signal: 0 }) {
    this.onExit(status);
  }
}

/** @typedef {import('../dist/supervisor/platform.js').ProgramPlatform} ProgramPlatform */

/** @implements {ProgramPlatform} */
class FakePlatform {
  /**
   * @param {{ finish?: boolean, timeoutKill?: number, custom?: Record<string, boolean>, policy?: Partial<import('../dist/supervisor/restart-policy.js').RestartPolicy>, downSignal?: NodeJS.Signals, timeoutFinish?: number }} [options]
   *   custom: the letters whose control/ program exists, and whether it handles them
   */
  constructor({ finish = false, timeoutKill = undefined, custom = {}, policy = {}, downSignal = undefined, timeoutFinish = undefined } = {}) {
    this.finish = finish;
    /** @type {import('../dist/supervisor/restart-policy.js').RestartPolicy} */
    this.policy = { backoff: undefined, giveUp: undefined, deathTally: 100, ...policy };
    this.downSignalName = downSignal;
    this.timeoutFinishMs = timeoutFinish;
    /** @type {number | undefined} */
    this.timeoutKillMs = timeoutKill;
    this.customs = custom;
    /** @type {string[]} */
    this.customRuns = [];
    this.micros = 1_700_000_000_000_000;
    /** @type {{ at: number, fn: () => void, live: boolean }[]} */
    this.timers = [];
    /** @type {FakeChild[]} */
    this.children = [];
    /** @type {string[]} the next starts fail with these errno names, in turn */
    this.startErrors = [];
    /** @type {{ state: number, want: Want, paused: boolean, gotTerm: boolean, pid: number }[]} */
    this.published = [];
    /** @type {string[]} */
    this.warnings = [];
    /** @type {string[]} */
    this.fatals = [];
    /** @type {unknown[]} */
    this.errors = [];
    /** starts complete later, as the real ./run's spawn off the event loop */
    this.deferStarts = false;
    /** @type {(() => void)[]} */
    this.pendingStarts = [];
    /** @type {{ signals: NodeJS.Signals[], onEmpty?: () => void } | undefined} what the exiting process leaves behind */
    this.left = undefined;
    /** @type {number | undefined} */
    this.released = undefined;
    /** @type {number | undefined} */
    this.adoptedPid = undefined;
    /** @type {number | undefined} */
    this.memoryLimitBytes = undefined;
    /** @type {number | undefined} */
    this.memoryBytes = undefined;
  }
  /**
   * @param {'run' | 'finish'} what
   * @param {readonly string[]} args
   * @param {(status: ExitStatus) => void} onExit
   * @param {import('../dist/supervisor/platform.js').StartExtra} [extra]
   */
  start(what, args, onExit, extra) {
    if (this.deferStarts) {
      // the start completes when the test calls the release it leaves
      return new Promise((resolve) => this.pendingStarts.push(() => resolve(this.startNow(what, args, onExit, extra))));
    }
    return this.startNow(what, args, onExit, extra);
  }
  /**
   * @param {'run' | 'finish'} what
   * @param {readonly string[]} args
   * @param {(status: ExitStatus) => void} onExit
   * @param {import('../dist/supervisor/platform.js').StartExtra} [extra]
   */
  startNow(what, args, onExit, extra) {
    const error = this.startErrors.shift();
    if (error) {
      queueMicrotask(() => onExit({ execError: error }));
      return undefined;
    }
    const child = new FakeChild(100 + this.children.length, what, args, onExit, extra);
    this.children.push(child);
    return child;
  }
  /** @param {string} letter */
  custom(letter) {
    const handles = this.customs[letter];
    if (handles === undefined) return false;
    this.customRuns.push(letter);
    return Promise.resolve(handles);
  }
  hasFinish() {
    return this.finish;
  }
  timeoutKill() {
    return this.timeoutKillMs;
  }
  restartPolicy() {
    return this.policy;
  }
  downSignal() {
    return this.downSignalName;
  }
  timeoutFinish() {
    return this.timeoutFinishMs;
  }
  /** the processes the last start left behind (containment), by the signals they got */
  leftovers() {
    return this.left !== undefined;
  }
  /** @param {NodeJS.Signals} signal */
  signalLeftovers(signal) {
    this.left?.signals.push(signal);
  }
  /** @param {() => void} onEmpty */
  whenNoLeftovers(onEmpty) {
    if (this.left) this.left.onEmpty = onEmpty;
    return () => {
      if (this.left) this.left.onEmpty = undefined;
    };
  }
  /** The leftovers exit: the program goes on. */
  leftoversGone() {
    const left = this.left;
    this.left = undefined;
    left?.onEmpty?.();
  }
  release() {
    this.released = (this.released ?? 0) + 1;
  }
  /** @param {number} pid */
  adopted(pid) {
    this.adoptedPid = pid;
  }
  containment() {
    return 'none';
  }
  memoryLimit() {
    return this.memoryLimitBytes;
  }
  /** @param {number} _pid */
  memoryUsage(_pid) {
    return this.memoryBytes;
  }
  now() {
    const sec = Math.floor(this.micros / 1e6);
    return { sec: TAI_OFFSET + BigInt(sec), nsec: (this.micros - sec * 1e6) * 1000 };
  }
  /** @param {number} ms @param {() => void} fn */
  setTimer(ms, fn) {
    const timer = { at: this.micros + ms * 1000, fn, live: true };
    this.timers.push(timer);
    return () => (timer.live = false);
  }
  /** Move the clock on by `ms`, firing the timers that fall due, in order. @param {number} ms */
  advance(ms) {
    const end = this.micros + ms * 1000;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.micros = due.at;
      due.live = false;
      due.fn();
    }
    this.micros = end;
  }
  /** @param {ProgramView} view */
  publish(view) {
    const { state, want, paused, gotTerm, pid } = view;
    const record = { state, want, paused, gotTerm, pid };
    const last = this.published.at(-1);
    if (!last || JSON.stringify(last) !== JSON.stringify(record)) this.published.push(record);
  }
  /** @param {string} message */
  warn(message) {
    this.warnings.push(message);
  }
  /** @param {string} message */
  fatal(message) {
    this.fatals.push(message);
  }
  /** @param {unknown} err */
  internalError(err) {
    this.errors.push(err);
  }
  /** The child started last (the test fails if there is none). */
  get lastChild() {
    const child = this.children.at(-1);
    assert.ok(child, 'no child was started');
    return child;
  }
}

/** Let pending promise callbacks (custom control programs, exec failures) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/**
 * @param {ConstructorParameters<typeof FakePlatform>[0]} [options]
 * @param {Want} [want]
 */
function started(options = {}, want = 'up', isLog = false) {
  const platform = new FakePlatform(options);
  const program = new Program(platform, isLog, want);
  program.begin();
  return { platform, program };
}

test('program: begin starts ./run and publishes it running once', () => {
  const { platform, program } = started();
  assert.equal(platform.children.length, 1);
  assert.equal(platform.lastChild.what, 'run');
  assert.equal(program.state, State.Run);
  assert.deepEqual(platform.published, [{ state: State.Run, want: 'up', paused: false, gotTerm: false, pid: 100 }]);
});

test('program: a run that dies within a second is restarted one second after it started, not before', () => {
  const { platform, program } = started();
  platform.advance(300);
  platform.lastChild.exit({ code: 1, signal: 0 });
  assert.equal(program.state, State.Down);
  assert.equal(platform.children.length, 1);
  platform.advance(699);
  assert.equal(platform.children.length, 1, 'restarted before the second was over');
  platform.advance(1);
  assert.equal(platform.children.length, 2);
  assert.deepEqual(
    platform.published.map((p) => [p.state, p.pid]),
    [
      [State.Run, 100],
      [State.Down, 0],
      [State.Run, 101],
    ],
  );
});

test('program: a run that lived longer than a second is restarted at once, published once (running)', () => {
  const { platform } = started();
  platform.advance(5000);
  platform.lastChild.exit();
  assert.equal(platform.children.length, 2);
  assert.deepEqual(
    platform.published.map((p) => [p.state, p.pid]),
    [
      [State.Run, 100],
      [State.Run, 101],
    ],
  );
});

test('program: no process for want of a resource: "unable to fork, sleeping", state kept, retried 5 s later', async () => {
  const platform = new FakePlatform();
  platform.startErrors = ['EAGAIN'];
  const program = new Program(platform, false, 'up');
  program.begin();
  await settle();
  assert.deepEqual(platform.warnings, ['unable to fork, sleeping: temporary failure']);
  assert.equal(program.state, State.Down);
  assert.deepEqual(
    platform.published.map((p) => p.state),
    [State.Down],
  );
  assert.equal(program.pid, 0);
  assert.deepEqual(platform.fatals, []);
  platform.advance(FORK_RETRY_MS - 1);
  assert.equal(platform.children.length, 0);
  platform.advance(1);
  assert.equal(platform.children.length, 1);
  assert.equal(program.state, State.Run);
});

test('program: ./run that cannot be executed is reported fatal, counts as exit 111 and is retried each second', async () => {
  const platform = new FakePlatform({ finish: true });
  platform.startErrors = ['ENOENT'];
  const program = new Program(platform, false, 'up');
  program.begin();
  await settle();
  assert.deepEqual(platform.fatals, ['unable to start ./run: file does not exist']);
  // no pid is published for a program that was never started (docs/differences.md: runsv-exec-failure)
  assert.deepEqual(
    platform.published.filter((p) => p.pid === 0 && p.state !== State.Down),
    [],
  );
  // finish runs with run's exit code 111
  assert.equal(platform.lastChild.what, 'finish');
  assert.deepEqual(platform.lastChild.args, ['111', '0']);
  platform.lastChild.exit();
  assert.equal(program.state, State.Down);
  platform.advance(1000);
  assert.equal(platform.lastChild.what, 'run');
});

test('program: o runs a down program once; it is not restarted when it exits', async () => {
  const { platform, program } = started({}, 'down');
  assert.equal(platform.children.length, 0);
  await program.control('o');
  assert.equal(platform.children.length, 1);
  assert.equal(program.want, 'down');
  platform.advance(2000);
  platform.lastChild.exit();
  platform.advance(10_000);
  assert.equal(platform.children.length, 1);
  assert.equal(program.state, State.Down);
  await program.control('u');
  assert.equal(platform.children.length, 2);
});

test('program: p and c stop and continue the process and set the paused flag', async () => {
  const { platform, program } = started();
  await program.control('p');
  assert.deepEqual(platform.lastChild.signals, ['SIGSTOP']);
  assert.equal(platform.published.at(-1)?.paused, true);
  await program.control('c');
  assert.deepEqual(platform.lastChild.signals, ['SIGSTOP', 'SIGCONT']);
  assert.equal(platform.published.at(-1)?.paused, false);
});

test('program: d sends TERM then CONT; got TERM is published; the exit runs finish with the signal', async () => {
  const { platform, program } = started({ finish: true });
  await program.control('d');
  assert.deepEqual(platform.lastChild.signals, ['SIGTERM', 'SIGCONT']);
  assert.deepEqual(platform.published.at(-1), { state: State.Run, want: 'down', paused: false, gotTerm: true, pid: 100 });
  platform.lastChild.exit({ code: null, signal: 15 });
  assert.equal(program.state, State.Finish);
  assert.deepEqual(platform.lastChild.args, ['-1', '15']);
  platform.lastChild.exit();
  assert.equal(program.state, State.Down);
  platform.advance(10_000);
  assert.equal(platform.children.length, 2, 'a program that wants down was restarted');
});

test('program: k during finish kills finish; run comes back after the throttle', async () => {
  const { platform, program } = started({ finish: true });
  platform.lastChild.exit({ code: 3, signal: 0 });
  const finish = platform.lastChild;
  assert.equal(finish.what, 'finish');
  assert.deepEqual(finish.args, ['3', '0']);
  await program.control('k');
  assert.deepEqual(finish.signals, ['SIGKILL']);
  finish.exit({ code: null, signal: 9 });
  assert.equal(program.state, State.Down);
  platform.advance(999);
  assert.equal(platform.children.length, 2);
  platform.advance(1);
  assert.equal(platform.lastChild.what, 'run');
});

test('program: a control/t that handles the letter replaces the TERM', async () => {
  const { platform, program } = started({ custom: { t: true } });
  await program.control('t');
  assert.deepEqual(platform.customRuns, ['t']);
  assert.deepEqual(platform.lastChild.signals, []);
  assert.equal(program.gotTerm, false);
});

test('program: without timeout-kill a stop is never escalated (runit)', async () => {
  const { platform, program } = started();
  await program.control('d');
  platform.advance(3_600_000);
  assert.deepEqual(platform.lastChild.signals, ['SIGTERM', 'SIGCONT']);
  assert.equal(program.state, State.Run);
});

test('program: timeout-kill: SIGKILL that many ms after a stop the process ignored, not before', async () => {
  const { platform, program } = started({ timeoutKill: 500 });
  await program.control('d');
  platform.advance(499);
  assert.deepEqual(platform.lastChild.signals, ['SIGTERM', 'SIGCONT']);
  platform.advance(1);
  assert.deepEqual(platform.lastChild.signals, ['SIGTERM', 'SIGCONT', 'SIGKILL']);
  platform.lastChild.exit({ code: null, signal: 9 });
  assert.equal(program.state, State.Down);
});

test('program: timeout-kill: a process that obeys the stop in time is not killed, nor its successor', async () => {
  const { platform, program } = started({ timeoutKill: 500 });
  await program.control('t');
  platform.advance(100);
  const first = platform.lastChild;
  first.exit({ code: null, signal: 15 });
  platform.advance(2000);
  assert.equal(platform.children.length, 2);
  assert.deepEqual(first.signals, ['SIGTERM']);
  assert.deepEqual(platform.lastChild.signals, []);
  assert.equal(program.state, State.Run);
});

test('program: escalated stops (runsvdir shutdown): x, then KILL after the default; a hung finish too', async () => {
  const { platform, program } = started({ finish: true });
  program.escalateStops(7000);
  await program.control('x');
  assert.equal(program.want, 'exit');
  platform.advance(6999);
  assert.deepEqual(platform.lastChild.signals, ['SIGTERM', 'SIGCONT']);
  platform.advance(1);
  assert.deepEqual(platform.lastChild.signals, ['SIGTERM', 'SIGCONT', 'SIGKILL']);
  platform.lastChild.exit({ code: null, signal: 9 });
  const finish = platform.lastChild;
  assert.equal(finish.what, 'finish');
  platform.advance(7000);
  assert.deepEqual(finish.signals, ['SIGKILL']);
  finish.exit({ code: null, signal: 9 });
  assert.equal(program.state, State.Down);
  platform.advance(10_000);
  assert.equal(platform.children.length, 2, 'a program that wants exit was restarted');
});

test('program: the log service at exit: want exit, killed after the default if it does not end', () => {
  const { platform, program } = started({}, 'up', true);
  program.escalateStops(7000);
  program.exitAfterInput();
  assert.equal(platform.published.at(-1)?.want, 'exit');
  platform.advance(7000);
  assert.deepEqual(platform.lastChild.signals, ['SIGKILL']);
});

test('program: x is ignored by a log service', async () => {
  const { platform, program } = started({}, 'up', true);
  await program.control('x');
  assert.equal(program.want, 'up');
  assert.deepEqual(platform.lastChild.signals, []);
});

test('program: after close, nothing is started or published', () => {
  const { platform, program } = started();
  platform.advance(100);
  const published = platform.published.length;
  program.close();
  platform.lastChild.exit();
  platform.advance(5000);
  assert.equal(platform.children.length, 1);
  assert.equal(platform.published.length, published);
});

test('program: a start that completes later publishes nothing until the child is known, then run once', async () => {
  const platform = new FakePlatform();
  platform.deferStarts = true;
  const program = new Program(platform, false, 'up');
  program.begin();
  await settle();
  assert.deepEqual(platform.published, []);
  assert.equal(program.isStarting, true);
  platform.pendingStarts.shift()?.();
  await settle();
  assert.deepEqual(platform.published, [{ state: State.Run, want: 'up', paused: false, gotTerm: false, pid: 100 }]);
  assert.equal(program.isStarting, false);
});

test('program: a letter that arrives while the start is under way applies to the child once it is known', async () => {
  const platform = new FakePlatform();
  platform.deferStarts = true;
  const program = new Program(platform, false, 'up');
  program.begin();
  const down = program.control('d');
  await settle();
  // not applied yet: no child to signal
  assert.equal(program.want, 'up');
  platform.pendingStarts.shift()?.();
  await down;
  assert.deepEqual(platform.lastChild.signals, ['SIGTERM', 'SIGCONT']);
  assert.deepEqual(platform.published.at(-1), { state: State.Run, want: 'down', paused: false, gotTerm: true, pid: 100 });
  platform.lastChild.exit({ code: null, signal: 15 });
  await settle();
  assert.equal(platform.published.at(-1)?.state, State.Down);
  assert.equal(platform.children.length, 1);
});

test('program: a start that fails later is reported as the exec failure it is, and published as down', async () => {
  const platform = new FakePlatform();
  platform.deferStarts = true;
  platform.startErrors.push('ENOENT');
  const program = new Program(platform, false, 'up');
  program.begin();
  // the exec error comes before the spawn is known to have ended (the order seen with runsv bundled)
  platform.pendingStarts.shift()?.();
  await settle();
  assert.deepEqual(platform.fatals, ['unable to start ./run: file does not exist']);
  assert.equal(program.isStarting, false);
  assert.deepEqual(platform.published, [{ state: State.Down, want: 'up', paused: false, gotTerm: false, pid: 0 }]);
});

// --- restart policy (issue 14): backoff, give-up, down-signal, timeout-finish ---

test('program: backoff 1 s doubling to 8 s while it keeps dying; back to 1 s after a stable run; sv up skips the wait', () => {
  const { platform, program } = started({ policy: { backoff: { firstMs: 1000, capMs: 8000 } } });
  /** the delays between a death and the next start */
  const delays = [];
  for (let i = 0; i < 5; i++) {
    const before = platform.children.length;
    platform.lastChild.exit({ code: 1, signal: 0 });
    assert.ok(program.restartAt, 'a pending restart is published');
    let waited = 0;
    while (platform.children.length === before) {
      platform.advance(100);
      waited += 100;
    }
    delays.push(waited);
    assert.equal(program.restartAt, undefined);
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 8000]);
  assert.deepEqual(
    program.deaths.records.map((d) => d.code),
    [1, 1, 1, 1, 1],
  );
  // stable for the cap (at least 10 s): the next death waits the first delay again
  platform.advance(10_000);
  platform.lastChild.exit({ code: 2, signal: 0 });
  platform.advance(999);
  const count = platform.children.length;
  platform.advance(1);
  assert.equal(platform.children.length, count + 1);
  // while dying quickly: sv up starts it at once
  platform.lastChild.exit({ code: 1, signal: 0 });
  assert.ok(program.restartAt);
  const waiting = platform.children.length;
  program.control('u');
  return settle().then(() => {
    assert.equal(platform.children.length, waiting + 1, 'sv up did not wait for the backoff');
    assert.equal(program.restartAt, undefined);
  });
});

test('program: without a backoff file, runit: one second after the start, no pending restart published', () => {
  const { platform, program } = started();
  platform.advance(200);
  platform.lastChild.exit({ code: 1, signal: 0 });
  assert.equal(program.restartAt, undefined);
  platform.advance(800);
  assert.equal(platform.children.length, 2);
  assert.equal(program.deaths.total, 1);
});

test('program: ./finish exiting 125 gives up; the tally (3 deaths in 10 s) gives up; sv up clears it', async () => {
  const { platform, program } = started({ finish: true });
  platform.lastChild.exit({ code: 1, signal: 0 });
  assert.equal(platform.lastChild.what, 'finish');
  platform.lastChild.exit({ code: 125, signal: 0 });
  platform.advance(5000);
  assert.equal(program.state, State.Down);
  assert.equal(program.givenUp, true);
  assert.equal(program.want, 'down');
  assert.equal(platform.children.length, 2, 'not restarted');
  assert.deepEqual(platform.warnings, ['given up after ./finish exited 125: sv up starts it again']);
  await program.control('u');
  assert.equal(program.givenUp, false);
  assert.equal(platform.lastChild.what, 'run');

  const tally = started({ policy: { giveUp: { deaths: 3, seconds: 10 } } });
  for (let i = 0; i < 3; i++) {
    tally.platform.advance(1000);
    tally.platform.lastChild.exit({ code: null, signal: 9 });
  }
  tally.platform.advance(5000);
  assert.equal(tally.platform.children.length, 3);
  assert.equal(tally.program.givenUp, true);
  assert.deepEqual(tally.platform.warnings, ['given up after 3 deaths in 10 seconds: sv up starts it again']);
  assert.deepEqual(
    tally.program.deaths.records.map((d) => d.signal),
    [9, 9, 9],
  );
  // sv up: a fresh chance, the three deaths before count no more; three new ones give up again
  await tally.program.control('u');
  for (let i = 0; i < 2; i++) {
    tally.platform.advance(1000);
    tally.platform.lastChild.exit({ code: null, signal: 9 });
  }
  tally.platform.advance(1000);
  assert.equal(tally.program.givenUp, false, 'two deaths since sv up');
  tally.platform.lastChild.exit({ code: null, signal: 9 });
  assert.equal(tally.program.givenUp, true);
  assert.equal(tally.platform.children.length, 6);
});

test('program: down-signal is what a stop sends; timeout-finish kills a ./finish that hangs', async () => {
  const { platform, program } = started({ downSignal: 'SIGQUIT', finish: true, timeoutFinish: 500 });
  const run = platform.lastChild;
  await program.control('d');
  assert.deepEqual(run.signals, ['SIGQUIT', 'SIGCONT']);
  run.exit({ code: null, signal: 3 });
  const finish = platform.lastChild;
  assert.equal(finish.what, 'finish');
  assert.deepEqual(finish.args, ['-1', '3']);
  platform.advance(499);
  assert.deepEqual(finish.signals, []);
  platform.advance(1);
  assert.deepEqual(finish.signals, ['SIGKILL']);
  assert.deepEqual(platform.warnings, ['./finish still running after timeout-finish (500 ms): killed']);
});

test('program: containment: what run left is sent TERM and CONT; finish runs only once it is gone, the state stays run meanwhile', async () => {
  const { platform, program } = started({ finish: true });
  const run = platform.lastChild;
  platform.left = { signals: [] };
  run.exit({ code: 0, signal: 0 });
  assert.deepEqual(platform.left?.signals, ['SIGTERM', 'SIGCONT']);
  assert.equal(platform.children.length, 1, 'finish waits for the leftovers');
  assert.equal(program.state, State.Run);
  assert.equal(program.pid, run.pid);
  // a letter meanwhile signals nothing: the process it would name has exited
  await program.control('k');
  assert.deepEqual(run.signals, []);
  platform.leftoversGone();
  assert.equal(platform.children.length, 2);
  assert.equal(platform.lastChild.what, 'finish');
  assert.equal(program.state, State.Finish);
});

test('program: containment: leftovers that ignore TERM are killed after 2 s (or timeout-kill), then the restart follows', () => {
  for (const { timeoutKill, killAt } of [
    { timeoutKill: undefined, killAt: LEFTOVER_KILL_MS },
    { timeoutKill: 300, killAt: 300 },
  ]) {
    const { platform } = started({ timeoutKill });
    platform.advance(5000);
    platform.left = { signals: [] };
    platform.lastChild.exit({ code: 1, signal: 0 });
    platform.advance(killAt - 1);
    assert.deepEqual(platform.left?.signals, ['SIGTERM', 'SIGCONT']);
    platform.advance(1);
    assert.deepEqual(platform.left?.signals, ['SIGTERM', 'SIGCONT', 'SIGKILL']);
    assert.equal(platform.children.length, 1);
    platform.leftoversGone();
    assert.equal(platform.children.length, 2, 'restarted once the leftovers are gone');
  }
});

test('program: containment: leftovers that outlive SIGKILL (uninterruptible) hold the service 1 s more, then a warning and it goes on', () => {
  const { platform, program } = started({ timeoutKill: 100 });
  platform.advance(5000);
  platform.left = { signals: [] };
  platform.lastChild.exit({ code: 1, signal: 0 });
  platform.advance(100 + LEFTOVER_GRACE_MS - 1);
  assert.equal(platform.children.length, 1);
  platform.advance(1);
  assert.equal(platform.children.length, 2);
  assert.match(platform.warnings.at(-1) ?? '', /^processes left by pid 100 still there 1000 ms after SIGKILL: going on without them$/);
  assert.equal(program.state, State.Run);
});

test('program: timeout-kill SIGKILL goes to the whole unit; a down program releases its cgroup', async () => {
  const { platform, program } = started({ timeoutKill: 500 });
  await program.control('d');
  platform.left = { signals: [] };
  platform.advance(500);
  assert.deepEqual(platform.lastChild.signals, ['SIGTERM', 'SIGCONT', 'SIGKILL']);
  assert.deepEqual(platform.left?.signals, ['SIGKILL']);
  platform.lastChild.exit({ code: null, signal: 9 });
  assert.equal(program.state, State.Run, 'not down while something of it is left');
  platform.leftoversGone();
  assert.equal(program.state, State.Down);
  assert.equal(platform.released, 1);
});

test('program: EXTEND_TIMEOUT_USEC during a stop moves its SIGKILL later, never earlier', async () => {
  const { platform, program } = started({ timeoutKill: 500 });
  await program.control('d');
  platform.advance(400);
  program.notify([{ kind: 'extend-timeout', usec: 50_000 }]); // 50 ms: earlier than the 100 ms left
  program.notify([{ kind: 'extend-timeout', usec: 1_000_000 }]);
  platform.advance(999);
  assert.deepEqual(platform.lastChild.signals, ['SIGTERM', 'SIGCONT']);
  platform.advance(1);
  assert.deepEqual(platform.lastChild.signals, ['SIGTERM', 'SIGCONT', 'SIGKILL']);
});

test('program: memory-restart: looked at each second; over the limit, a warning, TERM, finish told oom-kill, and a restart', async () => {
  const { platform, program } = started({ finish: true });
  // the limit is read at each start of run: this one has none, nothing is looked at
  platform.advance(5000);
  assert.equal(platform.timers.filter((t) => t.live).length, 0);
  platform.memoryLimitBytes = 1000;
  platform.memoryBytes = 1000;
  platform.lastChild.exit({ code: 0, signal: 0 });
  platform.lastChild.exit({ code: 0, signal: 0 }); // finish
  const run = platform.lastChild;
  assert.equal(run.what, 'run');
  platform.advance(MEMORY_CHECK_MS);
  assert.deepEqual(run.signals, [], 'at the limit is not over it');
  platform.memoryBytes = 1001;
  platform.advance(MEMORY_CHECK_MS);
  await settle();
  assert.deepEqual(run.signals, ['SIGTERM']);
  assert.equal(platform.warnings.at(-1), 'memory 1001 bytes over memory-restart 1000: restarting');
  assert.equal(program.want, 'up');
  run.exit({ code: null, signal: 15 });
  assert.equal(platform.lastChild.what, 'finish');
  assert.equal(platform.lastChild.extra?.serviceResult, 'oom-kill');
});

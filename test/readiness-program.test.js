// @ts-nocheck -- a duck-typed fake platform (see supervisor-program.test.js for the typed one)
// Readiness in the per-program state machine with a fake clock (issue 13):
// the watchdog, timeout-ready, RELOADING/READY, the notification pipe's
// events, reset at each start, and ./run held while needs wait. No process
// is started and nothing sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Program } from '../dist/supervisor/program.js';
import { TAI_OFFSET } from '../dist/protocol/tai64n.js';

class FakePlatform {
  constructor(config) {
    this.config = config;
    this.micros = 1_700_000_000_000_000;
    /** @type {{ at: number, fn: () => void, live: boolean }[]} */
    this.timers = [];
    /** @type {any[]} */
    this.children = [];
    this.warnings = [];
  }
  readiness() {
    return this.config;
  }
  start(what, args, onExit, extra = {}) {
    const child = { pid: 100 + this.children.length, startTime: '1', what, args, extra, signals: [], onExit };
    child.signal = (s) => child.signals.push(s);
    this.children.push(child);
    return child;
  }
  custom() {
    return false;
  }
  hasFinish() {
    return true;
  }
  timeoutKill() {
    return undefined;
  }
  restartPolicy() {
    return { backoff: undefined, giveUp: undefined, deathTally: 100 };
  }
  downSignal() {
    return undefined;
  }
  timeoutFinish() {
    return undefined;
  }
  leftovers() {
    return false;
  }
  signalLeftovers() {}
  whenNoLeftovers() {
    return () => {};
  }
  release() {}
  adopted() {}
  containment() {
    return 'none';
  }
  memoryLimit() {
    return undefined;
  }
  memoryUsage() {
    return undefined;
  }
  now() {
    const sec = Math.floor(this.micros / 1e6);
    return { sec: TAI_OFFSET + BigInt(sec), nsec: (this.micros - sec * 1e6) * 1000 };
  }
  setTimer(ms, fn) {
    const timer = { at: this.micros + ms * 1000, fn, live: true };
    this.timers.push(timer);
    return () => (timer.live = false);
  }
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
  publish() {}
  warn(m) {
    this.warnings.push(m);
  }
  fatal() {}
  internalError(err) {
    throw err;
  }
  get last() {
    return this.children.at(-1);
  }
}

function started(config) {
  const platform = new FakePlatform(config);
  const program = new Program(platform, false, 'up');
  program.begin();
  return { platform, program };
}

test('watchdog: armed at READY=1, each WATCHDOG=1 re-arms it, a miss sends SIGABRT and finish gets SERVICE_RESULT=watchdog', () => {
  const { platform, program } = started({ declared: true, watchdogUsec: 2_000_000 });
  const run = platform.last;
  platform.advance(10_000);
  assert.deepEqual(run.signals, [], 'no watchdog before ready');
  program.notify([{ kind: 'ready' }]);
  assert.equal(program.readiness.state, 'ready');
  platform.advance(1500);
  program.notify([{ kind: 'watchdog-ping' }]);
  platform.advance(1999);
  assert.deepEqual(run.signals, []);
  platform.advance(1);
  assert.deepEqual(run.signals, ['SIGABRT']);
  assert.deepEqual(platform.warnings, ['watchdog: no WATCHDOG=1 in time: sending SIGABRT']);
  run.onExit({ code: null, signal: 6 });
  const finish = platform.last;
  assert.equal(finish.what, 'finish');
  assert.deepEqual(finish.args, ['-1', '6']);
  assert.equal(finish.extra.serviceResult, 'watchdog');
  finish.onExit({ code: 0, signal: 0 });
  platform.advance(1000);
  assert.equal(platform.last.what, 'run', 'restarted');
  assert.equal(program.readiness.state, 'starting', 'ready reset at the new start');
  platform.advance(60_000);
  assert.deepEqual(platform.last.signals, [], 'the new start is not ready: no watchdog');
});

test('WATCHDOG_USEC= changes the interval, 0 turns it off; WATCHDOG=trigger acts at once', () => {
  const { platform, program } = started({ declared: true, watchdogUsec: 1_000_000 });
  program.notify([{ kind: 'ready' }, { kind: 'watchdog-usec', usec: 0 }]);
  platform.advance(10_000);
  assert.deepEqual(platform.last.signals, []);
  program.notify([{ kind: 'watchdog-trigger' }]);
  assert.deepEqual(platform.last.signals, ['SIGABRT']);
});

test('RELOADING=1 then READY=1; STATUS= kept; STOPPING=1 not ready; the record says so', () => {
  const { program } = started({ declared: true });
  program.notify([{ kind: 'ready' }, { kind: 'status', text: 'up' }]);
  assert.equal(program.readiness.record().state, 'ready');
  program.notify([{ kind: 'reloading' }]);
  assert.equal(program.readiness.record().state, 'reloading');
  program.notify([{ kind: 'ready' }]);
  assert.equal(program.readiness.record().state, 'ready');
  assert.equal(program.readiness.record().status, 'up');
  program.notify([{ kind: 'stopping' }]);
  assert.equal(program.readiness.record().state, 'stopping');
});

test('timeout-ready: reported, and with restart the run is stopped; EXTEND_TIMEOUT_USEC pushes it back', () => {
  const { platform, program } = started({ declared: true, timeoutReady: { usec: 5_000_000, restart: true } });
  platform.advance(4000);
  program.notify([{ kind: 'extend-timeout', usec: 3_000_000 }]);
  platform.advance(2000);
  assert.deepEqual(platform.last.signals, [], 'extended to 7 s');
  platform.advance(1000);
  assert.deepEqual(platform.last.signals, ['SIGTERM', 'SIGCONT']);
  assert.equal(program.readiness.state, 'late');
  assert.match(platform.warnings[0], /not ready after timeout-ready: restarting/);
});

test('the notification pipe: a newline makes ready, an event of an earlier start is ignored', () => {
  const { platform, program } = started({ declared: true });
  const first = platform.last;
  assert.equal(typeof first.extra.onReadiness, 'function');
  first.onExit({ code: 1, signal: 0 });
  platform.last.onExit({ code: 0, signal: 0 }); // finish
  platform.advance(1000);
  const second = platform.last;
  first.extra.onReadiness('ready');
  assert.equal(program.readiness.state, 'starting', 'the old pipe does not count');
  second.extra.onReadiness('ready');
  assert.equal(program.readiness.state, 'ready');
});

test('no readiness declared: no record, nothing armed', () => {
  const { platform, program } = started(undefined);
  assert.equal(program.readiness.record(), undefined);
  assert.equal(platform.timers.length, 0);
});

test('./run held while needs wait; started once they are all there', () => {
  const platform = new FakePlatform(undefined);
  const program = new Program(platform, false, 'up');
  program.readiness.waiting = ['db'];
  program.begin();
  assert.equal(platform.children.length, 0);
  assert.deepEqual(program.readiness.record()?.waiting, ['db']);
  program.waitFor([]);
  assert.equal(platform.children.length, 1);
  assert.equal(program.readiness.record(), undefined);
});

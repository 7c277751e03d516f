// The restart policy's files and arithmetic (backoff, give-up,
// down-signal, timeout-finish, max-death-tally), as pure functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { tempDir } from './helpers.js';
import {
  parseBackoff,
  nextBackoffMs,
  stablePeriodMs,
  parseGiveUp,
  readDownSignal,
  readTimeoutFinish,
  readDeathTally,
  readBackoff,
} from '../dist/supervisor/restart-policy.js';
import { signalNumber as parseSignal } from '../dist/util/signals.js';

test('backoff: FIRST CAP parsed; 1, 2, 4 ... CAP; back to FIRST after a stable run', () => {
  assert.deepEqual(parseBackoff('1 60\n'), { firstMs: 1000, capMs: 60000 });
  assert.deepEqual(parseBackoff('0.25 2.5'), { firstMs: 250, capMs: 2500 });
  for (const bad of ['', '1', '1 2 3', '0 5', '5 1', '-1 5', 'a b', '1 86401']) assert.ok('error' in parseBackoff(bad), bad);
  const b = { firstMs: 1000, capMs: 60000 };
  /** @type {number[]} */
  const delays = [];
  let previous;
  for (let i = 0; i < 9; i++) delays.push((previous = nextBackoffMs(b, previous, 100)));
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.equal(stablePeriodMs(b), 60000);
  assert.equal(nextBackoffMs(b, 60000, 59999), 60000);
  assert.equal(nextBackoffMs(b, 60000, 60000), 1000);
  assert.equal(stablePeriodMs({ firstMs: 100, capMs: 2000 }), 10000);
});

test('give-up, signals, and the readers with their warnings', () => {
  assert.deepEqual(parseGiveUp('5 60'), { deaths: 5, seconds: 60 });
  assert.ok('error' in parseGiveUp('0 60'));
  assert.ok('error' in parseGiveUp('5'));
  assert.equal(parseSignal('QUIT'), 3);
  assert.equal(parseSignal('sigint\n'), 2);
  assert.equal(parseSignal('10'), 10);
  assert.equal(parseSignal('NOPE'), undefined);
  assert.equal(parseSignal('65'), undefined);
  const dir = tempDir();
  /** @type {string[]} */
  const warnings = [];
  const warn = (/** @type {string} */ m) => warnings.push(m);
  assert.equal(readDownSignal(dir, warn), undefined);
  writeFileSync(join(dir, 'down-signal'), 'HUPP\n');
  assert.equal(readDownSignal(dir, warn), undefined);
  writeFileSync(join(dir, 'timeout-finish'), 'soon');
  assert.equal(readTimeoutFinish(dir, warn), undefined);
  writeFileSync(join(dir, 'max-death-tally'), '5000');
  assert.equal(readDeathTally(dir, warn), 100);
  writeFileSync(join(dir, 'backoff'), '3 1');
  assert.equal(readBackoff(dir, warn), undefined);
  assert.deepEqual(warnings, [
    'invalid down-signal: unknown signal "HUPP"',
    'invalid timeout-finish: not a number of milliseconds',
    'invalid max-death-tally: 5000 is more than 4096',
    'invalid backoff: FIRST must be above 0 and at most CAP, CAP at most 86400',
  ]);
  writeFileSync(join(dir, 'timeout-finish'), '1500\n');
  assert.equal(readTimeoutFinish(dir, warn), 1500);
});

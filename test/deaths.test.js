// supervise/deaths: the record of how a program ended, each time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDeaths, parseDeaths, addDeath, deathsWithin, parseDeathTally } from '../dist/protocol/deaths.js';
import { signalName } from '../dist/util/signals.js';
import { TAI_OFFSET } from '../dist/protocol/tai64n.js';

/** @param {number} unix */
const at = (unix) => ({ sec: TAI_OFFSET + BigInt(unix), nsec: 500 });

test('deaths: written as s6-svdt prints them, read back, bounded, counted in a window', () => {
  let d = { total: 0, records: /** @type {any[]} */ ([]) };
  d = addDeath(d, { time: at(1000), code: 1 }, 2);
  d = addDeath(d, { time: at(1010), signal: 9 }, 2);
  d = addDeath(d, { time: at(1020), code: 0 }, 2);
  const text = formatDeaths(d);
  assert.equal(
    text,
    `deaths 3\n@${(TAI_OFFSET + 1010n).toString(16).padStart(16, '0')}000001f4 signal SIGKILL\n@${(TAI_OFFSET + 1020n).toString(16).padStart(16, '0')}000001f4 exitcode 0\n`,
  );
  assert.deepEqual(parseDeaths(text), d);
  assert.equal(deathsWithin(d, 15, 1025), 2);
  assert.equal(deathsWithin(d, 5, 1025), 1);
  // only those after a given moment (sv up after a give-up): the same second, a nanosecond later
  const [first] = d.records;
  assert.equal(deathsWithin(d, 15, 1025, first?.time), 1);
  assert.equal(deathsWithin(d, 15, 1025, first && { sec: first.time.sec, nsec: first.time.nsec - 1 }), 2);
  // a tally of 0 keeps only the count
  assert.equal(formatDeaths(addDeath(d, { time: at(1030), code: 2 }, 0)), 'deaths 4\n');
});

test('deaths: garbage is left out, a wrong first line is no record at all', () => {
  assert.equal(parseDeaths('garbage\n'), undefined);
  assert.equal(parseDeaths(''), undefined);
  const d = parseDeaths(
    'deaths 7\n@nothex exitcode 1\n@400000000000000a00000000 exitcode 1000\n@400000000000000a00000000 signal SIGNOPE\n@400000000000000a00000000 signal SIG40\n',
  );
  assert.deepEqual(d, { total: 7, records: [{ time: { sec: TAI_OFFSET, nsec: 0 }, signal: 40 }] });
  assert.equal(signalName(15), 'SIGTERM');
  assert.equal(signalName(40), 'SIG40');
});

test('max-death-tally: 0 to 4096', () => {
  assert.deepEqual(parseDeathTally('100\n'), { tally: 100 });
  assert.deepEqual(parseDeathTally('0'), { tally: 0 });
  assert.deepEqual(parseDeathTally('4097'), { error: 'max-death-tally: 4097 is more than 4096' });
  assert.deepEqual(parseDeathTally('ten'), { error: 'max-death-tally: not a number: "ten"' });
});

// The shared command-line and number primitives of src/util/: djb's sgetopt
// (sv, svlogd, chpst and its personalities, utmpset) and scan_ulong (sv -w
// and $SVWAIT, svlogd's options and config, chpst's limits and ids), and
// getenv() over an environment list (chpst, the exec path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sgetopt, getoptMessage } from '../dist/util/getopt.js';
import { scanDigits, scanUlong, parseUnsigned } from '../dist/util/scan.js';
import { getEnv } from '../dist/util/environ.js';

/**
 * Every item sgetopt yields for `args`, and the index it stops at.
 * @param {readonly string[]} args
 * @param {string} optstring
 */
const all = (args, optstring) => {
  const state = { index: 0 };
  const items = [...sgetopt(args, optstring, state)];
  return { items, index: state.index };
};

test('sgetopt: grouped options, attached and separate arguments; index at the first operand', () => {
  assert.deepEqual(all(['-vw5', '-w', '7', 'up', 'x'], 'w:vV'), {
    items: [{ opt: 'v' }, { opt: 'w', arg: '5' }, { opt: 'w', arg: '7' }],
    index: 3,
  });
  // an argument is the rest of the word, whatever it holds
  assert.deepEqual(all(['-wv', 'x'], 'w:v'), { items: [{ opt: 'w', arg: 'v' }], index: 1 });
  // or the next word, even one that looks like an option or is empty
  assert.deepEqual(all(['-w', '-v', 'x'], 'w:v'), { items: [{ opt: 'w', arg: '-v' }], index: 2 });
  assert.deepEqual(all(['-w', '', 'x'], 'w:v'), { items: [{ opt: 'w', arg: '' }], index: 2 });
  // options after the first operand are operands
  assert.deepEqual(all(['up', '-v'], 'v'), { items: [], index: 0 });
  assert.deepEqual(all([], 'v'), { items: [], index: 0 });
});

test('sgetopt: `-` and the empty word are operands; `--` and any `--x` end the options and are skipped', () => {
  assert.deepEqual(all(['-v', '-', '-v'], 'v'), { items: [{ opt: 'v' }], index: 1 });
  assert.deepEqual(all(['', '-v'], 'v'), { items: [], index: 0 });
  assert.deepEqual(all(['--', '-v'], 'v'), { items: [], index: 1 });
  assert.deepEqual(all(['-v', '--verbose', '-v'], 'v'), { items: [{ opt: 'v' }], index: 2 });
});

test('sgetopt: one error, then parsing stops; `:` is never an option', () => {
  assert.deepEqual(all(['-vx', '-v'], 'v'), { items: [{ opt: 'v' }, { error: 'illegal', opt: 'x' }], index: 0 });
  assert.deepEqual(all(['-v', '-w'], 'vw:').items, [{ opt: 'v' }, { error: 'missing', opt: 'w' }]);
  assert.deepEqual(all(['-:'], 'w:').items, [{ error: 'illegal', opt: ':' }]);
  assert.deepEqual(all(['-v-'], 'v').items, [{ opt: 'v' }, { error: 'illegal', opt: '-' }]);
  // a consumer that stops early (sv's -V) never sees a later error
  const state = { index: 0 };
  const first = sgetopt(['-V', '-x'], 'vV', state).next().value;
  assert.deepEqual(first, { opt: 'V' });
});

test('sgetopt: parsing may start past argv[1] (state.index)', () => {
  const state = { index: 1 };
  assert.deepEqual([...sgetopt(['dir', '-v', 'x'], 'v', state)], [{ opt: 'v' }]);
  assert.equal(state.index, 2);
});

test("getoptMessage: sgetopt's two complaints, without the program name", () => {
  assert.equal(getoptMessage({ error: 'illegal', opt: 'x' }), 'illegal option -- x');
  assert.equal(getoptMessage({ error: 'missing', opt: 'w' }), 'option requires an argument -- w');
});

test('scanDigits: the leading decimal digits of a string or of bytes, exact, and how many', () => {
  assert.deepEqual(scanDigits('12s'), { value: 12n, length: 2 });
  assert.deepEqual(scanDigits('abc'), { value: 0n, length: 0 });
  assert.deepEqual(scanDigits(''), { value: 0n, length: 0 });
  assert.deepEqual(scanDigits('+5'), { value: 0n, length: 0 });
  assert.deepEqual(scanDigits('-5'), { value: 0n, length: 0 });
  assert.deepEqual(scanDigits('007'), { value: 7n, length: 3 });
  assert.deepEqual(scanDigits('99999999999999999999999'), { value: 99999999999999999999999n, length: 23 });
  assert.deepEqual(scanDigits('s100k', 1), { value: 100n, length: 3 });
  // bytes, from an offset, in a view that does not start its buffer
  const line = Buffer.from('xxN42\n').subarray(2);
  assert.deepEqual(scanDigits(line, 1), { value: 42n, length: 2 });
  assert.deepEqual(scanDigits(new Uint8Array([0x39, 0x3a, 0x31])), { value: 9n, length: 1 });
  // non-ASCII digits are not digits
  assert.deepEqual(scanDigits('٣'), { value: 0n, length: 0 });
});

test('scanUlong: scan_ulong wraps around modulo 2^64, as a C unsigned long', () => {
  assert.deepEqual(scanUlong('18446744073709551615'), { value: 18446744073709551615n, length: 20 });
  assert.deepEqual(scanUlong('18446744073709551616'), { value: 0n, length: 20 });
  assert.deepEqual(scanUlong('18446744073709552116x'), { value: 500n, length: 20 });
  assert.deepEqual(scanUlong(Buffer.from('u127.0.0.1:65536'), 11), { value: 65536n, length: 5 });
});

test('parseUnsigned: a whole string of digits, exact; the empty string is 0; anything else is undefined', () => {
  assert.equal(parseUnsigned(''), 0n);
  assert.equal(parseUnsigned('0'), 0n);
  assert.equal(parseUnsigned('18446744073709551616'), 18446744073709551616n);
  assert.equal(parseUnsigned('1k'), undefined);
  assert.equal(parseUnsigned(' 1'), undefined);
  assert.equal(parseUnsigned('+1'), undefined);
  assert.equal(parseUnsigned('unlimited'), undefined);
});

test('getEnv: the first NAME= entry of an environment list, strings or bytes, as getenv() finds it', () => {
  const entries = ['PATHX=/no', 'PATH', Buffer.from('PATH=/a:/b'), 'PATH=/second'];
  assert.deepEqual(getEnv(entries, 'PATH'), Buffer.from('/a:/b'));
  assert.deepEqual(getEnv(['A='], 'A'), Buffer.alloc(0));
  assert.equal(getEnv(entries, 'HOME'), undefined);
  assert.equal(getEnv([Buffer.from([0x50, 0xff, 0x3d, 0x31])], 'P\u00ff'), undefined);
});

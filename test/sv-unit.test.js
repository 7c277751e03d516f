// Unit tests for sv's pure parts: argv parsing, the command table, the
// status body and the wait predicates (reference §5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSvArgs, scanUlong } from '../dist/protocol/sv-args.js';
import { svCommand } from '../dist/protocol/sv-commands.js';
import { parseRecord, statusBody, letterState, controlSkips, taiFromMillis, taiBefore } from '../dist/protocol/sv-wait.js';
import { TAI_OFFSET } from '../dist/protocol/tai64n.js';
import { statusRecord } from './helpers.js';

/**
 * A crafted 20-byte status record, `sec` seconds into TAI.
 * @param {Parameters<typeof statusRecord>[0]} [fields]
 */
const record = ({ sec = 1000n, nsec = 0, ...fields } = {}) => statusRecord({ ...fields, sec: TAI_OFFSET + sec, nsec });

/** @param {Parameters<typeof statusRecord>[0]} fields */
function rec(fields) {
  const r = parseRecord(record(fields));
  assert.ok(r, 'a 20-byte record parses');
  return r;
}

/**
 * The options of an sv command line that parses.
 * @param {string[]} args
 */
function optionsOf(args) {
  const r = parseSvArgs(args);
  assert.ok(r.ok, args.join(' '));
  return r.options;
}

test('sv args: options before operands, attached and separate -w', () => {
  assert.deepEqual(parseSvArgs(['status', 'x']), { ok: true, options: { verbose: false, wait: undefined, operands: ['status', 'x'] } });
  assert.deepEqual(optionsOf(['-w5', 'up', 'x']), { verbose: true, wait: 5, operands: ['up', 'x'] });
  assert.deepEqual(optionsOf(['-w', '5', 'up', 'x']), { verbose: true, wait: 5, operands: ['up', 'x'] });
  assert.deepEqual(optionsOf(['-vw', '3', 'up']), { verbose: true, wait: 3, operands: ['up'] });
  assert.deepEqual(optionsOf(['-v', 'up', '-w', '1']), { verbose: true, wait: undefined, operands: ['up', '-w', '1'] });
  assert.deepEqual(optionsOf(['-wabc', 'up']).wait, 0);
  assert.deepEqual(optionsOf(['-w12s', 'up']).wait, 12);
});

test('sv args: "--" is dropped, "-" is an operand, "--anything" ends options', () => {
  assert.deepEqual(optionsOf(['--', '-v', 'x']).operands, ['-v', 'x']);
  assert.deepEqual(optionsOf(['-v', '-', 'x']).operands, ['-', 'x']);
  assert.deepEqual(optionsOf(['--foo', 'status', 'x']).operands, ['status', 'x']);
});

test('sv args: sgetopt error messages and -V', () => {
  assert.deepEqual(parseSvArgs(['-x', 'up']), { ok: false, version: false, message: 'illegal option -- x' });
  assert.deepEqual(parseSvArgs(['-vq']), { ok: false, version: false, message: 'illegal option -- q' });
  assert.deepEqual(parseSvArgs(['-w']), { ok: false, version: false, message: 'option requires an argument -- w' });
  assert.deepEqual(parseSvArgs(['-V', '-x']), { ok: false, version: true });
  // -w takes "V" as its argument
  assert.deepEqual(optionsOf(['-wV', 'up']).wait, 0);
});

test('scanUlong reads leading digits, 0 for none', () => {
  assert.equal(scanUlong('7'), 7);
  assert.equal(scanUlong('12abc'), 12);
  assert.equal(scanUlong('abc'), 0);
  assert.equal(scanUlong(''), 0);
  assert.equal(scanUlong(' 5'), 0);
});

test('sv command table: first letter rule and exact words', () => {
  /**
   * @param {string} word
   * @param {boolean} [lsb]
   */
  const table = (word, lsb = false) => {
    const c = svCommand(word, lsb);
    return c && `${c.status ? 'status' : c.send ? 'send' : 'nosend'} ${c.letters} ${c.wait}${c.kill ? ' kill' : ''}`;
  };
  assert.equal(table('status'), 'status s never');
  assert.equal(table('sxyz'), 'status s never');
  assert.equal(table('sxyz', true), undefined);
  assert.equal(table('status', true), 'status s never');
  assert.equal(table('up'), 'send u verbose');
  assert.equal(table('upper'), 'send u verbose');
  assert.equal(table('down'), 'send d verbose');
  assert.equal(table('once'), 'send o verbose');
  assert.equal(table('pause'), 'send p verbose');
  assert.equal(table('cont'), 'send c verbose');
  assert.equal(table('hup'), 'send h verbose');
  assert.equal(table('alarm'), 'send a verbose');
  assert.equal(table('interrupt'), 'send i verbose');
  assert.equal(table('quit'), 'send q verbose');
  assert.equal(table('1'), 'send 1 verbose');
  assert.equal(table('2'), 'send 2 verbose');
  assert.equal(table('term'), 'send t verbose');
  assert.equal(table('kill'), 'send k verbose');
  assert.equal(table('exit'), 'send x verbose');
  assert.equal(table('e'), 'send x verbose');
  assert.equal(table('Xanything'), 'send x always kill');
  assert.equal(table('Exit'), 'send x always kill');
  assert.equal(table('Down'), 'send d always kill');
  assert.equal(table('Term'), 'send tc always kill');
  assert.equal(table('start'), 'send u always');
  assert.equal(table('stop'), 'send d always');
  assert.equal(table('shutdown'), 'send x always');
  assert.equal(table('restart'), 'send tcu always');
  assert.equal(table('reload'), 'send h always');
  assert.equal(table('try-restart'), 'send tc always');
  assert.equal(table('check'), 'nosend C always');
  assert.equal(table('checkx'), 'send c verbose');
  assert.equal(table('force-stop'), 'send d always kill');
  assert.equal(table('force-reload'), 'send tc always kill');
  assert.equal(table('force-restart'), 'send tcu always kill');
  assert.equal(table('force-shutdown'), 'send x always kill');
  assert.equal(table('force-other'), undefined);
  assert.equal(table('rr'), undefined);
  assert.equal(table('bogus'), undefined);
  assert.equal(table(''), undefined);
  assert.equal(table('U'), undefined);
});

test('status body: state words, pid, flags (crafted records)', () => {
  const now = TAI_OFFSET + 1010n;
  assert.equal(statusBody('svc', rec({ state: 0, want: 'd' }), now, true), 'down: svc: 10s, normally up');
  assert.equal(statusBody('svc', rec({ state: 0, want: 'u' }), now, true), 'down: svc: 10s, normally up, want up');
  assert.equal(statusBody('svc', rec({ state: 0, want: 'd' }), now, false), 'down: svc: 10s');
  assert.equal(statusBody('svc', rec({ state: 1, pid: 42 }), now, true), 'run: svc: (pid 42) 10s');
  assert.equal(
    statusBody('svc', rec({ state: 1, pid: 42, paused: 1, want: 'd', term: 1 }), now, false),
    'run: svc: (pid 42) 10s, normally down, paused, want down, got TERM',
  );
  assert.equal(statusBody('log', rec({ state: 2, pid: 7, want: 'd' }), now, true), 'finish: log: (pid 7) 10s, want down');
  // timestamp in the future: 0s
  assert.equal(statusBody('svc', rec({ sec: 2000n, state: 1, pid: 1 }), now, true), 'run: svc: (pid 1) 0s');
  // unknown state byte: no state word, but "(pid P) "
  assert.equal(statusBody('svc', rec({ state: 7, pid: 0, want: 'x' }), now, true), 'svc: (pid 0) 10s, normally up');
  // state down with a pid: flags follow the pid, not the state
  assert.equal(statusBody('svc', rec({ state: 0, pid: 9, paused: 2, term: 5 }), now, true), 'down: svc: 10s, paused, got TERM');
});

test('parseRecord needs 20 bytes and ignores more', () => {
  assert.equal(parseRecord(Buffer.alloc(19)), undefined);
  const r = parseRecord(Buffer.concat([record({ pid: 0x0102, state: 1 }), Buffer.from('x')]));
  assert.equal(r?.pid, 0x0102);
  assert.equal(r?.state, 1);
});

test('control skips a letter the want byte already says, except d without TERM', () => {
  assert.equal(controlSkips('u', rec({ want: 'u' })), true);
  assert.equal(controlSkips('u', rec({ want: 'd' })), false);
  assert.equal(controlSkips('d', rec({ want: 'd', term: 1 })), true);
  assert.equal(controlSkips('d', rec({ want: 'd', term: 0 })), false);
  assert.equal(controlSkips('d', rec({ want: 'd', term: 2 })), false);
  assert.equal(controlSkips('tcu', rec({ want: 'u' })), false);
  assert.equal(controlSkips('x', rec({ want: 'd' })), false);
});

test('wait predicates per letter', () => {
  const start = { sec: TAI_OFFSET + 1000n, nsec: 500_000_000 };
  const up = rec({ state: 1, pid: 5, sec: 1001n });
  const down = rec({ state: 0, want: 'd', sec: 1001n });
  assert.equal(letterState('u', up, start), 'check');
  assert.equal(letterState('u', rec({ state: 2, pid: 5 }), start), 'fail');
  assert.equal(letterState('u', down, start), 'fail');
  assert.equal(letterState('d', down, start), 'pass');
  assert.equal(letterState('d', rec({ state: 1, pid: 0 }), start), 'fail');
  assert.equal(letterState('d', up, start), 'fail');
  assert.equal(letterState('x', down, start), 'fail');
  assert.equal(letterState('p', up, start), 'fail');
  assert.equal(letterState('p', rec({ state: 1, pid: 5, paused: 1 }), start), 'pass');
  assert.equal(letterState('p', down, start), 'pass');
  assert.equal(letterState('c', rec({ state: 1, pid: 5, paused: 1 }), start), 'fail');
  assert.equal(letterState('c', up, start), 'pass');
  for (const l of 'haiq12') assert.equal(letterState(l, down, start), 'pass');
});

test('t/k/o compare the full TAI64N time: a start earlier in the same second fails (sv-precise-time)', () => {
  const start = { sec: TAI_OFFSET + 1000n, nsec: 500_000_000 };
  const sameSecondBefore = rec({ state: 1, pid: 5, sec: 1000n, nsec: 100_000_000 });
  const sameSecondAfter = rec({ state: 1, pid: 6, sec: 1000n, nsec: 600_000_000 });
  assert.equal(letterState('t', sameSecondBefore, start), 'fail');
  assert.equal(letterState('k', sameSecondBefore, start), 'fail');
  assert.equal(letterState('t', sameSecondAfter, start), 'check');
  assert.equal(letterState('t', rec({ state: 1, pid: 6, sec: 1000n, nsec: 600_000_000, term: 1 }), start), 'fail');
  assert.equal(letterState('t', rec({ state: 0, want: 'd', sec: 900n }), start), 'pass');
  assert.equal(letterState('t', rec({ state: 0, want: 'u', sec: 1001n }), start), 'fail');
  // once: a service that went down before sv started has not run "once" yet
  assert.equal(letterState('o', rec({ state: 0, want: 'd', sec: 1000n, nsec: 100_000_000 }), start), 'fail');
  assert.equal(letterState('o', rec({ state: 0, want: 'd', sec: 1000n, nsec: 700_000_000 }), start), 'pass');
  assert.equal(letterState('o', rec({ state: 1, pid: 3, want: 'd' }), start), 'pass');
  assert.equal(letterState('o', rec({ state: 1, pid: 3, want: 'u' }), start), 'fail');
});

test('check (C) follows the wanted state: a down service that wants up fails (sv-check-wants-up)', () => {
  const start = { sec: TAI_OFFSET + 1000n, nsec: 0 };
  assert.equal(letterState('C', rec({ state: 0, want: 'u' }), start), 'fail');
  assert.equal(letterState('C', rec({ state: 0, want: 'd' }), start), 'pass');
  assert.equal(letterState('C', rec({ state: 1, pid: 4, want: 'u' }), start), 'check');
  assert.equal(letterState('C', rec({ state: 1, pid: 4, want: 'd' }), start), 'fail');
});

test('taiFromMillis and taiBefore', () => {
  assert.deepEqual(taiFromMillis(1_500), { sec: TAI_OFFSET + 1n, nsec: 500_000_000 });
  assert.equal(taiBefore({ sec: 5n, nsec: 1 }, { sec: 5n, nsec: 2 }), true);
  assert.equal(taiBefore({ sec: 5n, nsec: 2 }, { sec: 5n, nsec: 2 }), false);
  assert.equal(taiBefore({ sec: 4n, nsec: 9 }, { sec: 5n, nsec: 0 }), true);
});

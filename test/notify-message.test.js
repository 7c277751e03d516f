// supervisor/notify-message.ts: one sd_notify datagram to a list of effects,
// with systemd's rules for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNotifyDatagram, NOTIFY_MAX_DATAGRAM } from '../dist/supervisor/notify-message.js';

const sender = { pid: 4242, uid: 1000, gid: 1000 };

/** @param {string | Buffer} data */
function parse(data, extra = {}) {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return parseNotifyDatagram({ data: buf, size: buf.length, truncated: false, sender, ...extra });
}

/** @param {string | Buffer} data */
function effects(data) {
  const r = parse(data);
  assert.equal(r.accepted, true);
  return r.accepted ? r.effects : [];
}

test('READY=1 alone, with or without a final newline', () => {
  assert.deepEqual(effects('READY=1'), [{ kind: 'ready' }]);
  assert.deepEqual(effects('READY=1\n'), [{ kind: 'ready' }]);
  assert.deepEqual(effects('READY=1\0'), [{ kind: 'ready' }], 'one trailing NUL is allowed, as in systemd');
});

test('many keys per datagram, in systemd order; unknown keys and key-less lines ignored', () => {
  assert.deepEqual(effects('WATCHDOG=1\nSTATUS=Serving 3 clients\nFDSTORE=1\nX_CUSTOM=what\nnonsense\n=1\nMAINPID=77\r\nREADY=1\nERRNO=2\nEXIT_STATUS=3\n'), [
    { kind: 'main-pid', pid: 77 },
    { kind: 'ready' },
    { kind: 'status', text: 'Serving 3 clients' },
    { kind: 'errno', errno: 2 },
    { kind: 'exit-status', status: 3 },
    { kind: 'watchdog-ping' },
  ]);
});

test('STOPPING=1 wins over READY=1, READY=1 over RELOADING=1; only the value 1 counts', () => {
  assert.deepEqual(effects('READY=1\nSTOPPING=1\nRELOADING=1'), [{ kind: 'stopping' }]);
  assert.deepEqual(effects('RELOADING=1\nREADY=1'), [{ kind: 'ready' }]);
  assert.deepEqual(effects('RELOADING=1\nMONOTONIC_USEC=123'), [{ kind: 'reloading' }]);
  assert.deepEqual(effects('READY=yes\nREADY=1'), [], 'the first occurrence of a key counts');
  assert.deepEqual(effects('READY=0'), []);
});

test('watchdog: ping, trigger, interval; timeout extension', () => {
  assert.deepEqual(effects('WATCHDOG=trigger'), [{ kind: 'watchdog-trigger' }]);
  assert.deepEqual(effects('WATCHDOG_USEC=2500000\nEXTEND_TIMEOUT_USEC=10000000'), [
    { kind: 'extend-timeout', usec: 10000000 },
    { kind: 'watchdog-usec', usec: 2500000 },
  ]);
  assert.deepEqual(effects('WATCHDOG_USEC=0'), [{ kind: 'watchdog-usec', usec: 0 }]);
});

test('STATUS= may be empty (cleared) and UTF-8; not UTF-8 is ignored with a warning, the rest still counts', () => {
  assert.deepEqual(effects('STATUS='), [{ kind: 'status', text: '' }]);
  assert.deepEqual(effects('STATUS=prêt ✓'), [{ kind: 'status', text: 'prêt ✓' }]);
  const r = parse(Buffer.concat([Buffer.from('STATUS=bad \xff\xfe', 'latin1'), Buffer.from('\nREADY=1')]));
  assert.deepEqual(r, { accepted: true, effects: [{ kind: 'ready' }], warnings: ['invalid STATUS=: not UTF-8: ignored'] });
});

test('numbers that do not parse are ignored with a warning naming them, printable', () => {
  const r = parse('MAINPID=0\nERRNO=-1\nEXIT_STATUS=256\nWATCHDOG_USEC=1e6\nEXTEND_TIMEOUT_USEC= 5\nREADY=1');
  assert.deepEqual(r, {
    accepted: true,
    effects: [{ kind: 'ready' }],
    warnings: [
      'invalid MAINPID=0: ignored',
      'invalid ERRNO=-1: ignored',
      'invalid EXIT_STATUS=256: ignored',
      'invalid EXTEND_TIMEOUT_USEC= 5: ignored',
      'invalid WATCHDOG_USEC=1e6: ignored',
    ],
  });
  const weird = parse(Buffer.from('ERRNO=\x1b[31m\\', 'latin1'));
  assert.deepEqual(weird.accepted && weird.warnings, ['invalid ERRNO=\\x1b[31m\\x5c: ignored']);
  assert.deepEqual(effects('MAINPID=99999999999999999'), []);
});

test('a datagram with a NUL byte inside, without credentials, or too large is ignored whole', () => {
  assert.deepEqual(parse('READY=1\0STATUS=x'), { accepted: false, reason: 'datagram with NUL bytes' });
  assert.deepEqual(parse('READY=1', { sender: undefined }), { accepted: false, reason: 'datagram without sender credentials' });
  assert.deepEqual(parse(Buffer.alloc(0), { size: 65536, truncated: true }), {
    accepted: false,
    reason: 'datagram of 65536 bytes: larger than 4096',
  });
  assert.equal(NOTIFY_MAX_DATAGRAM, 4096);
  const exactly = Buffer.alloc(4096, 'x');
  Buffer.from('READY=1\n').copy(exactly);
  assert.deepEqual(effects(exactly), [{ kind: 'ready' }]);
  assert.equal(parse(Buffer.alloc(4097, 'x')).accepted, false);
});

test('garbage never throws', () => {
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 2000; i++) {
    const buf = Buffer.alloc(Math.floor(rand() * 200));
    for (let j = 0; j < buf.length; j++) buf[j] = rand() < 0.3 ? '=\n1RS'.charCodeAt(Math.floor(rand() * 5)) : Math.floor(rand() * 256);
    const r = parse(buf);
    assert.equal(typeof r.accepted, 'boolean');
  }
  assert.deepEqual(effects(''), []);
  assert.deepEqual(effects('\n\n\r'), []);
});

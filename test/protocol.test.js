// supervise/ formats: the 20-byte status record, stat text, TAI64N, atomic
// writes, checked against bytes Debian's runsv writes and Debian's sv reads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, readFileSync, writeFileSync, openSync, closeSync, existsSync, readdirSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { encodeStatus, decodeStatus, statText, State } from '../dist/protocol/status.js';
import { taiLabel, parseTaiLabel, taiFromMicros, TAI_OFFSET } from '../dist/protocol/tai64n.js';
import { writeAtomic } from '../dist/protocol/atomic-write.js';
import { supervisorRunning, sendControl } from '../dist/protocol/control.js';
import { debian, tempDir, makeService, startDetached, stopAll, waitFor, run, readText, stat, statusOf } from './helpers.js';

after(stopAll);

test('decodes the reference example record', () => {
  const bytes = Buffer.from('400000006b01f40728aebdd40b170000007500' + '01', 'hex');
  const s = decodeStatus(bytes);
  assert.ok(s);
  assert.equal(s.pid, 5899);
  assert.equal(s.state, State.Run);
  assert.equal(s.wantUp, true);
  assert.equal(s.paused, false);
  assert.equal(s.gotTerm, false);
  assert.equal(s.time.sec, 0x400000006b01f407n);
  assert.equal(s.time.nsec, 0x28aebdd4);
  assert.deepEqual(encodeStatus(s), bytes);
  assert.equal(decodeStatus(bytes.subarray(0, 19)), undefined);
  assert.equal(decodeStatus(Buffer.concat([bytes, Buffer.from([0])])), undefined);
});

test('encodes every flag in its byte', () => {
  const b = encodeStatus({ time: { sec: TAI_OFFSET + 1n, nsec: 500 }, pid: 0x01020304, paused: true, wantUp: false, gotTerm: true, state: State.Finish });
  assert.equal(b.toString('hex'), '400000000000000b000001f4' + '04030201' + '01' + '64' + '01' + '02');
});

test('stat text as runsv writes it', () => {
  assert.equal(statText(State.Down, 'up', false, false), 'down\n');
  assert.equal(statText(State.Down, 'down', true, false), 'down, paused\n');
  assert.equal(statText(State.Run, 'up', true, true), 'run, paused, got TERM\n');
  assert.equal(statText(State.Run, 'exit', false, true), 'run, got TERM, want exit\n');
  assert.equal(statText(State.Finish, 'down', false, false), 'finish, want down\n');
});

test('TAI64N labels', () => {
  const t = taiFromMicros(1_700_000_000_123_456);
  assert.equal(t.sec, TAI_OFFSET + 1_700_000_000n);
  assert.equal(t.nsec, 123_456_500);
  assert.equal(taiLabel(t), '@400000006553f10a075bcbf4');
  assert.deepEqual(parseTaiLabel(taiLabel(t)), t);
  assert.equal(parseTaiLabel('@400000006553f10a075bcbf'), undefined);
});

test('writeAtomic replaces the file through name.new', () => {
  const dir = tempDir();
  writeAtomic(join(dir, 'stat'), 'run\n');
  writeAtomic(join(dir, 'stat'), 'down\n');
  assert.equal(readFileSync(join(dir, 'stat'), 'utf8'), 'down\n');
  assert.deepEqual(readdirSync(dir), ['stat']);
  assert.throws(() => writeAtomic(join(dir, 'missing/stat'), 'x'), { step: 'open' });
});

test('decodes the status Debian runsv writes', async () => {
  const dir = makeService(join(tempDir(), 'svc'), { run: '#!/bin/sh\nexec sleep 1000\n' });
  startDetached(debian('runsv'), [dir]);
  const pid = await waitFor(() => Number(readText(join(dir, 'supervise/pid')) || 0), { what: 'pid' });
  // runsv writes supervise/pid before supervise/status: wait for the status record too
  const s = await waitFor(
    () => {
      const status = statusOf(dir);
      return status?.pid === pid && status;
    },
    { what: 'status naming the pid' },
  );
  assert.equal(s.state, State.Run);
  assert.equal(s.wantUp, true);
  assert.ok(Math.abs(Number(s.time.sec - TAI_OFFSET) - Date.now() / 1000) < 5);
  assert.equal(supervisorRunning(join(dir, 'supervise')), true);
  sendControl(join(dir, 'supervise'), 'p');
  await waitFor(() => statusOf(dir)?.paused, { what: 'paused byte' });
  assert.equal(stat(dir), 'run, paused\n');
});

test('Debian sv reads the status we encode', () => {
  const dir = join(tempDir(), 'svc');
  mkdirSync(join(dir, 'supervise'), { recursive: true });
  execFileSync('mkfifo', [join(dir, 'supervise/ok'), join(dir, 'supervise/control')]);
  assert.equal(supervisorRunning(join(dir, 'supervise')), false);
  // hold the FIFOs open as a runsv would
  const ok = openSync(join(dir, 'supervise/ok'), constants.O_RDONLY | constants.O_NONBLOCK);
  const control = openSync(join(dir, 'supervise/control'), constants.O_RDWR | constants.O_NONBLOCK);
  try {
    const now = BigInt(Math.floor(Date.now() / 1000));
    /** @param {Pick<import('../dist/protocol/status.js').Status, 'pid' | 'wantUp' | 'state'> & Partial<import('../dist/protocol/status.js').Status>} fields */
    const record = (fields) =>
      writeFileSync(join(dir, 'supervise/status'), encodeStatus({ time: { sec: TAI_OFFSET + now - 12n, nsec: 0 }, paused: false, gotTerm: false, ...fields }));
    const sv = () => run(debian('sv'), ['status', dir]).stdout.replace(/ 1[23]s/, ' 12s');
    record({ pid: 4242, wantUp: false, gotTerm: true, paused: true, state: State.Run });
    assert.equal(sv(), `run: ${dir}: (pid 4242) 12s, paused, want down, got TERM\n`);
    record({ pid: 0, wantUp: true, state: State.Down });
    assert.equal(sv(), `down: ${dir}: 12s, normally up, want up\n`);
    record({ pid: 77, wantUp: true, state: State.Finish });
    assert.equal(sv(), `finish: ${dir}: (pid 77) 12s\n`);
  } finally {
    closeSync(ok);
    closeSync(control);
  }
  assert.ok(!existsSync(join(dir, 'log')));
});

// Publishing supervise/: StatusFiles writes a program's state once per turn
// of the event loop (the last state wins), at once when asked, before it is
// closed and before the process exits; runit-ts's record (pid, start time,
// log pipe) lives in the held lock file and is written before the status
// that names the pid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, openSync, closeSync, readFileSync, existsSync, watch, constants } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { StatusFiles, flushPending } from '../dist/supervisor/status-files.js';
import { encodeRecord, parseRecord } from '../dist/protocol/supervise-record.js';
import { decodeStatus, State } from '../dist/protocol/status.js';
import { root, tempDir, readText } from './helpers.js';

const TIME = { sec: 0x400000006553f100n, nsec: 5 };

/** A supervise/ directory with a held lock, as the supervisor has it. */
function superviseDir() {
  const dir = join(tempDir(), 'supervise');
  mkdirSync(dir);
  const lock = openSync(join(dir, 'lock'), constants.O_WRONLY | constants.O_CREAT, 0o600);
  return { dir, lock };
}

/**
 * @param {Partial<import('../dist/supervisor/status-files.js').ProgramView>} [over]
 * @returns {import('../dist/supervisor/status-files.js').ProgramView}
 */
const view = (over = {}) => ({
  state: State.Run,
  want: /** @type {'up'} */ ('up'),
  paused: false,
  gotTerm: false,
  pid: 4242,
  startTime: '777',
  time: TIME,
  deaths: { total: 0, records: [] },
  givenUp: false,
  restartAt: undefined,
  ...over,
});
const turn = () => new Promise((resolve) => setImmediate(resolve));

test('record: encoded and parsed back; an empty lock has none', () => {
  const r = { pid: 12, startTime: '345', logPipe: 'pipe:[678]' };
  assert.equal(encodeRecord(r), '12 345\npipe:[678]\n');
  assert.deepEqual(parseRecord(encodeRecord(r)), r);
  assert.equal(encodeRecord({ pid: 0, startTime: undefined, logPipe: undefined }), '\n');
  assert.deepEqual(parseRecord('\n'), { pid: 0, startTime: undefined, logPipe: undefined });
  assert.deepEqual(parseRecord('\npipe:[9]\n'), { pid: 0, startTime: undefined, logPipe: 'pipe:[9]' });
  // a rewrite is padded with newlines before the file is cut to size: a kill in between leaves the new record
  assert.deepEqual(parseRecord('12 345\n\n\n\n\n\n'), { pid: 12, startTime: '345', logPipe: undefined });
  assert.equal(parseRecord(''), undefined);
  // what contains the process, on a third line (docs/containment.md)
  const contained = { pid: 12, startTime: '345', logPipe: undefined, containment: 'cgroup /sys/fs/cgroup/runit-ts/srv-web' };
  assert.equal(encodeRecord(contained), '12 345\n\ncgroup /sys/fs/cgroup/runit-ts/srv-web\n');
  assert.deepEqual(parseRecord(encodeRecord(contained)), contained);
  assert.deepEqual(parseRecord('12 345\npipe:[1]\npgrp\n\n\n'), { pid: 12, startTime: '345', logPipe: 'pipe:[1]', containment: 'pgrp' });
  // garbage is no record of a process
  assert.deepEqual(parseRecord('12 x\nnot a pipe\n'), { pid: 0, startTime: undefined, logPipe: undefined });
});

test('status files: several changes in one turn are written once, as the last state', async () => {
  const { dir, lock } = superviseDir();
  const files = new StatusFiles(dir, 'supervise', true, (m) => assert.fail(m));
  files.holdLock(lock);
  /** @type {string[]} */
  const renames = [];
  const watcher = watch(dir, (event, name) => event === 'rename' && name && !name.endsWith('.new') && renames.push(name));
  files.write(view({ state: State.Down, pid: 0, startTime: undefined }));
  files.write(view({ state: State.Run, want: 'down', pid: 4242 }));
  files.write(view({ state: State.Run, pid: 4242 }));
  // nothing yet in this turn
  assert.equal(existsSync(join(dir, 'status')), false);
  await turn();
  assert.equal(readText(join(dir, 'stat')), 'run\n');
  assert.equal(readText(join(dir, 'pid')), '4242\n');
  assert.equal(readText(join(dir, 'lock')), '4242 777\n');
  const status = decodeStatus(readFileSync(join(dir, 'status')));
  assert.equal(status?.pid, 4242);
  assert.equal(status?.wantUp, true);
  // the same state again writes nothing
  files.write(view());
  await turn();
  await new Promise((resolve) => setTimeout(resolve, 50));
  watcher.close();
  assert.deepEqual(renames.filter((n) => n === 'status').length, 1);
  assert.deepEqual(renames.filter((n) => n === 'stat').length, 1);
  assert.deepEqual(renames.filter((n) => n === 'pid').length, 1);
  closeSync(lock);
});

test('status files: writeNow and close publish at once; flushPending writes what waits', () => {
  const { dir, lock } = superviseDir();
  const files = new StatusFiles(dir, 'supervise', true, (m) => assert.fail(m));
  files.holdLock(lock);
  files.writeNow(view({ state: State.Run, pid: 10, startTime: '20' }));
  assert.equal(readText(join(dir, 'stat')), 'run\n');
  assert.equal(readText(join(dir, 'lock')), '10 20\n');
  files.write(view({ state: State.Down, pid: 0, startTime: undefined }));
  flushPending();
  assert.equal(readText(join(dir, 'stat')), 'down\n');
  assert.equal(readText(join(dir, 'pid')), '');
  assert.equal(readText(join(dir, 'lock')), '\n');
  files.write(view({ state: State.Run, want: 'exit', pid: 11, startTime: '21' }));
  files.close();
  assert.equal(readText(join(dir, 'stat')), 'run, want exit\n');
  // closed: nothing more
  files.write(view({ state: State.Down, pid: 0 }));
  flushPending();
  assert.equal(readText(join(dir, 'stat')), 'run, want exit\n');
  closeSync(lock);
});

test('status files: the log pipe is kept in the record with the pid', () => {
  const { dir, lock } = superviseDir();
  const files = new StatusFiles(dir, 'supervise', true, (m) => assert.fail(m));
  files.holdLock(lock);
  files.recordLogPipe('pipe:[99]', 0, undefined);
  assert.equal(readText(join(dir, 'lock')), '\npipe:[99]\n');
  files.writeNow(view({ pid: 5, startTime: '6' }));
  assert.equal(readText(join(dir, 'lock')), '5 6\npipe:[99]\n');
  closeSync(lock);
});

test('status files: a process that exits in the turn of a change has published it', () => {
  const { dir, lock } = superviseDir();
  closeSync(lock);
  const script = `
    import { openSync, constants } from 'node:fs';
    import { StatusFiles } from ${JSON.stringify(join(root, 'dist/supervisor/status-files.js'))};
    const files = new StatusFiles(${JSON.stringify(dir)}, 'supervise', true, (m) => { throw new Error(m); });
    files.holdLock(openSync(${JSON.stringify(join(dir, 'lock'))}, constants.O_WRONLY));
    files.write({ state: 2, want: 'down', paused: false, gotTerm: true, pid: 31, startTime: '41', time: { sec: 0x4000000000000001n, nsec: 0 } });
    process.exit(0);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readText(join(dir, 'stat')), 'finish, got TERM, want down\n');
  assert.equal(readText(join(dir, 'lock')), '31 41\n');
});

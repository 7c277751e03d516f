// supervisor/notification-pipe.ts: s6's readiness protocol, the first
// newline on a pipe, read through epoll; real writers in child processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { notificationPipe, watchReadiness } from '../dist/supervisor/notification-pipe.js';

/**
 * Run `script` with the pipe's write end on fd 3 (as `notification-fd` 3
 * would) and report what the watch saw, with the child's exit.
 * @param {string} script
 */
async function runWith(script) {
  const pipe = notificationPipe();
  const child = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit', pipe.write] });
  closeSync(pipe.write); // else end of file never comes
  /** @type {string[]} */
  const seen = [];
  const outcome = new Promise((resolve) => {
    watchReadiness(pipe.read, {
      ready: () => resolve(seen.push('ready')),
      eof: () => resolve(seen.push('eof')),
      error: (err) => resolve(seen.push(`error ${err}`)),
    });
  });
  await outcome;
  const exit = await new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  return { seen, exit };
}

test('ready at the first newline; bytes before it ignored; only once', async () => {
  const r = await runWith('printf "listening on port 80" >&3; sleep 0.2; printf " and more\\nsecond line\\n" >&3; exec 3>&-; exit 7');
  assert.deepEqual(r.seen, ['ready']);
  assert.equal(r.exit, 7);
});

test('end of file without a newline: never ready', async () => {
  const r = await runWith('printf "almost" >&3; exit 0');
  assert.deepEqual(r.seen, ['eof']);
});

test('a service that exits without writing anything: end of file', async () => {
  const r = await runWith('exit 3');
  assert.deepEqual(r.seen, ['eof']);
  assert.equal(r.exit, 3);
});

test('after ready the read end is gone: a later write fails with EPIPE', async () => {
  // the child writes the newline, waits until the supervisor closed its end, then writes again
  const r = await runWith('echo >&3; sleep 0.3; trap "" PIPE; if printf x >&3 2>/dev/null; then exit 0; else exit 41; fi');
  assert.deepEqual(r.seen, ['ready']);
  assert.equal(r.exit, 41);
});

test('a newline in a large burst of bytes is found; nothing is kept', async () => {
  const r = await runWith('head -c 300000 /dev/zero >&3; echo >&3; sleep 0.1');
  assert.deepEqual(r.seen, ['ready']);
});

test('close() before anything arrived: no handler is called, the descriptor is closed', () => {
  const pipe = notificationPipe();
  const watch = watchReadiness(pipe.read, { ready: () => assert.fail(), eof: () => assert.fail(), error: () => assert.fail() });
  watch.close();
  watch.close();
  // the read end is closed at once: the pipe has no reader left
  assert.throws(() => writeSync(pipe.write, '\n'), { code: 'EPIPE' });
  closeSync(pipe.write);
});

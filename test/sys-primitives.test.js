// The shared primitives of src/sys/: writing a whole buffer, the
// exec-permission and other path checks, descriptor flags (the one fcntl
// binding) and the check of a syscall's result.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, removeDir, isRoot } from './helpers.js';
import { writeAll } from '../dist/sys/write.js';
import { execAccessError, executeAccess, checkExecuteAccess, pathExists, canOpenForReading } from '../dist/sys/access.js';
import { pipe, descriptorState, setCloexec, dupCloexec, dup3, isNonblocking, mkfifo } from '../dist/sys/fd.js';
import { checkSyscall, checkReturned } from '../dist/sys/libc.js';
import { cgroupUsage } from '../dist/sys/cgroup.js';
import { ProcessTable } from '../dist/sys/process-table.js';
import { pageSize } from '../dist/sys/sysconf.js';

/** @typedef {import('../dist/sys/errors.js').SysError} SysError */

const base = tempDir('runit-ts-sys-');
after(() => removeDir(base));

const PIPE_BYTES = 1 << 20; // more than a pipe holds

test('writeAll: a full non-blocking pipe drops the rest, or is waited for (waitWhenFull)', async () => {
  const dropped = pipe({ nonblock: true });
  assert.equal(writeAll(dropped.write, Buffer.alloc(PIPE_BYTES, 0x61)), false);
  closeSync(dropped.read);
  closeSync(dropped.write);

  const waited = pipe({ nonblock: true });
  // a reader in another process drains the pipe and counts
  const reader = spawn('/bin/sh', ['-c', 'wc -c'], { stdio: [waited.read, 'pipe', 'inherit'] });
  closeSync(waited.read);
  assert.ok(reader.stdout);
  let counted = '';
  reader.stdout.on('data', (d) => (counted += d));
  const exited = new Promise((resolve) => reader.on('exit', resolve));
  assert.equal(isNonblocking(waited.write), true);
  assert.equal(writeAll(waited.write, Buffer.alloc(PIPE_BYTES, 0x62), { waitWhenFull: true }), true);
  assert.equal(writeAll(waited.write, 'and text\n', { waitWhenFull: true }), true);
  closeSync(waited.write);
  assert.equal(await exited, 0);
  assert.equal(counted.trim(), String(PIPE_BYTES + 9));
});

test('writeAll: a descriptor that is not open is an error, not an exception', () => {
  const notOpen = 987654; // above any NOFILE limit here
  assert.deepEqual(descriptorState(notOpen), { open: false });
  assert.equal(writeAll(notOpen, 'x'), false);
});

test('execAccessError: why execve would refuse a path, before it is tried', () => {
  const script = join(base, 'script');
  writeFileSync(script, '#!/bin/sh\n', { mode: 0o755 });
  const plain = join(base, 'plain');
  writeFileSync(plain, '', { mode: 0o644 });
  const dir = join(base, 'dir');
  mkdirSync(dir);
  assert.equal(execAccessError(script), undefined);
  assert.equal(execAccessError(join(base, 'missing')), 'ENOENT');
  assert.equal(execAccessError(join(plain, 'below')), 'ENOTDIR');
  // a directory may be searched, not executed
  assert.equal(execAccessError(dir), 'EACCES');
  assert.equal(executeAccess(dir), true);
  assert.doesNotThrow(() => checkExecuteAccess(dir));
  if (!isRoot) assert.equal(execAccessError(plain), 'EACCES');
  assert.equal(executeAccess(join(base, 'missing')), false);
  assert.throws(() => checkExecuteAccess(join(base, 'missing')), { code: 'ENOENT' });
});

test('pathExists and canOpenForReading: stat and open_read verdicts', () => {
  const file = join(base, 'exists');
  writeFileSync(file, 'x', { mode: 0o644 });
  const dangling = join(base, 'dangling');
  symlinkSync(join(base, 'nowhere'), dangling);
  const fifo = join(base, 'fifo');
  mkfifo(fifo, 0o600);
  assert.equal(pathExists(file), true);
  assert.equal(pathExists(base), true);
  assert.equal(pathExists(dangling), false);
  assert.equal(pathExists(join(file, 'below')), false);
  assert.equal(canOpenForReading(file), true);
  // a FIFO without a writer: opened at once, not waited for
  assert.equal(canOpenForReading(fifo), true);
  assert.equal(canOpenForReading(dangling), false);
  if (!isRoot) {
    writeFileSync(join(base, 'secret'), 'x', { mode: 0o200 });
    assert.equal(canOpenForReading(join(base, 'secret')), false);
  }
});

test('descriptor flags: open or not, close-on-exec, duplicates', () => {
  const { read, write } = pipe();
  assert.deepEqual(descriptorState(read), { open: true, cloexec: true });
  setCloexec(read, false);
  assert.deepEqual(descriptorState(read), { open: true, cloexec: false });
  const copy = dupCloexec(write, 100);
  assert.ok(copy >= 100);
  assert.deepEqual(descriptorState(copy), { open: true, cloexec: true });
  dup3(write, copy, false);
  assert.deepEqual(descriptorState(copy), { open: true, cloexec: false });
  writeAll(copy, 'via the copy');
  const got = Buffer.alloc(32);
  assert.equal(got.toString('utf8', 0, readSync(read, got)), 'via the copy');
  for (const fd of [read, write, copy]) closeSync(fd);
  assert.deepEqual(descriptorState(copy), { open: false });
  assert.throws(() => dupCloexec(copy, 3), { code: 'EBADF', syscall: 'fcntl' });
});

test("checkSyscall and checkReturned: a failed call as an error with errno's name, the call and the path", () => {
  assert.equal(checkSyscall(7, 'read'), 7);
  // a failing call leaves errno set: fcntl on a closed descriptor
  const fd = openSync('/dev/null', 'r');
  closeSync(fd);
  assert.throws(
    () => dupCloexec(fd, 3),
    /** @param {SysError} err */
    (err) => err.code === 'EBADF' && err.errno === 9 && err.syscall === 'fcntl',
  );
  assert.doesNotThrow(() => checkReturned(0, 'posix_spawn'));
  assert.throws(
    () => checkReturned(2, 'posix_spawn', '/x'),
    /** @param {SysError} err */
    (err) => err.code === 'ENOENT' && err.syscall === 'posix_spawn' && err.path === '/x',
  );
});

test('cgroupUsage: its processes, nested cgroups included, CPU from cpu.stat, memory only where its files are', () => {
  const dir = tempDir('cgroup-usage-');
  const files = {
    'cpu.stat': 'usage_usec 2500000\nuser_usec 2000000\n',
    'cgroup.procs': '10\n11\n',
    'cgroup.stat': 'nr_descendants 1\nnr_dying_descendants 0\n',
    'child/cgroup.procs': '12\n',
    'child/cgroup.stat': 'nr_descendants 0\n',
  };
  mkdirSync(join(dir, 'child'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  assert.deepEqual(cgroupUsage(dir), { pids: [10, 11, 12], cpuSeconds: 2.5, memoryBytes: undefined, memoryPeakBytes: undefined });
  writeFileSync(join(dir, 'memory.current'), '4096\n');
  writeFileSync(join(dir, 'memory.peak'), '8192\n');
  assert.deepEqual(cgroupUsage(dir), { pids: [10, 11, 12], cpuSeconds: 2.5, memoryBytes: 4096, memoryPeakBytes: 8192 });
  // no cgroup.stat (an older kernel): the directory is listed
  rmSync(join(dir, 'cgroup.stat'));
  assert.deepEqual(cgroupUsage(dir)?.pids, [10, 11, 12]);
  assert.equal(cgroupUsage(join(dir, 'gone')), undefined);
  removeDir(dir);
});

test('ProcessTable.rssBytes: the resident pages of the processes given, one that is gone counting 0', () => {
  const proc = tempDir('proc-');
  mkdirSync(join(proc, '10'));
  mkdirSync(join(proc, '11'));
  // fields after the command: state ppid ... rss is field 24
  const stat = (/** @type {number} */ pid, /** @type {number} */ rss) => `${pid} (a (b) c) S 1 ${Array(19).fill(0).join(' ')} ${rss} 0\n`;
  writeFileSync(join(proc, '10/stat'), stat(10, 3));
  writeFileSync(join(proc, '11/stat'), stat(11, 5));
  assert.equal(new ProcessTable(proc).rssBytes([10, 11, 12]), 8 * pageSize());
  removeDir(proc);
});

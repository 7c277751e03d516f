// The in-process logger and its host's death (issue 12, goal 8): runsvdir
// killed with SIGKILL while a service logs as fast as it can, started
// again, killed again: every line is in the log directories exactly once,
// in order (logger/journal.ts). Plus the journal's format and recovery
// arithmetic.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync, readFileSync, existsSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { bin, tempDir, makeService, startDetached, stopAll, waitFor, run, stat, supervisedPid, oldFiles, loggedBytes } from './helpers.js';
import { encodeRecord, decodeRecord, newestRecord, replayFrom, bytesToSkip, slotOffset, SLOT, SPOOL_START } from '../dist/logger/journal.js';

/** process groups to end: the service's (seq may still be writing), each runsvdir's (its fd holder) */
/** @type {number[]} */
const groups = [];
after(async () => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
  await stopAll();
});

test('journal records: encoded, decoded, the newer of two slots, a torn one ignored', () => {
  const a = { seq: 7, x: SPOOL_START + 100, dirs: [{ name: './main', ino: '12', keep: 5 }] };
  const b = { seq: 8, x: SPOOL_START + 300, dirs: [{ name: './main', ino: '13', keep: -20, next: 40 }] };
  /** @param {import('../dist/logger/journal.js').JournalRecord} r */
  const slot = (r) => {
    const s = Buffer.alloc(SLOT);
    encodeRecord(r).copy(s);
    return s;
  };
  assert.deepEqual(decodeRecord(slot(a)), a);
  assert.notEqual(slotOffset(7), slotOffset(8));
  assert.deepEqual(newestRecord(slot(a), slot(b)), b);
  assert.deepEqual(newestRecord(slot(b), slot(a)), b);
  // power loss in the middle of writing b: the checksum fails, a counts
  const torn = slot(b);
  torn[40] ^= 1;
  assert.equal(decodeRecord(torn), undefined);
  assert.deepEqual(newestRecord(slot(a), torn), a);
  assert.equal(newestRecord(Buffer.alloc(SLOT), Buffer.alloc(SLOT)), undefined);
});

test('journal recovery: where the replay starts, and what each directory leaves out', () => {
  const r = { seq: 1, x: SPOOL_START + 500, dirs: [] };
  assert.equal(replayFrom(r, SPOOL_START + 800), SPOOL_START + 500);
  assert.equal(replayFrom(r, SPOOL_START + 500), SPOOL_START + 500); // nothing to replay
  // a compaction cut short after the file was cut: replay from the spool's start
  assert.equal(replayFrom(r, SPOOL_START + 200), SPOOL_START);
  assert.equal(replayFrom(undefined, 0), SPOOL_START);
  const dir = { name: './main', ino: '42', keep: 1000 };
  // the same current, 300 bytes written past the point
  assert.equal(bytesToSkip(dir, { ino: '42', size: 1300 }), 300);
  assert.equal(bytesToSkip(dir, { ino: '42', size: 1000 }), 0);
  // the point lies in a file rotated before this current began
  assert.equal(bytesToSkip({ ...dir, keep: -50 }, { ino: '42', size: 10 }), 60);
  // killed during a rotation: the new current holds 70 bytes, the old one 200 past the point
  assert.equal(bytesToSkip({ ...dir, next: -200 }, { ino: '43', size: 70 }), 270);
  assert.equal(bytesToSkip({ ...dir, next: -200 }, undefined), 200);
  // current replaced by hand, or a directory not recorded: nothing left out
  assert.equal(bytesToSkip(dir, { ino: '99', size: 5000 }), 0);
  assert.equal(bytesToSkip(undefined, { ino: '42', size: 5000 }), 0);
});

const LINES = 600000;
const STAMP = 26;
/**
 * bytes of `seq 1 n`
 * @param {number} n
 */
const seqBytes = (n) => {
  let total = 0;
  for (let d = 1, lo = 1; lo <= n; d++, lo *= 10) total += (Math.min(n, lo * 10 - 1) - lo + 1) * (d + 1);
  return total;
};

/**
 * The numbers logged in `dir` (old files oldest first, then current: a
 * line may begin in one file and end in the next, as runit's rotation
 * splits lines), stamps removed; checks each line's stamp.
 * @param {string} dir
 */
function numbersIn(dir) {
  const numbers = [];
  const text = [...oldFiles(dir), 'current'].map((name) => readFileSync(join(dir, name), 'latin1')).join('');
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    assert.ok(nl > 0, `unfinished line at ${pos}`);
    const line = text.slice(pos, nl);
    assert.match(line, /^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} \d+$/, `line at ${pos}: ${JSON.stringify(line)}`);
    numbers.push(Number(line.slice(STAMP)));
    pos = nl + 1;
  }
  return numbers;
}

/** @param {string} file */
function tail(file, n = 16) {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(n, size));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.toString('latin1');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

test('runsvdir killed with SIGKILL under load, five times: every line logged once, in order, in every directory (one with a processor)', async (t) => {
  const base = tempDir();
  const svc = join(base, 'svc');
  // the service writes LINES numbered lines once, as fast as the pipe takes them
  makeService(svc, {
    run: `#!/bin/sh\n[ -e fed ] && exec sleep 1000000\n: >fed\nseq 1 ${LINES}\nexec sleep 1000000\n`,
    'log/run': '#!/bin/sh\nexec svlogd -tt ./main ./copy ./proc\n',
  });
  for (const [name, size] of /** @type {const} */ ([
    ['main', 300000],
    ['copy', 700000],
    ['proc', 500000],
  ])) {
    mkdirSync(join(svc, 'log', name));
    // proc: rotated files go through a processor (`!cat`: the same lines, in `.s` files)
    writeFileSync(join(svc, 'log', name, 'config'), `s${size}\nn0\n${name === 'proc' ? '!cat\n' : ''}`);
  }
  const main = join(svc, 'log/main');
  const copy = join(svc, 'log/copy');
  const total = seqBytes(LINES) + LINES * STAMP;
  const done = () => ['main', 'copy', 'proc'].every((d) => tail(join(svc, 'log', d, 'current')).endsWith(` ${LINES}\n`));
  let host = startDetached(bin('runsvdir'), [base]);
  groups.push(host.pid);
  await waitFor(() => stat(svc) === 'run\n' && supervisedPid(join(svc, 'log')) === host.pid, { timeout: 20000, what: 'service and hosted logger up' });
  groups.push(/** @type {number} */ (supervisedPid(svc)));
  let kills = 0;
  for (let k = 1; k <= 5; k++) {
    // kill at a different point of the stream each time, while lines are flowing
    const target = (total * k) / 7 + (k % 2) * 4096;
    await waitFor(() => loggedBytes(main) >= target || done(), { timeout: 60000, interval: 2, what: `${target} bytes logged` });
    if (done()) break;
    process.kill(host.pid, 'SIGKILL');
    await host.exited;
    kills++;
    host = startDetached(bin('runsvdir'), [base]);
    groups.push(host.pid);
    await waitFor(() => supervisedPid(join(svc, 'log')) === host.pid, { timeout: 20000, what: 'hosted logger up again' }).catch((err) => {
      if (process.env.DEBUG_CRASH_TEST)
        console.error(
          base,
          host.pid,
          supervisedPid(join(svc, 'log')),
          supervisedPid(svc),
          host.output.stderr,
          run('sh', [
            '-c',
            `ps -eo pid,ppid,pgid,args | grep -v grep | grep -E 'fdholder|seq 1|runsvdir|sleep 1000000'; ls -la ${svc}/log/supervise ${svc}/supervise; cat ${svc}/supervise/logpipe`,
          ]).stdout,
        );
      throw err;
    });
  }
  assert.ok(kills >= 3, `only ${kills} kills before the end`);
  t.diagnostic(`${kills} kills`);
  await waitFor(done, { timeout: 60000, interval: 50, what: 'the last line logged' }).catch((err) => {
    if (process.env.DEBUG_CRASH_TEST) console.error(base, host.output.stderr, tail(join(main, 'current'), 100), tail(join(copy, 'current'), 100));
    throw err;
  });
  const expected = Array.from({ length: LINES }, (_, i) => i + 1);
  for (const dir of [main, copy, join(svc, 'log/proc')]) {
    const numbers = numbersIn(dir);
    const distinct = new Set(numbers).size;
    assert.equal(numbers.length, LINES, `${dir}: ${numbers.length} lines, ${LINES - distinct} numbers missing, ${numbers.length - distinct} written twice`);
    assert.deepEqual(numbers, expected, `${dir}: every number once, in order`);
    assert.equal(loggedBytes(dir), total);
  }
  // a normal stop of the logger: the journal goes
  const journal = join(svc, 'log/supervise/logjournal');
  assert.ok(existsSync(journal));
  run(bin('sv'), ['down', join(svc, 'log')]);
  await waitFor(() => !existsSync(journal), { timeout: 10000, what: 'journal removed after a normal stop' });
  process.kill(host.pid, 'SIGKILL');
});

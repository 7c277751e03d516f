// runit-ts logs: a service's svlogd directory read in order, stamps as
// local time, and followed across rotations without a line lost or repeated.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { bin, tempDir, makeService, startDetached, stopAll, running, run, waitFor } from './helpers.js';
import { logDirOf, parseStamp, parseSince, localTime } from '../dist/observe/log-dir.js';

after(stopAll);

/** UTC+05:30, all year (Node's ICU carries the zone table). */
const TZ = 'Asia/Kolkata';

/**
 * @param {string[]} args
 * @param {Record<string, string>} [env]
 */
const logs = (args, env = {}) => run(bin('runit-ts'), ['logs', ...args], { env: { ...process.env, TZ, ...env } });

test('logs: the last lines across rotated files and current, -tt stamps in local time, a line cut at a rotation joined', () => {
  const base = tempDir();
  const dir = join(base, 'main');
  mkdirSync(dir);
  writeFileSync(join(dir, '@400000006b0fcb6512c65004.s'), '2026-12-02_07:40:10.00001 one\n2026-12-02_07:40:11.00002 two\n2026-12-02_07:40:12');
  writeFileSync(join(dir, '@400000006b0fcb652bb13bec.s'), '.00003 three\nno stamp\n');
  writeFileSync(join(dir, 'current'), '2026-12-02T23:59:59.99999 four\npartial, not yet a line');
  writeFileSync(join(dir, 'config'), 's300\n');
  const all = logs(['--dir', dir, '-n', '100', 'x']);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(
    all.stdout,
    '2026-12-02 13:10:10.00001 one\n2026-12-02 13:10:11.00002 two\n2026-12-02 13:10:12.00003 three\nno stamp\n2026-12-03 05:29:59.99999 four\n',
  );
  assert.equal(logs(['--dir', dir, '-n', '2', 'x']).stdout, 'no stamp\n2026-12-03 05:29:59.99999 four\n');
  // --since: the line without a stamp goes with the one before it
  assert.equal(logs(['--dir', dir, '--since', '2026-12-02T07:40:11Z', 'x']).stdout.split('\n').length, 5);
  assert.equal(
    logs(['--dir', dir, '--since', '2026-12-02T13:10:11.5', 'x']).stdout,
    '2026-12-02 13:10:12.00003 three\nno stamp\n2026-12-03 05:29:59.99999 four\n',
  );
  assert.equal(logs(['--dir', dir, '-n', '0', 'x']).stdout, '');
});

test('logs: the directory from log/run (canonical or through chpst), and its errors', () => {
  const svdir = join(tempDir(), 'service');
  makeService(join(svdir, 'web'), { run: '#!/bin/sh\nexec sleep 1\n', 'log/run': '#!/bin/sh\nexec chpst -u nobody svlogd -t ./main\n' });
  mkdirSync(join(svdir, 'web/log/main'));
  writeFileSync(join(svdir, 'web/log/main/current'), '@400000006b0fcb6512c65004 hello\n');
  const r = logs(['web'], { SVDIR: svdir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '2026-12-02 13:10:11.314986 hello\n');

  makeService(join(svdir, 'nolog'), { run: '#!/bin/sh\nexec sleep 1\n' });
  const none = logs(['nolog'], { SVDIR: svdir });
  assert.equal(none.code, 111);
  assert.equal(none.stderr, 'runit-ts: fatal: nolog: unable to read log/run: file does not exist\n');
  makeService(join(svdir, 'odd'), { run: '#!/bin/sh\nexec sleep 1\n', 'log/run': '#!/bin/sh\nexec logger -t odd\n' });
  const odd = logs(['odd'], { SVDIR: svdir });
  assert.equal(odd.code, 111);
  assert.equal(odd.stderr, 'runit-ts: fatal: odd: log/run names no svlogd directory: give it with --dir\n');
  const bad = logs(['-n', 'ten', 'web'], { SVDIR: svdir });
  assert.equal(bad.code, 100);
  assert.match(bad.stderr, /^runit-ts logs: not a number of lines: ten\nusage: runit-ts logs /);
  assert.equal(logs(['--since', 'yesterday', 'web'], { SVDIR: svdir }).code, 100);
  assert.equal(logs([], { SVDIR: svdir }).code, 100);
});

test('logs -f follows a logger rotating every few lines: every line once, in order', async () => {
  const svdir = join(tempDir(), 'service');
  const dir = join(svdir, 'counter');
  makeService(dir, {
    run: '#!/bin/sh\nn=0\nwhile [ $n -lt 100000 ]; do n=$((n+1)); echo "line $n"; [ $((n % 20)) = 0 ] && sleep 0.01; done\nexec sleep 1000\n',
    'log/run': '#!/bin/sh\nexec svlogd -tt ./main\n',
  });
  mkdirSync(join(dir, 'log/main'));
  // rotation at ~300 bytes (about 8 lines), 200 old files kept
  writeFileSync(join(dir, 'log/main/config'), 's300\nn200\n');
  startDetached(bin('runsvdir'), [svdir]);
  await running(dir);
  const follower = startDetached(bin('runit-ts'), ['logs', '-f', '-n', '1', 'counter'], { env: { ...process.env, SVDIR: svdir } });
  /** the numbers followed so far */
  const numbers = () => [...follower.output.stdout.matchAll(/ line (\d+)\n/g)].map((m) => Number(m[1]));
  await waitFor(() => numbers().length > 1500, { timeout: 20000, what: '1500 lines followed' });
  const seen = numbers();
  const first = seen[0] ?? 0;
  assert.deepEqual(
    seen,
    seen.map((_, i) => first + i),
    'consecutive',
  );
  assert.match(follower.output.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{5} line \d+\n/);
  assert.equal(follower.output.stderr, '');
});

test('log stamps and times: TAI64N, -tt, -ttt; local time; --since forms; the log directory of a log/run', () => {
  assert.deepEqual(parseStamp('@400000006b0fcb6512c65004 x y'), { micros: 1796197211314986, digits: 9, text: 'x y' });
  assert.deepEqual(parseStamp('2026-12-02_07:40:12.68981 a'), { micros: 1796197212689810, digits: 5, text: 'a' });
  assert.deepEqual(parseStamp('2026-12-02T07:40:12.68981 a'), { micros: 1796197212689810, digits: 5, text: 'a' });
  assert.equal(parseStamp('2026-12-02 07:40:12.68981 a'), undefined);
  assert.equal(parseStamp('@nothex000000000000000000 a'), undefined);
  assert.equal(localTime(1796197212689810, 5).length, '2026-12-02 07:40:12.68981'.length);
  const now = Date.UTC(2026, 11, 2, 12);
  assert.equal(parseSince('90s', now), (now - 90000) * 1000);
  assert.equal(parseSince('2h', now), (now - 7.2e6) * 1000);
  assert.equal(parseSince('2026-12-02T07:00:00Z', now), Date.UTC(2026, 11, 2, 7) * 1000);
  assert.equal(parseSince('soon', now), undefined);
  assert.equal(parseSince('2026-13-45', now), undefined);
  assert.equal(logDirOf('/s/web', '#!/bin/sh\nexec svlogd -tt ./main\n'), '/s/web/log/main');
  assert.equal(logDirOf('/s/web', '#!/bin/sh\nexec 2>&1\nexec /usr/bin/svlogd -v -l 100 /var/log/web /var/log/web2\n'), '/var/log/web');
  assert.equal(logDirOf('/s/web', '#!/bin/sh\nexec multilog t ./main\n'), undefined);
  assert.equal(logDirOf('/s/web', '#!/bin/sh\nexec svlogd\n'), undefined);
});

// supervisor/readiness-files.ts: notification-fd, notify-socket, watchdog,
// timeout-ready and needs/, with runsv-style warnings for bad files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync, symlinkSync, realpathSync } from 'node:fs';
import {
  parseNotificationFd,
  readNotificationFd,
  parseNotifySocket,
  readNotifySocket,
  parseSeconds,
  readWatchdog,
  parseTimeoutReady,
  readTimeoutReady,
  readNeeds,
} from '../dist/supervisor/readiness-files.js';
import { tempDir } from './helpers.js';

/** A service directory with `files`, and what reading it warned. */
function service(files = /** @type {Record<string, string>} */ ({})) {
  const dir = join(tempDir('readiness-'), 'svc');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  /** @type {string[]} */
  const warnings = [];
  return { dir, warnings, warn: (/** @type {string} */ m) => warnings.push(m) };
}

test('notification-fd: a number from 3 up, surrounding blanks allowed', () => {
  assert.deepEqual(parseNotificationFd('3\n'), { fd: 3 });
  assert.deepEqual(parseNotificationFd(' 1023 '), { fd: 1023 });
  for (const bad of ['0', '1', '2', '1024', '-3', '3.0', 'three', '', '4 5']) {
    assert.deepEqual(parseNotificationFd(bad), { error: 'not a descriptor number from 3 to 1023' }, bad);
  }
  assert.deepEqual(parseNotificationFd('5000', 65536), { fd: 5000 });
});

test('notification-fd file: absent is off silently, malformed is off with one warning', () => {
  const none = service();
  assert.equal(readNotificationFd(none.dir, none.warn), undefined);
  assert.deepEqual(none.warnings, []);
  const good = service({ 'notification-fd': '4\n' });
  assert.equal(readNotificationFd(good.dir, good.warn), 4);
  const bad = service({ 'notification-fd': '1\n' });
  assert.equal(readNotificationFd(bad.dir, bad.warn), undefined);
  assert.deepEqual(bad.warnings, ['invalid notification-fd: not a descriptor number from 3 to 1023']);
});

test('a directory in place of a file is reported with runit error text', () => {
  const s = service();
  mkdirSync(join(s.dir, 'watchdog'));
  assert.equal(readWatchdog(s.dir, s.warn), undefined);
  assert.deepEqual(s.warnings, ['unable to read watchdog: is a directory']);
});

test('notify-socket: empty is the default; owner=; comments; unknown words warned', () => {
  assert.deepEqual(parseNotifySocket(''), { options: {}, warnings: [] });
  assert.deepEqual(parseNotifySocket('# sd_notify\n\n'), { options: {}, warnings: [] });
  assert.deepEqual(parseNotifySocket('owner=postgres\n'), { options: { owner: 'postgres' }, warnings: [] });
  assert.deepEqual(parseNotifySocket('owner=70:70 # the daemon user'), { options: { owner: '70:70' }, warnings: [] });
  assert.deepEqual(parseNotifySocket('owner=\nfancy=1'), {
    options: {},
    warnings: ['invalid notify-socket: owner= needs a user name or UID:GID', 'invalid notify-socket: unknown option: fancy=1'],
  });
  const absent = service();
  assert.equal(readNotifySocket(absent.dir, absent.warn), undefined);
  const empty = service({ 'notify-socket': '' });
  assert.deepEqual(readNotifySocket(empty.dir, empty.warn), {});
});

test('seconds with decimals to microseconds', () => {
  assert.equal(parseSeconds('2'), 2_000_000);
  assert.equal(parseSeconds('0.5\n'), 500_000);
  assert.equal(parseSeconds('.25'), 250_000);
  assert.equal(parseSeconds('10.'), 10_000_000);
  assert.equal(parseSeconds('1.0000019'), 1_000_001);
  assert.equal(parseSeconds('0'), 0);
  for (const bad of ['', '-1', '1e3', '1,5', 'ten', '1 2', '1000000000', '.']) assert.equal(parseSeconds(bad), undefined, bad);
});

test('watchdog: seconds to microseconds; 0 and absent are off; garbage warned', () => {
  const s = service({ watchdog: '1.5\n' });
  assert.equal(readWatchdog(s.dir, s.warn), 1_500_000);
  const zero = service({ watchdog: '0' });
  assert.equal(readWatchdog(zero.dir, zero.warn), undefined);
  assert.deepEqual(zero.warnings, []);
  const bad = service({ watchdog: 'soon' });
  assert.equal(readWatchdog(bad.dir, bad.warn), undefined);
  assert.deepEqual(bad.warnings, ['invalid watchdog: not a number of seconds']);
});

test('timeout-ready: seconds, optionally followed by restart', () => {
  assert.deepEqual(parseTimeoutReady('30\n'), { usec: 30_000_000, restart: false });
  assert.deepEqual(parseTimeoutReady('2.5 restart\n'), { usec: 2_500_000, restart: true });
  assert.deepEqual(parseTimeoutReady('2 kill'), { error: 'only "restart" may follow the seconds' });
  assert.deepEqual(parseTimeoutReady('x'), { error: 'not a number of seconds' });
  const s = service({ 'timeout-ready': 'restart' });
  assert.equal(readTimeoutReady(s.dir, s.warn), undefined);
  assert.deepEqual(s.warnings, ['invalid timeout-ready: not a number of seconds']);
  const zero = service({ 'timeout-ready': '0 restart' });
  assert.equal(readTimeoutReady(zero.dir, zero.warn), undefined);
});

test('needs/: symlinks to service directories and plain files naming siblings, sorted, dot entries skipped', () => {
  const root = tempDir('needs-');
  const services = join(root, 'service');
  const sv = join(root, 'sv');
  for (const d of [services, sv, join(sv, 'db'), join(services, 'cache'), join(services, 'app', 'needs')]) mkdirSync(d, { recursive: true });
  const app = join(services, 'app');
  symlinkSync(join(sv, 'db'), join(app, 'needs', 'db'));
  writeFileSync(join(app, 'needs', 'cache'), '');
  writeFileSync(join(app, 'needs', 'queue'), ''); // not there (yet)
  writeFileSync(join(app, 'needs', '.cache.swp'), '');
  /** @type {string[]} */
  const warnings = [];
  assert.deepEqual(
    readNeeds(app, (m) => warnings.push(m)),
    [
      { name: 'cache', dir: realpathSync(join(services, 'cache')), link: false, exists: true },
      { name: 'db', dir: realpathSync(join(sv, 'db')), link: true, exists: true },
      { name: 'queue', dir: join(realpathSync(services), 'queue'), link: false, exists: false },
    ],
  );
  assert.deepEqual(warnings, []);
});

test('needs/: a sibling is found beside the service as named, not beside its symlink target', () => {
  const root = tempDir('needs-');
  mkdirSync(join(root, 'sv', 'app', 'needs'), { recursive: true });
  mkdirSync(join(root, 'service', 'db'), { recursive: true });
  symlinkSync(join(root, 'sv', 'app'), join(root, 'service', 'app'));
  writeFileSync(join(root, 'sv', 'app', 'needs', 'db'), '');
  const needs = readNeeds(join(root, 'service', 'app'), () => assert.fail());
  assert.deepEqual(needs, [{ name: 'db', dir: realpathSync(join(root, 'service', 'db')), link: false, exists: true }]);
});

test('needs/: dangling symlinks and links to files are ignored with one warning each; needs as a file is warned', () => {
  const s = service();
  mkdirSync(join(s.dir, 'needs'));
  symlinkSync('/nonexistent/db', join(s.dir, 'needs', 'db'));
  writeFileSync(join(s.dir, 'somefile'), '');
  symlinkSync('../somefile', join(s.dir, 'needs', 'file'));
  assert.deepEqual(readNeeds(s.dir, s.warn), []);
  assert.deepEqual(s.warnings, [
    'invalid needs/db: unable to reach its target: file does not exist',
    `invalid needs/file: not a service directory: ${join(s.dir, 'somefile')}`,
  ]);
  const f = service({ needs: 'db\n' });
  assert.deepEqual(readNeeds(f.dir, f.warn), []);
  assert.deepEqual(f.warnings, ['invalid needs: not a directory']);
  const none = service();
  assert.deepEqual(readNeeds(none.dir, none.warn), []);
  assert.deepEqual(none.warnings, []);
});

// runit-ts status: the table and the JSON document, over runit-ts's
// runsvdir and over Debian's runsv; its pure parts (options, /proc parsing,
// formats) as units.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import {
  bin,
  debian,
  tempDir,
  makeService,
  startDetached,
  stopAll,
  running,
  run,
  readText,
  statusRecord,
  craftSupervise,
  waitFor,
  childrenOf,
} from './helpers.js';
import { parseOptions } from '../dist/util/options.js';
import { parseStat, parseLocks, lockKey } from '../dist/sys/process-table.js';
import { formatDuration, formatBytes, statusTable } from '../dist/observe/status-format.js';

after(stopAll);

const SLEEPER = { run: '#!/bin/sh\nexec sleep 1000\n' };
const LOGGED = { ...SLEEPER, 'log/run': '#!/bin/sh\nexec svlogd -tt ./main\n' };

/**
 * runit-ts status as a command, its JSON parsed.
 * @param {string} svdir
 * @param {string[]} args
 */
function statusJson(svdir, args = []) {
  const r = run(bin('runit-ts'), ['status', '--json', ...args], { env: { ...process.env, SVDIR: svdir } });
  return { ...r, doc: JSON.parse(r.stdout) };
}

/** @param {string} dir */
const pidIn = (dir) => Number(readText(join(dir, 'supervise/pid')));

test('runit-ts status over runit-ts: state, pids, the process tree, an in-process logger, a missing service', async () => {
  const svdir = join(tempDir(), 'service');
  makeService(join(svdir, 'web'), LOGGED);
  mkdirSync(join(svdir, 'web/log/main'));
  // two processes: the tree is counted, not only the pid
  makeService(join(svdir, 'worker'), { run: '#!/bin/sh\nsleep 1001 &\nexec sleep 1000\n', down: '' });
  makeService(join(svdir, 'idle'), { ...SLEEPER, down: '' });
  const runsvdir = startDetached(bin('runsvdir'), [svdir]);
  const web = await running(join(svdir, 'web'));
  await running(join(svdir, 'web/log'));
  assert.equal(run(bin('sv'), ['up', join(svdir, 'worker')]).code, 0);
  const worker = await running(join(svdir, 'worker'));
  await waitFor(() => childrenOf(worker).length === 1, { what: "the worker's child" });

  const { code, doc } = statusJson(svdir);
  assert.equal(code, 0);
  assert.equal(doc.version, 1);
  assert.deepEqual(
    doc.services.map((/** @type {any} */ s) => s.name),
    ['idle', 'web', 'worker'],
  );
  const [idle, w, wk] = doc.services;
  assert.equal(idle.state, 'down');
  assert.equal(idle.pid, null);
  assert.equal(idle.normallyUp, false);
  assert.equal(idle.want, 'down');
  assert.equal(idle.supervisorPid, runsvdir.pid);
  assert.equal(w.state, 'run');
  assert.equal(w.pid, web);
  assert.equal(w.want, 'up');
  assert.equal(w.normallyUp, true);
  assert.equal(w.processes.count, 1);
  assert.ok(w.processes.rssBytes > 0);
  assert.equal(w.log.state, 'run');
  assert.equal(w.log.inProcess, true);
  assert.equal(w.log.pid, runsvdir.pid);
  assert.equal(w.log.processes, null);
  assert.equal(wk.pid, worker);
  assert.equal(wk.normallyUp, false);
  assert.equal(wk.processes.count, 2);
  assert.equal(wk.log, null);
  assert.ok(doc.services.every((/** @type {any} */ s) => s.error === null && s.supervised));

  // the table: one line per program, sv's notes, no colour on a pipe
  const table = run(bin('runit-ts'), ['status'], { env: { ...process.env, SVDIR: svdir } });
  assert.equal(table.code, 0);
  const rows = table.stdout.split('\n');
  assert.match(rows[0] ?? '', /^SERVICE +STATE +PID +UPTIME +CPU +MEM$/);
  assert.match(rows[1] ?? '', /^idle +down +- +\d+s +- +-$/);
  assert.match(rows[2] ?? '', new RegExp(`^web +run +${web} +\\d+s +\\d+\\.\\d\\ds +[\\d.]+[KM]$`));
  assert.match(rows[3] ?? '', new RegExp(`^web/log +run +${runsvdir.pid} .* in-process`));
  assert.match(rows[4] ?? '', new RegExp(`^worker +run +${worker} .*normally down$`));
  assert.ok(!table.stdout.includes('\x1b'), 'no colour on a pipe');

  // named services, one of them missing: its error, and the exit code counts it
  const some = statusJson(svdir, ['web', join(svdir, 'nope')]);
  assert.equal(some.code, 1);
  assert.equal(some.doc.services.length, 2);
  assert.equal(some.doc.services[1].name, join(svdir, 'nope'));
  assert.equal(some.doc.services[1].error, 'unable to change to service directory: file does not exist');
  assert.equal(some.doc.services[1].state, null);
});

test('runit-ts status over Debian runsv: the supervisor is runsv, the logger a process of its own', async () => {
  const dir = join(tempDir(), 'svc');
  makeService(dir, { ...SLEEPER, 'log/run': '#!/bin/sh\nexec /usr/bin/svlogd ./main\n' });
  mkdirSync(join(dir, 'log/main'));
  const runsv = startDetached(debian('runsv'), [dir]);
  const pid = await running(dir);
  const logPid = await running(join(dir, 'log'));
  const { code, doc } = statusJson('/nonexistent', [dir]);
  assert.equal(code, 0);
  const [s] = doc.services;
  assert.equal(s.pid, pid);
  assert.equal(s.supervisorPid, runsv.pid);
  assert.equal(s.log.pid, logPid);
  assert.equal(s.log.supervisorPid, runsv.pid);
  assert.equal(s.log.inProcess, false);
  assert.equal(s.log.processes.count, 1);
  assert.equal(pidIn(join(dir, 'log')), logPid);
});

test('runit-ts status: no supervisor, a garbage status file, an unreadable services directory', () => {
  const svdir = join(tempDir(), 'service');
  mkdirSync(svdir);
  makeService(join(svdir, 'garbage'), SLEEPER);
  craftSupervise(join(svdir, 'garbage'), { status: Buffer.from('not a status') });
  makeService(join(svdir, 'nosup'), SLEEPER);
  craftSupervise(join(svdir, 'nosup'), { status: statusRecord(), ok: 'fifo' });
  makeService(join(svdir, 'fine'), SLEEPER);
  craftSupervise(join(svdir, 'fine'), { status: statusRecord({ pid: 0, want: 'd' }) });
  const { code, doc, stderr } = statusJson(svdir);
  assert.equal(code, 2, stderr);
  const byName = Object.fromEntries(doc.services.map((/** @type {any} */ s) => [s.name, s]));
  assert.equal(byName.garbage.error, 'unable to read supervise/status: bad format');
  assert.equal(byName.garbage.supervised, true);
  assert.equal(byName.nosup.error, 'runsv not running');
  assert.equal(byName.nosup.supervised, false);
  assert.equal(byName.fine.state, 'down');
  assert.equal(byName.fine.error, null);

  // on a terminal (script(1) gives one) the state is in colour, unless NO_COLOR is set
  /** @param {Record<string, string>} env */
  const onTty = (env) => run('script', ['-qec', `${bin('runit-ts')} status fine`, '/dev/null'], { env: { ...process.env, SVDIR: svdir, ...env } });
  craftSupervise(join(svdir, 'fine'), { status: statusRecord({ pid: 0, want: 'u' }) });
  assert.ok(onTty({}).stdout.includes('\r\nfine     \x1b[31mdown \x1b[0m'), 'red: down, want up');
  const plain = onTty({ NO_COLOR: '1' }).stdout;
  assert.match(plain, /\r\nfine +down /);
  assert.ok(!plain.includes('\x1b'), 'NO_COLOR');

  const missing = run(bin('runit-ts'), ['status'], { env: { ...process.env, SVDIR: join(svdir, 'none') } });
  assert.equal(missing.code, 111);
  assert.equal(missing.stderr, `runit-ts: fatal: unable to open directory ${join(svdir, 'none')}: file does not exist\n`);
  assert.equal(missing.stdout, '');
});

test('runit-ts: usage, unknown commands and options, --help', () => {
  const none = run(bin('runit-ts'), []);
  assert.equal(none.code, 100);
  assert.match(none.stderr, /^usage: runit-ts command/);
  const unknown = run(bin('runit-ts'), ['frobnicate']);
  assert.equal(unknown.code, 100);
  assert.match(unknown.stderr, /^runit-ts: unknown command: frobnicate\n/);
  const badOption = run(bin('runit-ts'), ['status', '--jsn']);
  assert.equal(badOption.code, 100);
  assert.equal(badOption.stderr, 'runit-ts status: unknown option: --jsn\nusage: runit-ts status [--json] [--verbose] [service ...]\n\n');
  const help = run(bin('runit-ts'), ['status', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: runit-ts status \[--json\] \[--verbose\] \[service \.\.\.\]\n/);
});

test('parseOptions: long, inline, short and grouped values; operands anywhere until --', () => {
  const spec = { json: { value: false }, lines: { value: true, short: 'n' }, follow: { value: false, short: 'f' } };
  assert.deepEqual(parseOptions(['a', '--json', '-n', '5', 'b', '--', '--json'], spec), {
    ok: true,
    options: new Map(
      /** @type {[string, string | true][]} */ ([
        ['json', true],
        ['lines', '5'],
      ]),
    ),
    lists: new Map(),
    operands: ['a', 'b', '--json'],
    beforeDashDash: 2,
  });
  assert.deepEqual(parseOptions(['--lines=7', '-n8', '-f'], spec), {
    ok: true,
    options: new Map(
      /** @type {[string, string | true][]} */ ([
        ['lines', '8'],
        ['follow', true],
      ]),
    ),
    lists: new Map(),
    operands: [],
    beforeDashDash: 0,
  });
  assert.deepEqual(parseOptions(['--lines'], spec), { ok: false, message: 'option --lines needs a value' });
  assert.deepEqual(parseOptions(['--json=1'], spec), { ok: false, message: 'option --json takes no value' });
  assert.deepEqual(parseOptions(['-x'], spec), { ok: false, message: 'unknown option: -x' });
  assert.deepEqual(parseOptions(['-fx'], spec), { ok: false, message: 'option -f takes no value' });
  assert.deepEqual(parseOptions(['--constructor'], spec), { ok: false, message: 'unknown option: --constructor' });
});

test('parseOptions: a repeatable option keeps every value in order, others keep the last', () => {
  const spec = { env: { value: true, short: 'e', repeat: true }, dir: { value: true } };
  const r = parseOptions(['x', '--env', 'A=1', '--dir', 'd1', '-eB=2', '--env=C=3', '--dir=d2', '--', '--env', 'D=4'], spec);
  assert.ok(r.ok);
  assert.deepEqual(r.lists.get('env'), ['A=1', 'B=2', 'C=3']);
  assert.equal(r.options.get('env'), 'C=3');
  assert.equal(r.options.get('dir'), 'd2');
  assert.equal(r.lists.get('dir'), undefined);
  assert.deepEqual(r.operands, ['x', '--env', 'D=4']);
  assert.equal(r.beforeDashDash, 1);
  const none = parseOptions(['y'], spec);
  assert.ok(none.ok);
  assert.equal(none.lists.size, 0);
  assert.equal(none.beforeDashDash, 1);
});

test('/proc parsing: stat with a hostile command name, /proc/locks and its device numbers', () => {
  const line = '42 (a) b (c) S 7 42 42 0 -1 4194304 100 0 0 0 150 25 0 0 20 0 3 0 12345 1000 200 18446744073709551615';
  assert.deepEqual(parseStat(42, line), { pid: 42, ppid: 7, cpuSeconds: 1.75, threads: 3, rssPages: 200 });
  assert.equal(parseStat(1, 'garbage'), undefined);
  assert.equal(parseStat(1, '1 (x) S 0'), undefined);
  const locks = parseLocks(
    '1: FLOCK  ADVISORY  WRITE 14050 fe:00:2694497 0 EOF\n2: POSIX  ADVISORY  WRITE 99 08:01:12 0 EOF\n2: -> POSIX  ADVISORY  WRITE 100 08:01:12 0 EOF\n3: OFDLCK ADVISORY  READ  -1 00:05:3 0 EOF\n',
  );
  assert.deepEqual(
    [...locks],
    [
      ['fe:00:2694497', 14050],
      ['08:01:12', 99],
    ],
  );
  // st_dev 0xfe00 is 254:0; a large minor spills into the high bits
  assert.equal(lockKey(0xfe00n, 2694497n), 'fe:00:2694497');
  assert.equal(lockKey(0x00100803n, 7n), '08:103:7');
});

test('status formats: durations, sizes, colour only when asked', () => {
  assert.deepEqual([0, 59, 60, 192, 3600, 11520, 86400, 183600].map(formatDuration), ['0s', '59s', '1m0s', '3m12s', '1h0m', '3h12m', '1d0h', '2d3h']);
  assert.deepEqual([2048, 12.34 * 1024 ** 2, 1.5 * 1024 ** 3].map(formatBytes), ['2K', '12.3M', '1.5G']);
  /** @type {any} */
  const down = {
    name: 'x',
    dir: '/x',
    supervised: true,
    error: null,
    state: 'down',
    pid: null,
    since: 100,
    want: 'up',
    normallyUp: true,
    paused: false,
    gotTerm: false,
    supervisorPid: 1,
    inProcess: false,
    processes: null,
    deaths: null,
    lastExit: null,
    givenUp: false,
    restartAt: null,
    ready: null,
    readiness: null,
    statusText: null,
    waitingFor: [],
    log: null,
  };
  assert.equal(statusTable([down], 105, false), 'SERVICE  STATE  PID  UPTIME  CPU  MEM\nx        down   -    5s      -    -    normally up, want up\n');
  assert.equal(
    statusTable([down], 105, true),
    'SERVICE  STATE  PID  UPTIME  CPU  MEM\nx        \x1b[31mdown \x1b[0m  -    5s      -    -    normally up, want up\n',
  );
});

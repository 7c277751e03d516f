// runit-ts add and remove: the service directory writer (byte for byte,
// quoting checked by sh itself, envdir values read back as chpst reads
// them), and the commands under a real runsvdir (runit-ts's and Debian's
// runsv): what the started process gets (argv, environment, uid, limits),
// its log, --down, --force, remove with and without --purge, bad input.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  bin,
  root,
  debian,
  tempDir,
  startDetached,
  stopAll,
  running,
  runAsync,
  run,
  readText,
  waitFor,
  processGone,
  isRoot,
  asUser,
  NOBODY,
  othersBin,
  supervisedPid,
  childrenOf,
} from './helpers.js';
import { renderService, runScript, specProblems, envFileContent, SpecError, commentText } from '../dist/servicedir/render.js';
import { shQuote } from '../dist/util/sh-quote.js';
import { parseEnvFile } from '../dist/servicedir/env-file.js';
import { addSpec, parseBytes } from '../dist/servicedir/add-options.js';
import { readEnvDir } from '../dist/chpst/envdir.js';
import { parseCanonicalLogRun } from '../dist/logger/canonical.js';
import { parseOptions } from '../dist/util/options.js';

after(stopAll);

/**
 * The text of a file entry.
 * @param {import('../dist/servicedir/render.js').Entry | undefined} e
 */
const contentOf = (e) => (e?.type === 'file' ? e.content.toString() : undefined);

/** PATH with runit-ts's commands first: what `chpst` in a run script finds under runit-ts. */
const TS_PATH = `${join(root, 'bin')}:${process.env.PATH}`;

/**
 * A random string of the characters sh treats specially (and some that it does not).
 * @param {() => number} rand
 */
function hostileWord(rand) {
  const alphabet = [...'\'"\\$`!*?[]{}~#;&|<>() \t\n=%-,.:/@+^', 'a', 'Z', '0', 'é', '☃', '\u00a0', '\r'];
  const n = Math.floor(rand() * 8);
  let w = '';
  for (let i = 0; i < n; i++) w += alphabet[Math.floor(rand() * alphabet.length)];
  return w;
}

/**
 * A small deterministic generator (mulberry32), so that a failure can be replayed.
 * @param {number} seed
 */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('quoting: the exec line of run gives the program exactly the argv asked for (sh runs it, 300 random hostile argvs)', () => {
  const dir = tempDir();
  const rand = generator(20261202);
  const fixed = [
    '',
    ' ',
    "'",
    "''",
    '"',
    '\\',
    '$HOME',
    '${x}',
    '`id`',
    '$(id)',
    '*',
    '~',
    '~root',
    '#c',
    '-n',
    '--',
    'a\nb',
    '\t',
    '!',
    'x=y',
    '=',
    '%s',
    'é☃',
  ];
  for (let i = 0; i < 300; i++) {
    const args = i === 0 ? fixed : Array.from({ length: 1 + Math.floor(rand() * 6) }, () => hostileWord(rand));
    const spec = { name: 'q', command: { argv: ['/usr/bin/printf', '%s\\0', ...args] } };
    const path = join(dir, 'run');
    writeFileSync(path, runScript(spec));
    const r = spawnSync('/bin/sh', [path], { cwd: dir });
    assert.equal(r.status, 0, `argv ${JSON.stringify(args)}: ${r.stdout}`);
    const got = r.stdout.toString('utf8').split('\0').slice(0, -1);
    assert.deepEqual(got, args, `seed case ${i}`);
  }
  assert.equal(shQuote('plain-word_1.2:3@x'), 'plain-word_1.2:3@x');
  assert.equal(shQuote("it's"), `'it'\\''s'`);
  assert.equal(shQuote(''), "''");
});

test('quoting: --shell lines run as sh -c runs them; comments cannot break out of their line', () => {
  const dir = tempDir();
  const line = `printf '%s|' "$0" 'a b' "it's" \`echo x\`; echo; echo "$((1+2))" # trailing`;
  const direct = spawnSync('/bin/sh', ['-c', line], { cwd: dir, encoding: 'utf8' });
  const spec = {
    name: 'sh',
    command: { shell: line },
    notes: ['a note\nexec /bin/false'],
    notMapped: [{ key: 'Evil\nexec false', value: 'v\r\n', reason: 'why\x1b[31m' }],
    source: 'unit.service:3\nexit 1',
  };
  const path = join(dir, 'run');
  writeFileSync(path, runScript(spec));
  const viaRun = spawnSync('/bin/sh', [path], { cwd: dir, encoding: 'utf8' });
  assert.equal(viaRun.stdout, direct.stdout.replace('/bin/sh|', '/bin/sh|'));
  assert.equal(viaRun.status, 0);
  const text = readFileSync(path, 'utf8');
  assert.equal(
    text.split('\n').slice(0, 5).join('\n'),
    [
      '#!/bin/sh',
      '# sh: from unit.service:3\\nexit 1',
      '# note: a note\\nexec /bin/false',
      '# not mapped: Evil\\nexec false=v\\x0d\\n: why\\x1b[31m',
      'exec 2>&1',
    ].join('\n'),
  );
  assert.equal(commentText('a\tb\x7f'), 'a\\tb\\x7f');
});

test('renderService: every file of a full spec, byte for byte', () => {
  const spec = {
    name: 'api',
    command: { argv: ['node', 'server.js', '--port', '80 80'] },
    cwd: '/srv/api',
    user: 'www-data',
    group: 'adm',
    env: { PORT: '8080', MOTD: 'two\nlines', EMPTY: '' },
    limits: { memory: 1048576, nofile: 4096, nproc: 50 },
    nice: -5,
    umask: '027',
    before: ['mkdir -p /run/api'],
    finish: ['rm -f /run/api/sock'],
    down: true,
    log: { config: ['s1000000', 'n5'] },
    readiness: { notificationFd: 3, notifySocket: {}, watchdogSeconds: 2.5 },
    needs: ['db', 'cache'],
    policy: { backoff: { first: 1, cap: 60 }, giveUp: { deaths: 5, seconds: 60 }, downSignal: 'int', timeoutKillMs: 5000, timeoutFinishMs: 2000 },
    notes: ['PORT assigned as foreman does'],
    notMapped: [{ key: 'ExecReload', value: '/bin/kill -HUP $MAINPID', reason: 'runit has no reload: use sv hup' }],
    source: 'api.service',
  };
  const r = renderService(spec);
  const files = Object.fromEntries(
    r.entries.map((e) => [e.path, e.type === 'dir' ? `dir ${e.mode.toString(8)}` : `${e.mode.toString(8)} ${e.content.toString('latin1')}`]),
  );
  const chpst = `chpst -e "$sv/env" -u www-data:adm -m 1048576 -o 4096 -p 50 -n -5`;
  assert.deepEqual(files, {
    run: `755 #!/bin/sh
# api: from api.service
# note: PORT assigned as foreman does
# not mapped: ExecReload=/bin/kill -HUP $MAINPID: runit has no reload: use sv hup
exec 2>&1
sv=$PWD
cd /srv/api || exit
umask 027
${chpst} /bin/sh -c 'mkdir -p /run/api' || exit
exec ${chpst} node server.js --port '80 80'
`,
    finish: `755 #!/bin/sh
# api: ./finish, run after ./run ends
exec 2>&1
sv=$PWD
cd /srv/api || exit 0
umask 027
${chpst} /bin/sh -c 'rm -f /run/api/sock'
exit 0
`,
    down: '644 ',
    env: 'dir 700',
    'env/EMPTY': '600 \n',
    'env/MOTD': '600 two\0lines\n',
    'env/PORT': '600 8080\n',
    log: 'dir 755',
    'log/run': '755 #!/bin/sh\nexec svlogd -tt ./main\n',
    'log/main': 'dir 755',
    'log/main/config': '644 s1000000\nn5\n',
    'notification-fd': '644 3\n',
    'notify-socket': '644 owner=www-data\n',
    watchdog: '644 2.5\n',
    needs: 'dir 755',
    'needs/cache': '644 ',
    'needs/db': '644 ',
    backoff: '644 1 60\n',
    'give-up': '644 5 60\n',
    'down-signal': '644 SIGINT\n',
    'timeout-kill': '644 5000\n',
    'timeout-finish': '644 2000\n',
  });
  // directories come before what they hold
  const order = r.entries.map((e) => e.path);
  for (const [i, p] of order.entries()) if (p.includes('/')) assert.ok(order.indexOf(p.slice(0, p.lastIndexOf('/'))) < i, p);
  assert.deepEqual(r.inert.sort(), ['needs/', 'notification-fd', 'notify-socket', 'watchdog']);
  // the smallest spec: no chpst, no env, the canonical log/run that runsvdir hosts in-process
  const small = renderService({ name: 'hello', command: { argv: ['sleep', '100'] } });
  assert.deepEqual(
    small.entries.map((e) => e.path),
    ['run', 'log', 'log/run', 'log/main'],
  );
  assert.equal(contentOf(small.entries[0]), '#!/bin/sh\n# hello: written by runit-ts add\nexec 2>&1\nexec sleep 100\n');
  assert.ok(parseCanonicalLogRun(contentOf(small.entries[2]) ?? ''), 'log/run is canonical');
  assert.deepEqual(parseCanonicalLogRun(contentOf(small.entries[2]) ?? '')?.dirs, ['./main']);
  assert.deepEqual(
    renderService({ name: 'x', command: { argv: ['true'] }, log: false }).entries.map((e) => e.path),
    ['run'],
  );
  const external = renderService({ name: 'x', command: { argv: ['true'] }, log: { dir: '/var/log/x', config: ['s100'] } });
  assert.deepEqual(external.externalLogDir, { dir: '/var/log/x', config: Buffer.from('s100\n') });
  // give-up beyond s6's default death tally keeps a tally long enough
  const tally = renderService({ name: 'x', command: { argv: ['true'] }, policy: { giveUp: { deaths: 500, seconds: 60 } } });
  assert.equal(contentOf(tally.entries.find((e) => e.path === 'max-death-tally')), '500\n');
});

test('env/: values read back by chpst -e as written; what chpst -e cannot carry is refused', () => {
  const dir = tempDir();
  const env = { A: 'plain', B: 'two\nlines\n\nand more', C: '', D: ' lead and\tinner', E: 'ünï ☃', F: '#not a comment' };
  const r = renderService({ name: 'e', command: { argv: ['true'] }, env, log: false });
  mkdirSync(join(dir, 'env'));
  for (const e of r.entries) if (e.type === 'file' && e.path.startsWith('env/')) writeFileSync(join(dir, e.path), e.content);
  const read = Object.fromEntries(readEnvDir(join(dir, 'env'), { skipSubdirs: true }).map((x) => [x.name.toString(), x.value?.toString()]));
  assert.deepEqual(read, env);
  // through Debian's chpst too
  const debianEnv = spawnSync(debian('chpst'), ['-e', join(dir, 'env'), '/usr/bin/env', '-0'], { env: {}, encoding: 'utf8' });
  const got = Object.fromEntries(
    debianEnv.stdout
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  assert.deepEqual(got, env);
  assert.equal(envFileContent('trailing '), 'chpst -e drops spaces and tabs at the end of a value');
  assert.equal(envFileContent('nul\0'), 'a value cannot hold a NUL byte');
  assert.deepEqual(specProblems({ name: 'e', command: { argv: ['true'] }, env: { 'A=B': 'x', '.dot': 'x', '': 'x', T: 'tab\t' } }), [
    'invalid environment variable "A=B": a name holding =, /, a newline or a NUL byte',
    'invalid environment variable ".dot": a name starting with a dot (chpst -e skips it)',
    'invalid environment variable "": an empty name',
    'environment variable T: chpst -e drops spaces and tabs at the end of a value',
  ]);
  assert.throws(() => renderService({ name: '.x', command: { argv: ['true'] } }), SpecError);
});

test('--env-file grammar: comments, blanks, quotes as foreman reads them, errors with the line', () => {
  assert.deepEqual(parseEnvFile('# comment\n\nA=1\r\n  # indented comment\nB= spaced # kept \nC=\'single $x \\n\'\nD="double \\n \\" \\\\ x"\nE=\nA=2\n'), {
    ok: true,
    env: { A: '2', B: ' spaced # kept ', C: 'single $x \\n', D: 'double \n " \\ x', E: '' },
  });
  assert.deepEqual(parseEnvFile('A=1\nexport B=2\n'), { ok: false, line: 2, message: 'not KEY=VALUE (KEY: letters, digits and _, not starting with a digit)' });
  assert.deepEqual(parseEnvFile('1A=1'), { ok: false, line: 1, message: 'not KEY=VALUE (KEY: letters, digits and _, not starting with a digit)' });
  assert.deepEqual(parseEnvFile('NOVALUE\n'), { ok: false, line: 1, message: 'not KEY=VALUE (KEY: letters, digits and _, not starting with a digit)' });
});

test('add options: values to the spec, bad values named', () => {
  const spec = { env: { value: true, repeat: true }, 'env-file': { value: true, repeat: true }, needs: { value: true, repeat: true } };
  const opts = [
    'nofile',
    'memory',
    'nproc',
    'nice',
    'umask',
    'user',
    'backoff',
    'notification-fd',
    'watchdog',
    'timeout-kill',
    'down-signal',
    'wait',
    'shell',
    'cwd',
    'dir',
    'log-dir',
  ];
  const full = {
    ...spec,
    ...Object.fromEntries(opts.map((o) => [o, { value: true }])),
    down: { value: false },
    notify: { value: false },
    'no-wait': { value: false },
    'no-log': { value: false },
  };
  /** @type {(args: string[], files?: Map<string, string>) => any} */
  const parse = (args, files = new Map()) => {
    const p = parseOptions(args, full);
    assert.ok(p.ok, p.ok ? '' : p.message);
    return addSpec(p.options, p.lists, p.operands, p.beforeDashDash, { SVDIR: '/sv' }, files);
  };
  const r = parse(
    [
      'web',
      '--env',
      'A=1',
      '--env-file',
      'f',
      '--env',
      'B=x=y',
      '--needs',
      'db,cache',
      '--needs',
      'q',
      '--memory',
      '2m',
      '--nofile',
      '10',
      '--user',
      'u:g',
      '--backoff',
      '0.5,30',
      '--nice',
      '-3',
      '--notify',
      '--',
      'prog',
      '--flag',
    ],
    new Map([['f', 'A=0\nC=3\n']]),
  );
  assert.deepEqual(r, {
    ok: true,
    svdir: '/sv',
    waitMs: 10000,
    spec: {
      name: 'web',
      command: { argv: ['prog', '--flag'] },
      user: 'u',
      group: 'g',
      env: { A: '1', C: '3', B: 'x=y' },
      limits: { nofile: 10, memory: 2097152 },
      nice: -3,
      readiness: { notifySocket: {} },
      needs: ['db', 'cache', 'q'],
      policy: { backoff: { first: 0.5, cap: 30 } },
    },
  });
  assert.equal(parse(['w', '--down', '--', 'x']).waitMs, undefined);
  assert.equal(parse(['w', '--wait', '2.5', '--', 'x']).waitMs, 2500);
  /** @type {(args: string[], message: string, usage?: boolean) => void} */
  const bad = (args, message, usage = false) => assert.deepEqual(parse(args, new Map([['f', 'A=1\nno\n']])), { ok: false, usage, message });
  bad(['w', '--memory', '12x', '--', 'x'], 'invalid --memory: 12x: BYTES, or a number with k, m or g (powers of 1024)');
  bad(['w', '--nofile', '0', '--', 'x'], 'invalid --nofile: 0: a whole number from 1');
  bad(['w', '--env', 'NOEQ', '--', 'x'], 'invalid --env: NOEQ: KEY=VALUE');
  bad(['w', '--backoff', '5,1', '--', 'x'], 'invalid --backoff: 5,1: FIRST,CAP in seconds, FIRST above 0 and CAP at least FIRST');
  bad(['w', '--notification-fd', '2', '--', 'x'], 'invalid --notification-fd: 2: a descriptor number from 3 to 1023');
  bad(['w', '--umask', '999', '--', 'x'], 'invalid --umask: 999: three octal digits, such as 022');
  bad(['w', '--user', 'a:b:c', '--', 'x'], 'invalid --user: a:b:c: USER or USER:GROUP');
  bad(['w', '--env-file', 'f', '--', 'x'], 'f:2: not KEY=VALUE (KEY: letters, digits and _, not starting with a digit)');
  bad(['w'], 'no command: give it after --, or --shell LINE', true);
  bad(['w', 'prog', '--', 'x'], 'the command follows --: prog', true);
  bad(['w', '--shell', 'x', '--', 'y'], '--shell and -- COMMAND exclude each other', true);
  bad(['--', 'x'], 'no service name', true);
  assert.deepEqual([parseBytes('1'), parseBytes('1k'), parseBytes('3G'), parseBytes('0'), parseBytes('-1')], [1, 1024, 3 * 1024 ** 3, undefined, undefined]);
});

/**
 * runit-ts with SVDIR set.
 * @param {string} svdir
 * @param {string[]} args
 * @param {{ env?: Record<string, string> }} [options]
 */
const runitTs = (svdir, args, options = {}) =>
  runAsync(bin('runit-ts'), args, { ...options, env: { ...process.env, SVDIR: svdir, NO_COLOR: '1', ...options.env } });

/**
 * The NUL-separated strings of a /proc file.
 * @param {number} pid
 * @param {string} file
 */
const procStrings = (pid, file) => readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0').slice(0, -1);
/**
 * A limit's soft value from /proc/PID/limits.
 * @param {number} pid
 * @param {string} label
 */
const softLimit = (pid, label) => new RegExp(`^${label}\\s+(\\S+)`, 'm').exec(readFileSync(`/proc/${pid}/limits`, 'latin1'))?.[1];

/** An empty services directory and a runit-ts runsvdir on it (with runit-ts's chpst first in PATH). */
function supervisedDir() {
  const svdir = join(tempDir('runit-ts-', 0o755), 'service');
  mkdirSync(svdir, { mode: 0o755 });
  const runsvdir = startDetached(bin('runsvdir'), [svdir], { env: { ...process.env, PATH: TS_PATH } });
  return { svdir, runsvdir };
}

const PERL = `$| = 1; print "ready $ENV{GREETING}\\n"; sleep 1000`;
const HOSTILE = ['a b', "it's", '$HOME', '`id`', '*', 'line\nbreak', '', '-x', '"q"', 'é☃', '\\'];

test('add under runsvdir: argv, environment, user nobody and limits reach the process; its output reaches log/main', {
  skip: !isRoot && 'needs root (user nobody)',
}, async () => {
  const { svdir } = supervisedDir();
  const r = await runitTs(svdir, [
    'add',
    'app',
    '--env',
    'GREETING=hello world',
    '--env',
    'MULTI=one\ntwo',
    '--user',
    'nobody',
    '--nofile',
    '123',
    '--nproc',
    '77',
    '--memory',
    '512m',
    '--umask',
    '027',
    '--',
    '/usr/bin/perl',
    '-e',
    PERL,
    ...HOSTILE,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const dir = join(svdir, 'app');
  const pid = supervisedPid(dir);
  assert.match(r.stdout, new RegExp(`^app: written: ${dir}\nSERVICE +STATE +PID +UPTIME +CPU +MEM\napp +run +${pid} `));
  assert.match(r.stdout, /\napp\/log +run .*in-process/);
  // runs: ./run has started; chpst (a Node program here) execs perl a moment later
  await waitFor(() => procStrings(pid, 'cmdline')[0] === '/usr/bin/perl', { what: 'perl exec' });
  assert.deepEqual(procStrings(pid, 'cmdline'), ['/usr/bin/perl', '-e', PERL, ...HOSTILE]);
  const environ = procStrings(pid, 'environ');
  assert.ok(environ.includes('GREETING=hello world'));
  assert.ok(environ.includes('MULTI=one\ntwo'));
  assert.match(readFileSync(`/proc/${pid}/status`, 'latin1'), new RegExp(`^Uid:\\s+${NOBODY}\\s+${NOBODY}\\s`, 'm'));
  assert.match(readFileSync(`/proc/${pid}/status`, 'latin1'), /^Umask:\s+0027$/m);
  assert.equal(softLimit(pid, 'Max open files'), '123');
  assert.equal(softLimit(pid, 'Max processes'), '77');
  assert.equal(softLimit(pid, 'Max address space'), String(512 * 1024 * 1024));
  await waitFor(() => /^\S+ ready hello world$/m.test(readText(join(dir, 'log/main/current')) ?? ''), { what: 'the line in log/main/current' });
  // what runit-ts status prints for it is what add printed
  const status = await runitTs(svdir, ['status', 'app']);
  assert.equal(status.stdout.split('\n')[1].split(/\s+/).slice(0, 3).join(' '), `app run ${pid}`);
});

test('add --down, --force (old one stopped, log history kept), an existing name refused', async () => {
  const { svdir } = supervisedDir();
  const dir = join(svdir, 'svc');
  const down = await runitTs(svdir, ['add', 'svc', '--down', '--', '/bin/sh', '-c', 'echo first; exec sleep 1000']);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(down.stdout, `svc: written: ${dir} (down: start it with sv up ${dir})\n`);
  assert.ok(existsSync(join(dir, 'down')));
  await waitFor(() => run(bin('sv'), ['status', dir]).stdout.startsWith(`down: ${dir}: `), { what: 'supervised, down' });
  assert.equal(run(bin('sv'), ['up', dir]).code, 0);
  const first = await running(dir);
  await waitFor(() => (readText(join(dir, 'log/main/current')) ?? '').includes('first'), { what: 'first line' });

  const again = await runitTs(svdir, ['add', 'svc', '--', 'sleep', '1']);
  assert.equal(again.code, 111);
  assert.equal(again.stderr, `runit-ts add: fatal: svc: exists in ${svdir}: --force replaces it\n`);
  assert.equal(supervisedPid(dir), first);
  assert.deepEqual(readdirSync(svdir), ['svc']);

  const forced = await runitTs(svdir, ['add', 'svc', '--force', '--env', 'N=2', '--', '/bin/sh', '-c', 'echo second $N; exec sleep 1000']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, new RegExp(`^svc: replaced: ${dir}\n`));
  assert.ok(processGone(first), 'the old service is gone');
  const second = supervisedPid(dir);
  assert.notEqual(second, first);
  assert.ok(!existsSync(join(dir, 'down')));
  await waitFor(() => (readText(join(dir, 'log/main/current')) ?? '').includes('second 2'), { what: 'second line' });
  const log = readText(join(dir, 'log/main/current')) ?? '';
  assert.ok(log.indexOf('first') < log.indexOf('second 2'), 'the log history carried over');
  assert.deepEqual(readdirSync(svdir), ['svc'], 'nothing left beside');
});

test('remove: out of runsvdir, service and logger stopped, no supervisor left; kept with its logs, or purged; a missing one', async () => {
  const { svdir, runsvdir } = supervisedDir();
  const dir = join(svdir, 'gone');
  const add = await runitTs(svdir, ['add', 'gone', '--', '/bin/sh', '-c', 'echo bye; sleep 1000 & exec sleep 1001']);
  assert.equal(add.code, 0, add.stderr);
  const pid = supervisedPid(dir);
  await waitFor(() => (readText(join(dir, 'log/main/current')) ?? '').includes('bye'), { what: 'log line' });
  // the background sleep holds the log pipe: runit's supervisor would wait for it for ever
  const [child] = await waitFor(() => childrenOf(pid).length === 1 && childrenOf(pid), { what: 'the background child' });
  const r = await runitTs(svdir, ['remove', 'gone']);
  assert.equal(r.code, 0, r.stderr);
  const kept = readdirSync(svdir).find((n) => n.startsWith('.gone.removed-'));
  assert.ok(kept, readdirSync(svdir).join(' '));
  assert.match(kept, /^\.gone\.removed-\d{8}T\d{6}Z$/);
  assert.equal(r.stdout, `gone: removed: stopped; kept as ${join(svdir, kept)}\n`);
  assert.ok(processGone(pid), 'the service is gone');
  assert.ok(processGone(child.pid), 'what it left behind is gone');
  assert.ok(!existsSync(dir));
  assert.ok(readText(join(svdir, kept, 'log/main/current'))?.includes('bye'), 'logs kept');
  assert.ok(!existsSync(join(svdir, kept, 'supervise')), 'no stale supervise/');
  assert.equal(runsvdir.exitCode, null, 'runsvdir still runs');
  const status = await runitTs(svdir, ['status']);
  assert.ok(!status.stdout.includes('gone'), status.stdout);

  const again = await runitTs(svdir, ['remove', 'gone']);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, `runit-ts remove: warning: gone: no such service in ${svdir}: nothing removed\n`);

  assert.equal((await runitTs(svdir, ['add', 'purged', '--', 'sleep', '1000'])).code, 0);
  const purgedPid = supervisedPid(join(svdir, 'purged'));
  const purge = await runitTs(svdir, ['remove', '--purge', 'purged']);
  assert.equal(purge.code, 0, purge.stderr);
  assert.equal(purge.stdout, 'purged: removed and deleted: stopped\n');
  assert.ok(processGone(purgedPid));
  assert.deepEqual(
    readdirSync(svdir).filter((n) => n.includes('purged')),
    [],
  );

  // a service that ignores TERM is killed after --wait
  assert.equal((await runitTs(svdir, ['add', 'stubborn', '--shell', "trap '' TERM; echo up; while :; do sleep 0.1; done"])).code, 0);
  const stubborn = supervisedPid(join(svdir, 'stubborn'));
  const killed = await runitTs(svdir, ['remove', '--purge', '--wait', '0.5', 'stubborn']);
  assert.equal(killed.code, 0, killed.stderr);
  assert.equal(killed.stdout, 'stubborn: removed and deleted: stopped (killed after 0.5s)\n');
  assert.ok(processGone(stubborn));

  // a symbolic link: removed, what it names left as it is
  const real = join(tempDir(), 'linked');
  assert.equal((await runitTs(svdir, ['add', 'linked', '--dir', join(real, '..'), '--no-wait', '--', 'sleep', '1000'])).code, 0);
  symlinkSync(real, join(svdir, 'linked'));
  const linkedPid = await running(real);
  const unlinked = await runitTs(svdir, ['remove', 'linked', '--purge']);
  assert.equal(unlinked.code, 0, unlinked.stderr);
  assert.equal(unlinked.stdout, `linked: removed (the link to ${real}, which is left as it is): stopped\n`);
  assert.ok(processGone(linkedPid));
  assert.ok(existsSync(join(real, 'run')));
});

test("remove under runsvdir --isolate: the service's runsv process exits (checked by pid), runsvdir goes on", async () => {
  const svdir = join(tempDir(), 'service');
  mkdirSync(svdir);
  const runsvdir = startDetached(bin('runsvdir'), ['--isolate', svdir], { env: { ...process.env, PATH: TS_PATH } });
  const add = await runitTs(svdir, ['add', 'iso', '--', 'sleep', '1000']);
  assert.equal(add.code, 0, add.stderr);
  const dir = join(svdir, 'iso');
  const pid = supervisedPid(dir);
  const status = JSON.parse((await runitTs(svdir, ['status', '--json', 'iso'])).stdout).services[0];
  const runsv = status.supervisorPid;
  assert.ok(runsv > 0 && runsv !== runsvdir.pid, `a runsv of its own: ${runsv}`);
  assert.ok(status.log.supervisorPid === runsv && status.log.pid !== runsv, 'its svlogd is a process under runsv');
  const logPid = status.log.pid;
  const r = await runitTs(svdir, ['remove', 'iso']);
  assert.equal(r.code, 0, r.stderr);
  for (const [what, p] of [
    ['service', pid],
    ['svlogd', logPid],
    ['runsv', runsv],
  ]) {
    assert.ok(processGone(p), `${what} (pid ${p}) is gone`);
  }
  assert.equal(runsvdir.exitCode, null, 'runsvdir still runs');
});

test('bad input: a clear message, non-zero exit, nothing written', async () => {
  const { svdir } = supervisedDir();
  assert.equal((await runitTs(svdir, ['add', 'taken', '--no-wait', '--', 'sleep', '1000'])).code, 0);
  const before = readdirSync(svdir).sort();
  const envFile = join(tempDir(), 'bad.env');
  writeFileSync(envFile, 'A=1\nnot a line\n');
  /** @type {[string[], number, string | RegExp][]} */
  const cases = [
    [['add', '.hidden', '--', 'x'], 100, 'runit-ts add: fatal: invalid service name: .hidden: a name starting with a dot (runsvdir ignores it)\n'],
    [['add', 'a/b', '--', 'x'], 100, 'runit-ts add: fatal: invalid service name: a/b: only letters, digits and . _ @ + - are allowed\n'],
    [['add', 'taken', '--', 'x'], 111, `runit-ts add: fatal: taken: exists in ${svdir}: --force replaces it\n`],
    [['add', 'x', '--memory', 'lots', '--', 'x'], 100, 'runit-ts add: fatal: invalid --memory: lots: BYTES, or a number with k, m or g (powers of 1024)\n'],
    [['add', 'x', '--env', 'T=tail ', '--', 'x'], 100, 'runit-ts add: fatal: environment variable T: chpst -e drops spaces and tabs at the end of a value\n'],
    [['add', 'x', '--user', 'no-such-user-here', '--', 'x'], 100, 'runit-ts add: fatal: unknown user: no-such-user-here\n'],
    [['add', 'x', '--down-signal', 'SIGFOO', '--', 'x'], 100, 'runit-ts add: fatal: invalid down-signal: SIGFOO: not a signal name\n'],
    [['add', 'x', '--needs', 'x', '--', 'x'], 100, 'runit-ts add: fatal: invalid need: x: a service cannot need itself\n'],
    [
      ['add', 'x', '--env-file', envFile, '--', 'x'],
      100,
      `runit-ts add: fatal: ${envFile}:2: not KEY=VALUE (KEY: letters, digits and _, not starting with a digit)\n`,
    ],
    [['add', 'x', '--env-file', `${envFile}.none`, '--', 'x'], 100, `runit-ts add: fatal: unable to read ${envFile}.none: file does not exist\n`],
    [
      ['add', 'x', '--log-dir', '../out', '--', 'x'],
      100,
      'runit-ts add: fatal: invalid log directory: ../out: a relative one stays inside log/ (no .., no supervise)\n',
    ],
    [['add', 'x', '--frob', '--', 'x'], 100, /^runit-ts add: unknown option: --frob\nusage: runit-ts add NAME/],
    [['add', 'x'], 100, /^runit-ts add: no command: give it after --, or --shell LINE\nusage: /],
    [
      ['add', 'x', '--dir', join(svdir, 'none'), '--', 'x'],
      111,
      `runit-ts add: fatal: unable to open services directory ${join(svdir, 'none')}: file does not exist\n`,
    ],
    [
      ['add', 'x', '--dir', join(svdir, 'taken/run'), '--', 'x'],
      111,
      `runit-ts add: fatal: unable to open services directory ${join(svdir, 'taken/run')}: not a directory\n`,
    ],
    [['remove', '.x'], 100, 'runit-ts remove: fatal: invalid service name: .x: a name starting with a dot (runsvdir ignores it)\n'],
    [
      ['remove', 'x', '--dir', join(svdir, 'none')],
      111,
      `runit-ts remove: fatal: unable to open services directory ${join(svdir, 'none')}: file does not exist\n`,
    ],
    [['remove'], 100, /^runit-ts remove: one service, please\nusage: /],
  ];
  for (const [args, code, stderr] of cases) {
    const r = await runitTs(svdir, args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    if (typeof stderr === 'string') assert.equal(r.stderr, stderr);
    else assert.match(r.stderr, stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(readdirSync(svdir).sort(), before, `${args.join(' ')} wrote nothing`);
  }
  if (isRoot) {
    // a services directory the user cannot write to
    const [file, args] = asUser(NOBODY, othersBin('runit-ts'), ['add', 'x', '--dir', svdir, '--', 'sleep', '1']);
    const r = await runAsync(file, args, { env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(r.code, 111);
    assert.match(r.stderr, new RegExp(`^runit-ts add: fatal: unable to create ${join(svdir, '\\.x\\.new-')}\\d+: access denied\n$`));
    assert.deepEqual(readdirSync(svdir).sort(), before);
  }
  // no runsvdir watching: written, then not running after --wait
  const lonely = join(tempDir(), 'lonely');
  mkdirSync(lonely);
  const r = await runitTs(lonely, ['add', 'x', '--wait', '0.3', '--', 'sleep', '1']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `runit-ts add: warning: x: not running after 0.3s: no supervisor (is a runsvdir watching ${lonely}?)\n`);
  assert.match(r.stdout, /^x: written: .*\nSERVICE .*\nx +\? +- .*unable to open supervise\/ok: file does not exist\n/);
});

test("Debian's runsv runs the generated service (its chpst and svlogd), and remove stops it and its runsv", {
  skip: !existsSync(debian('runsv')) && 'no Debian runsv',
}, async () => {
  const base = tempDir();
  const svdir = join(base, 'sv');
  mkdirSync(svdir);
  const w = await runitTs(svdir, [
    'add',
    'deb',
    '--no-wait',
    '--env',
    'WHO=debian',
    '--nofile',
    '99',
    '--cwd',
    '/tmp',
    '--',
    '/usr/bin/perl',
    '-e',
    PERL.replace('GREETING', 'WHO'),
    ...HOSTILE,
  ]);
  assert.equal(w.code, 0, w.stderr);
  const dir = join(svdir, 'deb');
  const runsv = startDetached(debian('runsv'), [dir], { env: { PATH: '/usr/bin:/bin' } });
  const pid = await running(dir);
  await waitFor(() => procStrings(pid, 'cmdline')[0] === '/usr/bin/perl', { what: 'perl exec' });
  assert.deepEqual(procStrings(pid, 'cmdline'), ['/usr/bin/perl', '-e', PERL.replace('GREETING', 'WHO'), ...HOSTILE]);
  assert.ok(procStrings(pid, 'environ').includes('WHO=debian'));
  assert.equal(softLimit(pid, 'Max open files'), '99');
  assert.equal(readlinkSync(`/proc/${pid}/cwd`), '/tmp');
  await waitFor(() => /^\S+ ready debian$/m.test(readText(join(dir, 'log/main/current')) ?? ''), { what: "Debian svlogd's line" });
  const logPid = supervisedPid(join(dir, 'log'));
  const r = await runitTs(svdir, ['remove', 'deb']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^deb: removed: stopped; kept as /);
  assert.deepEqual(await runsv.exited, { code: 0, signal: null }, 'runsv exited');
  assert.ok(processGone(pid) && processGone(logPid), 'service and svlogd gone');
});

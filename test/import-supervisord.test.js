// runit-ts import: supervisord.conf (src/import/supervisord.ts, ini.ts), on
// Debian's supervisord.conf, echo_supervisord_conf's output with its sample
// sections uncommented and an included file (test/fixtures/import/).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatDiagnostic } from '../dist/import/common.js';
import { expand } from '../dist/import/ini.js';
import { globFiles } from '../dist/import/load.js';
import { parseEnvironment, parseSupervisord, shlexSplit } from '../dist/import/supervisord.js';
import { root } from './helpers.js';

const dir = join(root, 'test/fixtures/import');
const reader = { read: (/** @type {string} */ p) => readFileSync(p, 'utf8'), glob: globFiles };
/** @param {string} text @param {string} [file] @param {Record<string, string>} [env] */
const parse = (text, file = '/etc/supervisord.conf', env = {}) => parseSupervisord(text, file, { env, hostname: 'box', reader });
const STOP = 'printf d > supervise/control; exit 125';

test("Debian's supervisord.conf: no program, its own sections listed as not mapped, the absent include warned about", () => {
  const file = join(dir, 'debian/supervisord.conf');
  const r = parseSupervisord(readFileSync(file, 'utf8'), file, { env: {}, hostname: 'box', reader: { read: reader.read, glob: () => [] } });
  assert.deepEqual(r.services, []);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [`${file}:28: warning: include /etc/supervisor/conf.d/*.conf: no file matches`]);
  assert.deepEqual(
    r.notMapped.map((n) => n.key),
    ['[unix_http_server]', '[supervisord]', '[rpcinterface:supervisor]', '[supervisorctl]'],
  );
  assert.equal(r.notMapped[0]?.value, 'file=/var/run/supervisor.sock; chmod=0700');
});

test("echo_supervisord_conf's sample program: every key mapped or listed, exactly", () => {
  const file = join(dir, 'supervisord/echo-with-programs.conf');
  const r = parseSupervisord(readFileSync(file, 'utf8'), file, { env: { QUEUE: 'jobs' }, hostname: 'box', reader });
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(
    r.services.map((s) => s.spec.name),
    ['theprogramname', 'worker-01', 'worker-02', 'cache'],
  );
  const sample = r.services[0];
  assert.deepEqual(sample?.spec, {
    name: 'theprogramname',
    command: { argv: ['/bin/cat'] },
    source: `${file}:86 [program:theprogramname]`,
    cwd: '/tmp',
    user: 'chrism',
    umask: '022',
    env: { A: '1', B: '2' },
    finishGuards: [`case "$1" in 0) ${STOP};; esac`],
    policy: { giveUp: { deaths: 4, seconds: 10 }, downSignal: 'SIGQUIT', timeoutKillMs: 10000 },
    notes: [
      "startretries 3, startsecs 1: supervisord gives up (FATAL) after 4 starts that each died within 1 s; runit-ts gives up after 4 deaths within 10 s (the starts plus supervisord's 1, 2, 3 ... s retry delays)",
      'stdout_logfile /a/path: svlogd writes a directory, log/main (current and rotated files), not one file',
      'priority 999: needs/ the services of priority 10; runit-ts waits until they are up, supervisord only starts them earlier',
    ],
    log: { config: ['s1048576', 'n10'] },
    notMapped: [
      { key: 'stdout_capture_maxbytes', value: '1MB', reason: 'capture mode feeds supervisord events: no equivalent' },
      { key: 'stdout_events_enabled', value: 'false', reason: 'supervisord events: runit-ts events reports state changes, not output' },
      { key: 'stdout_syslog', value: 'false', reason: 'svlogd sends to syslog only through a UDP address in log/main/config (u)' },
      { key: 'stderr_logfile', value: '/a/path', reason: 'stderr joins stdout in log/main (run does exec 2>&1): no separate stderr log' },
      { key: 'stderr_logfile_maxbytes', value: '1MB', reason: 'no separate stderr log' },
      { key: 'stderr_logfile_backups', value: '10', reason: 'no separate stderr log' },
      { key: 'stderr_capture_maxbytes', value: '1MB', reason: 'capture mode feeds supervisord events: no equivalent' },
      { key: 'stderr_events_enabled', value: 'false', reason: 'supervisord events' },
      { key: 'stderr_syslog', value: 'false', reason: 'no separate stderr log' },
      { key: 'serverurl', value: 'AUTO', reason: 'supervisorctl inside the program: sv needs no server' },
    ],
    needs: ['worker-01', 'worker-02'],
  });
  // every key of the section is accounted for: mapped, or not mapped with a reason
  const keys = new Set([...sample.mapped.flatMap((m) => m.key.split(/[/ ]/)), ...(sample.spec.notMapped ?? []).map((n) => n.key)]);
  const section = readFileSync(file, 'utf8').split('\n').slice(86, 117);
  for (const line of section) assert.ok(keys.has(line.split('=')[0] ?? ''), line);
  assert.deepEqual(
    r.notMapped.map((n) => n.key),
    ['[unix_http_server]', '[supervisord]', '[rpcinterface:supervisor]', '[supervisorctl]', '[eventlistener:theeventlistenername]', '[group:thegroupname]'],
  );
});

test('the included file: numprocs with %(process_num)02d, %(ENV_X)s, %(here)s, continuation lines, priority chains, NONE, sizes', () => {
  const file = join(dir, 'supervisord/echo-with-programs.conf');
  const r = parseSupervisord(readFileSync(file, 'utf8'), file, { env: { QUEUE: 'jobs' }, hostname: 'box', reader });
  const [, w1, w2, cache] = r.services;
  assert.deepEqual(w1?.spec.command, { argv: ['/usr/bin/env', 'python3', '-u', 'worker.py', '--queue', 'jobs', '--slot', '1'] });
  assert.deepEqual(w2?.spec.env, { QUEUE_URL: 'amqp://guest@localhost//', SLOT: '2', HOME: '/var/lib/worker' });
  assert.equal(w2?.spec.cwd, join(dir, 'supervisord/conf.d'));
  assert.equal(w2?.spec.log, false);
  assert.deepEqual(w2?.spec.needs, ['cache']);
  assert.equal(w2?.spec.finishGuards, undefined, 'autorestart=true is runit');
  assert.deepEqual(cache?.spec.finishGuards, [STOP]);
  assert.deepEqual(cache?.spec.log, { config: ['s0', 'n1'] });
  assert.deepEqual(cache?.spec.policy, { timeoutKillMs: 30000 });
  assert.equal(cache?.spec.needs, undefined);
});

test('INI and expansion errors are FILE:LINE; unknown keys are listed, not fatal', () => {
  const r = parse(
    [
      '[program:a]',
      'command = /bin/a %(ENV_NOPE)s',
      '[program:b]',
      'command=/bin/b',
      'command=/bin/c',
      'stopsignal=BOGUS',
      'no equals sign here',
      '[program:c]',
      'command=/bin/c "unclosed',
      '[program:d]',
      'command=/bin/d',
      'numprocs=2',
      '[program:e]',
      'command=/bin/e',
      'flavour=vanilla',
    ].join('\n'),
  );
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    '/etc/supervisord.conf:5: key command appears twice in [program:b]',
    '/etc/supervisord.conf:7: not a section header or a key = value line: no equals sign here',
    '/etc/supervisord.conf:2: unknown expansion %(ENV_NOPE)s (known: program_name, group_name, host_node_name, here, process_num, numprocs, ENV_*)',
    '/etc/supervisord.conf:6: [program:b] stopsignal: not a signal: BOGUS',
    '/etc/supervisord.conf:9: [program:c] command: no closing quotation',
    '/etc/supervisord.conf:12: [program:d] %(process_num) must be present within process_name when numprocs > 1',
    '/etc/supervisord.conf:15: warning: [program:e] unknown key flavour',
  ]);
  assert.deepEqual(
    r.services.map((s) => [s.spec.name, s.spec.notMapped]),
    [['e', [{ key: 'flavour', value: 'vanilla', reason: 'unknown key' }]]],
  );
});

test("autorestart, exitcodes, autostart, stopasgroup, redirect_stderr; supervisord's grammars", () => {
  const r = parse(
    [
      '[program:x]',
      'command=/bin/x',
      'autorestart=unexpected',
      'exitcodes=0,2',
      'autostart=false',
      'stopasgroup=true',
      'killasgroup=false',
      'redirect_stderr=false',
      '[program:y]',
      'command=/bin/y',
      'autorestart=true',
      'exitcodes=3',
      'startsecs=0',
    ].join('\n'),
  );
  const [x, y] = r.services;
  assert.deepEqual(x?.spec.finishGuards, [`case "$1" in 0|2) ${STOP};; esac`]);
  assert.equal(x?.spec.down, true);
  assert.deepEqual(x?.spec.notMapped, [
    { key: 'stopasgroup', value: 'true', reason: 'containment is not built yet (issue 14): runit-ts signals the main process only' },
  ]);
  assert.deepEqual(x?.spec.notes, ['redirect_stderr false: stderr still joins stdout in log/main (run does exec 2>&1)']);
  assert.deepEqual(y?.spec.notMapped, [
    { key: 'exitcodes', value: '3', reason: 'only used with autorestart=unexpected (here true)' },
    { key: 'startsecs', value: '0', reason: 'supervisord never counts a start as failed: no give-up' },
  ]);
  assert.deepEqual(shlexSplit(`/bin/sh -c 'echo "a b"; exit 3' x\\ y "q\\"q"`), ['/bin/sh', '-c', 'echo "a b"; exit 3', 'x y', 'q"q']);
  assert.deepEqual(parseEnvironment('A="1",B=two, C=\'x,y\',PATH=/usr/bin:/bin'), { A: '1', B: 'two', C: 'x,y', PATH: '/usr/bin:/bin' });
  assert.equal(parseEnvironment('A=1,B'), 'unexpected end of key/value pairs in A=1,B');
  assert.equal(expand('%(program_name)s-%(process_num)03d %%', { program_name: 'p', process_num: 7 }), 'p-007 %');
});

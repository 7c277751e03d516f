// runit-ts import: PM2 ecosystem files (src/import/pm2.ts, load.ts) in
// .js (evaluated in a child node), .json and .yaml
// (test/fixtures/import/pm2/, shaped after PM2's documented examples).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatDiagnostic } from '../dist/import/common.js';
import { detectFormat, importFiles } from '../dist/import/load.js';
import { parsePm2 } from '../dist/import/pm2.js';
import { root, tempDir } from './helpers.js';

const dir = join(root, 'test/fixtures/import/pm2');
const STOP = 'printf d > supervise/control; exit 125';

/** @param {string} file @param {object} [options] */
async function load(file, options = {}) {
  const r = await importFiles([join(dir, file)], options);
  assert.ok(!('error' in r), 'error' in r ? r.error : '');
  assert.equal(r.format, 'pm2');
  return r.result;
}

test('ecosystem.config.js is evaluated in a child node, with --env NAME in its argv, and env_NAME merged over env', async () => {
  const r = await load('ecosystem.config.js', { envName: 'production' });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    `${join(dir, 'ecosystem.config.js')}: warning: apps[1] (worker-production): no env_production: only env applies`,
  ]);
  assert.deepEqual(
    r.services.map((s) => s.spec.name),
    ['API', 'worker-production-1', 'worker-production-2'],
  );
  const api = r.services[0]?.spec;
  assert.deepEqual(api?.command, { argv: ['node', join(dir, 'app.js'), 'one', 'two'] });
  assert.deepEqual(api?.env, { NODE_ENV: 'production', NODE_APP_INSTANCE: '0' });
  assert.equal(api?.cwd, dir);
  assert.deepEqual(
    api?.notMapped?.map((n) => n.key),
    ['max_memory_restart', 'watch'],
  );
  assert.match(api?.notMapped?.[0]?.reason ?? '', /^PM2 restarts the app when its RSS passes 1073741824 bytes; chpst -m is a hard address-space limit/);
  const worker = r.services[2]?.spec;
  assert.deepEqual(worker, {
    name: 'worker-production-2',
    command: { argv: ['python', '-u', join(dir, 'worker.py')] },
    source: `${join(dir, 'ecosystem.config.js')}: pm2 app "worker-production"`,
    cwd: dir,
    env: { NODE_APP_INSTANCE: '1' },
    finishGuards: [STOP],
    policy: { backoff: { first: 0.1, cap: 15 }, timeoutKillMs: 3000 },
    log: {},
  });
  assert.equal(r.notMapped[0]?.key, 'deploy');
});

test('process.json: cluster mode as N services with PORT offsets, every documented key mapped or listed', async () => {
  const r = await load('process.json');
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [`${join(dir, 'process.json')}: warning: apps[0] (my-api): unknown key colour`]);
  assert.deepEqual(
    r.services.map((s) => [s.spec.name, s.spec.env?.PORT, s.spec.env?.NODE_APP_INSTANCE]),
    [
      ['my-api-1', '3000', '0'],
      ['my-api-2', '3001', '1'],
      ['my-api-3', '3002', '2'],
      ['my-api-4', '3003', '3'],
    ],
  );
  const spec = r.services[3]?.spec;
  assert.deepEqual(spec?.command, { argv: ['/usr/bin/node', '--harmony', '/var/www/index.js', '-a', '13', '-b', '12'] });
  assert.equal(spec?.cwd, '/var/www');
  assert.deepEqual(spec?.policy, { backoff: { first: 4, cap: 4 }, giveUp: { deaths: 10, seconds: 600 }, timeoutKillMs: 1600 });
  assert.deepEqual(spec?.log, {});
  assert.deepEqual(
    spec?.notMapped?.map((n) => n.key),
    ['max_memory_restart', 'env_production', 'watch', 'ignore_watch', 'cron_restart', 'wait_ready', 'listen_timeout', 'vizion', 'colour'],
  );
  assert.deepEqual(
    r.services[0]?.mapped.map((m) => m.key),
    [
      'script',
      'interpreter',
      'interpreter_args',
      'args',
      'name',
      'cwd',
      'env NODE_ENV',
      'env PORT',
      'instances',
      'exec_mode',
      'restart_delay',
      'max_restarts/min_uptime',
      'kill_timeout',
      'out_file',
      'error_file',
      'log_date_format',
      'merge_logs',
    ],
  );
});

test('ecosystem.yaml: YAML through the yaml library, .sh runs with bash, args as a list, stop_exit_codes', async () => {
  const r = await load('ecosystem.yaml');
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.services.length, 5);
  const queue = r.services[4]?.spec;
  assert.deepEqual(queue?.command, { argv: ['bash', join(dir, 'queue.sh'), '--once', '--label=a b'] });
  assert.deepEqual(queue?.finishGuards, [`case "$1" in 0|3) ${STOP};; esac`]);
});

test('bad files: JSON and YAML syntax errors with a line, a .js that throws, no apps, no script, a bad name', async () => {
  const tmp = tempDir();
  writeFileSync(join(tmp, 'a.json'), '{\n  "apps": [\n    { "script": "x.js", }\n  ]\n}\n');
  writeFileSync(join(tmp, 'b.yaml'), 'apps:\n  - script: x.js\n   name: [\n');
  writeFileSync(join(tmp, 'c.config.js'), 'module.exports = {\n  apps: [nope],\n};\n');
  writeFileSync(join(tmp, 'package.json'), '{"type":"commonjs"}\n');
  const diag = async (/** @type {string} */ name) => {
    const r = await importFiles([join(tmp, name)], {});
    assert.ok(!('error' in r));
    return r.result.diagnostics.map(formatDiagnostic);
  };
  assert.match((await diag('a.json'))[0] ?? '', new RegExp(`^${join(tmp, 'a.json')}:3: not JSON: `));
  assert.match((await diag('b.yaml'))[0] ?? '', new RegExp(`^${join(tmp, 'b.yaml')}:3: not YAML: `));
  assert.deepEqual(await diag('c.config.js'), [`${join(tmp, 'c.config.js')}:2: evaluating it with node failed: ReferenceError: nope is not defined`]);
  const opts = { dir: '/srv', cpus: 2 };
  assert.deepEqual(parsePm2({ nothing: 1 }, 'e.json', opts).diagnostics.map(formatDiagnostic), ['e.json: no `apps` in the file']);
  assert.deepEqual(parsePm2({ apps: [{ name: 'x' }] }, 'e.json', opts).diagnostics.map(formatDiagnostic), ['e.json: apps[0]: no script']);
  assert.deepEqual(parsePm2({ apps: [{ script: 'a.js', name: 'a b' }] }, 'e.json', opts).diagnostics.map(formatDiagnostic), [
    'e.json: apps[0]: the name "a b" cannot name a service: only letters, digits and . _ @ + - are allowed',
  ]);
  // instances max: one per CPU; a bare program name runs without node
  const r = parsePm2({ apps: [{ script: 'npm', args: 'start', instances: 'max' }] }, 'e.json', opts);
  assert.deepEqual(
    r.services.map((s) => [s.spec.name, s.spec.command]),
    [
      ['npm-1', { argv: ['npm', 'start'] }],
      ['npm-2', { argv: ['npm', 'start'] }],
    ],
  );
  assert.equal(detectFormat('/x/ecosystem.config.cjs', ''), 'pm2');
  assert.equal(detectFormat('/x/anything', 'apps:\n  - script: a.js\n'), 'pm2');
});

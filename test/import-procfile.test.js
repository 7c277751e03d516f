// runit-ts import: the Procfile and .env parser (src/import/procfile.ts),
// on a Heroku-style Procfile with a .env (test/fixtures/import/procfile/).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatDiagnostic } from '../dist/import/common.js';
import { parseDotenv, parseFormation, parseProcfile } from '../dist/import/procfile.js';
import { root } from './helpers.js';

const dir = join(root, 'test/fixtures/import/procfile');
const procfile = readFileSync(join(dir, 'Procfile'), 'utf8');
const envText = readFileSync(join(dir, '.env'), 'utf8');

test('.env as foreman reads it: export, quotes, \\n in double quotes, no inline comments, other lines warned about', () => {
  /** @type {import('../dist/import/common.js').Diagnostic[]} */
  const diagnostics = [];
  const env = parseDotenv(envText, '.env', diagnostics);
  assert.deepEqual(env, {
    RACK_ENV: 'production',
    DATABASE_URL: 'postgres://app:secret@localhost/app',
    GREETING: 'hello\nworld "quoted"',
    RAW: 'plain value # not a comment for foreman',
  });
  assert.deepEqual(diagnostics.map(formatDiagnostic), ['.env:6: warning: not a KEY=VALUE line: ignored (as foreman does)']);
});

test('every process type a service, a shell line run from the Procfile directory, PORT from 5000 by 100, PS', () => {
  const r = parseProcfile(procfile, 'Procfile', { dir, envText, envFile: '.env' });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), ['.env:6: warning: not a KEY=VALUE line: ignored (as foreman does)']);
  assert.deepEqual(
    r.services.map((s) => [s.spec.name, s.spec.env?.PORT, s.spec.env?.PS]),
    [
      ['web', '5000', 'web.1'],
      ['worker', '5100', 'worker.1'],
      ['release', '5200', 'release.1'],
      ['clock', '5300', 'clock.1'],
    ],
  );
  assert.deepEqual(r.services[1]?.spec, {
    name: 'worker',
    command: { shell: 'bundle exec sidekiq -e ${RACK_ENV:-development} -C config/sidekiq.yml' },
    source: 'Procfile:3',
    cwd: dir,
    env: {
      RACK_ENV: 'production',
      DATABASE_URL: 'postgres://app:secret@localhost/app',
      GREETING: 'hello\nworld "quoted"',
      RAW: 'plain value # not a comment for foreman',
      PORT: '5100',
      PS: 'worker.1',
    },
    log: {},
  });
});

test('--formation: NAME-1..N, PORT +1 per instance, 0 leaves a type out (listed), an unknown type is an error', () => {
  const r = parseProcfile(procfile, 'Procfile', { dir, formation: 'web=2,worker=1,release=0,clock=0' });
  assert.deepEqual(
    r.services.map((s) => [s.spec.name, s.spec.env?.PORT, s.spec.env?.PS]),
    [
      ['web-1', '5000', 'web.1'],
      ['web-2', '5001', 'web.2'],
      ['worker-1', '5100', 'worker.1'],
    ],
  );
  assert.deepEqual(
    r.notMapped.map((n) => n.key),
    ['release', 'clock'],
  );
  const bad = parseProcfile(procfile, 'Procfile', { dir, formation: 'api=2' });
  assert.deepEqual(bad.diagnostics.map(formatDiagnostic), ['--formation: no process type api in Procfile']);
  assert.equal(parseFormation('web=x'), 'not a formation entry (NAME=COUNT): web=x');
  assert.deepEqual(parseFormation('all=3'), new Map([['all', 3]]));
});

test("a .env's PORT is foreman's base port", () => {
  const r = parseProcfile('a: x\nb: y\n', 'Procfile', { dir: '/srv', envText: 'PORT=8000\n' });
  assert.deepEqual(
    r.services.map((s) => s.spec.env?.PORT),
    ['8000', '8100'],
  );
});

test('syntax errors are FILE:LINE, a type defined twice is one', () => {
  const r = parseProcfile('web: a\n\n  bad line\nweb: b\n', 'Procfile', { dir: '/srv' });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), ['Procfile:3: not a process line (TYPE: COMMAND)', 'Procfile:4: process type web defined twice']);
  assert.deepEqual(parseProcfile('# nothing\n', 'P', { dir: '/' }).diagnostics.map(formatDiagnostic), ['P: no process type (TYPE: COMMAND) in the file']);
});

// runsvdir runs canonical `exec svlogd ...` log services in-process: same
// files as a separate svlogd, and log/supervise/ still answers sv.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { bin, tempDir, makeService, startDetached, stopAll, waitFor, run, readText, stat, supervisedPid, logText } from './helpers.js';
import { parseCanonicalLogRun } from '../dist/logger/canonical.js';

after(stopAll);

test('canonical log/run grammar', () => {
  /** @param {string} text */
  const dirs = (text) => parseCanonicalLogRun(text)?.dirs;
  assert.deepEqual(dirs('#!/bin/sh\nexec svlogd -tt ./main\n'), ['./main']);
  assert.deepEqual(dirs('exec /usr/bin/svlogd -t main other\n'), ['main', 'other']);
  assert.deepEqual(dirs('#!/bin/sh\n# logs\n\nexec  svlogd\t-ttv main\n'), ['main']);
  assert.equal(parseCanonicalLogRun('#!/bin/sh\nexec svlogd -tt ./main\n')?.timestamp, 2);
  for (const text of [
    '#!/bin/sh\nexec svlogd $HOME\n',
    '#!/bin/bash\nexec svlogd main\n',
    '#!/bin/sh -e\nexec svlogd main\n',
    '#!/bin/sh\nexec chpst -u log svlogd main\n',
    '#!/bin/sh\nexec svlogd main >/dev/null\n',
    '#!/bin/sh\ncd /tmp\nexec svlogd main\n',
    '#!/bin/sh\nexec svlogd -l 2000 main\n',
    '#!/bin/sh\nexec svlogd\n',
    '#!/bin/sh\nexec ./svlogd main\n',
    '#!/bin/sh\nexec svlogd "main"\n',
  ]) {
    assert.equal(parseCanonicalLogRun(text), undefined, text);
  }
});

const SERVICE_RUN = '#!/bin/sh\nn=0; while [ $n -lt 3000 ]; do n=$((n+1)); echo "line $n"; done; exec sleep 1000\n';
/** @param {string} svc */
const logPid = (svc) => supervisedPid(join(svc, 'log'));

/**
 * A service printing 3000 lines, with a log service (in-process unless `optOut`).
 * @param {string} dir
 * @param {{ optOut?: boolean, logRun?: string }} [options]
 */
function logService(dir, { optOut = false, logRun = '#!/bin/sh\nexec svlogd -tt ./main\n' } = {}) {
  makeService(dir, { run: SERVICE_RUN, 'log/run': logRun });
  mkdirSync(join(dir, 'log/main'));
  writeFileSync(join(dir, 'log/main/config'), 's20000\nn100\n');
  if (optOut) writeFileSync(join(dir, 'log/no-hosted-log'), '');
  return dir;
}

/**
 * Every line logged in `logdir`, oldest first, timestamps removed.
 * @param {string} logdir
 */
const logged = (logdir) => logText(logdir).replace(/^\S+ /gm, '');

test('a canonical logger runs in-process and writes what a separate svlogd writes', async () => {
  const dir = join(tempDir(), 'service');
  const hosted = logService(join(dir, 'hosted'));
  const separate = logService(join(dir, 'separate'), { optOut: true });
  const other = logService(join(dir, 'other'), { logRun: '#!/bin/sh\nexec svlogd -tt ./main 2>&1\n' });
  const runsvdir = startDetached(bin('runsvdir'), [dir]);
  for (const svc of [hosted, separate, other]) await waitFor(() => stat(svc) === 'run\n' && logPid(svc), { what: 'up' });
  assert.equal(logPid(hosted), runsvdir.pid);
  assert.notEqual(logPid(separate), runsvdir.pid);
  assert.notEqual(logPid(other), runsvdir.pid);
  const expected = Array.from({ length: 3000 }, (_, i) => `line ${i + 1}\n`).join('');
  await waitFor(() => logged(join(hosted, 'log/main')) === expected && logged(join(separate, 'log/main')) === expected, { what: 'all lines logged' });
  // size rotation happened the same way
  /** @param {string} svc */
  const rotated = (svc) => readdirSync(join(svc, 'log/main')).filter((f) => f.endsWith('.s')).length;
  assert.ok(rotated(hosted) > 3);
  assert.equal(rotated(hosted), rotated(separate));
  // timestamps in svlogd -tt format
  assert.match(readFileSync(join(hosted, 'log/main/current'), 'utf8'), /^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} line \d+\n/);
});

test('the in-process logger answers sv: status, alarm, down, up; it ends with its host', async () => {
  const dir = join(tempDir(), 'service');
  const svc = logService(join(dir, 'a'));
  const runsvdir = startDetached(bin('runsvdir'), [dir]);
  await waitFor(() => logPid(svc) === runsvdir.pid && readText(join(svc, 'log/main/current'))?.includes('line 3000'), {
    what: 'hosted logger done with input',
  });
  const status = run(bin('sv'), ['status', svc]);
  assert.match(status.stdout, new RegExp(`; run: log: \\(pid ${runsvdir.pid}\\) \\d+s\\n$`));
  const before = readdirSync(join(svc, 'log/main')).filter((f) => f.startsWith('@')).length;
  assert.equal(run(bin('sv'), ['alarm', join(svc, 'log')]).code, 0);
  await waitFor(() => readdirSync(join(svc, 'log/main')).filter((f) => f.startsWith('@')).length === before + 1, { what: 'rotation on alarm' });
  assert.equal(readFileSync(join(svc, 'log/main/current'), 'utf8'), '');
  const down = run(bin('sv'), ['-w', '5', 'down', join(svc, 'log')]);
  assert.equal(down.code, 0, down.stdout);
  assert.match(down.stdout, /^ok: down: .*\/log: \d+s, normally up\n$/);
  // current is complete (owner-x) once the logger has stopped
  assert.equal(readFileSync(join(svc, 'log/main/current')).length, 0);
  const up = run(bin('sv'), ['-w', '5', 'up', join(svc, 'log')]);
  assert.match(up.stdout, new RegExp(`^ok: run: .*/log: \\(pid ${runsvdir.pid}\\) \\d+s\\n$`));
  process.kill(runsvdir.pid, 'SIGTERM');
  assert.equal((await runsvdir.exited).code, 0);
  assert.equal(readText(join(svc, 'log/supervise/stat')), 'down\n');
});

test('--no-hosted-logs runs every log/run as a process', async () => {
  const dir = join(tempDir(), 'service');
  const svc = logService(join(dir, 'a'));
  const runsvdir = startDetached(bin('runsvdir'), ['--no-hosted-logs', dir]);
  await waitFor(() => stat(svc) === 'run\n' && logPid(svc), { what: 'up' });
  assert.notEqual(logPid(svc), runsvdir.pid);
  assert.match(readText(`/proc/${logPid(svc)}/cmdline`) ?? '', /svlogd/);
});

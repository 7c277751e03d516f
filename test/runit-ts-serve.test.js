// runit-ts serve: metrics (checked by promtool), probes, the JSON API, the
// event stream, control with its refusals, a unix socket; over runit-ts's
// runsvdir and over Debian's runsv.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import {
  bin,
  debian,
  tempDir,
  makeService,
  startDetached,
  stopAll,
  running,
  run,
  waitFor,
  craftSupervise,
  statusRecord,
  removeDir,
  readText,
  startServe,
  http,
} from './helpers.js';

after(stopAll);

const SLEEPER = { run: '#!/bin/sh\nexec sleep 1000\n' };

test('metrics pass promtool; livez and readyz say why; the API gives the status schema', async () => {
  const svdir = join(tempDir(), 'service');
  makeService(join(svdir, 'web'), { ...SLEEPER, 'log/run': '#!/bin/sh\nexec svlogd -tt ./main\n' });
  mkdirSync(join(svdir, 'web/log/main'));
  makeService(join(svdir, 'db'), SLEEPER);
  startDetached(bin('runsvdir'), [svdir]);
  await running(join(svdir, 'web'));
  await running(join(svdir, 'db'));
  const { port } = await startServe(svdir);

  const metrics = await http({ port }, '/metrics');
  assert.equal(metrics.status, 200);
  assert.equal(metrics.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metrics.body, encoding: 'utf8' });
  assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);
  assert.match(metrics.body, /^runit_service_up\{service="web"\} 1$/m);
  assert.match(metrics.body, /^runit_service_up\{service="web",log="true"\} 1$/m);
  assert.match(metrics.body, /^runit_service_resident_memory_bytes\{service="db"\} [1-9]\d*$/m);

  assert.deepEqual(await http({ port }, '/livez').then((r) => [r.status, r.body]), [200, 'ok: 2 services\n']);
  assert.deepEqual(await http({ port }, '/readyz').then((r) => [r.status, r.body]), [200, 'ok: 2 services\n']);
  // taken down on purpose: still ready; wanted up but not running: not ready
  assert.equal(run(bin('sv'), ['down', join(svdir, 'db')]).code, 0);
  await waitFor(() => readText(join(svdir, 'db/supervise/stat')) === 'down\n', { what: 'db down' });
  assert.equal((await http({ port }, '/readyz')).status, 200);
  writeFileSync(join(svdir, 'db/run'), '#!/bin/sh\nexit 1\n');
  assert.equal(run(bin('sv'), ['up', join(svdir, 'db')]).code, 0);
  const unready = await waitFor(() => http({ port }, '/readyz?service=db').then((r) => r.status === 503 && r.body), { what: 'db unready' });
  assert.match(unready, /^db: (down|finish), want up\n$/);
  assert.equal((await http({ port }, '/readyz?service=web')).status, 200);
  assert.equal((await http({ port }, '/readyz?service=nope')).status, 404);

  const all = JSON.parse((await http({ port }, '/api/services')).body);
  assert.equal(all.version, 1);
  assert.deepEqual(
    all.services.map((/** @type {any} */ s) => s.name),
    ['db', 'web'],
  );
  const web = JSON.parse((await http({ port }, '/api/services/web')).body);
  assert.equal(web.state, 'run');
  assert.equal(web.log.inProcess, true);
  assert.equal(typeof web.startsSeen, 'number');
  for (const path of ['/api/services/..', '/api/services/%2e%2e', '/api/services/..%2F..%2Fetc', '/api/services/web%2F..', '/nothing']) {
    assert.equal((await http({ port }, path)).status, 404, path);
  }
});

test('control: refused without --control, without the token, with a wrong token or Origin or Host; a rotated token; restart by the API', async () => {
  const base = tempDir();
  const svdir = join(base, 'service');
  makeService(join(svdir, 'web'), SLEEPER);
  startDetached(bin('runsvdir'), [svdir]);
  const pid = await running(join(svdir, 'web'));

  const readOnly = await startServe(svdir);
  assert.equal((await http({ port: readOnly.port }, '/api/services/web/restart', { method: 'POST' })).status, 403);

  const tokenFile = join(base, 'secret/token');
  const { port } = await startServe(svdir, ['--control', '--token-file', tokenFile]);
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  assert.equal(statSync(join(base, 'secret')).mode & 0o777, 0o700);
  const token = readFileSync(tokenFile, 'utf8').trim();
  assert.match(token, /^[0-9a-f]{64}$/);
  const post = (/** @type {Record<string, string>} */ headers, path = '/api/services/web/restart') => http({ port }, path, { method: 'POST', headers });
  assert.equal((await post({})).status, 401);
  assert.equal((await post({ Authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await post({ Authorization: `Bearer ${token}`, Origin: 'http://evil.example' })).status, 403);
  assert.equal((await post({ Authorization: `Bearer ${token}`, Host: 'evil.example' })).status, 403);
  assert.equal((await post({ Authorization: `Bearer ${token}` }, '/api/services/web/format')).status, 404);
  assert.equal((await post({ Authorization: `Bearer ${token}` }, '/api/services/..%2F..%2Fx/up')).status, 404);
  // every refusal changed nothing
  assert.equal(Number(readText(join(svdir, 'web/supervise/pid'))), pid);
  assert.equal(readText(join(svdir, 'web/supervise/stat')), 'run\n');

  const ok = await post({ Authorization: `Bearer ${token}`, Origin: `http://127.0.0.1:${port}` });
  assert.equal(ok.status, 200, ok.body);
  assert.deepEqual(JSON.parse(ok.body), { ok: true, service: 'web', action: 'restart', letters: 'tcu' });
  await running(join(svdir, 'web'), { notPid: pid });

  writeFileSync(tokenFile, 'rotated\n');
  assert.equal((await post({ Authorization: `Bearer ${token}` }, '/api/services/web/up')).status, 401);
  assert.equal((await post({ Authorization: 'Bearer rotated' }, '/api/services/web/up')).status, 200);
});

test('the event stream, a unix socket, Debian runsv, garbage and a removed service', async () => {
  const base = tempDir();
  const svdir = join(base, 'service');
  makeService(join(svdir, 'deb'), SLEEPER);
  startDetached(debian('runsv'), [join(svdir, 'deb')]);
  const deb = await running(join(svdir, 'deb'));
  makeService(join(svdir, 'garbage'), SLEEPER);
  craftSupervise(join(svdir, 'garbage'), { status: Buffer.from('garbage') });
  makeService(join(svdir, 'old'), SLEEPER);
  craftSupervise(join(svdir, 'old'), { status: statusRecord() });
  const socketPath = join(base, 'serve.sock');
  await startServe(svdir, ['--socket', socketPath]);
  assert.equal(statSync(socketPath).mode & 0o777, 0o600);
  const to = { socketPath };

  const all = JSON.parse((await http(to, '/api/services', { headers: { Host: 'anything' } })).body);
  const byName = Object.fromEntries(all.services.map((/** @type {any} */ s) => [s.name, s]));
  assert.equal(byName.deb.pid, deb);
  assert.equal(byName.garbage.error, 'unable to read supervise/status: bad format');
  assert.equal((await http(to, '/livez')).status, 200);

  // the stream: a change made from the shell arrives
  /** @type {string[]} */
  const received = [];
  const stream = request({ socketPath, path: '/api/events' }, (res) => {
    assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
    res.setEncoding('utf8');
    res.on('data', (d) => received.push(d));
  });
  stream.end();
  await waitFor(() => received.length > 0, { what: 'stream open' });
  assert.equal(run(debian('sv'), ['down', join(svdir, 'deb')]).code, 0);
  await waitFor(() => received.join('').includes('"service":"deb","log":false,"event":"down"'), { what: 'down event' });
  removeDir(join(svdir, 'old'));
  await waitFor(() => received.join('').includes('"service":"old","log":false,"event":"removed"'), { what: 'removed event' });
  stream.destroy();
  assert.equal((await http(to, '/metrics')).status, 200);
  assert.equal((await http(to, '/api/services/old')).status, 404);
});

// runit-ts import FILE...: the command (src/cli/runit-ts.ts, import entry)
// end to end — a Procfile with its .env, a supervisord.conf, a systemd
// unit and a PM2 ecosystem imported into a temporary $SVDIR through servicedir/write.ts, run by
// runit-ts's runsvdir: the services come up, log to log/main/current and
// stop with sv down. And its bad input: nothing is written.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bin, readText, run, running, startDetached, stat, stopAll, supervisedPid, tempDir, processGone, waitFor } from './helpers.js';

after(stopAll);

/** @param {string[]} args @param {NodeJS.ProcessEnv} [env] */
const importCmd = (args, env = {}) => run(bin('runit-ts'), ['import', ...args], { env: { ...process.env, ...env } });

function sources() {
  const base = tempDir();
  const app = join(base, 'app');
  const svdir = join(base, 'service');
  run('mkdir', ['-p', app, svdir]);
  writeFileSync(join(app, 'Procfile'), 'web: while true; do echo "web port $PORT says $GREETING from $PWD"; sleep 0.2; done\n');
  writeFileSync(join(app, '.env'), '# read as foreman reads it\nexport GREETING="hello there"\n');
  writeFileSync(
    join(app, 'supervisord.conf'),
    [
      '[supervisord]',
      'logfile=/tmp/supervisord.log',
      '',
      '[program:ticker]',
      'command=/bin/sh -c \'while :; do echo "tick $SLOT $COLOR"; sleep 0.2; done\'',
      'process_name=%(program_name)s-%(process_num)d',
      'numprocs=2',
      'environment=COLOR="blue",SLOT=%(process_num)d',
      'redirect_stderr=true',
      'autorestart=true',
      'stopwaitsecs=5',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(app, 'loop.service'),
    [
      '[Unit]',
      'Description=a shell loop',
      '[Service]',
      'Environment=MSG=unit-says-hi',
      'ExecStart=/bin/sh -c "while :; do echo $MSG ${MSG}; sleep 0.2; done"',
      'Restart=always',
      'KillSignal=SIGTERM',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n'),
  );
  writeFileSync(join(app, 'worker.sh'), 'while :; do echo "pm2 worker $WHO"; sleep 0.2; done\n', { mode: 0o755 });
  writeFileSync(
    join(app, 'ecosystem.config.json'),
    JSON.stringify({ apps: [{ name: 'pmworker', script: './worker.sh', cwd: app, env: { WHO: 'pm2' }, env_production: { WHO: 'pm2-prod' } }] }),
  );
  return { app, svdir };
}

test('--dry-run writes nothing and shows the files it would write', () => {
  const { app, svdir } = sources();
  const r = importCmd([join(app, 'Procfile'), '--dir', svdir, '--formation', 'web=2', '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(svdir), []);
  assert.match(r.stdout, /^procfile: 2 services\n/);
  assert.ok(r.stdout.includes(`  would write ${svdir}/web-1/:\n    run (0755)\n`), r.stdout);
  assert.ok(r.stdout.includes('    PORT = 5001 -> env/PORT (foreman: 5000 + 0 × 100 + 1)\n'), r.stdout);
  assert.ok(r.stdout.includes('    log/run (0755)\n'));
  const asUser = importCmd([join(app, 'loop.service'), '--dir', svdir, '--user', 'nobody', '--env', 'production', '--dry-run']);
  assert.equal(asUser.code, 0, asUser.stderr);
  assert.equal(asUser.stderr, 'runit-ts import: warning: --env applies to pm2 files only: ignored\n');
  assert.ok(asUser.stdout.includes('    --user = nobody -> chpst -u\n'), asUser.stdout);
  assert.deepEqual(readdirSync(svdir), []);
});

test('a Procfile, a supervisord.conf, a unit and a PM2 ecosystem imported, run under runsvdir: up, logging to log/main/current, stopped by sv down', async () => {
  const { app, svdir } = sources();
  for (const args of [
    [join(app, 'Procfile'), '--formation', 'web=2'],
    [join(app, 'supervisord.conf')],
    [join(app, 'loop.service')],
    [join(app, 'ecosystem.config.json'), '--env', 'production'],
  ]) {
    const r = importCmd([...args, '--dir', svdir]);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.deepEqual(readdirSync(svdir).sort(), ['loop', 'pmworker', 'ticker-0', 'ticker-1', 'web-1', 'web-2']);
  assert.match(
    readText(join(svdir, 'loop/run')) ?? '',
    /^#!\/bin\/sh\n# loop: from .*loop\.service\n(# note: .*\n)*# note: Description: a shell loop\n# not mapped: \[Install\] WantedBy=multi-user.target: runsvdir starts everything in the directory\nexec 2>&1\n/,
  );
  const host = startDetached(bin('runsvdir'), [svdir]);
  const expected = {
    'web-1': `web port 5000 says hello there from ${app}`,
    'web-2': `web port 5001 says hello there from ${app}`,
    'ticker-0': 'tick 0 blue',
    'ticker-1': 'tick 1 blue',
    loop: 'unit-says-hi unit-says-hi',
    pmworker: 'pm2 worker pm2-prod',
  };
  const pids = [];
  for (const [name, line] of Object.entries(expected)) {
    const dir = join(svdir, name);
    pids.push(await running(dir));
    await waitFor(() => (readText(join(dir, 'log/main/current')) ?? '').includes(` ${line}\n`), { what: `${name} logging "${line}"`, timeout: 10000 });
    // svlogd -tt: each line stamped
    assert.match((readText(join(dir, 'log/main/current')) ?? '').split('\n')[0] ?? '', /^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d+ /);
  }
  const names = Object.keys(expected).map((n) => join(svdir, n));
  const down = run(bin('sv'), ['-w', '10', 'down', ...names]);
  assert.equal(down.code, 0, down.stdout + down.stderr);
  for (const dir of names) assert.equal(stat(dir), 'down\n');
  for (const pid of pids) await waitFor(() => processGone(pid), { what: `pid ${pid} gone` });
  assert.ok(names.every((dir) => supervisedPid(dir) === 0));
  process.kill(host.pid, 'SIGTERM');
  await host.exited;
});

test('bad input: an unknown format, a syntax error with FILE:LINE, an existing service without --force: a message, non-zero, nothing written', () => {
  const { app, svdir } = sources();
  writeFileSync(join(app, 'notes.txt'), 'just some text\n');
  let r = importCmd([join(app, 'notes.txt'), '--dir', svdir]);
  assert.equal(r.code, 111);
  assert.equal(r.stderr, `runit-ts import: fatal: ${join(app, 'notes.txt')}: cannot tell the format: name it with --from procfile|pm2|supervisord|systemd\n`);
  writeFileSync(join(app, 'broken.conf'), '[program:a]\ncommand=/bin/a\n\nthis line is wrong\n');
  r = importCmd([join(app, 'broken.conf'), '--dir', svdir]);
  assert.equal(r.code, 111);
  assert.equal(
    r.stderr,
    `runit-ts import: ${join(app, 'broken.conf')}:4: not a section header or a key = value line: this line is wrong\nrunit-ts import: fatal: nothing written\n`,
  );
  assert.deepEqual(readdirSync(svdir), []);
  assert.equal(importCmd([join(app, 'Procfile'), '--dir', svdir]).code, 0);
  r = importCmd([join(app, 'Procfile'), '--dir', svdir]);
  assert.equal(r.code, 111);
  assert.equal(r.stderr, `runit-ts import: fatal: web: exists in ${svdir}: --force replaces; nothing written\n`);
  assert.equal(importCmd([join(app, 'Procfile'), '--dir', svdir, '--force']).code, 0);
  r = importCmd([join(app, 'Procfile'), '--dir', join(app, 'missing')]);
  assert.equal(r.code, 111);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `runit-ts import: fatal: unable to write into services directory ${join(app, 'missing')}: file does not exist: nothing written\n`);
  assert.ok(!existsSync(join(app, 'missing')));
  r = importCmd([join(app, 'Procfile'), '--from', 'docker']);
  assert.equal(r.code, 100);
});

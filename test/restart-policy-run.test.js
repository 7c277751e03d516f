// The restart policy under a real runsvdir: backoff, give-up, the death
// record, down-signal, as sv and runit-ts status show them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { TAI_OFFSET } from '../dist/protocol/tai64n.js';
import { bin, debian, tempDir, makeService, startDetached, stopAll, running, run, waitFor, readText, stat, craftSupervise, statusRecord } from './helpers.js';

after(stopAll);

test('backoff: restarts wait 0.2, 0.4, 0.8, 0.8 s; sv status shows the pending restart; sv up skips it; Debian sv sees runit', async () => {
  const svdir = join(tempDir(), 'service');
  const dir = join(svdir, 'flaky');
  // each start appends its time (ms); every run fails at once
  makeService(dir, { run: '#!/bin/sh\necho $(($(date +%s%N)/1000000)) >> starts\nexit 3\n', backoff: '0.2 0.8\n' });
  startDetached(bin('runsvdir'), [svdir]);
  const starts = () => (readText(join(dir, 'starts')) ?? '').split('\n').filter(Boolean).map(Number);
  await waitFor(() => starts().length >= 5, { timeout: 15000, what: 'five starts' });
  const t = starts();
  const gaps = t.slice(1, 5).map((x, i) => x - (t[i] ?? 0));
  // at least the delay each time (the shell's start adds a little)
  for (const [i, least] of [200, 400, 800, 800].entries()) assert.ok((gaps[i] ?? 0) >= least - 5, `gap ${i}: ${gaps.join(',')}`);
  assert.ok((gaps[3] ?? 0) < 1600, `capped: ${gaps.join(',')}`);
  // while one is pending: sv status says so; Debian's sv shows runit's line
  let seen = '';
  await waitFor(
    () => {
      seen = run(bin('sv'), ['status', dir]).stdout;
      return /^down: .*: \d+s, normally up, want up, restart in \d+s\n$/.test(seen);
    },
    { what: () => `a pending restart in sv status, seen: ${seen}` },
  );
  const debianLine = run(debian('sv'), ['status', dir]).stdout;
  assert.match(debianLine, /^(down|run): .*\d+s(, normally up, want up)?\n$/);
  // the death record
  const deaths = readText(join(dir, 'supervise/deaths')) ?? '';
  assert.match(deaths, /^deaths \d+\n(@[0-9a-f]{24} exitcode 3\n)+$/);
  const json = JSON.parse(run(bin('runit-ts'), ['status', '--json', dir]).stdout).services[0];
  assert.ok(json.deaths >= 5);
  assert.equal(json.lastExit, 'exitcode 3');
  // a longer backoff (read at the next death), then sv up: no waiting for it
  writeFileSync(join(dir, 'backoff'), '60 60\n');
  await waitFor(() => / restart in [3-6]\ds\n$/.test(run(bin('sv'), ['status', dir]).stdout), { timeout: 10000, what: 'a restart a minute away' });
  const before = starts().length;
  assert.equal(run(bin('sv'), ['up', dir]).code, 0);
  await waitFor(() => starts().length > before, { timeout: 20000, what: 'a start long before the minute' });
});

test('give-up: ./finish exiting 125 stops the restarts, shown by sv and runit-ts status; sv up clears it', async () => {
  const svdir = join(tempDir(), 'service');
  const dir = join(svdir, 'once');
  makeService(dir, { run: '#!/bin/sh\necho x >> starts\nexit 1\n', finish: '#!/bin/sh\n[ -e keep-going ] || exit 125\n' });
  startDetached(bin('runsvdir'), [svdir]);
  await waitFor(() => run(bin('sv'), ['status', dir]).stdout.includes('given up'), { what: 'given up' });
  assert.match(run(bin('sv'), ['status', dir]).stdout, /^down: .*: \d+s, normally up, given up\n$/);
  assert.equal(stat(dir), 'down\n');
  assert.equal(readText(join(dir, 'starts')), 'x\n');
  const json = JSON.parse(run(bin('runit-ts'), ['status', '--json', dir]).stdout).services[0];
  assert.equal(json.givenUp, true);
  assert.equal(json.want, 'down');
  // sv up: started again (and, still failing, given up again)
  assert.equal(run(bin('sv'), ['up', dir]).code, 0);
  await waitFor(() => readText(join(dir, 'starts')) === 'x\nx\n', { what: 'started again' });
});

test('down-signal: sv down sends the signal the file names', async () => {
  const svdir = join(tempDir(), 'service');
  const dir = join(svdir, 'nginxish');
  makeService(dir, {
    run: "#!/bin/sh\ntrap 'echo QUIT > got; exit 0' QUIT\ntrap 'echo TERM > got; exit 0' TERM\nwhile :; do sleep 0.05; done\n",
    'down-signal': 'QUIT\n',
  });
  startDetached(bin('runsvdir'), [svdir]);
  await running(dir);
  assert.equal(run(bin('sv'), ['-w', '10', 'down', dir]).code, 0);
  assert.equal(readText(join(dir, 'got')), 'QUIT\n');
});

test('a pending restart is shown only while the service is down (supervise/policy goes a moment after a start is published)', () => {
  const dir = join(tempDir(), 'svc');
  const inAMinute = `restart @${(TAI_OFFSET + BigInt(Math.floor(Date.now() / 1000) + 60)).toString(16)}00000000\n`;
  craftSupervise(dir, { status: statusRecord({ pid: 4242, state: 1 }) });
  writeFileSync(join(dir, 'supervise/policy'), inAMinute);
  assert.match(run(bin('sv'), ['status', dir]).stdout, /^run: .*: \(pid 4242\) \d+s\n$/);
  assert.equal(JSON.parse(run(bin('runit-ts'), ['status', '--json', dir]).stdout).services[0].restartIn, null);
  craftSupervise(dir, { status: statusRecord({ state: 0 }) });
  assert.match(run(bin('sv'), ['status', dir]).stdout, /^down: .*: \d+s, normally up, want up, restart in (59|60)s\n$/);
  assert.ok(JSON.parse(run(bin('runit-ts'), ['status', '--json', dir]).stdout).services[0].restartIn > 50);
});

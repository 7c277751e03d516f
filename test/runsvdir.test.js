// runsvdir integration tests: a whole service directory in one process.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync, symlinkSync, renameSync, rmSync, chownSync, existsSync } from 'node:fs';
import {
  bin,
  debian,
  tempDir,
  makeService,
  startDetached,
  stopAll,
  waitFor,
  run,
  readText,
  supervisedPid,
  processExists,
  processGone,
  procStat,
  childrenOf,
  running,
  stat,
  asUser,
  othersBin,
  NOBODY,
} from './helpers.js';

after(stopAll);

const SLEEPER = { run: '#!/bin/sh\nexec sleep 1000\n' };

/**
 * @param {string[]} args
 * @param {import('node:child_process').SpawnOptions} [options]
 */
function startRunsvdir(args, options) {
  return startDetached(bin('runsvdir'), args, options);
}

/** @param {number} pid */
const sessionOf = (pid) => procStat(pid)?.session;

test('picks up services, follows symlinks, skips dot-dirs and plain files, warns on dangling links', async () => {
  const base = tempDir();
  const dir = join(base, 'service');
  mkdirSync(dir);
  makeService(join(base, 'elsewhere'), SLEEPER);
  const runsvdir = startRunsvdir([dir]);
  makeService(join(dir, 'a'), SLEEPER);
  makeService(join(dir, '.hidden'), SLEEPER);
  writeFileSync(join(dir, 'plain'), 'not a service');
  symlinkSync(join(base, 'elsewhere'), join(dir, 'linked'));
  symlinkSync(join(base, 'missing'), join(dir, 'dangling'));
  const a = await running(join(dir, 'a'));
  await running(join(base, 'elsewhere'));
  assert.ok(processExists(a));
  await waitFor(() => runsvdir.output.stderr.includes(`runsvdir ${dir}: warning: unable to stat dangling: file does not exist\n`), {
    what: 'dangling warning',
  });
  assert.equal(existsSync(join(dir, '.hidden/supervise')), false);
  assert.doesNotMatch(runsvdir.output.stderr, /plain/);
});

test('a removed service is stopped; a renamed one keeps running', async () => {
  const base = tempDir();
  const dir = join(base, 'service');
  makeService(join(dir, 'a'), { run: `#!/bin/sh\ntrap "echo TERM >> ${base}/term; exit 0" TERM\n: > trapped\nwhile :; do sleep 0.1; done\n` });
  makeService(join(dir, 'b'), SLEEPER);
  startRunsvdir([dir]);
  const a = await running(join(dir, 'a'));
  const b = await running(join(dir, 'b'));
  // (a TERM before the trap is set would end the shell without a word)
  await waitFor(() => existsSync(join(dir, 'a/trapped')), { what: "a's trap set" });
  renameSync(join(dir, 'b'), join(dir, 'b2'));
  renameSync(join(dir, 'a'), join(base, 'a-out'));
  await waitFor(() => processGone(a), { what: 'removed service stopped' });
  assert.equal(readText(join(base, 'term')), 'TERM\n');
  // (the zombie shows before runsvdir has reaped it and written the state)
  await waitFor(() => stat(join(base, 'a-out')) === 'down\n', { what: 'down', timeout: 2000 });
  assert.equal(supervisedPid(join(dir, 'b2')), b);
  assert.ok(processExists(b));
});

test("-P puts each service in its own session; without it services share runsvdir's", async () => {
  for (const withP of [true, false]) {
    const dir = join(tempDir(), 'service');
    makeService(join(dir, 'a'), SLEEPER);
    const runsvdir = startRunsvdir(withP ? ['-P', dir] : [dir]);
    const pid = await running(join(dir, 'a'));
    if (withP) assert.equal(sessionOf(pid), pid);
    else assert.equal(sessionOf(pid), sessionOf(runsvdir.pid));
    // a service in its own session is not in runsvdir's process group
    process.kill(runsvdir.pid, 'SIGTERM');
    await runsvdir.exited;
    assert.ok(!processExists(pid));
  }
});

test('TERM stops every service, then their logs (last lines written), and exits 0', async () => {
  const dir = join(tempDir(), 'service');
  for (const name of ['a', 'b']) {
    makeService(join(dir, name), {
      run: `#!/bin/sh\ntrap 'echo ${name}-last; exit 0' TERM\necho ${name}-first\nwhile :; do sleep 0.1; done\n`,
      'log/run': '#!/bin/sh\nexec cat > out\n',
    });
  }
  const runsvdir = startRunsvdir([dir]);
  const pids = [await running(join(dir, 'a')), await running(join(dir, 'b'))];
  await waitFor(() => readText(join(dir, 'a/log/out')) && readText(join(dir, 'b/log/out')), { what: 'first lines' });
  process.kill(runsvdir.pid, 'SIGTERM');
  assert.equal((await runsvdir.exited).code, 0);
  for (const name of ['a', 'b']) {
    assert.equal(readText(join(dir, name, 'log/out')), `${name}-first\n${name}-last\n`);
    assert.equal(stat(join(dir, name)), 'down\n');
    assert.equal(readText(join(dir, name, 'log/supervise/stat')), 'down\n');
  }
  for (const pid of pids) assert.ok(!processExists(pid));
});

test('HUP stops every service and exits 111', async () => {
  const dir = join(tempDir(), 'service');
  makeService(join(dir, 'a'), SLEEPER);
  const runsvdir = startRunsvdir([dir]);
  const pid = await running(join(dir, 'a'));
  process.kill(runsvdir.pid, 'SIGHUP');
  assert.equal((await runsvdir.exited).code, 111);
  assert.ok(!processExists(pid));
});

test('the log argument keeps the latest messages in the process title', async () => {
  const dir = join(tempDir(), 'service');
  makeService(join(dir, 'noisy'), { run: '#!/bin/sh\necho "hello from noisy" >&2\nexec sleep 1000\n' });
  const log = `log: ${'.'.repeat(60)}`;
  const runsvdir = startRunsvdir([dir, log]);
  await waitFor(() => (readText(`/proc/${runsvdir.pid}/cmdline`) ?? '').includes('hello from noisy\n'), { what: 'message in title' });
  const title = (readText(`/proc/${runsvdir.pid}/cmdline`) ?? '').replace(/\0+$/, '');
  assert.ok(title.startsWith(`runsvdir ${dir} log: `), title);
  assert.equal(title.length, `runsvdir ${dir} `.length + log.length);
  const short = startRunsvdir([dir, 'log']);
  await waitFor(() => short.output.stderr.includes('log service disabled.'), { what: 'short log warning' });
  assert.equal(
    short.output.stderr.slice(0, 200).split('\n').slice(0, 2).join('\n'),
    `runsvdir ${dir}: warning: log must have at least seven characters.\nrunsvdir ${dir}: warning: log service disabled.`,
  );
});

test('a faulty service is reported by name and never stops the others', async () => {
  const dir = join(tempDir(), 'service');
  makeService(join(dir, 'norun'), { 'data/.keep': '' });
  makeService(join(dir, 'badsupervise'), { ...SLEEPER, supervise: 'a plain file' });
  makeService(join(dir, 'notexec'), {});
  writeFileSync(join(dir, 'notexec/run'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  makeService(join(dir, 'crashloop'), { run: '#!/bin/sh\nexit 1\n' });
  makeService(join(dir, 'good'), SLEEPER);
  const runsvdir = startRunsvdir([dir]);
  const good = await running(join(dir, 'good'));
  await waitFor(
    () =>
      runsvdir.output.stderr.includes('runsv norun: fatal: unable to start ./run: file does not exist\n') &&
      runsvdir.output.stderr.includes('runsv badsupervise: fatal: unable to open supervise/lock: not a directory\n') &&
      runsvdir.output.stderr.includes('runsv notexec: fatal: unable to start ./run: access denied\n'),
    { what: 'messages for each faulty service' },
  );
  const r = run(bin('sv'), ['-w', '5', 'restart', join(dir, 'good')]);
  assert.equal(r.code, 0, r.stdout);
  assert.notEqual(supervisedPid(join(dir, 'good')), good);
  assert.ok(processExists(runsvdir.pid));
});

test('services get the NOFILE limit runsvdir was started with; runsvdir raises its own', async () => {
  const dir = join(tempDir(), 'service');
  makeService(join(dir, 'probe'), {
    run: '#!/bin/sh\ngrep "open files" /proc/self/limits > limits\nexec sleep 1000\n',
    'log/run': '#!/bin/sh\ngrep "open files" /proc/self/limits > limits\nexec cat\n',
  });
  const hard = Number(run('/bin/sh', ['-c', 'ulimit -Hn']).stdout.trim());
  const soft = Math.min(hard, 1000) - 11;
  const runsvdir = startDetached('/bin/sh', ['-c', `ulimit -Sn ${soft} && exec "$0" "$1"`, bin('runsvdir'), dir]);
  await running(join(dir, 'probe'));
  await waitFor(() => readText(join(dir, 'probe/limits')) && readText(join(dir, 'probe/log/limits')), { what: 'limits files' });
  for (const file of ['probe/limits', 'probe/log/limits']) assert.match(readText(join(dir, file)) ?? '', new RegExp(`^Max open files\\s+${soft}\\s`), file);
  assert.match(readText(`/proc/${runsvdir.pid}/limits`) ?? '', new RegExp(`Max open files\\s+${hard}\\s+${hard}`));
});

test('--isolate runs one runsv process per service and restarts a killed one', async () => {
  const dir = join(tempDir(), 'service');
  makeService(join(dir, 'a'), SLEEPER);
  makeService(join(dir, 'b'), SLEEPER);
  const runsvdir = startRunsvdir(['--isolate', dir]);
  const a = await running(join(dir, 'a'));
  await running(join(dir, 'b'));
  // runsvdir's children named runsv, shown as `runsv NAME` (as under runit)
  const runsvChildren = () =>
    childrenOf(runsvdir.pid)
      .filter(({ comm }) => comm === 'runsv')
      .map(({ pid }) => ({ pid, argv: readText(`/proc/${pid}/cmdline`)?.split(/[\0 ]/).filter(Boolean) ?? [] }));
  await waitFor(() => runsvChildren().length === 2, { what: 'two runsv processes' });
  const runsvOfA = runsvChildren().find(({ argv }) => argv.at(-1) === 'a')?.pid;
  assert.ok(runsvOfA);
  process.kill(runsvOfA, 'SIGTERM');
  // runsv exits after stopping a; runsvdir starts a new runsv which starts a again
  await waitFor(() => supervisedPid(join(dir, 'a')) && supervisedPid(join(dir, 'a')) !== a && stat(join(dir, 'a')) === 'run\n', {
    timeout: 15000,
    what: 'a restarted under a new runsv',
  });
  assert.ok(
    runsvChildren().some(({ pid, argv }) => pid !== runsvOfA && argv.at(-1) === 'a'),
    'a new runsv for a',
  );
});

test('200 services: all up, controllable by Debian sv and by ours', async () => {
  const dir = join(tempDir(), 'service');
  const names = Array.from({ length: 200 }, (_, i) => `s${i}`);
  for (const name of names) makeService(join(dir, name), SLEEPER);
  startRunsvdir([dir]);
  await waitFor(() => names.every((n) => stat(join(dir, n)) === 'run\n'), { timeout: 30000, interval: 100, what: '200 services up' });
  const debianStatus = run(debian('sv'), ['status', ...names.map((n) => join(dir, n))]);
  assert.equal(debianStatus.code, 0);
  assert.equal(debianStatus.stdout.split('\n').filter((l) => l.startsWith('run: ')).length, 200);
  const down = run(debian('sv'), ['-w', '10', 'down', ...names.slice(0, 100).map((n) => join(dir, n))]);
  assert.equal(down.code, 0, down.stdout);
  const up = run(bin('sv'), ['-w', '10', 'up', ...names.slice(0, 100).map((n) => join(dir, n))]);
  assert.equal(up.code, 0, up.stdout);
  assert.equal(up.stdout.split('\n').filter((l) => l.startsWith('ok: run: ')).length, 100);
  const ours = run(bin('sv'), ['status', ...names.map((n) => join(dir, n))]);
  assert.equal(ours.stdout.split('\n').filter((l) => l.startsWith('run: ')).length, 200);
});

test('a deploy user supervises services in their home without root', async (t) => {
  const home = tempDir('runit-ts-home-');
  const dir = join(home, 'service');
  makeService(join(dir, 'app'), { run: '#!/bin/sh\nid -u > uid\nexec sleep 1000\n' });
  for (const path of [home, dir, join(dir, 'app'), join(dir, 'app/run')]) chownSync(path, NOBODY, NOBODY);
  // the commands of a copy nobody can reach (the checkout may be private)
  /**
   * @param {string} name
   * @param {string[]} args
   */
  const asNobody = (name, args) => asUser(NOBODY, othersBin(name), args);
  const host = startDetached(...asNobody('runsvdir', [dir]), { env: { ...process.env, HOME: home }, cwd: home });
  const pid = await running(join(dir, 'app'));
  // a user's runsvdir makes no cgroup: each start of run leads a process group of its own, which
  // stopping runsvdir's group does not reach (docs/containment.md): the host first, then the service
  assert.equal(procStat(pid)?.pgrp, pid);
  t.after(async () => {
    try {
      process.kill(-host.pid, 'SIGKILL');
    } catch {}
    await host.exited;
    for (const p of [pid, supervisedPid(join(dir, 'app'))])
      try {
        if (p > 0) process.kill(-p, 'SIGKILL');
      } catch {}
  });
  // written by ./run once it runs: wait for the whole line
  assert.equal(await waitFor(() => readText(join(dir, 'app/uid'))?.endsWith('\n') && readText(join(dir, 'app/uid')), { what: 'uid written' }), `${NOBODY}\n`);
  const r = run(...asNobody('sv', ['-w', '5', 'restart', join(dir, 'app')]), { cwd: home });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ok: run: /);
  const s = run(...asNobody('sv', ['status', 'app']), { env: { ...process.env, SVDIR: dir }, cwd: home });
  assert.match(s.stdout, /^run: app: \(pid \d+\) \d+s\n$/);
});

test('the whole directory disappears and comes back: warning, then supervision resumes', async () => {
  const base = tempDir();
  const dir = join(base, 'service');
  makeService(join(dir, 'a'), SLEEPER);
  const runsvdir = startRunsvdir([dir]);
  const a = await running(join(dir, 'a'));
  // in one step: removed entry by entry, a scan in between would see `a` gone and stop it (as runit would)
  renameSync(dir, join(base, 'gone'));
  rmSync(join(base, 'gone'), { recursive: true, force: true });
  await waitFor(() => runsvdir.output.stderr.includes(`runsvdir ${dir}: warning: unable to open directory ${dir}: file does not exist\n`), { what: 'warning' });
  // as runit: an unreadable directory changes nothing that runs
  assert.ok(processExists(a));
  makeService(join(base, 'new'), SLEEPER);
  mkdirSync(dir);
  renameSync(join(base, 'new'), join(dir, 'b'));
  await running(join(dir, 'b'));
  // the next successful scan no longer sees the old service: it is stopped
  await waitFor(() => processGone(a), { what: 'old service stopped' });
  assert.ok(processExists(runsvdir.pid));
});

test('thousands of entries that are not services do not hide the one that is', async () => {
  const dir = join(tempDir(), 'service');
  mkdirSync(dir);
  for (let i = 0; i < 3000; i++) writeFileSync(join(dir, `file${i}`), '');
  const runsvdir = startRunsvdir([dir]);
  makeService(join(dir, 'zz'), SLEEPER);
  await running(join(dir, 'zz'));
  assert.equal(runsvdir.output.stderr, '');
});

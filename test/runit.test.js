// runit as process 1: each test runs the stage runner as process 1 of a new
// PID namespace (container mode unless RUNIT_CONTAINER=0) with stages in a
// temporary directory.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, statSync, existsSync } from 'node:fs';
import {
  bin,
  tempDir,
  makeService,
  startInPidNamespace,
  namespaceInit,
  childrenOf,
  stopAll,
  waitFor,
  run,
  readText,
  fileLines,
  lines,
  runitStages as stages,
  stageLines,
  RUNIT_BOOT as ID,
} from './helpers.js';

after(stopAll);

/**
 * runit (ours) as process 1 of a new PID namespace, with stages from `dir`.
 * @param {string} dir
 * @param {Record<string, string>} [env]
 */
function startRunit(dir, env = {}) {
  return startInPidNamespace([bin('runit')], { env: { ...process.env, RUNIT_DIR: dir, ...env } });
}

/**
 * Record `name`, the stage's pid, ppid, pgrp, session and ignored signals.
 * @param {string} t
 * @param {string | number} name
 */
const record = (t, name) => `set -- $(sed 's/^.*) //' /proc/$$/stat)\necho "${name} $$ $2 $3 $4 $(sed -n 's/^SigIgn:\\t//p' /proc/$$/status)" >> ${t}/order`;

test('stages 1, 2, 3 run in order: stage 1 in runit session, 2 and 3 in their own, SIGCONT ignored', async () => {
  const t = tempDir();
  const dir = stages(t, { 1: record(t, 1), 2: record(t, 2), 3: record(t, 3) });
  const runit = startRunit(dir);
  assert.deepEqual(await runit.exited, { code: 0, signal: null });
  const order = fileLines(join(t, 'order')).map((l) => l.split(' '));
  assert.deepEqual(
    order.map((f) => f[0]),
    ['1', '2', '3'],
  );
  const [one, two, three] = order;
  assert.deepEqual(one.slice(2, 5), ['1', '1', '1'], 'stage 1: child of runit, in its process group and session');
  for (const stage of [two, three]) assert.deepEqual(stage.slice(2, 5), ['1', stage[1], stage[1]], `stage ${stage[0]}: own session`);
  for (const stage of order) assert.equal(stage[5], '0000000000020000', `stage ${stage[0]}: only SIGCONT ignored`);
  assert.deepEqual(lines(runit.output.stderr), [ID, ...stageLines(dir, 1, 2, 3)]);
});

test('not process 1: fatal, exit 111, as runit', () => {
  const ours = run(bin('runit'), []);
  assert.deepEqual(ours, { code: 111, signal: null, stdout: '', stderr: '- runit: fatal: must be run as process no 1.\n' });
  const theirs = run('/sbin/runit', []);
  assert.deepEqual({ ...ours }, { ...theirs });
});

test('orphans are reaped: no zombie is left, and no exit status of a stage is taken', async () => {
  const t = tempDir();
  const dir = stages(t, {
    // ten orphans that end while stage 1 ends and stage 2 starts
    1: `for i in 1 2 3 4 5 6 7 8 9 10; do sh -c '(sleep 0.2 &) ; exit 0'; done\nexit 0`,
    // a double-forking daemon, then stage 2 stays
    2: `sh -c '(sleep 1 &) ; exit 0'\necho ready > ${t}/ready\nexec tail -f /dev/null`,
    3: `echo three > ${t}/three`,
  });
  const runit = startRunit(dir);
  const init = await namespaceInit(runit);
  await waitFor(() => readText(join(t, 'ready')), { what: 'stage 2' });
  // the orphan was handed to process 1 ...
  await waitFor(() => childrenOf(init).some((c) => c.comm === 'sleep'), { what: 'orphan reparented to process 1' });
  // ... and reaped when it ended: not even a zombie is left
  await waitFor(() => !childrenOf(init).some((c) => c.comm === 'sleep'), { what: 'orphan gone' });
  assert.deepEqual(
    childrenOf(init).filter((c) => c.state === 'Z'),
    [],
  );
  assert.deepEqual(
    childrenOf(init).map((c) => c.comm),
    ['tail'],
  );
  process.kill(init, 'SIGTERM');
  assert.deepEqual(await runit.exited, { code: 0, signal: null });
  assert.equal(readText(join(t, 'three')), 'three\n');
  assert.deepEqual(lines(runit.output.stderr), [ID, ...stageLines(dir, 1, 2, 3)]);
});

test('SIGTERM: runsvdir stops each service before its logger, the last lines are written; stage 3 runs; exit 0', async () => {
  const t = tempDir();
  const sv = join(t, 'service');
  for (const name of ['a', 'b']) {
    makeService(join(sv, name), {
      // the first line once the trap is set: the test sends TERM after it
      run: `#!/bin/sh\ntrap 'echo last line of ${name}; exit 0' TERM\necho started ${name}\nwhile :; do sleep 0.1; done\n`,
      'log/run': '#!/bin/sh\nexec cat > out\n',
    });
  }
  const dir = stages(t, { 1: 'exit 0', 2: `exec ${bin('runsvdir')} ${sv}`, 3: `cat ${sv}/a/log/out ${sv}/b/log/out > ${t}/seen-in-stage-3` });
  const runit = startRunit(dir);
  const init = await namespaceInit(runit);
  for (const name of ['a', 'b']) await waitFor(() => readText(join(sv, name, 'log/out')) === `started ${name}\n`, { what: `${name} logging` });
  process.kill(init, 'SIGTERM');
  assert.deepEqual(await runit.exited, { code: 0, signal: null });
  for (const name of ['a', 'b']) assert.equal(readText(join(sv, name, 'log/out')), `started ${name}\nlast line of ${name}\n`);
  assert.equal(readText(join(t, 'seen-in-stage-3')), 'started a\nlast line of a\nstarted b\nlast line of b\n');
  assert.deepEqual(lines(runit.output.stderr), [ID, ...stageLines(dir, 1, 2, 3)]);
});

test('stage 2 exiting 111 is restarted after 5 seconds, its process group killed first', async () => {
  const t = tempDir();
  const dir = stages(t, {
    1: 'exit 0',
    2: [
      `date +%s%N >> ${t}/runs`,
      `sleep 1000 &`,
      `echo $! >> ${t}/background`,
      `if [ $(wc -l < ${t}/runs) -lt 2 ]; then exit 111; fi`,
      `if kill -0 $(head -n 1 ${t}/background) 2>/dev/null; then echo alive; else echo gone; fi > ${t}/first-background`,
      'exit 0',
    ].join('\n'),
    3: 'exit 0',
  });
  const runit = startRunit(dir);
  assert.deepEqual(await runit.exited, { code: 0, signal: null }, runit.output.stderr);
  const runs = fileLines(join(t, 'runs')).map((l) => BigInt(l));
  assert.equal(runs.length, 2);
  assert.ok(runs[1] - runs[0] >= 4_500_000_000n, `restarted after ${(runs[1] - runs[0]) / 1_000_000n} ms`);
  assert.equal(readText(join(t, 'first-background')), 'gone\n', 'the first run left nothing behind');
  assert.deepEqual(lines(runit.output.stderr), [
    ID,
    ...stageLines(dir, 1),
    `- runit: enter stage: ${dir}/2`,
    `- runit: warning: child failed: ${dir}/2`,
    '- runit: warning: killing all processes in stage 2...',
    '- runit: warning: restarting.',
    ...stageLines(dir, 2, 3),
    // the second run's background sleep, left over
    '- runit: sending TERM signal to all processes...',
  ]);
});

test('a stage 2 that crashes is restarted too', async () => {
  const t = tempDir();
  const dir = stages(t, {
    1: 'exit 0',
    2: `echo x >> ${t}/runs\nif [ $(wc -l < ${t}/runs) -lt 2 ]; then kill -KILL $$; fi\nexit 0`,
    3: 'exit 0',
  });
  const runit = startRunit(dir);
  assert.deepEqual(await runit.exited, { code: 0, signal: null });
  assert.equal(readText(join(t, 'runs')), 'x\nx\n');
  assert.match(
    runit.output.stderr,
    new RegExp(`warning: child crashed: ${dir}/2\n- runit: warning: killing all processes in stage 2...\n- runit: warning: restarting.\n`),
  );
});

test('exit status: a clean stop is 0 (leftovers ending on TERM); a stop that needs the grace-period KILL is 2', async () => {
  // clean: a daemon started by stage 1 ends on TERM after stage 3
  const t = tempDir();
  const dir = stages(t, {
    // (its sleep gets TERM too, and the shell would say so)
    1: `sh -c 'trap "echo daemon stopped > ${t}/daemon; exit 0" TERM; : > ${t}/trapped; while :; do sleep 0.1; done' 2>/dev/null &\nexit 0`,
    2: `echo ready > ${t}/ready\nexec tail -f /dev/null`,
    3: 'exit 0',
  });
  const runit = startRunit(dir);
  const init = await namespaceInit(runit);
  await waitFor(() => readText(join(t, 'ready')), { what: 'stage 2' });
  await waitFor(() => existsSync(join(t, 'trapped')), { what: "the daemon's trap set" });
  process.kill(init, 'SIGINT');
  assert.deepEqual(await runit.exited, { code: 0, signal: null });
  assert.equal(readText(join(t, 'daemon')), 'daemon stopped\n');
  assert.deepEqual(lines(runit.output.stderr), [ID, ...stageLines(dir, 1, 2, 3), '- runit: sending TERM signal to all processes...']);

  // not clean: a service ignores TERM, the grace period (1 s) runs out
  const u = tempDir();
  const sv = join(u, 'service');
  makeService(join(sv, 'stubborn'), { run: `#!/bin/sh\ntrap '' TERM\necho up > ${u}/up\nwhile :; do sleep 0.1; done\n` });
  const dir2 = stages(u, { 1: 'exit 0', 2: `exec ${bin('runsvdir')} ${sv}`, 3: `echo three > ${u}/three` });
  const stubborn = startRunit(dir2, { RUNIT_GRACE: '1' });
  const init2 = await namespaceInit(stubborn);
  await waitFor(() => readText(join(u, 'up')), { what: 'service up' });
  const stop = Date.now();
  process.kill(init2, 'SIGTERM');
  assert.deepEqual(await stubborn.exited, { code: 2, signal: null });
  assert.ok(Date.now() - stop >= 900, 'waited for the grace period');
  assert.equal(readText(join(u, 'three')), undefined, 'no stage 3 after the grace period');
  assert.deepEqual(lines(stubborn.output.stderr), [
    ID,
    ...stageLines(dir2, 1),
    `- runit: enter stage: ${dir2}/2`,
    '- runit: warning: grace period over, sending KILL signal to all processes...',
    `- runit: leave stage: ${dir2}/2`,
  ]);
});

test('stage 1 exiting 100 skips stage 2; the exit status says a stage failed (1)', async () => {
  const t = tempDir();
  const dir = stages(t, { 1: 'exit 100', 2: `echo two > ${t}/two`, 3: 'exit 0' });
  const runit = startRunit(dir);
  assert.deepEqual(await runit.exited, { code: 1, signal: null });
  assert.equal(readText(join(t, 'two')), undefined);
  assert.deepEqual(lines(runit.output.stderr), [
    ID,
    `- runit: enter stage: ${dir}/1`,
    `- runit: warning: child failed: ${dir}/1`,
    `- runit: leave stage: ${dir}/1`,
    '- runit: warning: skipping stage 2...',
    ...stageLines(dir, 3),
  ]);
});

test('TERM during stage 1 stops it and skips stage 2; a missing stage is reported and counts as done', async () => {
  const t = tempDir();
  const dir = stages(t, { 1: `trap 'echo stopped > ${t}/one; exit 0' TERM\necho up > ${t}/up\nwhile :; do sleep 0.1; done`, 2: `echo two > ${t}/two` });
  const runit = startRunit(dir);
  const init = await namespaceInit(runit);
  await waitFor(() => readText(join(t, 'up')), { what: 'stage 1' });
  process.kill(init, 'SIGTERM');
  assert.deepEqual(await runit.exited, { code: 0, signal: null });
  assert.equal(readText(join(t, 'one')), 'stopped\n');
  assert.equal(readText(join(t, 'two')), undefined);
  assert.deepEqual(lines(runit.output.stderr), [
    ID,
    ...stageLines(dir, 1),
    `- runit: enter stage: ${dir}/3`,
    `- runit: fatal: unable to start child: ${dir}/3: file does not exist`,
    `- runit: leave stage: ${dir}/3`,
  ]);
});

test('stages get the NOFILE limit runit was started with, and its environment', async () => {
  const t = tempDir();
  const dir = stages(t, { 1: `ulimit -Sn > ${t}/nofile\necho "$MARK" > ${t}/mark`, 2: 'exit 0', 3: 'exit 0' });
  const runit = startInPidNamespace(['sh', '-c', `ulimit -Sn 123 && exec ${bin('runit')}`], { env: { ...process.env, RUNIT_DIR: dir, MARK: 'inherited' } });
  assert.deepEqual(await runit.exited, { code: 0, signal: null });
  assert.equal(readText(join(t, 'nofile')), '123\n');
  assert.equal(readText(join(t, 'mark')), 'inherited\n');
});

// --- RUNIT_CONTAINER=0: runit's own behaviour inside the namespace ---

/**
 * runit with /dev/console bound to a file, as runit's console.
 * @param {string} t
 * @param {string} dir
 * @param {Record<string, string>} [env]
 */
function startSystemRunit(t, dir, env = {}) {
  const console = join(t, 'console');
  writeFileSync(console, '');
  const runit = startInPidNamespace(['sh', '-c', 'mount --bind "$0" /dev/console && exec "$1"', console, bin('runit')], {
    env: { ...process.env, RUNIT_DIR: dir, RUNIT_CONTAINER: '0', ...env },
  });
  return { runit, console: () => readText(console) ?? '' };
}

/** @param {string} t */
const stage2Waiting = (t) => `trap 'echo TERM >> ${t}/stage2; exit 0' TERM\necho up > ${t}/up\nwhile :; do sleep 0.1; done`;

test('RUNIT_CONTAINER=0: CONT with the stop file leaves stage 2; the reboot file chooses reboot (exit 6)', async () => {
  const t = tempDir();
  const dir = stages(t, { 1: 'exit 0', 2: stage2Waiting(t), 3: `stat -c %a ${'${0%/*}'}/stopit > ${t}/stopit-mode` });
  writeFileSync(join(dir, 'stopit'), '', { mode: 0o100 });
  writeFileSync(join(dir, 'reboot'), '', { mode: 0o100 });
  const { runit, console } = startSystemRunit(t, dir);
  const init = await namespaceInit(runit);
  await waitFor(() => readText(join(t, 'up')), { what: 'stage 2' });
  process.kill(init, 'SIGTERM'); // ignored outside container mode
  process.kill(init, 'SIGCONT');
  assert.deepEqual(await runit.exited, { code: 6, signal: null });
  assert.equal(readText(join(t, 'stage2')), 'TERM\n');
  assert.equal(readText(join(t, 'stopit-mode')), '0\n');
  assert.equal(statSync(join(dir, 'stopit')).mode & 0o777, 0);
  assert.deepEqual(lines(console()), [ID, ...stageLines(dir, 1, 2, 3), '- runit: sending KILL signal to all processes...', '- runit: system reboot.']);
  assert.equal(runit.output.stderr, '');
});

test('RUNIT_CONTAINER=0: INT runs ctrlaltdel, which sets the stop file; no reboot file: power off (exit 0)', async () => {
  const t = tempDir();
  const dir = stages(t, {
    1: 'exit 0',
    2: stage2Waiting(t),
    3: 'exit 0',
    ctrlaltdel: `echo ctrlaltdel > ${t}/cad\ntouch ${'${0%/*}'}/stopit\nchmod 100 ${'${0%/*}'}/stopit`,
  });
  writeFileSync(join(dir, 'stopit'), '', { mode: 0 });
  const { runit, console } = startSystemRunit(t, dir);
  const init = await namespaceInit(runit);
  await waitFor(() => readText(join(t, 'up')), { what: 'stage 2' });
  process.kill(init, 'SIGCONT'); // no stop file yet: nothing happens
  process.kill(init, 'SIGINT');
  assert.deepEqual(await runit.exited, { code: 0, signal: null });
  assert.equal(readText(join(t, 'cad')), 'ctrlaltdel\n');
  assert.deepEqual(lines(console()), [
    ID,
    ...stageLines(dir, 1),
    `- runit: enter stage: ${dir}/2`,
    '- runit: ctrl-alt-del request...',
    ...stageLines(dir, 'ctrlaltdel'),
    `- runit: leave stage: ${dir}/2`,
    ...stageLines(dir, 3),
    '- runit: sending KILL signal to all processes...',
    '- runit: power off...',
  ]);
});

test("RUNIT_CONTAINER=0: Debian's PWR stops without the stop file and powers off even with the reboot file", async () => {
  const t = tempDir();
  const dir = stages(t, { 1: 'exit 0', 2: stage2Waiting(t), 3: 'exit 0' });
  writeFileSync(join(dir, 'stopit'), '', { mode: 0 });
  writeFileSync(join(dir, 'reboot'), '', { mode: 0o100 });
  const { runit, console } = startSystemRunit(t, dir);
  const init = await namespaceInit(runit);
  await waitFor(() => readText(join(t, 'up')), { what: 'stage 2' });
  process.kill(init, 'SIGPWR');
  assert.deepEqual(await runit.exited, { code: 0, signal: null });
  assert.deepEqual(lines(console()), [
    ID,
    ...stageLines(dir, 1, 2),
    // Debian's runit says this after a PWR (verified)
    '- runit: warning: signals only work in stage 2.',
    ...stageLines(dir, 3),
    '- runit: sending KILL signal to all processes...',
    '- runit: power off...',
  ]);
});

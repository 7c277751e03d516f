// runit-init: usage against Debian's, halt and reboot requests to a runit
// running as process 1 of a PID namespace, and runit-init as process 1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, statSync } from 'node:fs';
import {
  bin,
  tempDir,
  startInPidNamespace,
  stopAll,
  run,
  readText,
  fileLines,
  lines,
  runitStages as stages,
  stageLines,
  RUNIT_BOOT as ID,
  normalizeProg,
} from './helpers.js';

after(stopAll);

const DEBIAN = '/lib/runit/runit-init';

test("usage and -V as Debian's runit-init (exit 0)", () => {
  for (const args of [[], ['x'], [''], ['-V'], ['-x'], ['1']]) {
    const ours = normalizeProg(run(bin('runit-init'), args), bin('runit-init'));
    const theirs = normalizeProg(run(DEBIAN, args), DEBIAN);
    assert.deepEqual(ours, theirs, `runit-init ${args.join(' ')}`);
    assert.equal(ours.code, 0);
    assert.match(ours.stderr, /usage: PROG 0\|6\n\n$/);
  }
});

test("a stop file that cannot be created: init: fatal, exit 111, as Debian's, with the right reason (private /run)", () => {
  /** @param {string} prog */
  const script = (prog) => `mount -t tmpfs tmpfs /run && mkdir /run/runit.stopit && exec ${prog} 0`;
  // default RUNIT_DIR (/etc/runit has no stopit): Debian's pair of files, as Debian's runit-init
  const env = { ...process.env };
  delete env.RUNIT_DIR;
  const ours = run('unshare', ['--mount', 'sh', '-c', script(bin('runit-init'))], { env });
  const theirs = run('unshare', ['--mount', 'sh', '-c', script(DEBIAN)]);
  assert.deepEqual(ours, { code: 111, signal: null, stdout: '', stderr: 'init: fatal: unable to create /run/runit.stopit: is a directory\n' });
  // runit-init-create-error: Debian's says why the file could not be created
  // wrongly (it closes the -1 that open returned, and reports that EBADF)
  assert.deepEqual(theirs, { ...ours, stderr: 'init: fatal: unable to create /run/runit.stopit: file descriptor not open\n' });
});

test('runit-init 0 in stage 2 (container mode): runit leaves stage 2; stop file used, reboot file cleared', async () => {
  const t = tempDir();
  const dir = stages(t, {
    1: 'exit 0',
    // in the background: runit sends TERM to stage 2 (the shell) at once
    2: `(${bin('runit-init')} 0; echo $? > ${t}/init-status) &\nexec tail -f /dev/null`,
    3: `stat -c %a ${t}/etc-runit/stopit ${t}/etc-runit/reboot > ${t}/modes`,
  });
  writeFileSync(join(dir, 'stopit'), '', { mode: 0 });
  writeFileSync(join(dir, 'reboot'), '', { mode: 0o100 });
  const runit = startInPidNamespace([bin('runit')], { env: { ...process.env, RUNIT_DIR: dir } });
  assert.deepEqual(await runit.exited, { code: 0, signal: null });
  assert.equal(readText(join(t, 'init-status')), '0\n');
  // runit-init set stopit to 100 and reboot to 0; runit took the request (stopit 0)
  assert.equal(readText(join(t, 'modes')), '0\n0\n');
  assert.deepEqual(lines(runit.output.stderr), [ID, ...stageLines(dir, 1, 2, 3)]);
});

test("runit-init 6 with Debian's /run files (RUNIT_CONTAINER=0): runit reboots, here exit 6", async () => {
  const t = tempDir();
  const dir = stages(t, {
    1: 'install -m000 /dev/null /run/runit.stopit\ninstall -m000 /dev/null /run/runit.reboot',
    2: `${bin('runit-init')} 6\nexec tail -f /dev/null`,
    3: `stat -c %a /run/runit.stopit /run/runit.reboot > ${t}/modes`,
  });
  const console = join(t, 'console');
  writeFileSync(console, '');
  const runit = startInPidNamespace(['sh', '-c', 'mount -t tmpfs tmpfs /run && mount --bind "$0" /dev/console && exec "$1"', console, bin('runit')], {
    env: { ...process.env, RUNIT_DIR: dir, RUNIT_CONTAINER: '0' },
  });
  assert.deepEqual(await runit.exited, { code: 6, signal: null });
  assert.equal(readText(join(t, 'modes')), '0\n100\n');
  assert.deepEqual(fileLines(console), [ID, ...stageLines(dir, 1, 2, 3), '- runit: sending KILL signal to all processes...', '- runit: system reboot.']);
  assert.equal(statSync(dir).isDirectory(), true);
});

test('runit-init as process 1 becomes runit', async () => {
  const t = tempDir();
  const dir = stages(t, { 1: `echo $PPID > ${t}/parent`, 2: 'exit 0', 3: 'exit 0' });
  const init = startInPidNamespace([bin('runit-init')], { env: { ...process.env, RUNIT_DIR: dir } });
  assert.deepEqual(await init.exited, { code: 0, signal: null });
  assert.equal(readText(join(t, 'parent')), '1\n');
  assert.deepEqual(lines(init.output.stderr), [ID, ...stageLines(dir, 1, 2, 3)]);
});

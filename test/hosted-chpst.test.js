// A service whose ./run is nothing but `exec chpst OPTIONS PROG` is started
// by the supervisor without a chpst process (README: "chpst applied by the
// supervisor"): PROG must find the process state Debian's chpst would have
// given it, and whatever the supervisor does not apply is left to chpst.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, readFileSync, existsSync, mkdirSync, chmodSync } from 'node:fs';
import { bin, debian, tempDir, makeService, startDetached, stopAll, waitFor, fileLines, supervisedPid, parseStatusProbe, isRoot } from './helpers.js';

after(stopAll);

const haveDebian = existsSync(debian('chpst'));

/**
 * A chpst that notes where it ran (its working directory: the service's),
 * then is Debian's; and a probe that writes the state it starts in into
 * directory $1, then sleeps (its own status read by builtins: while it
 * forks, the shell blocks every signal for a moment).
 */
function tools() {
  const dir = tempDir('hosted-chpst-', 0o755);
  const calls = join(dir, 'calls');
  writeFileSync(join(dir, 'chpst'), `#!/bin/sh\npwd >>${calls}\nexec ${debian('chpst')} "$@"\n`, { mode: 0o755 });
  writeFileSync(
    join(dir, 'probe'),
    `#!/bin/sh
d=$1
for f in status stat limits; do while IFS= read -r l; do echo "$l"; done </proc/$$/$f; done >"$d/status.new"
ls /proc/$$/fd >"$d/fds"
for f in $(cat "$d/fds"); do grep flags /proc/$$/fdinfo/$f >>"$d/fdflags"; done
cat /proc/$$/environ >"$d/environ"
cat /proc/$$/cmdline >"$d/cmdline"
readlink /proc/$$/cwd >"$d/cwd"
mv "$d/status.new" "$d/status"
exec sleep 100000
`,
    { mode: 0o755 },
  );
  return { chpst: join(dir, 'chpst'), probe: join(dir, 'probe'), calls };
}

/**
 * What the probe wrote into `dir`: the status probe's fields and the lines
 * of /proc/PID/status that say what a process may do, its fds, environment,
 * argv and working directory.
 * @param {string} dir
 * @param {number} pid the probe's
 */
function probed(dir, pid) {
  const text = readFileSync(join(dir, 'status'), 'utf8');
  const cwd = readFileSync(join(dir, 'cwd'), 'utf8').trim();
  const s = parseStatusProbe(text);
  const rights = text.split('\n').filter((line) => /^(Umask|Cap\w+|NoNewPrivs|Seccomp|Sig(Blk|Ign|Cgt)|Cpus_allowed_list):/.test(line));
  return {
    ...s,
    pid: undefined,
    pgrpIsPid: s.pgrp === pid,
    sessionIsPid: s.session === pid,
    pgrp: undefined,
    session: undefined,
    rights,
    fds: readFileSync(join(dir, 'fds'), 'utf8'),
    fdflags: readFileSync(join(dir, 'fdflags'), 'utf8'),
    // $PWD names the service's directory, the one thing that differs
    environ: readFileSync(join(dir, 'environ'), 'latin1').replaceAll(cwd, 'SERVICE').split('\0'),
    argv: readFileSync(join(dir, 'cmdline'), 'latin1').split('\0'),
    cwd,
  };
}

test("exec chpst -u -n -o -t -0: the program starts as under Debian's chpst, and no chpst runs", { skip: !isRoot || !haveDebian }, async () => {
  const { chpst, probe, calls } = tools();
  const out = tempDir('hosted-chpst-out-', 0o777);
  const base = join(tempDir(), 'service');
  const line = (/** @type {string} */ name) => `#!/bin/sh\nexec ${chpst} -u nobody:nogroup:daemon -n 3 -o 77 -t 5000 -0 ${probe} ${join(out, name)}\n`;
  // the same line in both; the second runs it as a process (its opt-out file)
  const hosted = makeService(join(base, 'hosted'), { run: line('hosted') });
  const separate = makeService(join(base, 'separate'), { run: line('separate'), 'no-hosted-chpst': '' });
  for (const name of ['hosted', 'separate']) {
    mkdirSync(join(out, name));
    chmodSync(join(out, name), 0o777);
  }
  const runsvdir = startDetached(bin('runsvdir'), [base]);
  await waitFor(() => existsSync(join(out, 'hosted/status')) && existsSync(join(out, 'separate/status')), {
    what: () => `both probes: ${runsvdir.output.stderr}`,
    timeout: 15000,
  });
  const a = probed(join(out, 'hosted'), supervisedPid(hosted));
  const b = probed(join(out, 'separate'), supervisedPid(separate));
  // what chpst was asked for, then everything else the same
  assert.deepEqual(a.uid, [65534, 65534, 65534, 65534]);
  assert.deepEqual(a.groups, [1, 65534]);
  assert.equal(a.nice, 3);
  assert.equal(a.limits['Max open files']?.soft, '77');
  assert.equal(a.limits['Max cpu time']?.soft, '5000');
  assert.doesNotMatch(a.fds, /^0$/m);
  assert.deepEqual({ ...a, cwd: undefined, argv: undefined }, { ...b, cwd: undefined, argv: undefined });
  assert.equal(a.cwd, hosted);
  assert.equal(b.cwd, separate);
  assert.ok(a.environ.includes('PWD=SERVICE'));
  assert.deepEqual(a.argv, ['/bin/sh', probe, join(out, 'hosted'), '']);
  // chpst ran for the opted-out service only
  assert.deepEqual(fileLines(calls), [separate]);
});

test('what the supervisor does not apply, or what would fail, runs chpst: its own messages', { skip: !isRoot || !haveDebian }, async () => {
  const { chpst, calls } = tools();
  const base = join(tempDir(), 'service');
  const envdir = makeService(join(tempDir(), 'env'), { NAME: 'value\n' });
  const services = {
    // an option the supervisor leaves to chpst
    envdir: `#!/bin/sh\nexec ${chpst} -e ${envdir} -u nobody sh -c exit\n`,
    // an unknown user and a missing program: chpst says so, in its words
    user: `#!/bin/sh\nexec ${chpst} -u no-such-user-x sleep 100\n`,
    program: `#!/bin/sh\nexec ${chpst} -u nobody no-such-program-x\n`,
  };
  const dirs = Object.fromEntries(Object.entries(services).map(([name, run]) => [name, makeService(join(base, name), { run })]));
  const runsvdir = startDetached(bin('runsvdir'), [base]);
  await waitFor(() => new Set(fileLines(calls)).size === 3, { what: 'chpst run by all three', timeout: 15000 });
  assert.deepEqual(new Set(fileLines(calls)), new Set(Object.values(dirs)));
  await waitFor(
    () =>
      runsvdir.output.stderr.includes('chpst: fatal: unknown user/group: no-such-user-x') &&
      /chpst: fatal: unable to run: no-such-program-x: /.test(runsvdir.output.stderr),
    { what: () => `chpst's messages in ${runsvdir.output.stderr}` },
  );
});

// A service and its logger start with the process state their supervisor
// was started with — no ignored or blocked signal, no extra descriptor, no
// close-on-exec or non-blocking stdio left by Node — exactly as under
// Debian's runit (ARCHITECTURE.md §4).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { bin, debian, tempDir, makeService, startDetached, stopAll, waitFor, readText, O_CLOEXEC, O_NONBLOCK } from './helpers.js';

after(stopAll);

const haveDebian = existsSync(debian('runsvdir'));

// what the shell that runs ./run (or log/run) was given, written into its directory
// (read by the shell itself: a forked grep could catch the shell with every
// signal blocked around its vfork)
const PROBE = `while IFS= read -r line; do case $line in SigBlk:*|SigIgn:*) echo "$line";; esac; done < /proc/self/status > state
fds=; for f in /proc/self/fd/*; do fds="$fds \${f##*/}"; done; echo "$fds" >> state
for f in 0 1 2; do echo "$f $(grep flags /proc/$$/fdinfo/$f)" >> state; done
umask >> state
mv state state.done
`;

/** @param {string} dir */
function probeService(dir) {
  return makeService(dir, {
    run: `#!/bin/sh\n${PROBE}exec sleep 1000\n`,
    'log/run': `#!/bin/sh\n${PROBE}exec cat\n`,
  });
}

/**
 * What the probes of service directory `dir` wrote once started.
 * @param {import('./helpers.js').Detached[]} started what starts them, killed after
 * @param {string} dir
 */
async function probed(started, dir) {
  /** @param {string} file */
  const read = (file) => waitFor(() => readText(file), { what: file });
  const state = { service: await read(join(dir, 'state.done')), log: await read(join(dir, 'log/state.done')) };
  for (const child of started) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {} // (a probe that ended by itself)
    await child.exited;
  }
  return state;
}

/**
 * The probes' state under a supervisor started with `args`.
 * @param {string} supervisor
 * @param {string[]} args
 * @param {string} dir
 */
const stateUnder = (supervisor, args, dir) => probed([startDetached(supervisor, args)], dir);

/**
 * The probes' state when this test starts them itself: fds 0-2, those the
 * test's own environment passes on, and the shell's own; a supervisor must
 * add none.
 * @param {string} dir
 */
const stateDirect = (dir) =>
  probed([startDetached(join(dir, 'run'), [], { cwd: dir }), startDetached(join(dir, 'log/run'), [], { cwd: join(dir, 'log') })], dir);

/** @param {string} text */
const fdList = (text) => text.trim().split('\n')[2];

test('services and loggers start with no ignored or blocked signal, no fd their supervisor added, fds 0-2 blocking and inheritable, as under runit', async () => {
  /** @type {Record<string, { service: string, log: string }>} */
  const results = {};
  const base = tempDir();
  const direct = await stateDirect(probeService(join(base, 'direct', 'probe')));
  const hosts = [
    ['runit-ts runsvdir', bin('runsvdir'), 'dir'],
    ['runit-ts runsv', bin('runsv'), 'svc'],
    ...(haveDebian ? [['runit runsvdir', debian('runsvdir'), 'dir']] : []),
  ];
  for (const [name, supervisor, takes] of hosts) {
    const dir = join(base, name.replace(' ', '-'), 'service');
    const svc = probeService(join(dir, 'probe'));
    // the loggers run as processes here: no canonical svlogd line in log/run
    results[name] = await stateUnder(supervisor, [takes === 'dir' ? dir : svc], svc);
  }
  for (const [name, state] of Object.entries(results)) {
    for (const [which, text] of Object.entries(state)) {
      const lines = text.trim().split('\n');
      assert.equal(lines[0], 'SigBlk:\t0000000000000000', `${name} ${which}`);
      assert.equal(lines[1], 'SigIgn:\t0000000000000000', `${name} ${which}`);
      // fds of the shell: 0-2 and the one it reads its script from
      assert.deepEqual(
        lines[2]
          .trim()
          .split(' ')
          .map(Number)
          .filter((fd) => fd < 3),
        [0, 1, 2],
        `${name} ${which}`,
      );
      // and nothing else: the same fds as when this test starts the script itself
      assert.equal(fdList(text), fdList(direct[which === 'log' ? 'log' : 'service']), `${name} ${which}: no fd added by the supervisor`);
      for (const fd of [0, 1, 2]) {
        const m = /flags:\s*(\d+)/.exec(lines[3 + fd] ?? '');
        assert.ok(m, `${name} ${which}: fd ${fd} flags`);
        const flags = parseInt(m[1], 8);
        assert.equal(flags & O_CLOEXEC, 0, `${name} ${which}: fd ${fd} close-on-exec`);
        assert.equal(flags & O_NONBLOCK, 0, `${name} ${which}: fd ${fd} non-blocking`);
      }
    }
  }
  if (haveDebian) {
    assert.deepEqual(results['runit-ts runsvdir'], results['runit runsvdir']);
    assert.deepEqual(results['runit-ts runsv'], results['runit runsvdir']);
  }
});

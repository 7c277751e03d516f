// Process names as runit's (issue 17): pidof, pgrep -x and ps -C find
// runsvdir, runsv and svlogd; Debian's LSB hook hands an init script's
// action to sv when runit-ts's runsvdir runs. Each in a private PID
// namespace (only its own processes to see) and, for the hook, a private
// mount namespace with /etc overlaid (the real /etc is untouched).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { bin, debian, tempDir, root } from './helpers.js';

/**
 * Run `script` with sh as process 1 of a new PID (and mount) namespace;
 * everything in it dies with it (--kill-child).
 * @param {string} script
 */
function inNamespace(script) {
  const r = spawnSync('unshare', ['--mount', '--pid', '--fork', '--mount-proc', '--kill-child', 'sh', '-ec', script], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout;
}

/** Shell: wait (up to 15 s) until the command succeeds. */
const until = (/** @type {string} */ condition) =>
  `i=0; until ${condition}; do i=$((i+1)); [ $i -lt 1500 ] || { echo "timed out: ${condition.replaceAll('"', '')}" >&2; exit 1; }; sleep 0.01; done`;

test('pidof, pgrep -x and ps -C find runsvdir (with and without a log argument), runsv (--isolate) and svlogd', () => {
  const base = tempDir();
  mkdirSync(join(base, 'plain'));
  mkdirSync(join(base, 'isolated/a'), { recursive: true });
  mkdirSync(join(base, 'logs'));
  const out = inNamespace(`
    printf '#!/bin/sh\\nexec sleep 1000\\n' > ${base}/isolated/a/run; chmod +x ${base}/isolated/a/run
    ${bin('runsvdir')} ${base}/plain &
    ${bin('runsvdir')} --isolate ${base}/isolated 'log: ..........................................' &
    sleep 1000 | ${bin('svlogd')} ${base}/logs &
    ${until('[ "$(pidof runsvdir | wc -w)" = 2 ] && pidof runsv >/dev/null && pidof svlogd >/dev/null')}
    for name in runsvdir runsv svlogd; do
      echo "$name pidof $(pidof $name | tr ' ' '\\n' | sort -n | tr '\\n' ' ')"
      echo "$name pgrep $(pgrep -x $name | sort -n | tr '\\n' ' ')"
      echo "$name ps $(ps -C $name -o pid= | sort -n | tr -d ' ' | tr '\\n' ' ')"
    done
    for pid in $(pidof runsvdir runsv svlogd); do echo "comm $(cat /proc/$pid/comm) $(tr '\\0' ' ' < /proc/$pid/cmdline | sed 's/ *$//')"; done
  `);
  const lines = out.trim().split('\n');
  /** @param {string} name @param {string} how */
  const pids = (name, how) => (lines.find((l) => l.startsWith(`${name} ${how} `)) ?? '').split(' ').slice(2).filter(Boolean);
  for (const how of ['pidof', 'pgrep', 'ps']) {
    assert.equal(pids('runsvdir', how).length, 2, `${how} runsvdir: ${out}`);
    assert.equal(pids('runsv', how).length, 1, `${how} runsv: ${out}`);
    assert.equal(pids('svlogd', how).length, 1, `${how} svlogd: ${out}`);
  }
  const shown = lines.filter((l) => l.startsWith('comm ')).sort();
  assert.ok(shown.includes('comm runsv runsv a'), out);
  assert.ok(shown.includes(`comm runsvdir runsvdir ${base}/plain`), out);
  assert.ok(shown.includes(`comm svlogd svlogd ${base}/logs`), out);
  // with the log argument the title is the log, and the name stays
  assert.ok(
    shown.some((l) => l.startsWith(`comm runsvdir runsvdir --isolate ${base}/isolated log: `)),
    out,
  );
});

/**
 * Debian's /lib/lsb/init-functions hook with `runsvdir` supervising
 * /etc/service/demo: `/etc/init.d/demo stop` is handed to `sv` and the
 * script's own body does not run.
 * @param {string} runsvdir
 */
function lsbHook(runsvdir) {
  const base = tempDir();
  mkdirSync(join(base, 'upper'));
  mkdirSync(join(base, 'work'));
  return inNamespace(`
    mount -t overlay overlay -o lowerdir=/etc,upperdir=${base}/upper,workdir=${base}/work /etc
    mount -t tmpfs tmpfs /etc/service
    mount -t tmpfs tmpfs /etc/sv
    mkdir /etc/sv/demo
    printf '#!/bin/sh\\nexec sleep 1000\\n' > /etc/sv/demo/run; chmod +x /etc/sv/demo/run
    ln -s /etc/sv/demo /etc/service/demo
    printf '#!/bin/sh\\n. /lib/lsb/init-functions\\necho "body ran: $1" > ${base}/body\\n' > /etc/init.d/demo; chmod +x /etc/init.d/demo
    ${runsvdir} /etc/service &
    ${until('[ "$(cat /etc/sv/demo/supervise/stat 2>/dev/null)" = run ]')}
    PATH=${join(root, 'bin')}:$PATH /etc/init.d/demo stop; echo "rc=$?"
    ${until('[ "$(cat /etc/sv/demo/supervise/stat)" = down ]')}
    echo "stat=$(cat /etc/sv/demo/supervise/stat)"
    [ -e ${base}/body ] && cat ${base}/body || echo "body did not run"
  `);
}

test("Debian's LSB hook hands /etc/init.d/demo stop to sv under runit-ts's runsvdir, as under Debian's", () => {
  const expected = 'ok: down: demo: 0s, normally up\nrc=0\nstat=down\nbody did not run\n';
  assert.equal(lsbHook(debian('runsvdir')).replace(/\d+s,/, '0s,'), expected);
  assert.equal(lsbHook(bin('runsvdir')).replace(/\d+s,/, '0s,'), expected);
});

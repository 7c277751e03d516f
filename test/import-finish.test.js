// The ./finish lines the importers write for restart conditions
// (docs/import.md, "Restart conditions and ./finish"), run as runit runs
// ./finish — in the service directory, with the exit code and signal as $1
// and $2 — under runit-ts's runsv and Debian's: an exit the source would not
// restart leaves the service down (want down), any other exit restarts it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseSupervisord } from '../dist/import/supervisord.js';
import { parseSystemd } from '../dist/import/systemd.js';
import { finishScript } from '../dist/servicedir/render.js';
import { bin, debian, makeService, startDetached, stat, statusOf, stopAll, tempDir, waitFor } from './helpers.js';

after(stopAll);

/** The finish lines of the first service of a supervisord program section. */
function supervisordFinish(/** @type {string} */ keys) {
  const r = parseSupervisord(`[program:x]\ncommand=/bin/true\n${keys}\n`, '/x.conf', { env: {}, hostname: 'h', reader: { read: () => '', glob: () => [] } });
  return r.services[0]?.spec.finishGuards ?? [];
}
function systemdFinish(/** @type {string} */ keys) {
  const r = parseSystemd(`[Service]\nExecStart=/bin/true\n${keys}\n`, 'x.service', {
    readFile: () => undefined,
    homeOf: () => undefined,
    hostname: 'h',
    imported: new Set(),
  });
  return r.services[0]?.spec.finishGuards ?? [];
}

/**
 * A service whose run exits with `code` (or kills itself with `signal`) the
 * first time and then sleeps; its finish is what the writer renders for the
 * guard `lines` (after a finish command, in another working directory).
 * Resolves with whether it was restarted.
 * @param {string} runsv @param {string[]} lines @param {{ code?: number, signal?: string }} end
 */
async function restarted(runsv, lines, end) {
  const dir = join(tempDir(), 'svc');
  const die = end.signal ? `kill -${end.signal} $$` : `exit ${end.code}`;
  makeService(dir, {
    run: `#!/bin/sh\nif [ -e ran ]; then exec sleep 1000; fi\n: > ran\n${die}\n`,
  });
  const finish = finishScript({ name: 'svc', command: { argv: ['/bin/true'] }, cwd: '/', finish: [`: > ${join(dir, 'finished')}`], finishGuards: lines });
  writeFileSync(join(dir, 'finish'), finish, { mode: 0o755 });
  const host = startDetached(runsv, [dir]);
  await waitFor(() => existsSync(join(dir, 'finished')), { what: 'finish', timeout: 10000 });
  // the finish either stopped restarts (down, want down) or the second run starts (it sleeps)
  const state = await waitFor(
    () => {
      const s = statusOf(dir);
      if (!s) return false;
      if (stat(dir) === 'down\n' && !s.wantUp) return 'stopped';
      if (stat(dir) === 'run\n' && existsSync(join(dir, 'ran')) && readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').startsWith('sleep')) return 'restarted';
      return false;
    },
    { what: 'the outcome', timeout: 10000 },
  );
  process.kill(-host.pid, 'SIGKILL');
  await host.exited;
  return state === 'restarted';
}

for (const [label, runsv] of [
  ['runit-ts', bin('runsv')],
  ["Debian's", debian('runsv')],
]) {
  test(`${label} runsv: supervisord autorestart=unexpected exitcodes=0,2 and autorestart=false`, async () => {
    const unexpected = supervisordFinish('autorestart=unexpected\nexitcodes=0,2');
    assert.equal(await restarted(runsv, unexpected, { code: 2 }), false);
    assert.equal(await restarted(runsv, unexpected, { code: 1 }), true);
    assert.equal(await restarted(runsv, unexpected, { signal: 'KILL' }), true);
    assert.equal(await restarted(runsv, supervisordFinish('autorestart=false'), { code: 1 }), false);
  });

  test(`${label} runsv: systemd Restart=on-failure with RestartPreventExitStatus=7, and Restart=no`, async () => {
    const onFailure = systemdFinish('Restart=on-failure\nRestartPreventExitStatus=7');
    assert.equal(await restarted(runsv, onFailure, { code: 0 }), false);
    assert.equal(await restarted(runsv, onFailure, { signal: 'TERM' }), false, 'SIGTERM is a clean exit');
    assert.equal(await restarted(runsv, onFailure, { code: 7 }), false);
    assert.equal(await restarted(runsv, onFailure, { code: 1 }), true);
    assert.equal(await restarted(runsv, onFailure, { signal: 'KILL' }), true);
    assert.equal(await restarted(runsv, systemdFinish('Restart=no'), { code: 1 }), false);
  });
}

#!/usr/bin/env node
// Where the start-up time of runit-ts's short-lived commands goes, phase
// by phase: `sv status X` and `chpst -u nobody true` (runit-ts's bin/), and
// `node -e 0`, each with NODE_EXTRA_CA_CERTS set (to the environment's
// value, else the system bundle) and unset. Every candidate once per turn,
// the order reversed every other turn, medians over the turns.
//
// Two runs of each candidate per turn: one plain, for its wall time; one
// with bench/startup-trace.cjs loaded (NODE_OPTIONS=--require), which marks
// the phases on Node's clock:
//   before  spawn until Node's time origin: fork, the launcher's shell and
//           its exec of node, node's own exec and dynamic linking
//   boot    Node's start-up until the main script is read (NODE_EXTRA_CA_CERTS
//           is loaded here)
//   load    reading and compiling the main script (one bundled file)
//   work    running it, until exit or execve (koffi's dlopen is part of it,
//           and shown on its own)
//   after   exit; for chpst, the execve of `true`, its run and exit; until
//           the parent has reaped it
// The trace itself costs a little (it is one more file to read and compile):
// the traced phases add up to a bit more than the plain wall time.
//
// Standalone: node bench/startup.js [turns] [--root DIR]
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { root, isMain, option, median, fmt, table, tempDir, removeDir, startGroup, waitUntil, isUp } from './lib.js';

const CA = 'NODE_EXTRA_CA_CERTS';
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const TRACE = join(root, 'bench/startup-trace.cjs');

const now = () => performance.timeOrigin + performance.now();

function run(c, env) {
  const start = now();
  const r = spawnSync(c.file, c.args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const end = now();
  if (r.status !== 0) throw new Error(`${c.file} ${c.args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { start, end };
}

/** Per candidate: wall ms (plain runs) and each phase's ms (traced runs). */
export async function startup({ tsRoot = root, turns = 40 } = {}) {
  const base = tempDir('runit-ts-startup-');
  const dir = join(base, 'x');
  mkdirSync(dir);
  writeFileSync(join(dir, 'run'), '#!/bin/sh\nexec sleep 1000000\n', { mode: 0o755 });
  const runsv = startGroup('/usr/bin/runsv', [dir]);
  const traceFile = join(base, 'trace');
  const caValue = process.env[CA] ?? (existsSync(SYSTEM_BUNDLE) ? SYSTEM_BUNDLE : undefined);
  const envs = { unset: { ...process.env }, ...(caValue ? { set: { ...process.env, [CA]: caValue } } : {}) };
  delete envs.unset[CA];
  const commands = [
    { what: '`node -e 0`', file: process.execPath, args: ['-e', '0'] },
    { what: '`sv status X`', file: join(tsRoot, 'bin/sv'), args: ['status', dir] },
    { what: '`chpst -u nobody true`', file: join(tsRoot, 'bin/chpst'), args: ['-u', 'nobody', 'true'] },
  ];
  const candidates = commands.flatMap((c) => Object.keys(envs).map((ca) => ({ ...c, ca, wall: [], phases: [] })));
  try {
    await waitUntil(() => isUp(dir), { timeout: 15000, interval: 10 });
    for (let turn = -1; turn < turns; turn++) {
      for (const c of turn % 2 ? [...candidates].reverse() : candidates) {
        const env = envs[c.ca];
        const plain = run(c, env);
        writeFileSync(traceFile, '');
        const traced = run(c, { ...env, NODE_OPTIONS: `--require ${TRACE}`, STARTUP_TRACE: traceFile });
        if (turn < 0) continue; // the first turn warms the page cache
        c.wall.push(plain.end - plain.start);
        const t = JSON.parse(readFileSync(traceFile, 'utf8').split('\n')[0]);
        const main = t.main ?? t.boot;
        const compiled = t.compiled ?? main;
        c.phases.push({
          before: t.origin - traced.start,
          boot: main,
          load: compiled - main,
          work: t.end - compiled,
          dlopen: t.dlopen,
          after: traced.end - (t.origin + t.end),
          traced: traced.end - traced.start,
        });
      }
    }
  } finally {
    await runsv.stop();
    removeDir(base);
  }
  return { ca: caValue ?? null, candidates: candidates.map(({ what, ca, wall, phases }) => ({ what, ca, wall, phases })) };
}

const PHASES = ['before', 'boot', 'load', 'work', 'dlopen', 'after', 'traced'];

/** The table: one row per candidate, medians in ms, and the ratio of the plain wall time to the floor's. */
export function startupTable(result) {
  const floor = median(result.candidates.find((c) => c.what === '`node -e 0`' && c.ca === 'unset').wall);
  return table(
    ['command', 'NODE_EXTRA_CA_CERTS', 'wall ms', 'ratio to floor', ...PHASES.map((p) => `${p} ms`)],
    result.candidates.map((c) => [
      c.what,
      c.ca,
      fmt(median(c.wall), 1),
      `${(median(c.wall) / floor).toFixed(2)}x`,
      ...PHASES.map((p) => fmt(median(c.phases.map((x) => x[p])), 1)),
    ]),
  );
}

if (isMain(import.meta)) {
  const turns = Number(process.argv.find((a, i) => i >= 2 && /^\d+$/.test(a)) ?? 40);
  const result = await startup({ tsRoot: option('root', root), turns });
  console.log(`${turns} turns; medians; NODE_EXTRA_CA_CERTS when set: ${result.ca}\n`);
  console.log(startupTable(result));
}

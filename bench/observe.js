#!/usr/bin/env node
// What seeing the services costs (issue 15): `runit-ts status --json` of
// all N services beside `sv status` of the same services (Debian's sv and
// runit-ts's), interleaved; `/metrics` of `runit-ts serve` at N; and the
// server's idle cost (CPU and context switches while nothing changes and
// nobody asks). The services run under runit-ts's runsvdir, each with a
// hosted logger.
// Standalone: node bench/observe.js [--sizes 100,1000] [--rounds 9] [--idle 10]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import {
  root,
  isMain,
  option,
  median,
  fmt,
  table,
  tempDir,
  removeDir,
  makeServices,
  waitAllUp,
  startGroup,
  timeCommand,
  elapsedMs,
  sleep,
  waitUntil,
} from './lib.js';

const ts = (cmd) => join(root, 'bin', cmd);

function get(port, path) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: elapsedMs(t0) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** utime+stime ticks and voluntary+involuntary context switches of `pid`. */
function activity(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const switches = [...status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
  return { ticks: Number(fields[11]) + Number(fields[12]), switches };
}

/**
 * For each size: { n, status: ms[], svDebian: ms[], svTs: ms[], metrics: ms[], idle: { seconds, ticks, switches } }.
 */
export async function observe({ sizes = [100, 1000], rounds = 9, idleSeconds = 10, onProgress = () => {} } = {}) {
  const results = [];
  for (const n of sizes) {
    const base = tempDir();
    const svdir = join(base, 'service');
    const dirs = makeServices(svdir, n, { log: true });
    const runsvdir = startGroup(ts('runsvdir'), [svdir]);
    let serve;
    try {
      await waitAllUp(dirs, { log: true });
      onProgress(`${n} services up`);
      const env = { ...process.env, SVDIR: svdir };
      const r = { n, status: [], svDebian: [], svTs: [], metrics: [], idle: undefined };
      for (let round = 0; round < rounds; round++) {
        r.status.push(timeCommand(ts('runit-ts'), ['status', '--json'], { env, maxBuffer: 1 << 26 }));
        r.svDebian.push(timeCommand('/usr/bin/sv', ['status', ...dirs], { env }));
        r.svTs.push(timeCommand(ts('sv'), ['status', ...dirs], { env }));
      }
      serve = startGroup(ts('runit-ts'), ['serve', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let said = '';
      serve.stderr.on('data', (d) => (said += d));
      await waitUntil(() => /listening on http:\/\/127\.0\.0\.1:(\d+)\//.test(said), { timeout: 30000, interval: 10 });
      const port = Number(/127\.0\.0\.1:(\d+)\//.exec(said)[1]);
      await get(port, '/metrics'); // the first one loads koffi
      for (let round = 0; round < rounds * 2; round++) r.metrics.push((await get(port, '/metrics')).ms);
      await sleep(1000);
      const before = activity(serve.pid);
      await sleep(idleSeconds * 1000);
      const after = activity(serve.pid);
      r.idle = { seconds: idleSeconds, ticks: after.ticks - before.ticks, switches: after.switches - before.switches };
      results.push(r);
      onProgress(`${n}: measured`);
    } finally {
      await serve?.stop();
      await runsvdir.stop();
      removeDir(base);
    }
  }
  return results;
}

export const OBSERVE_HEADERS = [
  'N',
  '`runit-ts status --json` ms',
  'Debian `sv status` of all ms',
  'runit-ts `sv status` of all ms',
  '`/metrics` ms',
  'serve idle: CPU ticks, context switches',
];

export function observeRows(results) {
  return results.map((r) => [
    String(r.n),
    fmt(median(r.status)),
    fmt(median(r.svDebian)),
    fmt(median(r.svTs)),
    fmt(median(r.metrics)),
    `${r.idle.ticks}, ${r.idle.switches} in ${r.idle.seconds} s`,
  ]);
}

if (isMain(import.meta)) {
  const sizes = option('sizes', '100,1000').split(',').map(Number);
  const results = await observe({
    sizes,
    rounds: Number(option('rounds', '9')),
    idleSeconds: Number(option('idle', '10')),
    onProgress: (m) => console.error(m),
  });
  console.log(table(OBSERVE_HEADERS, observeRows(results)));
}

// runsvdir's own messages, its supervisors' and its in-process loggers'
// (warnings, `e` lines, `svlogd: info:`) never make it wait on a reader of
// its standard error: not on itself (the log argument, where it reads its
// own fd 2), not on a process that stops reading. What cannot be written at
// once is queued, then dropped with a count that is reported.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { mkdirSync, writeFileSync, readdirSync, readFileSync, openSync, closeSync, readSync, constants } from 'node:fs';
import { bin, tempDir, makeService, startDetached, stopAll, waitFor, readText } from './helpers.js';
import { HostOutput } from '../dist/scanner/host-output.js';

/** @typedef {import('../dist/sys/nonblocking-writer.js').TryWrite} TryWrite */

after(stopAll);

test('HostOutput: a line begun is finished, later lines are kept up to the bound, then dropped and counted in their place', async () => {
  let open = false;
  let taken = '';
  // takes 5 bytes, then nothing until opened
  /** @type {TryWrite} */
  const destination = (data) => {
    const n = open ? data.length : Math.min(data.length, 5 - taken.length);
    taken += data.toString('latin1', 0, n);
    return n;
  };
  const output = new HostOutput(destination, (n) => `dropped ${n}\n`, 100);
  /** @param {string} c */
  const line = (c) => `${c.repeat(40)}\n`;
  output.write('hello world\n');
  output.write(line('a'));
  output.write(Buffer.from(line('b')));
  output.write(line('c')); // 7 + 41 + 41 queued: no room for 41 more
  output.write('d\n'); // dropped too: the count comes first
  assert.equal(taken, 'hello');
  open = true;
  await waitFor(() => taken.endsWith('dropped 43\n'), { what: 'queue written' });
  output.write('e\n');
  assert.equal(taken, `hello world\n${line('a')}${line('b')}dropped 43\ne\n`);
});

const LINES = 200_000;
/** @param {number} i */
const lineText = (i) => `line ${String(i).padStart(7, '0')}`;
const EXPECTED = Array.from({ length: LINES }, (_, i) => `${lineText(i + 1)}\n`).join('');
/** svlogd -tt: `YYYY-MM-DD_HH:MM:SS.xxxxx ` */
const STAMP = /^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} /gm;

/**
 * `a` (down at first) writes LINES lines to an in-process `svlogd -tt`
 * whose config sends every line to stderr too (`e*`); `b` only runs.
 * @param {string} dir
 */
function services(dir) {
  const a = makeService(join(dir, 'a'), {
    run: `#!/bin/sh\nseq -f 'line %07g' 1 ${LINES}\nexec sleep 1000\n`,
    down: '',
    'log/run': '#!/bin/sh\nexec svlogd -tt ./main\n',
  });
  mkdirSync(join(a, 'log/main'));
  writeFileSync(join(a, 'log/main/config'), 's4000000\nn100\ne*\n');
  const b = makeService(join(dir, 'b'), { run: '#!/bin/sh\nexec sleep 1000\n' });
  return { a, b };
}

/**
 * Every line in the log directory, oldest first, without timestamps.
 * @param {string} logdir
 */
function logged(logdir) {
  const files = readdirSync(logdir)
    .filter((f) => f.startsWith('@'))
    .sort();
  return [...files, 'current'].map((f) => readFileSync(join(logdir, f), 'utf8').replace(STAMP, '')).join('');
}

/**
 * Run sv; resolves { code, stdout } or rejects after `timeout` ms (the process is killed).
 * @param {string[]} args
 * @param {number} [timeout]
 * @returns {Promise<{ code: number | null, stdout: string }>}
 */
function sv(args, timeout = 15000) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin('sv'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sv ${args.join(' ')}: no answer in ${timeout} ms`));
    }, timeout);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

/**
 * While `a` floods its logger: `b` can be stopped and started (a round trip through runsvdir's event loop) and sv status answers.
 * @param {{ a: string, b: string }} svcs the service directories, as services() made them
 */
async function superviseDuringFlood({ a, b }) {
  await waitFor(() => readText(join(a, 'log/supervise/stat')) === 'run\n' && readText(join(b, 'supervise/stat')) === 'run\n', {
    timeout: 20000,
    what: 'a/log and b running',
  });
  assert.equal((await sv(['up', a])).code, 0);
  let roundTrips = 0;
  const deadline = Date.now() + 90_000;
  while (roundTrips < 3 || logged(join(a, 'log/main')).length < EXPECTED.length) {
    assert.ok(Date.now() < deadline, 'the log directory did not get every line in time');
    assert.match((await sv(['-w', '10', 'down', b])).stdout, /^ok: down: /);
    assert.match((await sv(['-w', '10', 'up', b])).stdout, /^ok: run: /);
    assert.match((await sv(['status', b])).stdout, /^run: /);
    roundTrips++;
  }
  assert.equal(logged(join(a, 'log/main')), EXPECTED, 'every line, in order');
}

test('with the log argument, a flood of e lines neither blocks runsvdir nor loses log lines', { timeout: 180_000 }, async () => {
  const dir = join(tempDir(), 'service');
  const svcs = services(dir);
  const runsvdir = startDetached(bin('runsvdir'), [dir, `log: ${'.'.repeat(100)}`]);
  await superviseDuringFlood(svcs);
  // the e lines went through the title, as runsvdir's stderr does
  await waitFor(() => (readText(`/proc/${runsvdir.pid}/cmdline`) ?? '').includes(`${lineText(LINES)}\n`), {
    timeout: 10000,
    what: 'the last e line in the process title',
  });
  assert.equal(runsvdir.exitCode, null);
});

test('without it, a reader that stops reading delays messages, then they are dropped and counted', { timeout: 180_000 }, async () => {
  const base = tempDir();
  const dir = join(base, 'service');
  const svcs = services(dir);
  // runsvdir's stderr: a FIFO that is not read until the flood is over
  const fifo = join(base, 'stderr');
  /** @type {{ status: number | null }} */
  const { status } = await new Promise((resolve) => spawn('mkfifo', [fifo]).on('exit', (code) => resolve({ status: code })));
  assert.equal(status, 0);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  let runsvdir;
  try {
    runsvdir = startDetached(bin('runsvdir'), [dir], { stdio: ['ignore', 'ignore', writer] });
  } finally {
    closeSync(writer);
  }
  try {
    await superviseDuringFlood(svcs);
    // now read: what was kept comes out, then how much was not
    let text = '';
    const chunk = Buffer.alloc(65536);
    const notice = new RegExp(`^runsvdir ${dir}: warning: (\\d+) bytes of messages dropped$`, 'gm');
    const said = () => [...text.matchAll(notice)];
    await waitFor(
      () => {
        for (;;) {
          let n;
          try {
            n = readSync(reader, chunk);
          } catch (err) {
            if (/** @type {NodeJS.ErrnoException} */ (err).code === 'EAGAIN') break;
            throw err;
          }
          if (n === 0) break;
          text += chunk.toString('latin1', 0, n);
        }
        return said().length > 0 && text.endsWith('\n');
      },
      { timeout: 20000, what: 'the dropped-bytes warning' },
    );
    const dropped = said().reduce((sum, m) => sum + Number(m[1]), 0);
    const lines = text.split('\n').slice(0, -1);
    const eLines = lines.filter((l) => /^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} line \d{7}$/.test(l));
    // nothing else was said but e lines and the warnings
    assert.equal(lines.length - eLines.length, said().length, text.slice(0, 2000));
    // the e lines kept are whole and in order; with those dropped they are all of them
    const numbers = eLines.map((l) => Number(l.slice(-7)));
    for (let i = 1; i < numbers.length; i++) assert.ok(numbers[i] > numbers[i - 1], `out of order at ${i}`);
    assert.ok(eLines.length < LINES && dropped > 0, `${eLines.length} e lines kept, ${dropped} bytes dropped`);
    const eBytes = eLines.reduce((sum, l) => sum + l.length + 1, 0);
    assert.equal(eBytes + dropped, LINES * (26 + lineText(1).length + 1));
    assert.equal(runsvdir.exitCode, null);
  } finally {
    closeSync(reader);
  }
});

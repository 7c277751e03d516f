// Differential tests: the same input through Debian's /usr/bin/svlogd and
// runit-ts's bin/svlogd, each in its own base directory with the same
// relative names. Files must be byte-identical (old-file names reduced to
// their order and suffix; timestamps masked when -t/-tt/-ttt is on), modes
// equal, stderr equal. Input comes from a regular file, so runit reads it in
// -b sized pieces and even where it cuts long lines is deterministic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdirSync, writeFileSync, readFileSync, readdirSync, statSync, openSync, closeSync, existsSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { bin, debian, isRoot, tempDir, removeDir, smallDisk, waitFor, oldFiles, logText } from './helpers.js';

/**
 * @typedef {Record<string, { mode: string, content: string }>} Snapshot
 * @typedef {{ code: number | null, stderr: string, files: Record<string, Snapshot | null> }} Side
 */

/** @type {Record<number, RegExp>} */
const STAMP = {
  1: /@4[0-9a-f]{23} /g,
  2: /\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} /g,
  3: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{5} /g,
};

/**
 * Which timestamps -t, -tt or -ttt in `args` ask for (0 for none).
 * @param {string[]} args
 */
function stampMode(args) {
  const t = args.find((a) => /^-t+$/.test(a));
  return t ? Math.min(t.length - 1, 3) : 0;
}

/**
 * A directory's files: name (old files by their order and suffix, `@0.s`), mode, content with stamps masked.
 * @param {string} dir
 * @param {number} mode
 */
function snapshot(dir, mode) {
  const names = readdirSync(dir).sort();
  const old = names.filter((n) => n.startsWith('@'));
  /** @type {Snapshot} */
  const out = {};
  for (const name of names) {
    if (name === 'lock') continue;
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) continue;
    let content = readFileSync(path, 'latin1');
    if (mode) content = content.replace(STAMP[mode], `<stamp${mode}> `);
    const key = name.startsWith('@') ? `@${old.indexOf(name)}${name.slice(25)}` : name;
    out[key] = { mode: (st.mode & 0o777).toString(8), content };
  }
  return out;
}

/**
 * @param {string} text
 * @param {number} mode
 */
function maskText(text, mode) {
  let t = text.replace(/@4[0-9a-f]{23}\.[stu]/g, '@X');
  if (mode) t = t.replace(STAMP[mode], `<stamp${mode}> `);
  return t;
}

/**
 * Run both svlogds on `input` with `args`. `dirs` maps each log directory
 * name to its config text (or null for none, or a function that prepares
 * it). Returns both results.
 * @param {{ input?: string | Buffer, args?: string[], dirs?: Record<string, string | null | ((dir: string) => void)>, env?: NodeJS.ProcessEnv, timeout?: number }} run
 */
function both({ input = '', args = [], dirs = { log: null }, env, timeout = 30000 }) {
  const base = tempDir('svlogd-diff-');
  /** @type {Record<string, Side>} */
  const results = {};
  try {
    for (const [who, file] of [
      ['theirs', debian('svlogd')],
      ['ours', bin('svlogd')],
    ]) {
      const cwd = join(base, who);
      mkdirSync(cwd);
      for (const [name, config] of Object.entries(dirs)) {
        if (typeof config === 'function') {
          config(join(cwd, name));
          continue;
        }
        mkdirSync(join(cwd, name), { recursive: true });
        if (config !== null) writeFileSync(join(cwd, name, 'config'), config, 'latin1');
      }
      writeFileSync(join(cwd, '.input'), input, typeof input === 'string' ? 'latin1' : undefined);
      const fd = openSync(join(cwd, '.input'), 'r');
      const r = spawnSync(file, [...args, ...Object.keys(dirs)], { cwd, stdio: [fd, 'pipe', 'pipe'], argv0: 'svlogd', timeout, env: env ?? process.env });
      closeSync(fd);
      const mode = stampMode(args);
      /** @type {Record<string, Snapshot | null>} */
      const files = {};
      for (const name of Object.keys(dirs)) {
        const dir = join(cwd, name);
        files[name] = existsSync(dir) && statSync(dir).isDirectory() ? snapshot(dir, mode) : null;
      }
      results[who] = { code: r.status, stderr: maskText(r.stderr.toString('latin1'), mode), files };
    }
  } finally {
    removeDir(base);
  }
  return { theirs: results.theirs, ours: results.ours };
}

/**
 * The snapshot of log directory `name` on one side, which must exist.
 * @param {Side} side
 * @param {string} [name]
 */
function logOf(side, name = 'log') {
  const snapshot = side.files[name];
  assert.ok(snapshot, `${name} is a directory`);
  return snapshot;
}

/**
 * @param {{ theirs: Side, ours: Side }} r
 * @param {string} [what]
 */
function assertSame(r, what = '') {
  assert.deepEqual(r.ours.files, r.theirs.files, `files ${what}`);
  assert.equal(r.ours.stderr, r.theirs.stderr, `stderr ${what}`);
  assert.equal(r.ours.code, r.theirs.code, `exit code ${what}`);
}

/**
 * `n` numbered lines, lengths varying with the number.
 * @param {number} n
 * @param {number} [width]
 */
function numbered(n, width = 40) {
  let s = '';
  for (let i = 0; i < n; i++) s += `${String(i).padStart(6, '0')} ${'x'.repeat((i * 7) % width)}\n`;
  return s;
}

test('plain lines, no config: identical current (0744 after close)', () => {
  const r = both({ input: 'one\ntwo\n\nthree four\n' });
  assertSame(r);
  assert.equal(logOf(r.ours).current.content, 'one\ntwo\n\nthree four\n');
  assert.equal(logOf(r.ours).current.mode, '744');
});

for (const t of ['-t', '-tt', '-ttt']) {
  test(`${t}: timestamps of the same format on every line`, () => {
    const r = both({ input: numbered(200), args: [t] });
    assertSame(r);
    assert.equal(
      logOf(r.ours)
        .current.content.split('\n')
        .filter((l) => l.startsWith(`<stamp${t.length - 1}> `)).length,
      200,
    );
  });
}

test('size rotation and n: same files, same cuts, -v messages', () => {
  const r = both({ input: numbered(3000), args: ['-v'], dirs: { log: 's2000\nn4\n' } });
  assertSame(r);
  assert.equal(Object.keys(logOf(r.ours)).filter((k) => k.startsWith('@')).length, 4);
});

test('rotation with -tt, a prefix and -l: the "room for a line" rule with stamps', () => {
  const r = both({ input: numbered(2000, 90), args: ['-tt', '-l', '60'], dirs: { log: 's3000\nn100\npsvc: \n' } });
  assertSame(r);
});

test('long lines, -l and -b: lines cut across files exactly where runit cuts them', () => {
  let input = '';
  for (let i = 0; i < 300; i++) input += `${i}:${'abcdefghij'.repeat((i * 13) % 70)}\n`;
  for (const args of [[], ['-l', '50', '-b', '120'], ['-l', '100', '-b', '300', '-tt']]) {
    const r = both({ input, args, dirs: { log: 's1500\nn1000\n' } });
    assertSame(r, args.join(' '));
  }
});

test('lines far over the limit with stderr selection: "..." and the whole line in the file', () => {
  const long = 'L'.repeat(250000);
  const r = both({ input: `short\n${long}\n12345\n1234\n`, args: ['-l', '5', '-b', '6'], dirs: { log: 'e*\n' } });
  assertSame(r);
  assert.equal(r.ours.stderr, 'short...\nLLLLL...\n12345...\n1234\n');
  assert.equal(logOf(r.ours).current.content, `short\n${long}\n12345\n1234\n`);
});

test('n and N: default N=n, and N<n', () => {
  for (const config of ['s500\nn2\n', 's500\nn3\nN1\n', 's500\nn0\n']) {
    const r = both({ input: numbered(400), dirs: { log: config } });
    assertSame(r, JSON.stringify(config));
  }
});

test('processor !tr a-z A-Z: .u processed into .s (0744), state created', () => {
  const r = both({ input: numbered(600).replace(/x/g, 'ab'), dirs: { log: 's3000\nn20\n!tr a-z A-Z\n' } });
  assertSame(r);
  const old = Object.entries(logOf(r.ours)).filter(([k]) => k.startsWith('@'));
  assert.ok(old.length >= 5);
  for (const [name, f] of old) {
    assert.match(name, /\.s$/);
    assert.equal(f.mode, '744');
    assert.doesNotMatch(f.content, /[a-z]/);
  }
  assert.equal(logOf(r.ours).state.content, '');
});

test('processor with state: fd 4 reads the last state, fd 5 writes the next', () => {
  const processor = '!read n <&4 || n=0; n=$((n+1)); echo $n >&5; echo "file $n"; cat';
  const r = both({ input: numbered(500), dirs: { log: `s2000\nn50\n${processor}\n` } });
  assertSame(r);
  const files = Object.entries(logOf(r.ours)).filter(([k]) => k.startsWith('@'));
  assert.equal(files.at(-1)?.[1].content.split('\n')[0], `file ${files.length}`);
  assert.equal(logOf(r.ours).state.content, `${files.length}\n`);
});

test('patterns + - e E: files and stderr', () => {
  const input = 'keep one\ndrop two\nkeep! three\nalert!\nquiet? alert!\nplain\n';
  const r = both({ input, args: ['-tt'], dirs: { log: '-*\n+keep*\ne*!*\nE*?*\n' } });
  assertSame(r);
  assert.equal(logOf(r.ours).current.content, '<stamp2> keep one\n<stamp2> keep! three\n');
  assert.equal(r.ours.stderr, '<stamp2> keep! three\n<stamp2> alert!\n');
});

test('several directories: independent configs, stderr once per selecting directory, in line order', () => {
  const r = both({
    input: numbered(800),
    // -l 100: rotations fall after lines, so no stamp is cut in two (masking)
    args: ['-t', '-l', '100'],
    dirs: { a: 's1500\nn3\n', b: '-*5 *\ne*7 *\np[b] \n', c: 's700\nn2\ne*7 *\n' },
  });
  assertSame(r);
  assert.match(r.ours.stderr, /^<stamp1> \[b\] 000007 /);
});

test('-r and -R on binary data with NUL bytes; bytes beyond -l untouched', () => {
  const input = Buffer.concat([
    Buffer.from('tab\there\xc3\xa9 and x y\n', 'latin1'),
    Buffer.from([0, 1, 2, 0x41, 0, 0x7f, 0xff, 0x0a]),
    Buffer.from(`${'z'.repeat(20)}\x01\x02\n`, 'latin1'),
  ]);
  for (const args of [['-r', '#', '-R', 'xy', '-l', '20'], ['-R', 'a'], []]) {
    const r = both({ input, args });
    assertSame(r, args.join(' '));
  }
  const r = both({ input, args: ['-r', '#', '-R', 'xy', '-l', '20'] });
  assert.ok(logOf(r.ours).current.content.startsWith('tab#here## and # #\n###A###\n'));
  assert.ok(logOf(r.ours).current.content.endsWith(`${'z'.repeat(20)}\x01\x02\n`));
});

test('config warnings: bad ip, bad port, unknown lines ignored', () => {
  const r = both({ input: 'x\n', args: ['-v'], dirs: { log: 'ulocalhost\nu1.2.3.4:0\nu1.2.3.4:abc\nu 1.2.3.4\nbogus\n\n# comment\nZ\n' } });
  assertSame(r);
  assert.match(r.ours.stderr, /svlogd: warning: unable to scan ip address: localhost\n/);
});

test('config that is a directory, a log dir that is a file, a missing one', () => {
  const r = both({
    input: 'x\n',
    dirs: {
      good: (d) => mkdirSync(join(d, 'config'), { recursive: true }),
      afile: (d) => writeFileSync(d, 'not a directory'),
      missing: () => {},
    },
  });
  assertSame(r);
  assert.equal(
    r.ours.stderr,
    'svlogd: warning: unable to read config: good: is a directory\n' +
      'svlogd: warning: unable to change directory: afile: not a directory\n' +
      'svlogd: warning: unable to open log directory: missing: file does not exist\n',
  );
});

test('no functional log directories: exit 111', () => {
  const r = both({ input: 'x\n', dirs: { afile: (d) => writeFileSync(d, ''), nodir: () => {} } });
  assertSame(r);
  assert.equal(r.ours.code, 111);
  assert.match(r.ours.stderr, /svlogd: fatal: no functional log directories\.\n$/);
});

test('usage errors: messages and exit 111', () => {
  for (const args of [[], ['-l', '2000', 'd'], ['-x', 'd'], ['-r', 'ab', 'd'], ['-l'], ['-b', '100', '-l', '100', 'd']]) {
    const theirs = spawnSync(debian('svlogd'), args, { argv0: 'svlogd', input: '' });
    const ours = spawnSync(bin('svlogd'), args, { input: '' });
    assert.equal(ours.stderr.toString(), theirs.stderr.toString(), args.join(' '));
    assert.equal(ours.status, 111);
    assert.equal(theirs.status, 111);
  }
  const v = spawnSync(bin('svlogd'), ['-V', 'd'], { input: '' });
  assert.match(v.stderr.toString(), /^\$Id: runit-ts svlogd [^\n]* \$\nusage: svlogd \[-ttv\] \[-r c\] \[-R abc\] \[-l len\] \[-b buflen\] dir \.\.\.\n\n$/);
  assert.equal(v.status, 111);
});

test('a directory locked by another svlogd: "temporary failure"', async () => {
  const base = tempDir('svlogd-lock-');
  try {
    mkdirSync(join(base, 'held'));
    mkdirSync(join(base, 'free'));
    // hold the lock with Debian's svlogd reading a pipe we keep open
    const holder = spawn(debian('svlogd'), ['held'], { cwd: base, stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      await waitFor(() => existsSync(join(base, 'held/current')), { what: "Debian's svlogd holding held/" });
      /** @type {Record<string, { code: number | null, stderr: string }>} */
      const out = {};
      for (const [who, file] of [
        ['theirs', debian('svlogd')],
        ['ours', bin('svlogd')],
      ]) {
        const r = spawnSync(file, ['held', 'free'], { cwd: base, input: 'x\n', argv0: 'svlogd' });
        out[who] = { code: r.status, stderr: r.stderr.toString() };
      }
      assert.deepEqual(out.ours, out.theirs);
      assert.equal(out.ours.stderr, 'svlogd: warning: unable to lock directory: held: temporary failure\n');
    } finally {
      holder.stdin.end();
      await once(holder, 'exit');
    }
  } finally {
    removeDir(base);
  }
});

test('UDP: u sends [stamp][prefix]line[...]\\n as well, U instead of writing', async () => {
  const server = createSocket('udp4');
  /** @type {string[]} */
  const got = [];
  server.on('message', (m) => got.push(m.toString('latin1')));
  await new Promise((r) => server.bind(0, '127.0.0.1', () => r(undefined)));
  const port = server.address().port;
  try {
    const r = both({ input: 'short\n0123456789abc\nthird\n', args: ['-l', '10'], dirs: { u: `u127.0.0.1:${port}\npP:\n`, U: `U127.0.0.1:${port}\n` } });
    assertSame(r);
    assert.equal(logOf(r.ours, 'u').current.content, 'P:short\nP:0123456789abc\nP:third\n');
    assert.equal(logOf(r.ours, 'U').current.content, '');
    // both ran, one after the other: every datagram arrives twice, once from each
    const expected = ['P:short\n', 'P:0123456789...\n', 'P:third\n', 'short\n', '0123456789...\n', 'third\n'];
    await waitFor(() => got.length >= 2 * expected.length, { what: () => `${2 * expected.length} datagrams, got ${JSON.stringify(got)}`, timeout: 2000 });
    const counts = new Map();
    for (const m of got) counts.set(m, (counts.get(m) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), [...expected].sort());
    assert.deepEqual(
      [...counts.values()],
      expected.map(() => 2),
    );
  } finally {
    server.close();
  }
});

test('svlogd-partial-line: an unfinished last line is written with a newline (runit drops it)', () => {
  const r = both({ input: 'line1\nline2\npartial' });
  assert.equal(logOf(r.theirs).current.content, 'line1\nline2\n');
  assert.equal(logOf(r.ours).current.content, 'line1\nline2\npartial\n');
  assert.equal(r.ours.code, 0);
});

test('an unfinished current is saved as .u at start (mode kept), a complete one appended to', () => {
  /**
   * @param {string} content
   * @param {number} mode
   */
  const prepare = (content, mode) => (/** @type {string} */ d) => {
    mkdirSync(d);
    writeFileSync(join(d, 'current'), content, { mode });
  };
  const r = both({ input: 'new\n', args: ['-v'], dirs: { unfinished: prepare('old\n', 0o644), complete: prepare('old\n', 0o744) } });
  assertSame(r);
  assert.deepEqual(logOf(r.ours, 'unfinished')['@0.u'], { mode: '644', content: 'old\n' });
  assert.equal(logOf(r.ours, 'unfinished').current.content, 'new\n');
  assert.equal(logOf(r.ours, 'complete').current.content, 'old\nnew\n');
});

test('full disk with N < n: the oldest old files are deleted to make room, same messages', { skip: !isRoot && 'needs root (mount)' }, () => {
  const input = Array.from({ length: 30000 }, (_, i) => `${i + 1}\n`).join('');
  /** @type {Record<string, { code: number | null, stderr: string, kept: string[], lines: number, last: string | undefined }>} */
  const out = {};
  for (const [who, file] of [
    ['theirs', debian('svlogd')],
    ['ours', bin('svlogd')],
  ]) {
    const disk = smallDisk('256k');
    assert.ok(disk, 'mount a tmpfs');
    const { mnt } = disk;
    try {
      const dir = join(mnt, 'log');
      mkdirSync(dir);
      writeFileSync(join(dir, 'config'), 's30000\nn10\nN2\n');
      for (let i = 1; i <= 5; i++) writeFileSync(join(dir, `@40000000000000000000000${i}.s`), `${'o'.repeat(29999)}\n`);
      const r = spawnSync(file, ['log'], { cwd: mnt, input, argv0: 'svlogd', timeout: 30000 });
      const names = oldFiles(dir);
      const lines = logText(dir)
        .split('\n')
        .filter((l) => l && !l.startsWith('o'));
      out[who] = {
        code: r.status,
        stderr: maskText(r.stderr.toString(), 0),
        kept: names.filter((n) => n.startsWith('@4000000000')),
        lines: lines.length,
        last: lines.at(-1),
      };
    } finally {
      disk.unmount();
      removeDir(mnt);
    }
  }
  assert.deepEqual(out.ours, out.theirs);
  assert.equal(out.ours.stderr, 'svlogd: warning: out of disk space, delete: log/@X\n'.repeat(3));
  assert.equal(out.ours.lines, 30000);
});

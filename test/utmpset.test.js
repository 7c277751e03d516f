// utmpset: the record codec, then the program against Debian's on the same
// files: /var/run/utmp and /var/log/wtmp are tmpfs files in a private mount
// namespace (the machine's own are never touched). Times are compared as
// "within the run", the rest byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, readFileSync, existsSync, statSync } from 'node:fs';
import { encodeUtmp, decodeUtmp, matchesLogin, loggedOut, wtmpLogout, layoutFor, LAYOUT_X86_64, LAYOUT_LP64, UT } from '../dist/init/utmp.js';
import { bin, tempDir, run, readText, normalizeProg } from './helpers.js';

const DEBIAN = '/usr/sbin/utmpset';
const L = layoutFor();
const A32 = 'a'.repeat(32);
const B32 = 'b'.repeat(32);

const FIXTURE = [
  { type: UT.USER_PROCESS, pid: 200, line: 'pts/0', id: 'ts/0', user: 'bob', host: 'example.org', session: 7, seconds: 1700000000, microseconds: 123 },
  { type: UT.LOGIN_PROCESS, pid: 300, line: 'tty2', id: '2', user: '', host: '' },
  {
    type: UT.USER_PROCESS,
    pid: 301,
    line: 'tty2',
    id: '2',
    user: 'alice',
    host: 'h',
    session: 5,
    seconds: 1700000100,
    microseconds: 9,
    addr: Buffer.from([10, 0, 0, 1]),
  },
  { type: UT.USER_PROCESS, pid: 302, line: 'tty2', id: '2', user: 'carol', host: 'other' },
  { type: UT.USER_PROCESS, pid: 400, line: A32, id: '', user: 'dave' },
  { type: UT.USER_PROCESS, pid: 401, line: B32, id: 'x', user: 'eve' },
];
const utmpFile = () => Buffer.concat(FIXTURE.map((e) => encodeUtmp(e)));

test('utmp codec: glibc layouts, round trip, C strings', () => {
  assert.equal(LAYOUT_X86_64.size, 384);
  assert.equal(LAYOUT_LP64.size, 400);
  for (const layout of [LAYOUT_X86_64, LAYOUT_LP64]) {
    const entry = { ...FIXTURE[2], addr: Buffer.concat([Buffer.from([10, 0, 0, 1]), Buffer.alloc(12)]), exitTermination: 1, exitStatus: 2 };
    const record = encodeUtmp(entry, layout);
    assert.equal(record.length, layout.size);
    assert.deepEqual(decodeUtmp(record, layout), entry);
  }
  const record = encodeUtmp({ type: UT.USER_PROCESS, line: 'tty1', user: 'root', seconds: 1 }, LAYOUT_X86_64);
  assert.equal(record.readInt16LE(0), 7);
  assert.equal(record.subarray(8, 12).toString(), 'tty1');
  assert.equal(record.subarray(44, 48).toString(), 'root');
  assert.equal(record.readInt32LE(340), 1);
});

test("utmp edits: runit's matching (user set, C-string line) and what a logout changes", () => {
  const records = FIXTURE.map((e) => encodeUtmp(e));
  /**
   * @param {number} i
   * @param {string} line
   */
  const match = (i, line) => matchesLogin(records[i], Buffer.from(line));
  assert.equal(match(0, 'pts/0'), true);
  assert.equal(match(1, 'tty2'), false, 'no user');
  assert.equal(match(2, 'tty2'), true);
  assert.equal(match(2, 'tty'), false);
  assert.equal(match(4, A32), true, 'a full ut_line followed by an empty ut_id');
  assert.equal(match(5, B32), false, 'runit reads on into ut_id');
  assert.equal(match(5, `${B32}x`), true);
  const out = decodeUtmp(loggedOut(records[2], 1800000000));
  assert.deepEqual(out, { ...decodeUtmp(records[2]), type: UT.DEAD_PROCESS, user: '', host: '', seconds: 1800000000 });
  assert.deepEqual(
    decodeUtmp(wtmpLogout(Buffer.from('tty5'), 1800000000)),
    decodeUtmp(encodeUtmp({ type: UT.DEAD_PROCESS, line: 'tty5', seconds: 1800000000 })),
  );
  assert.equal(decodeUtmp(wtmpLogout(Buffer.from('c'.repeat(33)), 1)).line, 'c'.repeat(30), "runit's sizeof - 2");
});

test("usage, -V and bad options as Debian's", () => {
  for (const args of [[], ['-x', 'tty1'], ['-V'], ['--'], ['-w'], ['-wq', 'tty1']]) {
    const ours = normalizeProg(run(bin('utmpset'), args), bin('utmpset'));
    assert.deepEqual(ours, normalizeProg(run(DEBIAN, args), DEBIAN), `utmpset ${args.join(' ')}`);
    assert.equal(ours.code, 1);
    assert.match(ours.stderr, /usage: PROG \[-w\] line\n\n$/);
  }
});

// $1 program, $2 results, $3 inputs (utmp, wtmp, setup), the rest arguments
const DRIVER = `
prog=$1 out=$2 in=$3; shift 3
mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/log || exit 99
[ -e "$in/utmp" ] && cp "$in/utmp" /var/run/utmp
[ -e "$in/wtmp" ] && cp "$in/wtmp" /var/log/wtmp
[ -e "$in/setup" ] && . "$in/setup"
date +%s >"$out/before"
"$prog" "$@" >"$out/stdout" 2>"$out/stderr"; echo $? >"$out/code"
date +%s >"$out/after"
[ -f /var/run/utmp ] && cp /var/run/utmp "$out/utmp"
[ -f /var/log/wtmp ] && cp /var/log/wtmp "$out/wtmp" && stat -c %a /var/log/wtmp >"$out/wtmp-mode"
exit 0
`;

/**
 * A record as read back: its time replaced by 'NOW' when set during the run.
 * @typedef {Omit<import('../dist/init/utmp.js').UtmpEntry, 'seconds'> & { seconds: number | 'NOW' }} ReadEntry
 */

/**
 * Run `prog` with `args` on utmp and wtmp files (`inputs`: utmp, wtmp,
 * setup) in a private mount namespace: its exit code, output, and the files
 * afterwards.
 * @param {string} prog
 * @param {string[]} args
 * @param {{ utmp?: Buffer, wtmp?: Buffer, setup?: string }} inputs
 */
function runIn(prog, args, inputs) {
  const dir = tempDir('utmpset-in-');
  for (const [name, content] of Object.entries(inputs)) writeFileSync(join(dir, name), content);
  const out = tempDir('utmpset-out-');
  const r = run('unshare', ['--mount', 'sh', '-c', DRIVER, 'sh', prog, out, dir, ...args]);
  assert.equal(r.code, 0, r.stderr);
  const before = Number(readText(join(out, 'before')));
  const after = Number(readText(join(out, 'after')));
  /**
   * the records, with each time the run set replaced by 'NOW' (a partial record as hex)
   * @param {string} name
   */
  const records = (name) => {
    if (!existsSync(join(out, name))) return undefined;
    const data = readFileSync(join(out, name));
    /** @type {(ReadEntry | string)[]} */
    const list = [];
    for (let at = 0; at < data.length; at += L.size) {
      if (data.length - at < L.size) {
        list.push(data.subarray(at).toString('hex'));
        break;
      }
      const entry = decodeUtmp(data.subarray(at, at + L.size));
      // a little slack: this machine's wall clock has been seen to step
      list.push(entry.seconds >= before - 2 && entry.seconds <= after + 2 ? { ...entry, seconds: 'NOW' } : entry);
    }
    return list;
  };
  return {
    code: Number(readText(join(out, 'code'))),
    stdout: readText(join(out, 'stdout')),
    stderr: readFileSync(join(out, 'stderr'), 'utf8').split(prog).join('PROG'),
    utmp: records('utmp'),
    wtmp: records('wtmp'),
    wtmpMode: readText(join(out, 'wtmp-mode')),
  };
}

const original = () => FIXTURE.map((e) => decodeUtmp(encodeUtmp(e)));
/** @param {number} i */
const withLogout = (i) => original().map((e, j) => (j === i ? { ...e, type: UT.DEAD_PROCESS, user: '', host: '', seconds: 'NOW' } : e));
/** @param {string} line */
const wtmpRecord = (line) => ({ ...decodeUtmp(encodeUtmp({ type: UT.DEAD_PROCESS, line })), seconds: 'NOW' });
const oldWtmp = encodeUtmp({ type: UT.USER_PROCESS, line: 'tty2', user: 'alice', seconds: 1600000000 });

const cases = [
  {
    name: 'the first record with a user on the line is logged out',
    args: ['tty2'],
    inputs: { utmp: utmpFile() },
    expect: { code: 0, stderr: '', utmp: withLogout(2), wtmp: undefined },
  },
  { name: 'a LOGIN record too, the type is not looked at', args: ['pts/0'], inputs: { utmp: utmpFile() }, expect: { code: 0, utmp: withLogout(0) } },
  {
    name: '-w appends a logout record to wtmp',
    args: ['-w', '--', 'tty2'],
    inputs: { utmp: utmpFile(), wtmp: oldWtmp },
    expect: { code: 0, stderr: '', utmp: withLogout(2), wtmp: [decodeUtmp(oldWtmp), wtmpRecord('tty2')] },
  },
  {
    name: '-w creates wtmp (mode 0600)',
    args: ['-w', 'tty2'],
    inputs: { utmp: utmpFile() },
    expect: { code: 0, wtmp: [wtmpRecord('tty2')], wtmpMode: '600\n' },
  },
  { name: 'a 32-character line', args: [A32], inputs: { utmp: utmpFile() }, expect: { code: 0, utmp: withLogout(4) } },
  {
    name: 'a 32-character line followed by a non-empty ut_id does not match',
    args: [B32],
    inputs: { utmp: utmpFile() },
    expect: { code: 111, stderr: `utmpset: warning: unable to logout line ${B32} in utmp: no such entry\n`, utmp: original() },
  },
  {
    name: 'a line longer than ut_line is compared on into ut_id; wtmp gets 30 bytes of it',
    args: ['-w', `${B32}x`],
    inputs: { utmp: utmpFile() },
    expect: { code: 0, stderr: '', utmp: withLogout(5), wtmp: [wtmpRecord(B32.slice(0, 30))] },
  },
  {
    name: 'a line longer than ut_line that matches nothing',
    args: ['-w', 'c'.repeat(33)],
    inputs: { utmp: utmpFile() },
    expect: { code: 111, stderr: `utmpset: warning: unable to logout line ${'c'.repeat(33)} in utmp: no such entry\n`, utmp: original(), wtmp: undefined },
  },
  {
    name: 'no such entry',
    args: ['-w', 'tty9'],
    inputs: { utmp: utmpFile() },
    expect: { code: 111, stderr: 'utmpset: warning: unable to logout line tty9 in utmp: no such entry\n', wtmp: undefined },
  },
  {
    name: 'no utmp file',
    args: ['tty2'],
    inputs: {},
    expect: { code: 111, stderr: 'utmpset: fatal: unable to open /var/run/utmp: file does not exist\n', utmp: undefined },
  },
  {
    name: 'wtmp cannot be opened (utmp is already changed)',
    args: ['-w', 'tty2'],
    inputs: { utmp: utmpFile(), setup: 'mkdir /var/log/wtmp' },
    expect: { code: 111, stderr: 'utmpset: fatal: unable to open /var/log/wtmp: is a directory\n', utmp: withLogout(2) },
  },
  {
    name: 'a short last record is not read',
    args: ['tty2'],
    inputs: { utmp: Buffer.concat([encodeUtmp(FIXTURE[1]), encodeUtmp(FIXTURE[2]).subarray(0, 100)]) },
    expect: { code: 111, stderr: 'utmpset: warning: unable to logout line tty2 in utmp: no such entry\n' },
  },
];

for (const c of cases) {
  test(`utmpset as Debian's: ${c.name}`, () => {
    const ours = runIn(bin('utmpset'), c.args, c.inputs);
    const theirs = runIn(DEBIAN, c.args, c.inputs);
    assert.deepEqual(ours, theirs);
    for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(ours[/** @type {keyof typeof ours} */ (key)], value, key);
  });
}

test('RUNIT_UTMP and RUNIT_WTMP replace the two paths', () => {
  const dir = tempDir();
  const utmp = join(dir, 'utmp');
  const wtmp = join(dir, 'wtmp');
  writeFileSync(utmp, utmpFile());
  const r = run(bin('utmpset'), ['-w', 'tty2'], { env: { ...process.env, RUNIT_UTMP: utmp, RUNIT_WTMP: wtmp } });
  assert.deepEqual(r, { code: 0, signal: null, stdout: '', stderr: '' });
  const records = readFileSync(utmp);
  assert.equal(decodeUtmp(records.subarray(2 * L.size, 3 * L.size)).type, UT.DEAD_PROCESS);
  assert.equal(statSync(wtmp).size, L.size);
  assert.equal(decodeUtmp(readFileSync(wtmp)).line, 'tty2');
  const missing = run(bin('utmpset'), ['tty2'], { env: { ...process.env, RUNIT_UTMP: join(dir, 'nope') } });
  assert.equal(missing.stderr, `utmpset: fatal: unable to open ${join(dir, 'nope')}: file does not exist\n`);
});

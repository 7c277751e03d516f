// runsvchdir against Debian's: both run on /etc/runit/runsvdir, which each
// case replaces by a tmpfs in a private mount namespace (the machine's own
// is never touched); then RUNSVDIR, ours only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, symlinkSync, readlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { bin, tempDir, run, readText } from './helpers.js';

const DEBIAN = '/usr/sbin/runsvchdir';

// $1 program, $2 results dir, $3 what to mount the tmpfs on, $4 set-up
// commands (run in /etc/runit/runsvdir when it exists), the rest arguments
const DRIVER = `
prog=$1 out=$2 mnt=$3 setup=$4; shift 4
mount -t tmpfs tmpfs "$mnt" || exit 99
mkdir -p /etc/runit/runsvdir 2>/dev/null
if [ "$mnt" = /etc/runit/runsvdir ]; then (cd /etc/runit/runsvdir && eval "$setup") || exit 98; else rmdir /etc/runit/runsvdir; fi
cd /tmp
"$prog" "$@" >"$out/stdout" 2>"$out/stderr"; echo $? >"$out/code"
cd /etc/runit/runsvdir 2>/dev/null || exit 0
for f in * .*; do
  case $f in .|..|'*'|'.*') continue ;; esac
  if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; elif [ -d "$f" ]; then echo "$f/"; else echo "$f"; fi
done >"$out/tree"
`;

const STANDARD = 'mkdir default single other && ln -s /etc/runit/runsvdir/default current';

/**
 * Run `prog` with `args` on a fresh tmpfs at `mount`, /etc/runit/runsvdir
 * made by `setup`, in a private mount namespace: its exit code, output, and
 * what /etc/runit/runsvdir holds afterwards.
 * @param {string} prog
 * @param {string[]} args
 * @param {{ setup?: string, mount?: string }} [options]
 */
function runIn(prog, args, { setup = STANDARD, mount = '/etc/runit/runsvdir' } = {}) {
  const out = tempDir('runsvchdir-');
  const r = run('unshare', ['--mount', 'sh', '-c', DRIVER, 'sh', prog, out, mount, setup, ...args]);
  assert.equal(r.code, 0, r.stderr);
  return {
    code: Number(readText(join(out, 'code'))),
    stdout: readText(join(out, 'stdout')),
    stderr: readFileSync(join(out, 'stderr'), 'utf8').split(prog).join('PROG'),
    tree: readText(join(out, 'tree')),
  };
}

const cases = [
  { name: 'no argument: usage, exit 1', args: [], expect: { code: 1, stderr: 'usage: PROG dir\n\n' } },
  { name: 'a name starting with a dot', args: ['.hidden'], expect: { code: 111, stderr: 'PROG: fatal: .hidden: must not start with a dot.\n' } },
  { name: 'a missing directory', args: ['missing'], expect: { code: 111, stderr: 'PROG: fatal: missing: file does not exist\n' } },
  { name: 'an option-like name is a name', args: ['-x'], expect: { code: 111, stderr: 'PROG: fatal: -x: file does not exist\n' } },
  {
    name: 'not a directory (no separator, as runit)',
    args: ['plain'],
    setup: `${STANDARD} && touch plain`,
    expect: { code: 111, stderr: 'PROG: fatal: plainnot a directory.\n' },
  },
  { name: 'already current', args: ['default'], expect: { code: 0, stdout: 'runsvchdir: default: current.\n', stderr: '' } },
  {
    name: 'switch: current -> the name as given, previous -> the old target',
    args: ['single'],
    expect: {
      code: 0,
      stdout: 'runsvchdir: single: now current.\n',
      stderr: '',
      tree: 'current -> single\ndefault/\nother/\nprevious -> /etc/runit/runsvdir/default\nsingle/\n',
    },
  },
  {
    name: 'an absolute path; stale current.new and previous are replaced',
    args: ['/etc/runit/runsvdir/other'],
    setup: `${STANDARD} && ln -s nowhere current.new && ln -s single previous`,
    expect: {
      code: 0,
      stdout: 'runsvchdir: /etc/runit/runsvdir/other: now current.\n',
      tree: 'current -> /etc/runit/runsvdir/other\ndefault/\nother/\nprevious -> /etc/runit/runsvdir/default\nsingle/\n',
    },
  },
  {
    name: 'no current',
    args: ['single'],
    setup: 'mkdir default single',
    expect: { code: 111, stderr: 'PROG: fatal: unable to stat: current: file does not exist\n' },
  },
  {
    name: 'previous cannot be removed',
    args: ['single'],
    setup: `${STANDARD} && mkdir -p previous/x`,
    expect: { code: 111, stderr: 'PROG: fatal: unable to unlink: previous: is a directory\n' },
  },
  {
    name: 'no /etc/runit/runsvdir',
    args: ['single'],
    mount: '/etc/runit',
    expect: { code: 111, stderr: 'PROG: fatal: unable to chdir: /etc/runit/runsvdir: file does not exist\n' },
  },
];

for (const c of cases) {
  test(`runsvchdir as Debian's: ${c.name}`, () => {
    const ours = runIn(bin('runsvchdir'), c.args, c);
    const theirs = runIn(DEBIAN, c.args, c);
    assert.deepEqual(ours, theirs);
    for (const [key, value] of Object.entries(c.expect)) assert.equal(ours[/** @type {keyof typeof ours} */ (key)], value, key);
  });
}

test('RUNSVDIR replaces /etc/runit/runsvdir', () => {
  const base = tempDir();
  for (const d of ['default', 'single']) mkdirSync(join(base, d));
  symlinkSync('default', join(base, 'current'));
  writeFileSync(join(base, 'x'), '');
  const r = run(bin('runsvchdir'), ['single'], { env: { ...process.env, RUNSVDIR: base } });
  assert.deepEqual(r, { code: 0, signal: null, stdout: 'runsvchdir: single: now current.\n', stderr: '' });
  assert.equal(readlinkSync(join(base, 'current')), 'single');
  assert.equal(readlinkSync(join(base, 'previous')), 'default');
  const again = run(bin('runsvchdir'), ['single'], { env: { ...process.env, RUNSVDIR: base } });
  assert.equal(again.stdout, 'runsvchdir: single: current.\n');
});

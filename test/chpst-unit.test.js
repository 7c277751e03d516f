// Unit tests of chpst's pure parts: command lines, user:group specs, the
// environment, envdir values, soft limits, the chpst lines the supervisor
// applies itself. `npm run build` first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, sgetopt, invocation, parseNice, parseUnsigned, USAGE, VERSION } from '../dist/chpst/options.js';
import { parseNumericIds, resolveExtended, resolveAccount, namesIn } from '../dist/chpst/uidgid.js';
import { parseHostedChpst, hostedExec } from '../dist/chpst/hosted.js';
import { Environment, envFileValue, getEnv } from '../dist/chpst/environment.js';
import { softLimit } from '../dist/chpst/options.js';

/** @param {string} s */
const b = (s) => Buffer.from(s, 'latin1');
/** @param {Buffer[]} entries */
const texts = (entries) => entries.map((e) => e.toString('latin1'));

/**
 * The plan of a command line that parses (no usage error).
 * @param {Parameters<typeof parseArgs>} args
 */
function planOf(...args) {
  const parsed = parseArgs(...args);
  assert.ok(!('usage' in parsed), `${args[0]} ${args[1].join(' ')}: a usage error`);
  return parsed;
}

test('invocation: basename, one leading d stripped, personality by name', () => {
  assert.deepEqual(invocation('/usr/bin/chpst'), { base: 'chpst', name: 'chpst', personality: 'chpst' });
  assert.deepEqual(invocation('/x/dsetlock'), { base: 'dsetlock', name: 'setlock', personality: 'setlock' });
  assert.deepEqual(invocation('denvdir'), { base: 'denvdir', name: 'envdir', personality: 'envdir' });
  assert.deepEqual(invocation('ddenvdir'), { base: 'ddenvdir', name: 'denvdir', personality: 'chpst' });
  assert.deepEqual(invocation('/tmp/xyz'), { base: 'xyz', name: 'xyz', personality: 'chpst' });
  assert.deepEqual(invocation('dchpst'), { base: 'dchpst', name: 'chpst', personality: 'chpst' });
});

test('sgetopt: clusters, attached and separate arguments, stops at operands', () => {
  const state = { index: 0 };
  const items = [...sgetopt(['-vP', '-unobody', '-e', 'dir', '-0', 'prog', '-1'], 'u:e:vP012', state)];
  assert.deepEqual(items, [{ opt: 'v' }, { opt: 'P' }, { opt: 'u', arg: 'nobody' }, { opt: 'e', arg: 'dir' }, { opt: '0' }]);
  assert.equal(state.index, 5);
});

test('sgetopt: `-` is an operand, `--` and any `--x` end the options and are skipped', () => {
  let state = { index: 0 };
  assert.deepEqual([...sgetopt(['-v', '-', 'x'], 'v', state)], [{ opt: 'v' }]);
  assert.equal(state.index, 1);
  state = { index: 0 };
  assert.deepEqual([...sgetopt(['--', '-v'], 'v', state)], []);
  assert.equal(state.index, 1);
  state = { index: 0 };
  assert.deepEqual([...sgetopt(['--foo', 'echo'], 'v', state)], []);
  assert.equal(state.index, 1);
});

test('sgetopt: an option argument may start with a dash; errors stop parsing', () => {
  let state = { index: 0 };
  assert.deepEqual([...sgetopt(['-u', '-v', 'p'], 'u:v', state)], [{ opt: 'u', arg: '-v' }]);
  assert.equal(state.index, 2);
  state = { index: 0 };
  assert.deepEqual([...sgetopt(['-vx', '-v'], 'v', state)], [{ opt: 'v' }, { error: 'illegal', opt: 'x' }]);
  assert.deepEqual([...sgetopt(['-u'], 'u:', { index: 0 })], [{ error: 'missing', opt: 'u' }]);
  assert.deepEqual([...sgetopt(['-:'], 'u:', { index: 0 })], [{ error: 'illegal', opt: ':' }]);
});

test('numbers: digits only, empty is 0; nice takes a sign and saturates', () => {
  assert.equal(parseUnsigned(''), 0n);
  assert.equal(parseUnsigned('123'), 123n);
  assert.equal(parseUnsigned('99999999999999999999999'), 99999999999999999999999n);
  assert.equal(parseUnsigned('+1'), undefined);
  assert.equal(parseUnsigned('1k'), undefined);
  assert.equal(parseNice('5'), 5);
  assert.equal(parseNice('+3'), 3);
  assert.equal(parseNice('-2'), -2);
  assert.equal(parseNice('-'), -0);
  assert.equal(parseNice('4294967297'), 40);
  assert.equal(parseNice('-4294967297'), -40);
  assert.equal(parseNice('x'), undefined);
  assert.equal(parseNice('--1'), undefined);
});

test('chpst: every option lands in the plan', () => {
  const plan = planOf('chpst', ['-vP012', '-u', 'a:b', '-U', ':1:2', '-b', 'zero', '-e', 'env', '-/', '/r', '-n', '-3', '-L', 'lock', 'prog', 'arg'], {
    extensions: true,
  });
  assert.equal(plan.personality, 'chpst');
  assert.equal(plan.verbose, true);
  assert.equal(plan.setsid, true);
  assert.deepEqual(plan.close, [true, true, true]);
  assert.deepEqual(plan.setUser, { spec: 'a:b', extended: true });
  assert.deepEqual(plan.envUser, { spec: ':1:2', extended: true });
  assert.equal(plan.argv0, 'zero');
  assert.deepEqual(plan.envDir, { dir: 'env', skipSubdirs: true });
  assert.equal(plan.root, '/r');
  assert.equal(plan.nice, -3);
  assert.deepEqual(plan.lock, { path: 'lock', wait: false });
  assert.deepEqual(plan.program, ['prog', 'arg']);
  assert.equal(plan.programIndex, 15);
  assert.equal(plan.quietFailure, false);
});

test('chpst: limits; -m sets four, later options override earlier ones', () => {
  let plan = planOf('chpst', ['-m', '100', '-d', '200', '-o', '7', '-p', '8', '-f', '9', '-c', '10', '-r', '11', '-t', '12', 'p']);
  assert.deepEqual(plan.limits, { DATA: 200n, STACK: 100n, MEMLOCK: 100n, AS: 100n, NOFILE: 7n, NPROC: 8n, FSIZE: 9n, CORE: 10n, RSS: 11n, CPU: 12n });
  plan = planOf('chpst', ['-d', '200', '-m', '100', 'p']);
  assert.equal(plan.limits.DATA, 100n);
  plan = planOf('chpst', ['-o', '', 'p']);
  assert.equal(plan.limits.NOFILE, 0n);
});

test('chpst: usage errors (exit 100 in the CLI) and their texts', () => {
  /**
   * @param {string[]} [_args]
   * @param {string} [message]
   */
  const usage = (_args, message) => {
    /** @type {import('../dist/chpst/options.js').UsageError} */
    const u = { usage: true, name: 'chpst', text: USAGE.chpst };
    if (message) u.message = message;
    return u;
  };
  assert.deepEqual(parseArgs('/usr/bin/chpst', []), usage());
  assert.deepEqual(parseArgs('chpst', ['-v']), usage());
  assert.deepEqual(parseArgs('chpst', ['-x', 'p']), usage([], 'chpst: illegal option -- x'));
  assert.deepEqual(parseArgs('chpst', ['-u']), usage([], 'chpst: option requires an argument -- u'));
  assert.deepEqual(parseArgs('chpst', ['-n', 'x', 'p']), usage());
  assert.deepEqual(parseArgs('chpst', ['-o', '5k', 'p']), usage());
  assert.deepEqual(parseArgs('chpst', ['-m', '=', 'p']), usage());
  assert.deepEqual(parseArgs('chpst', ['-l', 'a', '-L', 'b', 'p']), usage());
  assert.deepEqual(parseArgs('chpst', ['-V', '-x', 'p']), usage([], VERSION));
  assert.deepEqual(parseArgs('chpst', ['-C', '/', 'p']), usage([], 'chpst: illegal option -- C'));
  assert.deepEqual(planOf('chpst', ['-C', '/', 'p'], { extensions: true }).chdir, '/');
  // getopt names the program by basename, the usage line strips one d
  assert.deepEqual(parseArgs('/x/dchpst', ['-Q']), usage([], 'dchpst: illegal option -- Q'));
  assert.deepEqual(parseArgs('/x/xyz', []), { usage: true, name: 'xyz', text: USAGE.chpst });
});

test('personalities: envdir, envuidgid, setuidgid, pgrphack', () => {
  assert.deepEqual(parseArgs('envdir', ['dir']), { usage: true, name: 'envdir', text: ' dir child' });
  let plan = planOf('/bin/envdir', ['-x', 'prog', 'a']);
  assert.deepEqual(plan.envDir, { dir: '-x', skipSubdirs: false });
  assert.deepEqual(plan.program, ['prog', 'a']);
  plan = planOf('setuidgid', ['nobody:daemon', 'id']);
  assert.deepEqual(plan.setUser, { spec: 'nobody:daemon', extended: false });
  plan = planOf('envuidgid', ['nobody', 'env']);
  assert.deepEqual(plan.envUser, { spec: 'nobody', extended: false });
  assert.deepEqual(parseArgs('setuidgid', ['nobody']), { usage: true, name: 'setuidgid', text: ' account child' });
  assert.deepEqual(parseArgs('envuidgid', []), { usage: true, name: 'envuidgid', text: ' account child' });
  plan = planOf('pgrphack', ['-x']);
  assert.equal(plan.setsid, true);
  assert.deepEqual(plan.program, ['-x']);
  assert.deepEqual(parseArgs('pgrphack', []), { usage: true, name: 'pgrphack', text: ' child' });
});

test('setlock: default and -N fail at once, -n waits, -x quiet, -X undoes it', () => {
  let plan = planOf('setlock', ['f', 'p']);
  assert.deepEqual(plan.lock, { path: 'f', wait: false });
  assert.equal(plan.quietFailure, false);
  plan = planOf('setlock', ['-nx', 'f', 'p', 'a']);
  assert.deepEqual(plan.lock, { path: 'f', wait: true });
  assert.equal(plan.quietFailure, true);
  assert.deepEqual(plan.program, ['p', 'a']);
  plan = planOf('setlock', ['-n', '-N', '-x', '-X', 'f', 'p']);
  assert.deepEqual(plan.lock, { path: 'f', wait: false });
  assert.equal(plan.quietFailure, false);
  assert.deepEqual(parseArgs('setlock', ['f']), { usage: true, name: 'setlock', text: USAGE.setlock });
  assert.deepEqual(parseArgs('dsetlock', ['-z']), { usage: true, name: 'setlock', text: USAGE.setlock, message: 'dsetlock: illegal option -- z' });
});

test('softlimit: own letters, = means the hard limit, bad numbers give chpst usage', () => {
  const plan = planOf('softlimit', ['-a', '1', '-c', '=', '-d', '3', '-f', '4', '-l', '5', '-o', '6', '-p', '7', '-r', '8', '-s', '9', '-t', '10', 'p']);
  assert.deepEqual(plan.limits, { AS: 1n, CORE: 'hard', DATA: 3n, FSIZE: 4n, MEMLOCK: 5n, NOFILE: 6n, NPROC: 7n, RSS: 8n, STACK: 9n, CPU: 10n });
  assert.deepEqual(planOf('softlimit', ['-m', '=', 'p']).limits, { DATA: 'hard', STACK: 'hard', MEMLOCK: 'hard', AS: 'hard' });
  assert.deepEqual(parseArgs('softlimit', ['-c', 'x', 'p']), { usage: true, name: 'softlimit', text: USAGE.chpst });
  assert.deepEqual(parseArgs('softlimit', ['-z']), { usage: true, name: 'softlimit', text: USAGE.softlimit, message: 'softlimit: illegal option -- z' });
  assert.deepEqual(parseArgs('softlimit', ['-c']), {
    usage: true,
    name: 'softlimit',
    text: USAGE.softlimit,
    message: 'softlimit: option requires an argument -- c',
  });
  assert.deepEqual(parseArgs('softlimit', ['-c', '1']), { usage: true, name: 'softlimit', text: USAGE.softlimit });
});

test('numeric uid:gids: empty fields are 0, a uid needs a colon, junk and overflow are invalid', () => {
  assert.deepEqual(parseNumericIds('1234:5'), { uid: 1234, gids: [5] });
  assert.deepEqual(parseNumericIds('1234:'), { uid: 1234, gids: [0] });
  assert.deepEqual(parseNumericIds(':5'), { uid: 0, gids: [5] });
  assert.deepEqual(parseNumericIds('65534:1:2:3'), { uid: 65534, gids: [1, 2, 3] });
  assert.equal(parseNumericIds('1234'), undefined);
  assert.equal(parseNumericIds('12x:3'), undefined);
  assert.equal(parseNumericIds('1:2:x'), undefined);
  assert.equal(parseNumericIds('4294967296:0'), undefined);
  assert.deepEqual(parseNumericIds('4294967295:0'), { uid: 4294967295, gids: [0] });
  // at most 60 gids; a 61st field is junk unless empty
  const sixty = Array.from({ length: 60 }, (_, i) => i + 1);
  assert.deepEqual(parseNumericIds(`1:${sixty.join(':')}`), { uid: 1, gids: sixty });
  assert.deepEqual(parseNumericIds(`1:${sixty.join(':')}:`), { uid: 1, gids: sixty });
  assert.equal(parseNumericIds(`1:${sixty.join(':')}:61`), undefined);
});

/** @type {Record<string, { uid: number, gid: number }>} */
const USERS = { nobody: { uid: 65534, gid: 65534 }, www: { uid: 33, gid: 33 } };
/** @type {Record<string, number>} */
const GROUPS = { daemon: 1, adm: 4, nogroup: 65534 };
const fakeLookup = {
  /** @param {string} name */
  user: (name) => USERS[name],
  /** @param {string} name */
  group: (name) => GROUPS[name],
};

test('user[:group...] specs: look-ups, numeric form, unknown names', () => {
  assert.deepEqual(resolveExtended('nobody', fakeLookup), { uid: 65534, gids: [65534] });
  assert.deepEqual(resolveExtended('nobody:daemon:adm', fakeLookup), { uid: 65534, gids: [1, 4] });
  assert.deepEqual(resolveExtended(':33:1:4', fakeLookup), { uid: 33, gids: [1, 4] });
  assert.equal(resolveExtended(':33', fakeLookup), 'invalid');
  assert.equal(resolveExtended('ghost', fakeLookup), 'unknown');
  assert.equal(resolveExtended('nobody:ghost', fakeLookup), 'unknown');
  assert.equal(resolveExtended('nobody:', fakeLookup), 'unknown');
  assert.equal(resolveExtended('nobody:1', fakeLookup), 'unknown');
  assert.deepEqual(resolveAccount('www', fakeLookup), { uid: 33, gids: [33] });
  assert.equal(resolveAccount('nobody:daemon', fakeLookup), 'unknown');
  assert.equal(resolveAccount(':1:2', fakeLookup), 'unknown');
  // more than 60 groups: the rest is ignored, as by runit
  const many = Array.from({ length: 61 }, () => 'adm').join(':');
  const ids = resolveExtended(`nobody:${many}:ghost`, fakeLookup);
  assert.ok(typeof ids === 'object');
  assert.equal(ids.gids.length, 60);
});

test('a failing look-up is reported, not taken for an unknown user', () => {
  const failing = {
    user: () => {
      throw Object.assign(new Error('x'), { code: 'EIO' });
    },
    group: () => undefined,
  };
  assert.throws(() => resolveExtended('nobody', failing), { code: 'EIO' });
});

test('environment: changes in order, removal moves the last entry into the gap', () => {
  const env = new Environment([b('A=1'), b('B=2'), b('C=3'), b('D=4')]);
  env.unset('B');
  env.set('A', 'x');
  env.set('E', '');
  env.unset('NONE');
  assert.deepEqual(texts(env.entries()), ['C=3', 'D=4', 'A=x', 'E=']);
});

test('environment: only the first entry of a name is replaced; names are bytes; = in a name splits it', () => {
  const env = new Environment([b('A=1'), b('A=2'), b('AB=3')]);
  env.set('A', 'z');
  env.set(b('N\xe9'), b('v\xff'));
  env.set('F=G', 'v');
  assert.deepEqual(texts(env.entries()), ['AB=3', 'A=2', 'A=z', 'N\xe9=v\xff', 'F=G=v']);
  const env2 = new Environment([b('F=1')]);
  env2.unset('F=G');
  assert.deepEqual(texts(env2.entries()), ['F=G']);
  assert.equal(getEnv([b('XPATH=1'), b('PATH=/a'), b('PATH=/b')], 'PATH')?.toString(), '/a');
  assert.equal(getEnv([b('A=1')], 'PATH'), undefined);
});

test('envdir file values: first line, trailing blanks cut, NUL to newline, empty file removes', () => {
  assert.equal(envFileValue(b('')), undefined);
  assert.equal(envFileValue(b('\n'))?.toString(), '');
  assert.equal(envFileValue(b('hello \t \nsecond\n'))?.toString(), 'hello');
  assert.equal(envFileValue(b('a\0b \n'))?.toString(), 'a\nb');
  assert.equal(envFileValue(b('  lead'))?.toString(), '  lead');
  assert.equal(envFileValue(b('x\r\n'))?.toString(), 'x\r');
  assert.deepEqual(envFileValue(b('\xe9\xff')), b('\xe9\xff'));
});

test('soft limits: the value, or the hard limit when higher, `=` or beyond a C long', () => {
  assert.equal(softLimit(10n, 100n), 10n);
  assert.equal(softLimit(1000n, 100n), 100n);
  assert.equal(softLimit('hard', 100n), 100n);
  const inf = 0xffffffffffffffffn;
  assert.equal(softLimit(5n, inf), 5n);
  assert.equal(softLimit(1n << 63n, inf), inf);
  assert.equal(softLimit((1n << 63n) - 1n, inf), (1n << 63n) - 1n);
  assert.equal(softLimit(1n << 70n, 100n), 100n);
});

test('a chpst line the supervisor applies: the grammar, and what it leaves to chpst', () => {
  /** @param {string} text */
  const planOfRun = (text) => parseHostedChpst(text)?.plan;
  const taken = parseHostedChpst('#!/bin/sh\n# web\nexec chpst -u www:www:adm -n 5 -o 4096 -t 60 -0 -v ./web --port=80\n');
  assert.equal(taken?.chpst, 'chpst');
  assert.deepEqual(taken?.plan.setUser, { spec: 'www:www:adm', extended: true });
  assert.equal(taken?.plan.nice, 5);
  assert.deepEqual(taken?.plan.limits, { NOFILE: 4096n, CPU: 60n });
  assert.deepEqual(taken?.plan.close, [true, false, false]);
  assert.deepEqual(taken?.plan.program, ['./web', '--port=80']);
  assert.equal(parseHostedChpst('#!/bin/sh\nexec /usr/bin/chpst -u :1000:1000 prog\n')?.chpst, '/usr/bin/chpst');
  for (const text of [
    'exec chpst -u nobody prog\n', // no #!/bin/sh: ./run cannot be executed
    '#!/bin/sh\nexec chpst -u nobody\n', // chpst's usage
    '#!/bin/sh\nexec chpst -u nobody prog "$@"\n',
    '#!/bin/sh\nexec chpst -u nobody prog 2>&1\n',
    '#!/bin/sh\nexec ./chpst -u nobody prog\n',
    '#!/bin/sh\nexec setuidgid nobody prog\n',
    '#!/bin/sh\nexec chpst -P prog\n',
    '#!/bin/sh\nexec chpst -e ./env prog\n',
    '#!/bin/sh\nexec chpst -U nobody prog\n',
    '#!/bin/sh\nexec chpst -/ /srv prog\n',
    '#!/bin/sh\nexec chpst -l lock prog\n',
    '#!/bin/sh\nexec chpst -b name prog\n',
    '#!/bin/sh\nexec chpst -m 100000 prog\n', // bytes: dash counts kilobytes
    '#!/bin/sh\nexec chpst -p 10 prog\n',
    '#!/bin/sh\nexec chpst -V prog\n',
  ]) {
    assert.equal(planOfRun(text), undefined, text);
  }
});

test('a chpst line the supervisor applies: limits, closed fds, nice(1) and setpriv(1), in chpst order', () => {
  const tools = { setpriv: '/usr/bin/setpriv', nice: '/usr/bin/nice' };
  const hard = (/** @type {string} */ resource) => (resource === 'NOFILE' ? 1024n : 0xffffffffffffffffn);
  const plan = parseHostedChpst('#!/bin/sh\nexec chpst -u x -n -3 -o 4096 -t 9223372036854775808 -0 -2 prog -x\n')?.plan;
  assert.ok(plan);
  assert.deepEqual(hostedExec(plan, { uid: 1000, gids: [100, 4] }, hard, tools), {
    setup: ['ulimit -S -n 1024', 'ulimit -S -t unlimited', 'exec 0<&- 2<&-'],
    argv: ['/usr/bin/nice', '-n', '-3', '--', '/usr/bin/setpriv', '--regid=100', '--groups=100,4', '--reuid=1000', '--', 'prog', '-x'],
  });
  const plain = parseHostedChpst('#!/bin/sh\nexec chpst -o 10 prog\n')?.plan;
  assert.ok(plain);
  assert.deepEqual(hostedExec(plain, undefined, hard, tools), { setup: ['ulimit -S -n 10'], argv: ['prog'] });
});

test('namesIn: the names resolveExtended looks up', () => {
  assert.deepEqual(namesIn('www'), { user: 'www', groups: [] });
  assert.deepEqual(namesIn('www:www:adm'), { user: 'www', groups: ['www', 'adm'] });
  assert.deepEqual(namesIn(':1000:1000'), { groups: [] });
});

// Unit tests for svlogd's pure parts: config grammar, patterns, stamps,
// line framing, runit's write model, the command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, defaultConfig, scanIp4 } from '../dist/logger/config.js';
import { pmatch, selectLine } from '../dist/logger/pattern.js';
import { StampFormatter } from '../dist/logger/timestamp.js';
import { LineFramer, replacementMap } from '../dist/logger/lines.js';
import { WriteModel } from '../dist/logger/write-model.js';
import { parseSvlogdArgs } from '../dist/logger/args.js';

/** @param {string} text */
function parse(text) {
  /** @type {string[]} */
  const warnings = [];
  const config = parseConfig(Buffer.from(text, 'latin1'), (m) => warnings.push(m));
  return { config, warnings };
}

test('config: defaults', () => {
  const c = defaultConfig();
  assert.equal(c.sizeMax, 1000000);
  assert.equal(c.nMax, 10);
  assert.equal(c.nMin, 10);
  assert.equal(c.tMax, 0);
  assert.equal(c.processor, '');
  assert.equal(c.udp, undefined);
  assert.equal(c.prefix.length, 0);
});

test('config: s n N t with units, leading digits only', () => {
  assert.equal(parse('s5000\n').config.sizeMax, 5000);
  assert.equal(parse('s4k\n').config.sizeMax, 4096);
  assert.equal(parse('s2m\n').config.sizeMax, 2 * 1048576);
  assert.equal(parse('s12x\n').config.sizeMax, 12);
  assert.equal(parse('s 100\n').config.sizeMax, 0, 'a space means no digits: 0, never rotate');
  assert.equal(parse('s\n').config.sizeMax, 0);
  assert.equal(parse('n3\nN1\n').config.nMax, 3);
  assert.equal(parse('n3\nN1\n').config.nMin, 1);
  assert.equal(parse('t90\n').config.tMax, 90);
  assert.equal(parse('t2m\n').config.tMax, 120);
  assert.equal(parse('t1h\n').config.tMax, 3600);
});

test('config: comments, empty lines, unknown lines, last one-byte line without newline', () => {
  const { config, warnings } = parse('# s5\n\nxyz\nZ9\ns77\nn');
  assert.equal(config.sizeMax, 77);
  assert.equal(config.nMax, 10, 'a last line of one byte without a newline is ignored (runit)');
  assert.deepEqual(warnings, []);
  assert.equal(parse('s77\nn\n').config.nMax, 0, '"n" alone on a line means 0');
});

test('config: processor and prefix, last one wins, empty ones ignored', () => {
  const { config } = parse('!gzip\n!tr a-z A-Z\n!\npfoo: \np\n');
  assert.equal(config.processor, 'tr a-z A-Z');
  assert.equal(config.prefix.toString(), 'foo: ', 'trailing spaces kept');
});

test('config: patterns in file order, NUL splits an instruction', () => {
  const { config } = parse('+a*\n-*b\ne*\nEx\n+p\0-q\n');
  assert.deepEqual(
    config.instructions.map((i) => String.fromCharCode(i.kind) + i.pattern.toString('latin1')),
    ['+a*', '-*b', 'e*', 'Ex', '+p', '-q'],
  );
});

test('config: udp addresses and ports, runit warnings', () => {
  assert.deepEqual(parse('u10.0.0.1\n').config.udp, { address: '10.0.0.1', port: 514 });
  assert.deepEqual(parse('u10.0.0.1:5140\n').config.udp, { address: '10.0.0.1', port: 5140 });
  assert.equal(parse('u10.0.0.1:5140\n').config.udpOnly, false);
  assert.equal(parse('U127.0.0.1:9\n').config.udpOnly, true);
  assert.deepEqual(parse('u300.1.2.3\n').config.udp, { address: '44.1.2.3', port: 514 }, 'each number mod 256');
  let r = parse('ulocalhost:514\n');
  assert.equal(r.config.udp, undefined);
  assert.deepEqual(r.warnings, ['unable to scan ip address: localhost:514']);
  r = parse('u1.2.3.4:0\nu1.2.3.4:x\n');
  assert.deepEqual(r.warnings, ['unable to scan port number: 0', 'unable to scan port number: x']);
  r = parse('u1.2.3.4:77\nu5.6.7.8:0\n');
  assert.deepEqual(r.config.udp, { address: '5.6.7.8', port: 77 }, 'runit stores the address before it rejects the port');
  assert.equal(parse('u1.2.3.4:65536\n').config.udp, undefined, 'htons(65536) is port 0: no UDP');
});

test('svlogd-bad-udponly: a rejected U line does not make the directory UDP-only', () => {
  const r = parse('Ufoo\n');
  assert.equal(r.config.udpOnly, false);
  assert.deepEqual(r.warnings, ['unable to scan ip address: foo']);
  assert.equal(parse('U1.2.3.4:0\n').config.udpOnly, false);
});

test('scanIp4', () => {
  assert.deepEqual(scanIp4(Buffer.from('x1.2.3.4:9'), 1), { address: '1.2.3.4', length: 7 });
  assert.equal(scanIp4(Buffer.from('1.2.3'), 0), undefined);
  assert.equal(scanIp4(Buffer.from('1..2.3'), 0), undefined);
});

/**
 * @param {string} p
 * @param {string} s
 */
const m = (p, s) => pmatch(Buffer.from(p, 'latin1'), Buffer.from(s, 'latin1'), 0, s.length);

test('pmatch: literal, star, plus, runit quirks', () => {
  assert.equal(m('abc', 'abc'), true);
  assert.equal(m('abc', 'abcd'), false, 'anchored at the end');
  assert.equal(m('abc', 'ab'), false);
  assert.equal(m('', ''), true);
  assert.equal(m('', 'a'), false);
  assert.equal(m('*', ''), true);
  assert.equal(m('*', 'anything'), true);
  assert.equal(m('a*', 'abc'), true);
  assert.equal(m('*c', 'abc'), true);
  assert.equal(m('*b*', 'abc'), true);
  assert.equal(m('*x', 'abc'), false);
  // the man page example: the first * stops at the first p
  const msg = '2005-12-18_09:13:50.97618 tcpsvd: info: pid 1977 from 10.4.1.14';
  const line = msg.slice(26);
  assert.equal(m('*pid*', line), false);
  assert.equal(m('*: *: pid *', line), true);
  assert.equal(m('a+bc', 'abbc'), true);
  assert.equal(m('a+bc', 'ac'), false);
  assert.equal(m('a+bc', 'abb'), true, 'runit quirk: the line ends inside the + run');
  assert.equal(m('a+b', 'abx'), false);
});

test('selectLine: last match of each class wins, stderr off by default', () => {
  const { config } = parse('-*\n+*keep*\ne*!*\nE*?*\n');
  /** @param {string} s */
  const sel = (s) => selectLine(config.instructions, Buffer.from(s), 0, s.length);
  assert.equal(sel('nothing'), 0);
  assert.equal(sel('keep this'), 1);
  assert.equal(sel('alert!'), 2);
  assert.equal(sel('keep! this'), 3);
  assert.equal(sel('keep! this?'), 1);
  assert.equal(sel('kno keep'), 0, 'a star skips to the first occurrence only, no backtracking');
  assert.equal(selectLine([], Buffer.from('x'), 0, 1), 1);
});

test('stamps: -t TAI64N, -tt, -ttt; 26 bytes; 10 µs truncated', () => {
  // 2026-11-21 21:39:12.195345 UTC
  const micros = Date.UTC(2026, 10, 21, 21, 39, 12) * 1000 + 195345;
  assert.equal(new StampFormatter(2).format(micros).toString(), '2026-11-21_21:39:12.19534 ');
  assert.equal(new StampFormatter(3).format(micros).toString(), '2026-11-21T21:39:12.19534 ');
  const tai = new StampFormatter(1).format(micros).toString();
  assert.match(tai, /^@4[0-9a-f]{23} $/);
  const sec = BigInt(`0x${tai.slice(1, 17)}`) - (1n << 62n) - 10n;
  assert.equal(Number(sec), Math.floor(micros / 1e6));
  assert.equal(parseInt(tai.slice(17, 25), 16), 195345 * 1000 + 500);
  assert.equal(new StampFormatter(0).format(micros).length, 0);
  // cached calendar part: a later second and a later day
  const f = new StampFormatter(2);
  assert.equal(f.format(micros).toString(), '2026-11-21_21:39:12.19534 ');
  assert.equal(f.format(micros + 5).toString(), '2026-11-21_21:39:12.19535 ');
  assert.equal(f.format(micros + 3 * 3600e6).toString(), '2026-11-22_00:39:12.19534 ');
  const kept = f.format(0);
  f.format(micros);
  assert.equal(kept.toString(), '1970-01-01_00:00:00.00000 ', 'returned buffers are not reused');
});

/**
 * Run chunks through a LineFramer; returns the events.
 * @param {string[]} chunks
 * @param {{ lineMax?: number, map?: ReturnType<typeof replacementMap> }} [options]
 */
function frame(chunks, { lineMax = 10, map } = {}) {
  /** @type {(string | number)[][]} */
  const events = [];
  /** @type {import('../dist/logger/lines.js').LineSink} */
  const sink = {
    line: (buf, s, e, stamp) => events.push(['line', buf.toString('latin1', s, e), stamp.toString()]),
    lines: (buf, start, ends, count, stamp) => {
      let s = start;
      for (let i = 0; i < count; i++) {
        events.push(['line', buf.toString('latin1', s, ends[i]), stamp.toString()]);
        s = ends[i] + 1;
      }
    },
    head: (head, stamp) => events.push(['head', head.toString('latin1'), stamp.toString()]),
    rest: (buf, s, e, offset) => events.push(['rest', buf.toString('latin1', s, e), offset]),
    end: (offset) => events.push(['end', offset]),
  };
  const framer = new LineFramer(lineMax, map, sink);
  for (const [i, c] of chunks.entries()) framer.push(Buffer.from(c, 'latin1'), Buffer.from(`T${i}`));
  return { events, framer };
}

test('lines: short lines, a line across chunks keeps its first stamp', () => {
  const { events, framer } = frame(['ab\ncd', 'e\n\nfg']);
  assert.deepEqual(events, [
    ['line', 'ab', 'T0'],
    ['line', 'cde', 'T0'],
    ['line', '', 'T1'],
  ]);
  assert.equal(framer.pending, true);
  assert.equal(framer.finish(), true, 'svlogd-partial-line: the unfinished line is completed');
  assert.deepEqual(events.at(-1), ['line', 'fg', 'T1']);
  assert.equal(framer.finish(), false);
});

test('lines: a line of len bytes or more: head, rest with input offsets, end', () => {
  const { events } = frame(['0123456789ABC\nxy\n', '0123456789', '\n']);
  assert.deepEqual(events, [
    ['head', '0123456789', 'T0'],
    ['rest', 'ABC', 10],
    ['end', 13],
    ['line', 'xy', 'T0'],
    ['head', '0123456789', 'T1'],
    ['end', 27],
  ]);
});

test('lines: a long line spread over chunks is streamed, memory bounded', () => {
  const { events, framer } = frame(['0123', '456789ab', 'cdef', 'gh\nz']);
  assert.deepEqual(events, [
    ['head', '0123456789', 'T0'],
    ['rest', 'ab', 10],
    ['rest', 'cdef', 12],
    ['rest', 'gh', 16],
    ['end', 18],
  ]);
  framer.finish();
  assert.deepEqual(events.at(-1), ['line', 'z', 'T3']);
});

test('lines: replacement applies to the first len bytes only', () => {
  const map = replacementMap(0x23, Buffer.from('x'));
  const { events } = frame(['a\tb\xe9x yz\n', 'abcdefghi\x01\x02\x03\n'], { map });
  assert.deepEqual(events, [
    ['line', 'a#b## yz', 'T0'],
    ['head', 'abcdefghi#', 'T1'],
    ['rest', '\x02\x03', 19],
    ['end', 21],
  ]);
});

test('replacementMap: < 32, > 126 and the -R set', () => {
  const map = replacementMap(0x5f, Buffer.from('ab'));
  assert.ok(map);
  assert.equal(map[9], 0x5f);
  assert.equal(map[127], 0x5f);
  assert.equal(map[0xc3], 0x5f);
  assert.equal(map[0x61], 0x5f);
  assert.equal(map[0x63], 0x63);
  assert.equal(map[32], 32);
  assert.equal(replacementMap(undefined), undefined);
});

/**
 * Feed a WriteModel; returns the rotations as [pos, size].
 * @param {number} sizeMax
 * @param {number} lineMax
 * @param {number} bufLen
 * @param {(w: WriteModel) => void} steps
 */
function model(sizeMax, lineMax, bufLen, steps) {
  /** @type {[number, number][]} */
  const rotations = [];
  const w = new WriteModel(sizeMax, lineMax, bufLen, 0, (pos, size) => rotations.push([pos, size]));
  steps(w);
  return { rotations, w };
}

test('write model: rotate once size reaches s - len after a line (s200, -l 50: at >= 150)', () => {
  const { rotations } = model(200, 50, 1024, (w) => {
    for (let i = 0; i < 8; i++) w.line(0, 0, 39); // 40-byte lines
  });
  assert.deepEqual(rotations, [
    [160, 160],
    [320, 160],
  ]);
});

test('write model: a long write is cut at s, the rest goes to the next file', () => {
  const { rotations, w } = model(100, 20, 1024, (w) => {
    w.line(0, 0, 49); // 50
    w.line(0, 0, 69); // 70: only 50 fit
  });
  assert.deepEqual(rotations, [[100, 100]]);
  assert.equal(w.size, 20);
});

test('write model: s smaller than len never rotates after a line, only at s', () => {
  const { rotations } = model(100, 1000, 1024, (w) => {
    for (let i = 0; i < 5; i++) w.line(0, 0, 29);
  });
  assert.deepEqual(rotations, [[100, 100]]);
});

test('write model: s0 never rotates; ALRM rotates a non-empty current only', () => {
  const r = model(0, 10, 1024, (w) => {
    w.line(0, 0, 5000);
    w.forceRotate();
    w.forceRotate();
  });
  assert.deepEqual(r.rotations, [[5001, 5001]]);
});

test('write model: a line longer than -b is written in buffer-sized pieces', () => {
  // -b 100: stamp 26 + line 90 > 100: the stamp is flushed alone, then the
  // line and its newline; with s150 / -l 50 the cut falls inside
  const { rotations } = model(150, 50, 100, (w) => {
    w.line(26, 0, 30); // 57 bytes, one write
    w.head(26, 0, 50); // stamp 26, then line 50 (fits in 100 with 26: 76)
    w.rest(40, 1000); // 40 more: 76 + 24 -> write 100, then 16
    w.end(1040);
  });
  assert.deepEqual(rotations, [[150, 150]]);
});

test('args: options, sgetopt rules, usage conditions', () => {
  /** @param {string[]} args */
  const ok = (args) => {
    const r = parseSvlogdArgs(args);
    assert.ok(r.ok, JSON.stringify(r));
    return r.options;
  };
  assert.equal(ok(['-tt', 'd']).timestamp, 2);
  assert.equal(ok(['-t', '-t', '-t', '-t', 'd']).timestamp, 3);
  assert.equal(ok(['-tv', 'd']).verbose, true);
  assert.equal(ok(['-l5', 'd']).lineMax, 5);
  assert.equal(ok(['-l', '0', 'd']).lineMax, 1000);
  assert.equal(ok(['-b', '9x', '-l', '8', 'd']).bufLen, 9);
  assert.equal(ok(['-r', '#', 'd']).replacement, 0x23);
  assert.equal(ok(['-R', 'ab', 'd']).replacement, 0x5f);
  assert.equal(ok(['-r', '#', '-R', 'ab', 'd']).replacement, 0x23);
  assert.equal(ok(['-R', 'ab', '-r', '#', 'd']).replacement, 0x23);
  assert.deepEqual([...ok(['-R', 'ab', 'd']).replaceBytes], [0x61, 0x62]);
  assert.deepEqual(ok(['--', '-t', 'd']).dirs, ['-t', 'd']);
  assert.deepEqual(ok(['-', 'd']).dirs, ['-', 'd']);
  assert.deepEqual(ok(['--x', 'd']).dirs, ['d'], 'an argument starting with -- ends the options and is dropped');
  assert.deepEqual(ok(['d', '-t']).dirs, ['d', '-t']);
  assert.deepEqual(parseSvlogdArgs([]), { ok: false, problem: 'usage' });
  assert.deepEqual(parseSvlogdArgs(['-l', '2000', 'd']), { ok: false, problem: 'usage' }, 'buflen must exceed len');
  assert.deepEqual(parseSvlogdArgs(['-r', 'ab', 'd']), { ok: false, problem: 'usage' });
  assert.deepEqual(parseSvlogdArgs(['-r', 'é', 'd']), { ok: false, problem: 'usage' }, 'one byte, not one character');
  assert.deepEqual(parseSvlogdArgs(['-x', 'd']), { ok: false, problem: 'option', message: 'illegal option -- x' });
  assert.deepEqual(parseSvlogdArgs(['-l']), { ok: false, problem: 'option', message: 'option requires an argument -- l' });
  assert.deepEqual(parseSvlogdArgs(['-V', 'd']), { ok: false, problem: 'version' });
});

test('lines planned in bulk (as under runsvdir, V8 interpreted) give the files planned line by line give, rotations included', async () => {
  const { Logger } = await import('../dist/logger/logger.js');
  // count the chunks planned in bulk: the comparison must cover that path
  let bulkChunks = 0;
  const proto = /** @type {any} */ (Logger.prototype);
  const inBulk = proto.inBulk;
  proto.inBulk = function (/** @type {unknown[]} */ ...args) {
    const done = inBulk.apply(this, args);
    if (done) bulkChunks++;
    return done;
  };
  const { mkdtempSync, mkdirSync, writeFileSync, readdirSync, readFileSync, openSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const base = mkdtempSync(join(tmpdir(), 'svlogd-bulk-'));
  // short lines of every length, lines near -l and -b, long lines, and no newline at the end
  let text = '';
  for (let i = 0; i < 100000; i++) {
    const len = i % 20011 === 1 ? 990 + (i % 40) : i % 30011 === 1 ? 3000 : (i * 7) % 120;
    text += `${i} ${'x'.repeat(len)}\n`;
  }
  text += 'unfinished';
  writeFileSync(join(base, 'input'), text);
  /** @param {boolean} bulk */
  const run = async (bulk) => {
    const dir = join(base, bulk ? 'bulk' : 'lines');
    for (const [name, config] of [
      ['a', 's1000000\nn0\n'],
      ['b', 's1300000\nn0\npprefix: \n'],
    ]) {
      mkdirSync(join(dir, name), { recursive: true });
      writeFileSync(join(dir, name, 'config'), config);
    }
    const reporter = { info() {}, warning() {}, fatal() {}, alert() {}, pausing() {} };
    const logger = new Logger({ input: openSync(join(base, 'input'), 'r'), dirs: ['a', 'b'], cwd: dir, timestamp: 2, reporter, bulk });
    logger.start();
    assert.deepEqual(await logger.done, { code: 0, killed: false });
    return ['a', 'b'].map((name) => {
      const files = readdirSync(join(dir, name))
        .filter((f) => f.startsWith('@'))
        .sort()
        .concat('current');
      const contents = files.map((f) => readFileSync(join(dir, name, f), 'latin1'));
      // stamps differ between the runs: masked, their length kept
      return {
        sizes: contents.map((c) => c.length),
        text: contents.join('').replace(/^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5} /gm, 'STAMP_____________________'),
      };
    });
  };
  try {
    const lines = await run(false);
    const bulk = await run(true);
    assert.ok(lines[0].sizes.length > 4, 'rotations');
    assert.ok(bulkChunks > 5, `${bulkChunks} chunks in bulk`);
    assert.deepEqual(bulk[0].sizes, lines[0].sizes);
    assert.deepEqual(bulk[1].sizes, lines[1].sizes);
    assert.equal(bulk[0].text, lines[0].text);
    assert.equal(bulk[1].text, lines[1].text);
  } finally {
    proto.inBulk = inBulk;
    rmSync(base, { recursive: true, force: true });
  }
});

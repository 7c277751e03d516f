// From the raw results of the bench modules to summary rows (median,
// ratio to runit, target, met or not) and a markdown table. Every module's
// part is optional: a partial run (`--only`) reports what it measured.
import { median, percentile, table, fmt } from './lib.js';

const MB = (kb) => kb / 1024;

/**
 * Targets (issue 8), as the ratio runit-ts / runit:
 *   '<=' x: met when ratio <= x (for a lower-is-better metric);
 *   '>=' x: met when ratio >= x (higher is better);
 *   'le-runit': met when runit-ts's value <= runit's (works at 0 too).
 */
function judge(target, ts, runit) {
  if (!target || !Number.isFinite(ts) || !Number.isFinite(runit)) return undefined;
  if (target.op === 'le-runit') return ts <= runit;
  const r = ts / runit;
  if (!Number.isFinite(r)) return undefined;
  return target.op === '<=' ? r <= target.value : r >= target.value;
}
const targetText = (t) => (!t ? '' : t.op === 'le-runit' ? '≤ runit' : `${t.op === '<=' ? '≤' : '≥'} ${t.value}×`);

/** Summary rows: { group, id, metric, unit, better, digits, ts, runit, ratio, target, met }. */
export function summarize(results) {
  const rows = [];
  const add = (group, id, metric, unit, ts, runit, { better = 'lower', digits = 1, target } = {}) =>
    rows.push({ group, id, metric, unit, better, digits, ts, runit, ratio: runit > 0 ? ts / runit : NaN, target, met: judge(target, ts, runit) });

  for (const s of results.scale ?? []) {
    const logs = s.log ? 'svlogd loggers' : 'no loggers';
    const a = s['runit-ts'];
    const b = s.runit;
    for (const k of ['uss', 'pss', 'rss']) {
      let target;
      if (k === 'uss' && s.log && s.n === 100) target = { op: '<=', value: 1.0 };
      if (k === 'uss' && s.log && s.n === 1000) target = { op: '<=', value: 0.5 };
      add('memory', `${k}-${s.n}-${s.log ? 'log' : 'nolog'}`, `${k.toUpperCase()}, N=${s.n}, ${logs}`, 'MB', MB(median(a[k])), MB(median(b[k])), { target });
    }
  }
  for (const s of results.scale ?? []) {
    const logs = s.log ? 'svlogd loggers' : 'no loggers';
    add('start', `up-${s.n}-${s.log ? 'log' : 'nolog'}`, `all up, N=${s.n}, ${logs}`, 'ms', median(s['runit-ts'].upMs), median(s.runit.upMs), { digits: 0 });
  }
  const one = results.oneService;
  if (one) {
    const a = one['runit-ts'];
    const b = one.runit;
    add('restart', 'kill-median', 'kill -9 → replacement runs (median)', 'ms', median(a.kill), median(b.kill), { target: { op: '<=', value: 1.2 } });
    add('restart', 'kill-p90', 'kill -9 → replacement runs (p90)', 'ms', percentile(a.kill, 0.9), percentile(b.kill, 0.9));
    add('sv', 'sv-status', '`sv status X`', 'ms', median(a.status), median(b.status));
    add('sv', 'sv-restart', '`sv -w 10 restart X` until X runs', 'ms', median(a.restart), median(b.restart), { target: { op: '<=', value: 0.5 } });
  }
  const t = results.svlogd;
  if (t) {
    const mb = t.bytes / 1e6;
    for (const [mode, how] of [
      ['pipe', 'svlogd process, input on a pipe'],
      ['hosted', 'service → its logger (runit-ts: in-process)'],
    ]) {
      if (!t[mode]) continue;
      const sa = median(t[mode]['runit-ts'].ms) / 1000;
      const sb = median(t[mode].runit.ms) / 1000;
      add('throughput', `${mode}-mbs`, `${how}`, 'MB/s', mb / sa, mb / sb, { better: 'higher', target: { op: '>=', value: 3 } });
      add('throughput', `${mode}-lines`, `${how}`, 'lines/s', t.lines / sa, t.lines / sb, { better: 'higher', digits: 0 });
      const cpu = (impl) => median(t[mode][impl].cpuMs ?? []) / 1000;
      add('throughput', `${mode}-cpu`, `${how}: CPU s ${mode === 'pipe' ? 'of cat + svlogd' : 'of the logger'}`, 'CPU s', cpu('runit-ts'), cpu('runit'), {
        digits: 3,
      });
    }
  }
  if (results.idle) {
    const i = results.idle;
    add('cpu', 'idle', `idle: CPU over ${i.seconds} s, ${i.n} services + loggers`, 'CPU ms', median(i['runit-ts'].cpu) * 1000, median(i.runit.cpu) * 1000, {
      digits: 1,
      target: { op: 'le-runit' },
    });
  }
  if (results.crashLoop) {
    const c = results.crashLoop;
    const a = c['runit-ts'];
    const b = c.runit;
    add('cpu', 'crash', `crash loop: CPU s over ${c.seconds} s, ${c.n} services`, 'CPU s', median(a.cpu), median(b.cpu), {
      digits: 2,
      target: { op: 'le-runit' },
    });
    add('cpu', 'crash-starts', `crash loop: service starts in ${c.seconds} s`, 'starts', median(a.starts), median(b.starts), { better: 'same', digits: 0 });
    const perStart = (x) => median(x.cpu.map((cpu, k) => (cpu / x.starts[k]) * 1000));
    add('cpu', 'crash-per-start', 'crash loop: supervision CPU per start', 'ms', perStart(a), perStart(b), { digits: 2 });
  }
  if (results.chpst) {
    add('chpst', 'chpst', '`chpst -u nobody true`', 'ms', median(results.chpst['runit-ts']), median(results.chpst.runit));
    add('chpst', 'node', '`node -e 0` (the floor of any Node command) vs runit chpst', 'ms', median(results.chpst.node), median(results.chpst.runit));
  }
  return rows;
}

const GROUP_TITLES = {
  memory: 'memory of supervision (supervisors + loggers, not services)',
  start: 'start: runsvdir started until every service (and logger) is up',
  restart: 'restart',
  sv: 'sv',
  throughput: 'svlogd -tt throughput',
  cpu: 'CPU of supervision',
  chpst: 'chpst',
};

/** The markdown table of `rows`: median values, ratio runit-ts / runit, target and whether it is met. */
export function markdownTable(rows) {
  return table(
    ['group', 'metric', 'unit', 'runit-ts', 'runit', 'ratio', 'target', 'met'],
    rows.map((r) => [
      r.group,
      r.metric,
      r.unit,
      fmt(r.ts, r.digits),
      fmt(r.runit, r.digits),
      Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}×` : 'n/a',
      targetText(r.target),
      r.met === undefined ? '' : r.met ? 'yes' : '**no**',
    ]),
  );
}

/** What was counted as supervision, per implementation, at the largest N with loggers. */
export function processesCounted(results) {
  const s = [...(results.scale ?? [])].reverse().find((x) => x.log) ?? results.scale?.at(-1);
  if (!s) return '';
  const describe = (c) =>
    Object.entries(c ?? {})
      .filter(([k, v]) => v && k !== 'other')
      .map(([k, v]) => `${v} ${k}`)
      .join(' + ');
  return `Processes counted as supervision at N=${s.n}${s.log ? ' with loggers' : ''}: runit-ts ${describe(s['runit-ts'].counts)}; runit ${describe(s.runit.counts)} (services and their children excluded).`;
}

export function report(results) {
  const rows = summarize(results);
  const targets = rows.filter((r) => r.target);
  const lines = [markdownTable(rows), ''];
  const counted = processesCounted(results);
  if (counted) lines.push(counted, '');
  if (targets.length) {
    lines.push(`Targets met: ${targets.filter((r) => r.met).length} of ${targets.length}.`);
    for (const r of targets)
      lines.push(
        `- ${r.met ? 'met' : 'NOT met'}: ${r.metric} (${r.unit}) — ${Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : 'n/a'}× runit, target ${targetText(r.target)}`,
      );
  }
  return { rows, markdown: lines.join('\n'), groupTitles: GROUP_TITLES };
}

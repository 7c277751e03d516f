#!/usr/bin/env node
// Charts of a bench run: one PNG per metric group (memory; start, restart
// and sv latency; svlogd throughput; CPU). Vega-Lite specs compiled to
// Vega, rendered to SVG in Node (no browser, no canvas), then to PNG by
// resvg. Text needs a font on the machine: the charts name DejaVu Sans
// (Debian: apt-get install fonts-dejavu-core). The tooling is installed
// apart from runit-ts: npm run charts:install (bench/package.json).
// Standalone: node bench/charts.js [results.json] [outdir]
//   (defaults: bench/results.json, bench/charts/)
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { root, isMain } from './lib.js';
import { summarize } from './report.js';

const FONT = 'DejaVu Sans';
const FONT_FILES = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'];
const COLORS = { domain: ['runit-ts', 'runit'], range: ['#e45756', '#4c78a8'] };
const impl = { field: 'impl', type: 'nominal', title: null, scale: COLORS, legend: { orient: 'top', labelFontSize: 13 } };
const config = {
  font: FONT,
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: 'normal' },
  header: { labelFontSize: 13, titleFontSize: 13 },
  title: { fontSize: 15, subtitleFontSize: 12, subtitleColor: '#555', anchor: 'start', offset: 10 },
  legend: { labelFontSize: 13 },
  concat: { spacing: 40 },
};

/** Grouped bars: x = category, bars per implementation, value labels on top. */
function bars({ values, x, xTitle = null, y, yTitle, log = false, width = 260, height = 220, title, format = '.3~s', xSort = null, labelAngle = 0 }) {
  const yScale = log ? { type: 'symlog', nice: false } : { zero: true };
  return {
    title,
    width,
    height,
    data: { values },
    encoding: {
      x: {
        field: x,
        type: 'nominal',
        title: xTitle,
        sort: xSort,
        axis: { labelAngle, labelLimit: 260, labelExpr: "split(datum.label, '~')", labelPadding: 6 },
      },
      xOffset: { field: 'impl', sort: COLORS.domain },
      y: { field: y, type: 'quantitative', title: yTitle, scale: yScale, ...(log ? { axis: { values: LOG_TICKS } } : {}) },
    },
    layer: [
      { mark: { type: 'bar' }, encoding: { color: impl } },
      { mark: { type: 'text', dy: -5, fontSize: 10, color: '#333' }, encoding: { text: { field: y, type: 'quantitative', format } } },
    ],
  };
}

const LOG_TICKS = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000];

const both = (row, extra = {}) => [
  { impl: 'runit-ts', value: row.ts, ...extra },
  { impl: 'runit', value: row.runit, ...extra },
];
const ratioText = (r) => (Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}×` : 'n/a');

/** The Vega-Lite specs, by file name. */
export function chartSpecs(results) {
  const rows = summarize(results);
  const byId = Object.fromEntries(rows.map((r) => [`${r.group}:${r.id}`, r]));
  const specs = {};
  const load = results.machine ? `${results.machine.cores} cores, ${results.machine.node}, ${results.machine.date?.slice(0, 10)}` : '';

  if (results.scale?.length) {
    const values = [];
    for (const s of results.scale) {
      for (const k of ['uss', 'pss', 'rss']) {
        const r = byId[`memory:${k}-${s.n}-${s.log ? 'log' : 'nolog'}`];
        values.push(...both(r, { metric: k.toUpperCase(), n: `N=${s.n}`, loggers: s.log ? 'with svlogd loggers' : 'no loggers' }));
      }
    }
    specs.memory = {
      title: {
        text: 'Memory of supervision (supervisors + loggers, not the services), MB',
        subtitle: `median of the rounds; log scale; lower is better — ${load}`,
      },
      data: { values },
      facet: {
        row: { field: 'loggers', title: null, sort: ['no loggers', 'with svlogd loggers'] },
        column: { field: 'metric', title: null, sort: ['USS', 'PSS', 'RSS'] },
      },
      spec: (() => {
        const b = bars({ values: undefined, x: 'n', y: 'value', yTitle: 'MB', log: true, width: 250, height: 200, xSort: ['N=10', 'N=100', 'N=1000'] });
        delete b.data;
        delete b.title;
        return b;
      })(),
    };
  }

  const latency = [];
  if (results.scale?.length) {
    const values = results.scale.flatMap((s) =>
      both(byId[`start:up-${s.n}-${s.log ? 'log' : 'nolog'}`], { n: `N=${s.n}`, loggers: s.log ? 'with svlogd loggers' : 'no loggers' }),
    );
    latency.push({
      title: { text: 'Start: runsvdir started → all N services up (ms)', subtitle: 'median; lower is better' },
      data: { values },
      facet: { column: { field: 'loggers', title: null, sort: ['no loggers', 'with svlogd loggers'] } },
      spec: (() => {
        const b = bars({ x: 'n', y: 'value', yTitle: 'ms', width: 230, height: 220, xSort: ['N=10', 'N=100', 'N=1000'], format: '.0f' });
        delete b.data;
        delete b.title;
        return b;
      })(),
    });
  }
  const one = [
    ['restart:kill-median', 'kill -9 → up (median)'],
    ['restart:kill-p90', 'kill -9 → up (p90)'],
    ['sv:sv-status', 'sv status'],
    ['sv:sv-restart', 'sv -w 10 restart'],
    ['chpst:chpst', 'chpst -u nobody true'],
  ].filter(([id]) => byId[id]);
  if (one.length) {
    const values = one.flatMap(([id, label]) => both(byId[id], { what: `${label}~${ratioText(byId[id])}` }));
    latency.push(
      bars({
        title: { text: 'One service: latency (ms)', subtitle: 'median unless noted; log scale; under each pair: ratio runit-ts ÷ runit; lower is better' },
        values,
        x: 'what',
        y: 'value',
        yTitle: 'ms (log)',
        log: true,
        width: 780,
        height: 240,
        xSort: values.filter((v) => v.impl === 'runit').map((v) => v.what),
        format: '.3~r',
        labelAngle: 0,
      }),
    );
  }
  if (latency.length) specs.latency = { vconcat: latency };

  const t = results.svlogd;
  if (t) {
    const modes = [
      ['pipe', 'cat | svlogd -tt'],
      ['hosted', 'service → its logger~(runit-ts: in-process)'],
    ].filter(([m]) => t[m]);
    const panel = (suffix, unit, format) => {
      const values = modes.flatMap(([m, label]) =>
        both(byId[`throughput:${m}-${suffix}`], { how: `${label}~${ratioText(byId[`throughput:${m}-${suffix}`])}` }),
      );
      return bars({
        title: { text: `svlogd -tt throughput, ${unit}`, subtitle: 'median; higher is better' },
        values,
        x: 'how',
        y: 'value',
        yTitle: unit,
        width: 300,
        height: 240,
        format,
        xSort: values.filter((v) => v.impl === 'runit').map((v) => v.how),
        labelAngle: 0,
      });
    };
    specs.throughput = {
      title: {
        text: `svlogd -tt: ${t.lines.toLocaleString('en-US')} lines of 100 bytes, rotation at ${t.size.toLocaleString('en-US')} bytes, every line counted`,
        subtitle: load,
      },
      hconcat: [panel('mbs', 'MB/s', '.1f'), panel('lines', 'lines/s', '.3~s')],
    };
  }

  const cpu = [];
  if (byId['cpu:idle']) {
    cpu.push(
      bars({
        title: { text: `Idle: CPU ms in ${results.idle.seconds} s`, subtitle: `${results.idle.n} services + svlogd loggers; lower is better` },
        values: both(byId['cpu:idle'], { what: `idle~${ratioText(byId['cpu:idle'])}` }),
        x: 'what',
        y: 'value',
        yTitle: 'CPU milliseconds',
        width: 240,
        format: '.3~r',
      }),
    );
  }
  if (byId['cpu:crash']) {
    cpu.push(
      bars({
        title: { text: `Crash loop: CPU s in ${results.crashLoop.seconds} s`, subtitle: `${results.crashLoop.n} services exiting at once; lower is better` },
        values: both(byId['cpu:crash'], { what: `crash loop~${ratioText(byId['cpu:crash'])}` }),
        x: 'what',
        y: 'value',
        yTitle: 'CPU seconds',
        width: 240,
        format: '.2f',
      }),
    );
    cpu.push(
      bars({
        title: { text: 'Crash loop: CPU per service start', subtitle: 'supervision only; lower is better' },
        values: both(byId['cpu:crash-per-start'], { what: `per start~${ratioText(byId['cpu:crash-per-start'])}` }),
        x: 'what',
        y: 'value',
        yTitle: 'CPU ms',
        width: 240,
        format: '.2f',
      }),
    );
  }
  if (cpu.length) specs.cpu = { title: { text: 'CPU of supervision (runsvdir, runsv, loggers, fd holder; not the services)', subtitle: load }, hconcat: cpu };

  if (results.scaleCurve?.points?.length) specs.scale = scaleCurveSpec(results.scaleCurve, load);

  for (const name of Object.keys(specs))
    specs[name] = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config, padding: 16, background: 'white', ...specs[name] };
  return specs;
}

/**
 * The scale curve (bench/scale.js): four log-log panels against N, one line
 * per implementation, each point labelled with its value.
 */
function scaleCurveSpec(curve, load) {
  const values = curve.points.flatMap((pt) =>
    COLORS.domain
      .filter((impl) => pt[impl] && !pt[impl].skip)
      .map((impl) => ({
        impl,
        n: pt.n,
        ussMB: pt[impl].uss / 1024,
        upS: pt[impl].upMs / 1000,
        statusMs: pt[impl].statusMs,
        idleCpuMs: Math.max(pt[impl].idleCpu * 1000, 0.01),
        idleCpuText: pt[impl].idleCpu * 1000,
      })),
  );
  const ns = curve.points.map((pt) => pt.n);
  const panel = (field, title, format, textField = field) => ({
    title: { text: title, fontSize: 13 },
    width: 300,
    height: 200,
    data: { values },
    encoding: {
      x: { field: 'n', type: 'quantitative', title: 'N services (each with a logger)', scale: { type: 'log' }, axis: { values: ns, format: ',d' } },
      y: { field, type: 'quantitative', title: null, scale: { type: 'log' } },
      color: impl,
    },
    layer: [
      { mark: { type: 'line', point: true } },
      { mark: { type: 'text', dy: -9, fontSize: 10, color: '#333' }, encoding: { text: { field: textField, type: 'quantitative', format } } },
    ],
  });
  const skipped = curve.points.flatMap((pt) => COLORS.domain.filter((i) => pt[i]?.skip).map((i) => `${i} not run at N=${pt.n}`));
  return {
    title: {
      text: 'Scale: N services, each with an svlogd logger',
      subtitle: [
        'runit-ts: one runsvdir process, loggers in-process; runit: a runsv and an svlogd process per service',
        `median; log scales (0 drawn at 0.01); lower is better — ${load}`,
        ...(skipped.length ? [skipped.join('; ')] : []),
      ],
    },
    vconcat: [
      { hconcat: [panel('ussMB', 'Supervision memory, USS (MB)', '.3~r'), panel('upS', 'runsvdir started → all up (s)', '.3~r')] },
      {
        hconcat: [
          panel('statusMs', '`sv status` of one service (ms)', '.3~r'),
          panel('idleCpuMs', `Idle CPU of supervision in ${curve.idleSeconds} s (ms)`, '.3~r', 'idleCpuText'),
        ],
      },
    ],
  };
}

/**
 * vega, vega-lite and resvg: not runit-ts's devDependencies (a plain
 * `npm ci` leaves them out) but bench/package.json's, installed into
 * bench/node_modules by `npm run charts:install`.
 */
async function chartTooling() {
  try {
    return await Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new Error('the chart tooling is not installed (vega, vega-lite, @resvg/resvg-js: bench/package.json); install it with `npm run charts:install`', {
      cause: err,
    });
  }
}

/** Writes `outDir/<group>.png` (and nothing else); returns the paths. */
export async function renderCharts(results, outDir) {
  const [vega, vl, { Resvg }] = await chartTooling();
  mkdirSync(outDir, { recursive: true });
  const written = [];
  for (const [name, spec] of Object.entries(chartSpecs(results))) {
    const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    const png = new Resvg(svg, {
      background: 'white',
      fitTo: { mode: 'zoom', value: 1.5 },
      font: { loadSystemFonts: true, fontFiles: FONT_FILES.filter((f) => existsSync(f)), defaultFontFamily: FONT, sansSerifFamily: FONT },
    })
      .render()
      .asPng();
    const file = join(outDir, `${name}.png`);
    writeFileSync(file, png);
    written.push(file);
  }
  return written;
}

if (isMain(import.meta)) {
  const input = process.argv[2] ?? join(root, 'bench/results.json');
  const outDir = process.argv[3] ?? join(root, 'bench/charts');
  for (const f of await renderCharts(JSON.parse(readFileSync(input, 'utf8')), outDir)) console.log(f);
}

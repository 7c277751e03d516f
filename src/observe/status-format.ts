// `runit-ts status` output: the JSON document (docs/status.md gives its
// schema) and the table for a person. Pure functions of the status model.
import type { ProgramStatus, ServiceStatus } from './service-status.js';

/** Bumped only when a field changes meaning or goes away; new fields may appear in any version. */
export const STATUS_SCHEMA_VERSION = 1;

function programJson(p: ProgramStatus, now: number) {
  return {
    supervised: p.supervised,
    error: p.error,
    state: p.state,
    pid: p.pid,
    since: p.since,
    uptime: p.since === null ? null : Math.max(0, Math.floor(now) - p.since),
    want: p.want,
    normallyUp: p.normallyUp,
    paused: p.paused,
    gotTerm: p.gotTerm,
    supervisorPid: p.supervisorPid,
    inProcess: p.inProcess,
    deaths: p.deaths,
    lastExit: p.lastExit,
    givenUp: p.givenUp,
    restartIn: p.restartAt === null ? null : Math.max(0, Math.ceil(p.restartAt - now)),
    ready: p.ready,
    readiness: p.readiness,
    statusText: p.statusText,
    waitingFor: p.waitingFor,
    containment: p.containment,
    cgroup: p.cgroup,
    processes: p.processes && {
      count: p.processes.count,
      cpuSeconds: round(p.processes.cpuSeconds, 2),
      rssBytes: p.processes.rssBytes,
      ...(p.processes.memoryPeakBytes === undefined ? {} : { memoryPeakBytes: p.processes.memoryPeakBytes }),
    },
    notes: notes(p, now),
  };
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** One service of the document. */
export function serviceJson(s: ServiceStatus, now: number) {
  return { name: s.name, dir: s.dir, ...programJson(s, now), log: s.log && programJson(s.log, now) };
}

/** The `--json` document (as an object); `now` in unix seconds. */
export function statusDocument(services: readonly ServiceStatus[], now: number) {
  return { version: STATUS_SCHEMA_VERSION, time: round(now, 3), services: services.map((s) => serviceJson(s, now)) };
}

/** The `--json` document as `runit-ts status --json` prints it. */
export function statusJson(services: readonly ServiceStatus[], now: number): string {
  return `${JSON.stringify(statusDocument(services, now), null, 2)}\n`;
}

/** 45s, 3m12s, 3h12m, 2d3h: the two largest units. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** 812K, 12.3M, 1.5G (powers of 1024). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)}K`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)}M`;
  return `${(bytes / 1024 ** 3).toFixed(1)}G`;
}

/** What sv status would add after the time, and why a status is missing; with `verbose`, what contains it too. */
function notes(p: ProgramStatus, now: number, verbose = false): string {
  if (p.error !== null) return p.error;
  const running = p.pid !== null;
  const parts: string[] = [];
  if (running && p.normallyUp === false) parts.push('normally down');
  if (!running && p.normallyUp === true) parts.push('normally up');
  if (running && p.paused) parts.push('paused');
  if (!running && p.want === 'up') parts.push('want up');
  if (running && p.want === 'down') parts.push('want down');
  if (running && p.gotTerm) parts.push('got TERM');
  if (p.inProcess) parts.push("in-process (its pid is the supervisor's)");
  if (p.readiness !== null && p.readiness !== 'down') parts.push(p.ready ? 'ready' : p.readiness === 'starting' ? 'not ready yet' : p.readiness);
  if (p.waitingFor.length > 0) parts.push(`waiting for ${p.waitingFor.join(', ')}`);
  if (p.statusText !== null) parts.push(`status: ${p.statusText}`);
  if (p.givenUp) parts.push('given up');
  if (p.restartAt !== null) parts.push(`restart in ${Math.max(0, Math.ceil(p.restartAt - now))}s`);
  if (!running && p.lastExit !== null) parts.push(`last: ${p.lastExit}`);
  if (verbose && p.containment !== null) parts.push(p.cgroup ? `cgroup ${p.cgroup}` : p.containment === 'pgrp' ? 'process group' : 'not contained');
  return parts.join(', ');
}

const COLOURS = { red: 31, green: 32, yellow: 33 } as const;

/** The colour of a state word: green runs as wanted, red is not what was asked for, yellow is in between. */
function stateColour(p: ProgramStatus): keyof typeof COLOURS | undefined {
  if (p.error !== null) return 'red';
  if (p.state === 'run') return p.want === 'down' || p.paused ? 'yellow' : 'green';
  if (p.state === 'finish') return 'yellow';
  return p.want === 'up' ? 'red' : undefined;
}

const HEADERS = ['SERVICE', 'STATE', 'PID', 'UPTIME', 'CPU', 'MEM', ''] as const;

/** The table for a person, one line per service and per log service; `colour` only for a terminal; `verbose` adds what contains each. */
export function statusTable(services: readonly ServiceStatus[], now: number, colour: boolean, verbose = false): string {
  const rows: { cells: string[]; colour?: keyof typeof COLOURS }[] = [];
  const add = (label: string, p: ProgramStatus) =>
    rows.push({
      cells: [
        label,
        p.state ?? '?',
        p.pid === null ? '-' : String(p.pid),
        p.since === null ? '-' : formatDuration(now - p.since),
        p.processes ? `${p.processes.cpuSeconds.toFixed(2)}s` : '-',
        p.processes ? formatBytes(p.processes.rssBytes) : '-',
        notes(p, now, verbose),
      ],
      colour: stateColour(p),
    });
  for (const s of services) {
    add(s.name, s);
    if (s.log) add(`${s.name}/log`, s.log);
  }
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]!.length)));
  const line = (cells: readonly string[], paint?: keyof typeof COLOURS) =>
    `${cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]!);
        return i === 1 && paint && colour ? `\x1b[${COLOURS[paint]}m${padded}\x1b[0m` : padded;
      })
      .join('  ')
      .trimEnd()}\n`;
  return line(HEADERS) + rows.map((r) => line(r.cells, r.colour)).join('');
}

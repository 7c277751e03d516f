// GET /metrics: Prometheus' text exposition format (version 0.0.4) of the
// status model. Pure: one family per figure, HELP and TYPE first, the
// label `service` (and `log="true"` for a log service). Names follow the
// node_exporter runit collector's spirit under the `runit_` prefix.
import type { ProgramStatus, ServiceStatus } from '../observe/service-status.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  value(p: ProgramStatus, key: string): number | undefined;
}

const bool = (b: boolean | null) => (b === null ? undefined : b ? 1 : 0);

/** What the server has counted since it started, by `service` or `service/log`. */
export interface Counted {
  /** starts seen (a new pid in state run) since the server started */
  starts: ReadonlyMap<string, number>;
}

function families(counted: Counted): Family[] {
  return [
    {
      name: 'runit_service_supervised',
      type: 'gauge',
      help: 'Whether a supervisor (runsv, or runit-ts) holds supervise/ok (1) or not (0).',
      value: (p) => (p.supervised ? 1 : 0),
    },
    {
      name: 'runit_service_up',
      type: 'gauge',
      help: "Whether the service's ./run process runs (1) or not (0).",
      value: (p) => (p.state === null ? undefined : p.state === 'run' ? 1 : 0),
    },
    {
      name: 'runit_service_finishing',
      type: 'gauge',
      help: "Whether the service's ./finish runs (1) or not (0).",
      value: (p) => (p.state === null ? undefined : p.state === 'finish' ? 1 : 0),
    },
    {
      name: 'runit_service_want_up',
      type: 'gauge',
      help: 'What the supervisor was last told: up (1) or down (0).',
      value: (p) => (p.want === null ? undefined : p.want === 'up' ? 1 : 0),
    },
    {
      name: 'runit_service_normally_up',
      type: 'gauge',
      help: 'Whether the service directory has no down file (1) or has one (0).',
      value: (p) => bool(p.normallyUp),
    },
    { name: 'runit_service_paused', type: 'gauge', help: 'Whether the service was paused (sv pause).', value: (p) => bool(p.paused) },
    {
      name: 'runit_service_state_change_timestamp_seconds',
      type: 'gauge',
      help: 'When the service entered its current state, in unix seconds.',
      value: (p) => p.since ?? undefined,
    },
    {
      name: 'runit_service_processes',
      type: 'gauge',
      help: 'Processes of the service: in its cgroup, or in the tree under its pid.',
      value: (p) => p.processes?.count,
    },
    {
      name: 'runit_service_cpu_seconds_total',
      type: 'counter',
      help: "CPU time (user and system) of the service: its cgroup's since the cgroup was made, or the live processes' under its pid (from 0 at each start).",
      value: (p) => p.processes?.cpuSeconds,
    },
    {
      name: 'runit_service_resident_memory_bytes',
      type: 'gauge',
      help: "Memory of the service: its cgroup's memory.current, or the resident memory (VmRSS, summed) of the processes under its pid.",
      value: (p) => p.processes?.rssBytes,
    },
    {
      name: 'runit_service_starts_total',
      type: 'counter',
      help: 'Starts of the service seen by this server since it started (runit keeps no count).',
      value: (_p, key) => counted.starts.get(key) ?? 0,
    },
  ];
}

/** A label value: backslash, double quote and newline escaped. */
export function labelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function sample(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(6)));
}

/** The whole exposition, `server` figures last. */
export function metricsText(services: readonly ServiceStatus[], counted: Counted, server: { startTime: number }): string {
  const programs: { labels: string; key: string; status: ProgramStatus }[] = [];
  for (const s of services) {
    const name = labelValue(s.name);
    programs.push({ labels: `service="${name}"`, key: s.name, status: s });
    if (s.log) programs.push({ labels: `service="${name}",log="true"`, key: `${s.name}/log`, status: s.log });
  }
  let out = '';
  for (const f of families(counted)) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
    for (const p of programs) {
      const v = f.value(p.status, p.key);
      if (v !== undefined) out += `${f.name}{${p.labels}} ${sample(v)}\n`;
    }
  }
  out += '# HELP runit_ts_serve_start_time_seconds When this server started, in unix seconds.\n# TYPE runit_ts_serve_start_time_seconds gauge\n';
  out += `runit_ts_serve_start_time_seconds ${sample(server.startTime)}\n`;
  return out;
}

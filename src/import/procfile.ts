// A Procfile and its .env, as foreman reads them (foreman's Procfile and
// Env classes): `type: command` lines, each command a shell line run from
// the Procfile's directory; the .env's KEY=VALUE lines; PORT as foreman
// assigns it (base 5000 or the .env's PORT, +100 per process type in the
// Procfile's order, +1 per instance) and PS as foreman sets it (`web.1`).
import { invalidServiceName } from '../servicedir/spec.js';
import { type Diagnostic, type ImportResult, ServiceBuilder } from './common.js';

export interface ProcfileOptions {
  /** the Procfile's directory: each process runs there, as under foreman */
  dir: string;
  /** the .env's text and name, when there is one */
  envText?: string;
  envFile?: string;
  /** `web=2,worker=1` or `all=1` (foreman's default) */
  formation?: string;
}

/** foreman's Env: `KEY=VALUE` (an `export ` before it allowed), '...' literal, "..." with \n and \X unescaped; other lines ignored. */
export function parseDotenv(text: string, file: string, diagnostics: Diagnostic[]): Record<string, string> {
  const env: Record<string, string> = {};
  text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .forEach((line, i) => {
      const m = /^(?:export\s+)?([A-Za-z_0-9]+)=(.*)$/.exec(line);
      if (!m) {
        if (line.trim() !== '' && !line.trimStart().startsWith('#')) {
          diagnostics.push({ file, line: i + 1, severity: 'warning', message: 'not a KEY=VALUE line: ignored (as foreman does)' });
        }
        return;
      }
      const value = m[2]!;
      let single: RegExpExecArray | null;
      let double: RegExpExecArray | null;
      if ((single = /^'(.*)'$/.exec(value))) env[m[1]!] = single[1]!;
      else if ((double = /^"(.*)"$/.exec(value))) env[m[1]!] = double[1]!.replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
      else env[m[1]!] = value;
    });
  return env;
}

/** `web=2,worker=1` → counts by process type (`all` for every type). */
export function parseFormation(text: string): Map<string, number> | string {
  const counts = new Map<string, number>();
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z0-9_-]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m) return `not a formation entry (NAME=COUNT): ${part}`;
    counts.set(m[1]!, Number(m[2]));
  }
  return counts;
}

export function parseProcfile(text: string, file: string, options: ProcfileOptions): ImportResult {
  const diagnostics: Diagnostic[] = [];
  const result: ImportResult = { services: [], notMapped: [], diagnostics };
  const processes: { type: string; command: string; line: number }[] = [];
  text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .forEach((line, i) => {
      const m = /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line);
      if (m) {
        if (processes.some((p) => p.type === m[1])) {
          diagnostics.push({ file, line: i + 1, severity: 'error', message: `process type ${m[1]} defined twice` });
        } else {
          processes.push({ type: m[1]!, command: m[2]!.trim(), line: i + 1 });
        }
      } else if (line.trim() !== '' && !line.trimStart().startsWith('#')) {
        diagnostics.push({ file, line: i + 1, severity: 'error', message: 'not a process line (TYPE: COMMAND)' });
      }
    });
  if (processes.length === 0 && !diagnostics.some((d) => d.severity === 'error')) {
    diagnostics.push({ file, severity: 'error', message: 'no process type (TYPE: COMMAND) in the file' });
  }

  const envFile = options.envFile ?? '.env';
  const dotenv = options.envText === undefined ? {} : parseDotenv(options.envText, envFile, diagnostics);
  const formation = parseFormation(options.formation ?? 'all=1');
  if (typeof formation === 'string') {
    diagnostics.push({ file: '--formation', severity: 'error', message: formation });
    return result;
  }
  for (const name of formation.keys()) {
    if (name !== 'all' && !processes.some((p) => p.type === name)) {
      diagnostics.push({ file: '--formation', severity: 'error', message: `no process type ${name} in ${file}` });
    }
  }
  const portText = dotenv.PORT;
  const base = portText !== undefined && /^\d+$/.test(portText) ? Number(portText) : 5000;

  processes.forEach((proc, index) => {
    const count = formation.get(proc.type) ?? formation.get('all') ?? 0;
    if (count === 0) {
      result.notMapped.push({ key: proc.type, value: proc.command, reason: 'its formation count is 0: not imported' });
      return;
    }
    for (let instance = 1; instance <= count; instance++) {
      const name = count === 1 && !formation.has(proc.type) ? proc.type : `${proc.type}-${instance}`;
      const bad = invalidServiceName(name);
      if (bad) {
        diagnostics.push({ file, line: proc.line, severity: 'error', message: `${name} cannot name a service: ${bad}` });
        continue;
      }
      const b = new ServiceBuilder(name, { shell: proc.command }, `${file}:${proc.line}`);
      b.map(proc.type, proc.command, 'run: exec sh -c (foreman runs it with sh)');
      b.spec.cwd = options.dir;
      b.map('(working directory)', options.dir, "run: cd (foreman's root, the Procfile's directory)");
      for (const [key, value] of Object.entries(dotenv)) {
        b.env(key, value);
        b.map(`${envFile} ${key}`, value, key === 'PORT' ? "the base of foreman's PORT numbers" : `env/${key}`);
      }
      const port = String(base + index * 100 + (instance - 1));
      b.env('PORT', port);
      b.map('PORT', port, `env/PORT (foreman: ${base} + ${index} × 100 + ${instance - 1})`);
      b.env('PS', `${proc.type}.${instance}`);
      b.map('PS', `${proc.type}.${instance}`, 'env/PS (as foreman sets it)');
      b.spec.log = {};
      b.map('(output)', 'stdout and stderr', 'log/run: svlogd -tt ./main (foreman prints it with a prefix)');
      result.services.push(b.build());
    }
  });
  return result;
}

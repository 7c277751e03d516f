// What every importer returns, and the small helpers they share: a
// diagnostic with FILE:LINE, a builder that records for each key of the
// source where it went (a ServiceSpec field, a note, or not mapped with a
// reason), sh quoting, sizes and durations. Pure: no I/O here.
import type { NotMapped, ServiceSpec } from '../servicedir/spec.js';

export type Format = 'procfile' | 'pm2' | 'supervisord' | 'systemd';

export interface Diagnostic {
  file: string;
  /** 1-based line of the source, when the message is about one */
  line?: number;
  severity: 'error' | 'warning';
  message: string;
}

/** One key of the source and the runit-ts file or feature it became. */
export interface Mapped {
  key: string;
  value: string;
  to: string;
}

export interface ImportedService {
  spec: ServiceSpec;
  /** every key that was mapped, in source order (what the CLI prints) */
  mapped: Mapped[];
}

export interface ImportResult {
  services: ImportedService[];
  /** settings of the file that belong to no service ([supervisord], [group:x], [Install] of nothing, ...) */
  notMapped: NotMapped[];
  /** syntax errors (nothing is written when there is one) and warnings (unknown keys, lines ignored) */
  diagnostics: Diagnostic[];
}

/** `FILE:LINE: message`, or `FILE: message` when no line applies. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line === undefined ? d.file : `${d.file}:${d.line}`;
  return `${where}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;
}

export function hasErrors(result: ImportResult): boolean {
  return result.diagnostics.some((d) => d.severity === 'error');
}

/** Builds one ServiceSpec and the record of where each source key went. */
export class ServiceBuilder {
  readonly spec: ServiceSpec;
  readonly mapped: Mapped[] = [];

  constructor(name: string, command: ServiceSpec['command'], source: string) {
    this.spec = { name, command, source };
  }

  map(key: string, value: unknown, to: string): void {
    this.mapped.push({ key, value: show(value), to });
  }

  note(text: string): void {
    (this.spec.notes ??= []).push(text);
  }

  notMapped(key: string, value: unknown, reason: string): void {
    const entry: NotMapped = { key, reason };
    if (value !== undefined) entry.value = show(value);
    (this.spec.notMapped ??= []).push(entry);
  }

  env(key: string, value: string): void {
    (this.spec.env ??= {})[key] = value;
  }

  policy(): NonNullable<ServiceSpec['policy']> {
    return (this.spec.policy ??= {});
  }

  limits(): NonNullable<ServiceSpec['limits']> {
    return (this.spec.limits ??= {});
  }

  finish(line: string): void {
    (this.spec.finish ??= []).push(line);
  }

  /** A restart condition: first in ./finish, with its arguments, in the service directory. */
  finishGuard(line: string): void {
    (this.spec.finishGuards ??= []).push(line);
  }

  before(line: string): void {
    (this.spec.before ??= []).push(line);
  }

  need(name: string): void {
    const needs = (this.spec.needs ??= []);
    if (!needs.includes(name)) needs.push(name);
  }

  build(): ImportedService {
    return { spec: this.spec, mapped: this.mapped };
  }
}

/** A value as text for a note or the mapped list. */
export function show(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? String(value);
}

/**
 * The lines of `./finish` that stop restarts: the service is set to want
 * down through its own control FIFO (runit 2.1.2 and runit-ts honour it
 * today: finish runs in the service directory), and the exit code 125 is
 * s6's "permanent failure" for supervisors that read it (issue 14).
 */
export const STOP_RESTARTS = 'printf d > supervise/control; exit 125';

/** Whether a command line needs a shell (metacharacters, expansions, redirections). */
export function needsShell(line: string): boolean {
  return /[|&;<>()$`\\*?[\]{}~#\n!]/.test(line);
}

/**
 * Splits a command line into words the way POSIX sh does for a line
 * without expansions: blanks separate, '...' is literal, "..." and \
 * escape. undefined when the line needs a shell or has an open quote.
 */
export function simpleWords(line: string): string[] | undefined {
  if (/[|&;<>()$`*?[\]{}~#\n!]/.test(line.replace(/'[^']*'/g, "''"))) return undefined;
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let text = '';
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        text += line[j];
      }
      if (j >= line.length) return undefined;
      word = (word ?? '') + text;
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= line.length) return undefined;
      word = (word ?? '') + line[++i];
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words.length > 0 ? words : undefined;
}

/** A command line as argv when sh would split it plainly, else as a shell line. */
export function commandOf(line: string): ServiceSpec['command'] {
  const words = simpleWords(line);
  return words ? { argv: words } : { shell: line };
}

const SIGNALS = new Set([
  'HUP',
  'INT',
  'QUIT',
  'ILL',
  'TRAP',
  'ABRT',
  'BUS',
  'FPE',
  'KILL',
  'USR1',
  'SEGV',
  'USR2',
  'PIPE',
  'ALRM',
  'TERM',
  'STKFLT',
  'CHLD',
  'CONT',
  'STOP',
  'TSTP',
  'TTIN',
  'TTOU',
  'URG',
  'XCPU',
  'XFSZ',
  'VTALRM',
  'PROF',
  'WINCH',
  'IO',
  'PWR',
  'SYS',
]);
const SIGNAL_NUMBERS = ['', 'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM'];

/** `TERM`, `SIGTERM`, `15` → `SIGTERM`; undefined for anything else. */
export function signalName(text: string): string | undefined {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) {
    const name = SIGNAL_NUMBERS[Number(t)];
    return name ? `SIG${name}` : undefined;
  }
  const bare = t.startsWith('SIG') ? t.slice(3) : t;
  return SIGNALS.has(bare) ? `SIG${bare}` : undefined;
}

/** Bytes from `100`, `100K`, `50MB`, `1G`, `1.5GB` (1024-based, as supervisord, PM2 and systemd count). */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$/i.exec(text);
  if (!m) return undefined;
  const power = ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
  return Math.round(Number(m[1]) * 1024 ** power);
}

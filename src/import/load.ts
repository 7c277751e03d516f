// The I/O of `runit-ts import`: which format a file is, reading it (and
// what it names: a Procfile's .env, supervisord's [include] files, a unit's
// EnvironmentFile=), and evaluating a PM2 `.js` ecosystem file in a child
// process — never in the CLI's own. The parsers beside it stay pure.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Format, ImportResult } from './common.js';
import { parseProcfile } from './procfile.js';
import { parsePm2 } from './pm2.js';
import { parseSupervisord } from './supervisord.js';
import { parseSystemd } from './systemd.js';

export interface LoadOptions {
  from?: Format;
  /** --env NAME (PM2) */
  envName?: string;
  /** --formation (Procfile) */
  formation?: string;
  /** --env-file (Procfile): instead of the .env beside it */
  envFile?: string;
  /** the environment %(ENV_X)s reads */
  env?: Record<string, string | undefined>;
}

/** The format of a file from its name, then its content; undefined when neither tells. */
export function detectFormat(path: string, text: string): Format | undefined {
  const name = basename(path);
  const ext = extname(name).toLowerCase();
  if (/^Procfile(\..*)?$/.test(name)) return 'procfile';
  if (ext === '.service') return 'systemd';
  if (['.js', '.cjs', '.mjs'].includes(ext)) return 'pm2';
  if (/^\s*\[(program:[^\]]+|supervisord|include|group:[^\]]+)\]/m.test(text)) return 'supervisord';
  if (/^\s*\[(Service|Unit)\]/m.test(text)) return 'systemd';
  if (['.json', '.yaml', '.yml'].includes(ext) || /^\s*(\{|apps\s*:)/.test(text)) return 'pm2';
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  if (lines.length > 0 && lines.every((l) => /^[A-Za-z0-9_-]+:\s*\S/.test(l))) return 'procfile';
  return undefined;
}

/** Line of a character offset, 1-based. */
function lineAt(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

/** The object a PM2 ecosystem file describes, or a FILE:LINE-style error. */
export async function readPm2Config(path: string, text: string, envName?: string): Promise<{ config: unknown } | { error: string; line?: number }> {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') {
    try {
      return { config: JSON.parse(text) };
    } catch (err) {
      const m = /position (\d+)/.exec((err as Error).message);
      return { error: `not JSON: ${(err as Error).message}`, line: m ? lineAt(text, Number(m[1])) : undefined };
    }
  }
  if (ext === '.yaml' || ext === '.yml') {
    const { parse, YAMLParseError } = await import('yaml');
    try {
      return { config: parse(text) };
    } catch (err) {
      if (err instanceof YAMLParseError) return { error: `not YAML: ${err.message.split('\n')[0]}`, line: err.linePos?.[0].line };
      throw err;
    }
  }
  // .js, .cjs, .mjs: evaluated by another node, which prints module.exports as JSON
  // require() first, as PM2 loads it; import() for an ES module it cannot require
  const code = [
    'const out = (m) => { const c = m && m.__esModule !== undefined && m.default !== undefined ? m.default : m;',
    '  process.stdout.write(JSON.stringify(c === undefined ? null : c)); };',
    'const fail = (e) => { process.stderr.write(String((e && e.stack) || e)); process.exit(1); };',
    'let m;',
    'try { m = require(process.argv[1]); } catch (e) {',
    "  if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_REQUIRE_ASYNC_MODULE')) {",
    "    import(require('node:url').pathToFileURL(process.argv[1]).href).then((n) => out(n.default !== undefined ? n.default : n), fail);",
    '  } else fail(e);',
    '}',
    'if (m !== undefined) out(m);',
  ].join('\n');
  const args = ['-e', code, resolve(path), ...(envName ? ['--env', envName] : [])];
  return new Promise((done) => {
    execFile(process.execPath, args, { cwd: dirname(resolve(path)), timeout: 10000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const where = new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+)`).exec(stderr);
        const first = stderr.split('\n').find((l) => /Error/.test(l)) ?? stderr.split('\n')[0] ?? err.message;
        done({ error: `evaluating it with node failed: ${first.trim()}`, line: where ? Number(where[1]) : undefined });
        return;
      }
      try {
        done({ config: JSON.parse(stdout) });
      } catch {
        done({ error: 'its module.exports cannot be written as JSON' });
      }
    });
  });
}

/** Files matching a glob whose last part may hold * ? [...], sorted (as Python's sorted(glob.glob())). */
export function globFiles(pattern: string): string[] {
  const dir = dirname(pattern);
  const last = basename(pattern);
  if (/[*?[]/.test(dir)) throw new Error('a wildcard in a directory part is not supported');
  if (!/[*?[]/.test(last)) return existsSync(pattern) ? [pattern] : [];
  const re = new RegExp(
    `^${last
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')
      .replace(/\[!/g, '[^')}$`,
  );
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => re.test(n) && !(n.startsWith('.') && !last.startsWith('.')))
    .sort()
    .map((n) => join(dir, n));
}

/** A user's home directory from /etc/passwd. */
export function homeOf(user: string): string | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === user && f[5]) return f[5];
    }
  } catch {
    // no passwd file
  }
  return undefined;
}

/** Read, detect and parse the files named (several only for systemd units, imported together). */
export async function importFiles(paths: readonly string[], options: LoadOptions): Promise<{ format: Format; result: ImportResult } | { error: string }> {
  const texts: string[] = [];
  for (const path of paths) {
    try {
      texts.push(readFileSync(path, 'utf8'));
    } catch (err) {
      return { error: `unable to read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
  }
  const formats = paths.map((p, i) => options.from ?? detectFormat(p, texts[i]!));
  const unknown = paths.findIndex((_, i) => formats[i] === undefined);
  if (unknown >= 0) return { error: `${paths[unknown]}: cannot tell the format: name it with --from procfile|pm2|supervisord|systemd` };
  const format = formats[0]!;
  if (formats.some((f) => f !== format)) return { error: 'the files are of different formats: import them one at a time' };
  if (paths.length > 1 && format !== 'systemd') return { error: `one ${format} file at a time (several files only for systemd units)` };
  const path = paths[0]!;
  const text = texts[0]!;
  const env = options.env ?? process.env;
  switch (format) {
    case 'procfile': {
      const envFile = options.envFile ?? join(dirname(path), '.env');
      let envText: string | undefined;
      try {
        envText = readFileSync(envFile, 'utf8');
      } catch (err) {
        if (options.envFile !== undefined) return { error: `unable to read ${envFile}: ${(err as NodeJS.ErrnoException).code}` };
      }
      return { format, result: parseProcfile(text, path, { dir: dirname(resolve(path)), envText, envFile, formation: options.formation }) };
    }
    case 'pm2': {
      const read = await readPm2Config(path, text, options.envName);
      if ('error' in read) {
        return { format, result: { services: [], notMapped: [], diagnostics: [{ file: path, line: read.line, severity: 'error', message: read.error }] } };
      }
      return { format, result: parsePm2(read.config, path, { dir: dirname(resolve(path)), envName: options.envName, cpus: cpus().length }) };
    }
    case 'supervisord':
      return {
        format,
        result: parseSupervisord(text, path, {
          env,
          hostname: hostname(),
          reader: { read: (p) => readFileSync(p, 'utf8'), glob: globFiles },
        }),
      };
    case 'systemd': {
      const imported = new Set(paths.map((p) => basename(p).replace(/\.service$/, '')));
      const merged: ImportResult = { services: [], notMapped: [], diagnostics: [] };
      paths.forEach((p, i) => {
        const r = parseSystemd(texts[i]!, p, {
          readFile: (f) => {
            try {
              return readFileSync(f, 'utf8');
            } catch {
              return undefined;
            }
          },
          homeOf,
          hostname: hostname(),
          imported,
        });
        merged.services.push(...r.services);
        merged.notMapped.push(...r.notMapped);
        merged.diagnostics.push(...r.diagnostics);
      });
      return { format, result: merged };
    }
  }
}

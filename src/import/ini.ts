// The INI dialect of supervisord (Python's RawConfigParser with `;` and `#`
// comments, inline ones after whitespace, `key = value` or `key: value`,
// indented continuation lines joined with a newline, keys folded to lower
// case, a duplicate section or key an error) and the %-expansions it applies
// to values: `%(name)s`, `%(name)d`, `%(name)02d`, `%%`.
import type { Diagnostic } from './common.js';

export interface IniValue {
  value: string;
  file: string;
  line: number;
}

export interface IniSection {
  name: string;
  file: string;
  line: number;
  /** keys in lower case, in file order */
  values: Map<string, IniValue>;
}

export function parseIni(text: string, file: string, diagnostics: Diagnostic[]): IniSection[] {
  const sections: IniSection[] = [];
  let section: IniSection | undefined;
  let last: IniValue | undefined;
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const stripped = raw.trim();
    if (stripped === '' || stripped.startsWith(';') || stripped.startsWith('#')) {
      if (stripped === '') last = undefined;
      return;
    }
    const content = stripInlineComment(raw);
    if (/^\s/.test(raw) && last) {
      const more = content.trim();
      if (more !== '') last.value = last.value === '' ? more : `${last.value}\n${more}`;
      return;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(content.trim());
    if (header) {
      const name = header[1]!.trim();
      if (sections.some((s) => s.name === name)) {
        diagnostics.push({ file, line, severity: 'error', message: `section [${name}] appears twice` });
      }
      section = { name, file, line, values: new Map() };
      sections.push(section);
      last = undefined;
      return;
    }
    const m = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(content.trim());
    if (!m) {
      diagnostics.push({ file, line, severity: 'error', message: `not a section header or a key = value line: ${stripped}` });
      last = undefined;
      return;
    }
    if (!section) {
      diagnostics.push({ file, line, severity: 'error', message: 'a key before the first [section] header' });
      return;
    }
    const key = m[1]!.toLowerCase();
    if (section.values.has(key)) {
      diagnostics.push({ file, line, severity: 'error', message: `key ${key} appears twice in [${section.name}]` });
      return;
    }
    last = { value: m[2]!.trim(), file, line };
    section.values.set(key, last);
  });
  return sections;
}

/** Python's inline_comment_prefixes (';', '#'): a prefix counts after whitespace only. */
function stripInlineComment(line: string): string {
  const m = /\s[;#]/.exec(line);
  return m ? line.slice(0, m.index) : line;
}

/** `%(name)s` and the like with Python's % operator; throws with the name of an unknown expansion. */
export function expand(text: string, names: Record<string, string | number>): string {
  return text.replace(
    /%(?:\(([^)]*)\)([#0 +-]*)(\d*)(?:\.(\d+))?([sdirf])|%)/g,
    (all, name: string | undefined, flags: string, width: string, _p, type: string) => {
      if (all === '%%') return '%';
      if (name === undefined) return all;
      if (!Object.hasOwn(names, name))
        throw new Error(
          `unknown expansion %(${name})${type} (known: ${Object.keys(names)
            .filter((n) => !n.startsWith('ENV_'))
            .join(', ')}, ENV_*)`,
        );
      const value = names[name]!;
      let out: string;
      if (type === 'd' || type === 'i') {
        const n = Number(value);
        if (!Number.isFinite(n)) throw new Error(`%(${name})${type} needs a number: ${value}`);
        out = String(Math.trunc(n));
      } else {
        out = String(value);
      }
      const w = width === '' ? 0 : Number(width);
      if (out.length < w) {
        if (flags.includes('-')) out = out.padEnd(w);
        else if (flags.includes('0') && type !== 's') out = out.startsWith('-') ? `-${out.slice(1).padStart(w - 1, '0')}` : out.padStart(w, '0');
        else out = out.padStart(w);
      }
      return out;
    },
  );
}

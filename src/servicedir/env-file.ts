// `--env-file FILE`: KEY=VALUE lines, read as foreman reads a `.env` (and as
// docker compose does for these forms). Pure. The grammar, exactly:
//   - lines end at LF (a CR before it is dropped);
//   - a line that is empty or blank, or whose first non-blank character is
//     `#`, is skipped;
//   - any other line is `KEY=VALUE`: KEY is letters, digits and `_`, not
//     starting with a digit, with nothing before it (no blanks, no
//     `export`); VALUE is the rest of the line, as it is (blanks kept,
//     `#` is not a comment there), except that
//       - 'text' (single quotes first and last) is text, as it is;
//       - "text" (double quotes first and last) is text with `\n` as a
//         newline and `\X` as X for any other character;
//   - anything else is an error, reported with the file and line.
// A key given twice keeps its last value.

export type EnvFileResult = { ok: true; env: Record<string, string> } | { ok: false; line: number; message: string };

const LINE = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;

export function parseEnvFile(text: string): EnvFileResult {
  const env: Record<string, string> = {};
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) return { ok: false, line: i + 1, message: 'not KEY=VALUE (KEY: letters, digits and _, not starting with a digit)' };
    const value = m[2]!;
    let parsed = value;
    if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) parsed = value.slice(1, -1);
    else if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      parsed = value.slice(1, -1).replace(/\\(.)/gs, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    env[m[1]!] = parsed;
  }
  return { ok: true, env };
}

// When a log service's `log/run` is nothing but `exec svlogd ...` (the form
// of util/exec-line.ts, `svlogd` found on PATH or an absolute path ending
// in `/svlogd`), runsvdir can run the logger in-process instead of as a
// process (README, "Loggers in-process"). Anything else runs as a process,
// as under runit.
import { parseExecLine, namesProgram } from '../util/exec-line.js';
import { parseSvlogdArgs, type SvlogdOptions } from './args.js';

/** svlogd's options from a canonical `log/run`, or undefined. */
export function parseCanonicalLogRun(text: string): SvlogdOptions | undefined {
  const line = parseExecLine(text);
  if (!line || !namesProgram(line.words[0]!, 'svlogd')) return undefined;
  const parsed = parseSvlogdArgs(line.words.slice(1));
  return parsed.ok ? parsed.options : undefined;
}

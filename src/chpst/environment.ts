// The program's environment as runit's pathexec_env builds it: chpst's own
// environment, byte for byte, plus a list of changes applied in order. Pure.
import { getEnv } from '../util/environ.js';

const EQUALS = 0x3d;

/**
 * Changes to an environment. An entry `NAME=value` replaces the first
 * `NAME=` entry (or is added); an entry without `=` removes the first one.
 * A removed entry's place is taken by the last entry, as in runit, so the
 * order of the result is runit's too.
 */
export class Environment {
  private readonly changes: Buffer[] = [];

  constructor(private readonly original: readonly Buffer[]) {}

  set(name: string | Buffer, value: string | Buffer): void {
    this.changes.push(Buffer.concat([Buffer.from(name), Buffer.from('='), Buffer.from(value)]));
  }

  unset(name: string | Buffer): void {
    this.changes.push(Buffer.from(name));
  }

  /** The resulting `NAME=value` entries. */
  entries(): Buffer[] {
    const result = [...this.original];
    for (const change of this.changes) {
      let split = change.indexOf(EQUALS);
      const adds = split >= 0;
      if (!adds) split = change.length;
      const at = result.findIndex((entry) => entry.length > split && entry[split] === EQUALS && entry.compare(change, 0, split, 0, split) === 0);
      if (at >= 0) {
        const last = result.pop()!;
        if (at < result.length) result[at] = last;
      }
      if (adds) result.push(change);
    }
    return result;
  }
}

// also exported from here, where chpst's unit tests import it
export { getEnv };

/**
 * An environment file's value (chpst(8), -e): undefined for an empty file
 * (the variable is removed); else the first line without trailing spaces
 * and tabs, with NUL bytes turned into newlines.
 */
export function envFileValue(content: Buffer): Buffer | undefined {
  if (content.length === 0) return undefined;
  let end = content.indexOf(0x0a);
  if (end < 0) end = content.length;
  while (end > 0 && (content[end - 1] === 0x20 || content[end - 1] === 0x09)) end--;
  const value = Buffer.from(content.subarray(0, end));
  for (let i = 0; i < value.length; i++) if (value[i] === 0) value[i] = 0x0a;
  return value;
}

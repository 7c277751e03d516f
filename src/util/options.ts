// Options of runit-ts's own command (runit's commands keep djb's sgetopt,
// getopt.ts): `--name`, `--name=value`, `--name value`, one-letter aliases
// (`-n 5`, `-n5`), anywhere among the operands until `--`. An option given
// twice keeps its last value, unless its spec says `repeat`: then every
// value is kept, in order (`--env A=1 --env B=2`).

export interface OptionSpec {
  /** long name (without `--`) → whether it takes a value, and whether each of its values is kept */
  readonly [name: string]: { value: boolean; short?: string; repeat?: boolean };
}

export type ParsedOptions =
  | {
      ok: true;
      /** each option given → its last value (true for one without a value) */
      options: Map<string, string | true>;
      /** each `repeat` option given → all its values, in the order given */
      lists: Map<string, string[]>;
      operands: string[];
      /** how many operands came before `--` (all of them when there is none) */
      beforeDashDash: number;
    }
  | { ok: false; message: string };

export function parseOptions(args: readonly string[], spec: OptionSpec): ParsedOptions {
  const options = new Map<string, string | true>();
  const lists = new Map<string, string[]>();
  const operands: string[] = [];
  let beforeDashDash: number | undefined;
  const byShort = new Map(Object.entries(spec).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      beforeDashDash = operands.length;
      operands.push(...args.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (!Object.hasOwn(spec, name)) return { ok: false, message: `unknown option: --${name}` };
    } else if (arg.length > 1 && arg[0] === '-') {
      name = byShort.get(arg[1]!);
      if (name === undefined) return { ok: false, message: `unknown option: -${arg[1]}` };
      if (arg.length > 2) {
        if (!spec[name]!.value) return { ok: false, message: `option -${arg[1]} takes no value` };
        inline = arg.slice(2);
      }
    } else {
      operands.push(arg);
      continue;
    }
    if (!spec[name]!.value) {
      if (inline !== undefined) return { ok: false, message: `option --${name} takes no value` };
      options.set(name, true);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) return { ok: false, message: `option --${name} needs a value` };
    options.set(name, value);
    if (spec[name]!.repeat) {
      const list = lists.get(name);
      if (list) list.push(value);
      else lists.set(name, [value]);
    }
  }
  return { ok: true, options, lists, operands, beforeDashDash: beforeDashDash ?? operands.length };
}

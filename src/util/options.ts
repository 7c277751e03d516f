// Options of runit-ts's own command (runit's commands keep djb's sgetopt,
// getopt.ts): `--name`, `--name=value`, `--name value`, one-letter aliases
// (`-n 5`, `-n5`), anywhere among the operands until `--`.

export interface OptionSpec {
  /** long name (without `--`) → whether it takes a value */
  readonly [name: string]: { value: boolean; short?: string };
}

export type ParsedOptions = { ok: true; options: Map<string, string | true>; operands: string[] } | { ok: false; message: string };

export function parseOptions(args: readonly string[], spec: OptionSpec): ParsedOptions {
  const options = new Map<string, string | true>();
  const operands: string[] = [];
  const byShort = new Map(Object.entries(spec).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
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
  }
  return { ok: true, options, operands };
}

// Command-line options as runit's programs read them (djb sgetopt).
// src/util/ holds pure functions that every layer may import; a module here
// imports nothing but Node's built-ins (and other src/util/ modules), keeps
// no state and does no I/O.

/** An option (with its argument when the option string gives it a `:`), or sgetopt's complaint. */
export type GetoptItem = { opt: string; arg?: string } | GetoptError;

/** An unknown option (`illegal`), or one whose argument is missing at the end of argv (`missing`). */
export interface GetoptError {
  error: 'illegal' | 'missing';
  opt: string;
}

/**
 * djb sgetopt over `args` (argv without argv[0]) from `state.index`, for
 * `optstring` (`w:vV`: a letter, `:` after those that take an argument).
 * Options precede operands: parsing stops at the first non-option, at `-`
 * (an operand), or after an argument starting with `--` (which is
 * skipped). Options may be grouped (`-vP`); an argument is the rest of the
 * word (`-w5`) or the next word (`-w 5`, even `-w -v`). `:` is never an
 * option. One error at most is yielded, and parsing stops there.
 * `state.index` is left at the first operand.
 */
export function* sgetopt(args: readonly string[], optstring: string, state: { index: number }): Generator<GetoptItem> {
  let i = state.index;
  try {
    while (i < args.length) {
      const arg = args[i]!;
      if (arg[0] !== '-' || arg.length === 1) return;
      if (arg[1] === '-') {
        i++;
        return;
      }
      let pos = 1;
      let tookArgument = false;
      while (pos < arg.length) {
        const opt = arg[pos++]!;
        const at = opt === ':' ? -1 : optstring.indexOf(opt);
        if (at < 0) {
          yield { error: 'illegal', opt };
          return;
        }
        if (optstring[at + 1] !== ':') {
          yield { opt };
          continue;
        }
        let value = arg.slice(pos);
        i++;
        if (value === '') {
          if (i >= args.length) {
            yield { error: 'missing', opt };
            return;
          }
          value = args[i++]!;
        }
        tookArgument = true;
        yield { opt, arg: value };
        break;
      }
      if (!tookArgument) i++;
    }
  } finally {
    state.index = i;
  }
}

/** sgetopt's message for an error, without the program name: `illegal option -- x`. */
export function getoptMessage(error: GetoptError): string {
  return error.error === 'illegal' ? `illegal option -- ${error.opt}` : `option requires an argument -- ${error.opt}`;
}

// runit-ts SUBCOMMAND ...: what runit has no command for (docs/runit-ts.md).
// runit's own commands stay as they are; this one reads the same on-disk
// protocol, so it works over Debian's runsv as over runit-ts.
import { writeErr, writeOut } from './output.js';
import { parseOptions, type OptionSpec } from '../util/options.js';
import { takeStartState } from '../sys/launch.js';
import { errorTextOf } from '../sys/errstr.js';

/** Exit codes (docs/runit-ts.md): as sv's, the count of services that failed, at most 99. */
const EXIT_USAGE = 100;
const EXIT_FATAL = 111;

interface Subcommand {
  usage: string;
  summary: string;
  options: OptionSpec;
  run(options: Map<string, string | true>, operands: string[]): number | Promise<number>;
}

/** `runit-ts serve`'s address unless told otherwise. */
const DEFAULT_LISTEN = '127.0.0.1:9420';

const HELP: OptionSpec = { help: { value: false, short: 'h' } };

const SUBCOMMANDS: Record<string, Subcommand> = {
  status: {
    usage: 'status [--json] [service ...]',
    summary: 'state, pid, uptime, CPU and memory of every service in $SVDIR (or those named) and of its log service',
    options: { ...HELP, json: { value: false } },
    async run(options, operands) {
      const { readServices } = await import('../observe/service-status.js');
      const { statusJson, statusTable } = await import('../observe/status-format.js');
      const svdir = process.env.SVDIR ?? '/etc/service/';
      let services: ReturnType<typeof readServices>;
      try {
        services = readServices(svdir, operands, (message) => writeErr(`runit-ts: warning: ${message}\n`));
      } catch (err) {
        writeErr(`runit-ts: fatal: unable to open directory ${svdir}: ${errorTextOf(err)}\n`);
        return EXIT_FATAL;
      }
      const now = Date.now() / 1000;
      if (options.has('json')) writeOut(statusJson(services, now));
      else writeOut(statusTable(services, now, colourWanted()));
      return Math.min(99, services.filter((s) => s.error !== null).length);
    },
  },
  events: {
    usage: 'events [--json] [service ...]',
    summary:
      'a line for each change of every service in $SVDIR (or those named) and its log service, as it happens: up, down, finish, restart, want up, want down, paused, continued, supervisor up or down, and services added to $SVDIR or removed; --json gives one JSON object a line. Runs until SIGINT, SIGTERM or SIGHUP',
    options: { ...HELP, json: { value: false } },
    async run(options, operands) {
      const { ServiceEvents, eventLine } = await import('../observe/events.js');
      const svdir = process.env.SVDIR ?? '/etc/service/';
      const json = options.has('json');
      const events = new ServiceEvents(
        svdir,
        operands,
        (event) => writeOut(json ? `${JSON.stringify(event)}\n` : eventLine(event)),
        (message) => writeErr(`runit-ts: warning: ${message}\n`),
      );
      try {
        events.start();
      } catch (err) {
        writeErr(`runit-ts: fatal: unable to open directory ${svdir}: ${errorTextOf(err)}\n`);
        return EXIT_FATAL;
      }
      await untilSignalled();
      events.close();
      return 0;
    },
  },
  serve: {
    usage: 'serve [--listen ADDR:PORT | --socket PATH] [--host NAME,...] [--control] [--token-file PATH]',
    summary: `an HTTP server for $SVDIR: /metrics (Prometheus), /livez and /readyz, the JSON API under /api/, and the dashboard at /. It listens on ${DEFAULT_LISTEN} unless told otherwise; --host adds Host names it answers to. Read-only unless --control: then POST /api/services/NAME/ACTION with the bearer token of the token file (made, mode 0600, when missing)`,
    options: { ...HELP, listen: { value: true }, socket: { value: true }, host: { value: true }, control: { value: false }, 'token-file': { value: true } },
    async run(options) {
      const { serve } = await import('../http/serve.js');
      const text = (key: string) => {
        const v = options.get(key);
        return typeof v === 'string' ? v : undefined;
      };
      if (options.has('listen') && options.has('socket')) return usageError('serve', '--listen and --socket exclude each other');
      const result = await serve({
        svdir: process.env.SVDIR ?? '/etc/service/',
        listen: text('listen') ?? DEFAULT_LISTEN,
        socket: text('socket'),
        hosts: text('host')?.split(',') ?? [],
        control: options.has('control'),
        tokenFile: text('token-file'),
        info: (message) => writeErr(`runit-ts serve: info: ${message}\n`),
        warn: (message) => writeErr(`runit-ts serve: warning: ${message}\n`),
      });
      if (typeof result === 'string') {
        writeErr(`runit-ts serve: fatal: ${result}\n`);
        return EXIT_FATAL;
      }
      await untilSignalled();
      result.close();
      return 0;
    },
  },
  logs: {
    usage: 'logs [-f] [-n N] [--since TIME] [--dir DIR] service',
    summary:
      "the service's svlogd log: its last N lines (10; all since TIME with --since) across the rotated files and current, stamps as local time; -f follows it across rotations. The directory is the one log/run gives svlogd, or --dir. TIME is a date, a date and time (ISO 8601, local unless it has a zone) or an age: 90s, 10m, 2h, 1d",
    options: { ...HELP, follow: { value: false, short: 'f' }, lines: { value: true, short: 'n' }, since: { value: true }, dir: { value: true } },
    async run(options, operands) {
      const { serviceDir } = await import('../observe/service-status.js');
      const { findLogDir, parseSince, presentLine } = await import('../observe/log-dir.js');
      const { LogFollower } = await import('../observe/log-follow.js');
      const name = operands[0];
      if (name === undefined || operands.length > 1) return usageError('logs', 'one service, please');
      const fail = (message: string) => {
        writeErr(`runit-ts: fatal: ${name}: ${message}\n`);
        return EXIT_FATAL;
      };
      const linesOption = options.get('lines');
      const count = typeof linesOption === 'string' ? (/^\d+$/.test(linesOption) ? Number(linesOption) : NaN) : undefined;
      if (Number.isNaN(count)) return usageError('logs', `not a number of lines: ${linesOption}`);
      const sinceOption = options.get('since');
      const since = typeof sinceOption === 'string' ? parseSince(sinceOption, Date.now()) : undefined;
      if (typeof sinceOption === 'string' && since === undefined) return usageError('logs', `not a time: ${sinceOption}`);
      let dir = options.get('dir');
      if (typeof dir !== 'string') {
        try {
          dir = findLogDir(serviceDir(process.env.SVDIR ?? '/etc/service/', name));
        } catch (err) {
          return fail(`unable to read log/run: ${errorTextOf(err)}`);
        }
        if (dir === undefined) return fail('log/run names no svlogd directory: give it with --dir');
      }
      const shown: string[] = [];
      let previous = false;
      let emit = (line: string): void => {
        shown.push(line);
      };
      const follower = new LogFollower(dir, (line) => {
        const out = presentLine(line, since, previous);
        previous = out !== undefined;
        if (out !== undefined) emit(out);
      });
      try {
        follower.readAll();
      } catch (err) {
        follower.close();
        return fail(`unable to read ${dir}: ${errorTextOf(err)}`);
      }
      const keep = count ?? (since === undefined ? 10 : shown.length);
      writeOut(shown.slice(Math.max(0, shown.length - keep)).join('\n') + (keep > 0 && shown.length > 0 ? '\n' : ''));
      if (!options.has('follow')) {
        follower.close();
        return 0;
      }
      emit = (line) => writeOut(`${line}\n`);
      follower.follow();
      await untilSignalled();
      follower.close();
      return 0;
    },
  },
};

/** A command that runs until it is told to stop. */
function untilSignalled(): Promise<void> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => resolve());
  });
}

function usageError(command: string, message: string): number {
  writeErr(`runit-ts ${command}: ${message}\nusage: runit-ts ${SUBCOMMANDS[command]!.usage}\n\n`);
  return EXIT_USAGE;
}

/** Colour only on a terminal, and never when NO_COLOR is set to anything (no-color.org). */
function colourWanted(): boolean {
  return process.stdout.isTTY === true && !process.env.NO_COLOR;
}

function overview(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((n) => n.length));
  const lines = Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(width)}  ${s.summary}`);
  return `usage: runit-ts command [options] [argument ...]\n\ncommands:\n${lines.join('\n')}\n\nrunit-ts command --help describes one command.\n`;
}

async function main(argv: string[]): Promise<number> {
  takeStartState();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? writeErr : writeOut)(overview());
    return name === undefined ? EXIT_USAGE : 0;
  }
  const sub = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (!sub) {
    writeErr(`runit-ts: unknown command: ${name}\n${overview()}`);
    return EXIT_USAGE;
  }
  const parsed = parseOptions(rest, sub.options);
  if (!parsed.ok) return usageError(name, parsed.message);
  if (parsed.options.has('help')) {
    writeOut(`usage: runit-ts ${sub.usage}\n\n${sub.summary}.\n`);
    return 0;
  }
  return sub.run(parsed.options, parsed.operands);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    writeErr(`runit-ts: fatal: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT_FATAL;
  },
);

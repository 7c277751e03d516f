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
  run(options: Map<string, string | true>, operands: string[], parsed: { lists: Map<string, string[]>; beforeDashDash: number }): number | Promise<number>;
}

/** `runit-ts serve`'s address unless told otherwise. */
const DEFAULT_LISTEN = '127.0.0.1:9420';

const HELP: OptionSpec = { help: { value: false, short: 'h' } };

const SUBCOMMANDS: Record<string, Subcommand> = {
  status: {
    usage: 'status [--json] [--verbose] [service ...]',
    summary:
      'state, pid, uptime, CPU and memory of every service in $SVDIR (or those named) and of its log service; --verbose adds what contains each (its cgroup, or its process group)',
    options: { ...HELP, json: { value: false }, verbose: { value: false, short: 'v' } },
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
      else writeOut(statusTable(services, now, colourWanted(), options.has('verbose')));
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
  add: {
    usage: 'add NAME [options] {-- COMMAND [ARGS...] | --shell LINE}',
    summary:
      'write a service directory into $SVDIR (or --dir) at once, renamed into place when complete: run (exec chpst with --user, --env, --env-file, --nofile, --memory, --nproc, --nice, --umask, --cwd), env/, log/run with svlogd -tt ./main (--no-log, --log-dir), down (--down), and the readiness and policy files (--notify, --notification-fd N, --watchdog SEC, --needs a,b, --backoff FIRST,CAP, --timeout-kill MS, --down-signal SIG); --force replaces a service of that name. Then, unless --down or --no-wait, wait up to --wait SEC (10) until it runs and show its status',
    options: {
      ...HELP,
      dir: { value: true },
      cwd: { value: true },
      user: { value: true, short: 'u' },
      env: { value: true, short: 'e', repeat: true },
      'env-file': { value: true, repeat: true },
      nofile: { value: true },
      memory: { value: true },
      nproc: { value: true },
      nice: { value: true },
      umask: { value: true },
      down: { value: false },
      'no-log': { value: false },
      'log-dir': { value: true },
      notify: { value: false },
      'notification-fd': { value: true },
      watchdog: { value: true },
      needs: { value: true, repeat: true },
      backoff: { value: true },
      'timeout-kill': { value: true },
      'down-signal': { value: true },
      force: { value: false },
      wait: { value: true },
      'no-wait': { value: false },
      shell: { value: true },
    },
    async run(options, operands, parsed) {
      const { addSpec } = await import('../servicedir/add-options.js');
      const { installService, InstallError } = await import('../servicedir/write.js');
      const { SpecError, NOT_ACTED_ON } = await import('../servicedir/render.js');
      const { readFileSync } = await import('node:fs');
      const fatal = (message: string, code = EXIT_FATAL) => {
        writeErr(`runit-ts add: fatal: ${message}\n`);
        return code;
      };
      const envFiles = new Map<string, string>();
      for (const file of parsed.lists.get('env-file') ?? []) {
        try {
          envFiles.set(file, readFileSync(file, 'utf8'));
        } catch (err) {
          return fatal(`unable to read ${file}: ${errorTextOf(err)}`, EXIT_USAGE);
        }
      }
      const r = addSpec(options, parsed.lists, operands, parsed.beforeDashDash, process.env, envFiles);
      if (!r.ok) return r.usage ? usageError('add', r.message) : fatal(r.message, EXIT_USAGE);
      const { spec, svdir } = r;
      if (spec.user !== undefined) {
        const { getUser, getGroup } = await import('../sys/identity.js');
        if (!getUser(spec.user)) return fatal(`unknown user: ${spec.user}`, EXIT_USAGE);
        if (spec.group !== undefined && getGroup(spec.group) === undefined) return fatal(`unknown group: ${spec.group}`, EXIT_USAGE);
      }
      if (spec.cwd !== undefined) {
        const { resolve } = await import('node:path');
        const { statSync } = await import('node:fs');
        spec.cwd = resolve(spec.cwd);
        if (!statSync(spec.cwd, { throwIfNoEntry: false })?.isDirectory())
          writeErr(`runit-ts add: warning: ${spec.name}: --cwd ${spec.cwd}: no such directory (yet): run fails until it exists\n`);
      }
      let installed: Awaited<ReturnType<typeof installService>>;
      try {
        installed = await installService(svdir, spec, { force: options.has('force'), stopTimeoutMs: r.waitMs ?? 10_000 });
      } catch (err) {
        if (err instanceof SpecError) return fatal(err.message, EXIT_USAGE);
        if (err instanceof InstallError) return fatal(err.message);
        throw err;
      }
      for (const file of installed.rendered.inert) writeErr(`runit-ts add: note: ${spec.name}: ${file} written, not acted on yet: ${NOT_ACTED_ON[file]}\n`);
      if (installed.replaced && !installed.replaced.hadSupervisor) writeErr(`runit-ts add: note: ${spec.name}: the replaced service had no supervisor\n`);
      writeOut(
        `${spec.name}: ${installed.replaced ? 'replaced' : 'written'}: ${installed.dir}${spec.down ? ` (down: start it with sv up ${installed.dir})` : ''}\n`,
      );
      if (r.waitMs === undefined) return 0;
      const { waitRunning } = await import('../servicedir/wait.js');
      const up = await waitRunning(svdir, spec.name, r.waitMs);
      const { readServices } = await import('../observe/service-status.js');
      const { statusTable } = await import('../observe/status-format.js');
      const services = readServices(svdir, [spec.name], () => {});
      writeOut(statusTable(services, Date.now() / 1000, colourWanted()));
      if (up) return 0;
      const s = services[0];
      const why = !s?.supervised
        ? `no supervisor (is a runsvdir watching ${svdir}?)`
        : s.state !== 'run'
          ? `its state is ${s.state ?? s.error}`
          : `its log service's state is ${s.log?.state ?? s.log?.error}`;
      writeErr(`runit-ts add: warning: ${spec.name}: not running after ${r.waitMs / 1000}s: ${why}\n`);
      return 1;
    },
  },
  remove: {
    usage: 'remove NAME [--dir DIR] [--purge] [--wait SEC]',
    summary:
      'take service NAME out of $SVDIR (or --dir) so that runsvdir stops its supervisor, and make sure it and its log service are down and no supervisor is left: it is told to exit at once, and killed if still there after --wait SEC (10). The directory is kept, with its logs, as .NAME.removed-STAMP in the same place (runsvdir ignores dot names), or deleted with --purge; a symbolic link is removed and what it names left as it is',
    options: { ...HELP, dir: { value: true }, purge: { value: false }, wait: { value: true } },
    async run(options, operands) {
      const { removeService } = await import('../servicedir/remove.js');
      const { InstallError } = await import('../servicedir/write.js');
      const { invalidServiceName } = await import('../servicedir/spec.js');
      const name = operands[0];
      if (name === undefined || operands.length > 1) return usageError('remove', 'one service, please');
      const bad = invalidServiceName(name);
      if (bad) {
        writeErr(`runit-ts remove: fatal: invalid service name: ${name}: ${bad}\n`);
        return EXIT_USAGE;
      }
      const waitText = options.get('wait');
      const waitSeconds = typeof waitText === 'string' ? (/^(\d{1,9}(\.\d*)?|\.\d+)$/.test(waitText) ? Number(waitText) : NaN) : 10;
      if (Number.isNaN(waitSeconds)) {
        writeErr(`runit-ts remove: fatal: invalid --wait: ${waitText}: a number of seconds\n`);
        return EXIT_USAGE;
      }
      const dirOption = options.get('dir');
      const svdir = typeof dirOption === 'string' ? dirOption : (process.env.SVDIR ?? '/etc/service/');
      let removed: Awaited<ReturnType<typeof removeService>>;
      try {
        removed = await removeService(svdir, name, { purge: options.has('purge'), timeoutMs: Math.round(waitSeconds * 1000) });
      } catch (err) {
        if (err instanceof InstallError) {
          writeErr(`runit-ts remove: fatal: ${err.message}\n`);
          return EXIT_FATAL;
        }
        throw err;
      }
      if (removed.missing) {
        writeErr(`runit-ts remove: warning: ${name}: no such service in ${svdir}: nothing removed\n`);
        return 1;
      }
      const stop = removed.stop;
      if (stop && !stop.stopped) {
        writeErr(
          `runit-ts remove: fatal: ${name}: still there after ${waitSeconds}s and SIGKILL: ${stop.left.join(', ')}${removed.keptAs ? `; its directory is ${removed.keptAs}` : ''}\n`,
        );
        return EXIT_FATAL;
      }
      const how = !stop?.hadSupervisor ? 'no supervisor was running' : stop.killed ? `stopped (killed after ${waitSeconds}s)` : 'stopped';
      if (removed.linkTo !== undefined) writeOut(`${name}: removed (the link to ${removed.linkTo}, which is left as it is): ${how}\n`);
      else if (removed.purged) writeOut(`${name}: removed and deleted: ${how}\n`);
      else writeOut(`${name}: removed: ${how}; kept as ${removed.keptAs}\n`);
      if (removed.externalLog) writeErr(`runit-ts remove: note: ${name}: its log directory ${removed.externalLog} is left as it is\n`);
      return 0;
    },
  },
  import: {
    usage:
      'import FILE... [--from procfile|pm2|supervisord|systemd] [--dir DIR] [--user U] [--env NAME] [--formation web=2,worker=1] [--env-file F] [--dry-run] [--force]',
    summary:
      'service directories from a Procfile (and its .env), a PM2 ecosystem file (.js evaluated in a child node, .json, .yaml), a supervisord.conf or systemd .service units (several units at once), written into $SVDIR (or --dir) like runit-ts add writes them; prints for each service what was mapped and what was not and why (docs/import.md). --dry-run writes nothing and shows the files it would write; a service that exists is refused unless --force',
    options: {
      ...HELP,
      from: { value: true },
      dir: { value: true },
      user: { value: true, short: 'u' },
      env: { value: true },
      formation: { value: true },
      'env-file': { value: true },
      'dry-run': { value: false, short: 'n' },
      force: { value: false },
    },
    async run(options, operands) {
      const { importFiles } = await import('../import/load.js');
      const { formatDiagnostic, hasErrors } = await import('../import/common.js');
      const { fileReport, serviceReport } = await import('../import/report.js');
      const { renderService } = await import('../servicedir/render.js');
      const { installService } = await import('../servicedir/write.js');
      const text = (key: string) => {
        const v = options.get(key);
        return typeof v === 'string' ? v : undefined;
      };
      if (operands.length === 0) return usageError('import', 'a file to import, please');
      const from = text('from');
      if (from !== undefined && !['procfile', 'pm2', 'supervisord', 'systemd'].includes(from)) return usageError('import', `not a format: ${from}`);
      const loaded = await importFiles(operands, {
        from: from as 'procfile' | 'pm2' | 'supervisord' | 'systemd' | undefined,
        envName: text('env'),
        formation: text('formation'),
        envFile: text('env-file'),
      });
      if ('error' in loaded) {
        writeErr(`runit-ts import: fatal: ${loaded.error}\n`);
        return EXIT_FATAL;
      }
      const { result } = loaded;
      const onlyFor: [string, string][] = [
        ['env', 'pm2'],
        ['formation', 'procfile'],
        ['env-file', 'procfile'],
      ];
      for (const [option, format] of onlyFor) {
        if (options.has(option) && loaded.format !== format) writeErr(`runit-ts import: warning: --${option} applies to ${format} files only: ignored\n`);
      }
      for (const d of result.diagnostics) writeErr(`runit-ts import: ${formatDiagnostic(d)}\n`);
      if (hasErrors(result)) {
        writeErr('runit-ts import: fatal: nothing written\n');
        return EXIT_FATAL;
      }
      if (result.services.length === 0) {
        writeErr('runit-ts import: fatal: no service in the file\n');
        return EXIT_FATAL;
      }
      const user = text('user');
      const svdir = text('dir') ?? process.env.SVDIR ?? '/etc/service/';
      const dryRun = options.has('dry-run');
      const rendered = [];
      for (const service of result.services) {
        if (user !== undefined) {
          if (service.spec.user !== undefined && service.spec.user !== user)
            (service.spec.notes ??= []).push(`user ${service.spec.user} replaced by --user ${user}`);
          service.spec.user = user;
          service.spec.group = undefined;
          service.mapped.push({ key: '--user', value: user, to: 'chpst -u' });
        }
        try {
          rendered.push(renderService(service.spec));
        } catch (err) {
          writeErr(`runit-ts import: fatal: ${service.spec.name}: ${errorTextOf(err)}: nothing written\n`);
          return EXIT_FATAL;
        }
      }
      const { accessSync, constants, existsSync, statSync } = await import('node:fs');
      const dirOf = (name: string) => (svdir.endsWith('/') ? svdir + name : `${svdir}/${name}`);
      if (!dryRun) {
        try {
          if (!statSync(svdir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
          accessSync(svdir, constants.W_OK);
        } catch (err) {
          writeErr(`runit-ts import: fatal: unable to write into services directory ${svdir}: ${errorTextOf(err)}: nothing written\n`);
          return EXIT_FATAL;
        }
      }
      if (!dryRun && !options.has('force')) {
        const there = result.services.filter((s) => existsSync(dirOf(s.spec.name))).map((s) => s.spec.name);
        if (there.length > 0) {
          writeErr(`runit-ts import: fatal: ${there.join(', ')}: exist${there.length === 1 ? 's' : ''} in ${svdir}: --force replaces; nothing written\n`);
          return EXIT_FATAL;
        }
      }
      writeOut(`${loaded.format}: ${result.services.length} service${result.services.length === 1 ? '' : 's'}\n`);
      let failed = 0;
      for (const [i, service] of result.services.entries()) {
        writeOut(`\n${serviceReport(service)}`);
        if (dryRun) {
          writeOut(`  would write ${dirOf(service.spec.name)}/:\n`);
          for (const entry of rendered[i]!.entries) {
            writeOut(`    ${entry.path}${entry.type === 'dir' ? '/' : ''} (${entry.mode.toString(8).padStart(4, '0')})\n`);
          }
          const external = rendered[i]!.externalLogDir;
          if (external) writeOut(`    and the log directory ${external.dir}\n`);
          continue;
        }
        try {
          const installed = await installService(svdir, service.spec, { force: options.has('force'), stopTimeoutMs: 10000 });
          writeOut(`  written: ${installed.dir}\n`);
          if (installed.rendered.inert.length > 0) writeOut(`  written, not acted on yet: ${installed.rendered.inert.join(', ')}\n`);
        } catch (err) {
          writeErr(`runit-ts import: fatal: ${service.spec.name}: ${err instanceof Error ? err.message : String(err)}\n`);
          failed++;
        }
      }
      const rest = fileReport(result);
      if (rest !== '') writeOut(`\n${rest}`);
      return Math.min(99, failed);
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
  return sub.run(parsed.options, parsed.operands, parsed);
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

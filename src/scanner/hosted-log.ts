// runsvdir's in-process loggers: a log service whose log/run is the
// canonical `exec svlogd ...` runs as a Logger on the service's log pipe,
// writing exactly the files a separate svlogd would (docs/architecture.md).
import { readFileSync, existsSync } from 'node:fs';
import { parseCanonicalLogRun } from '../logger/canonical.js';
import type { Logger } from '../logger/logger.js';
import type { InProcessLog } from '../supervisor/supervisor.js';
import type { ExitStatus } from '../sys/spawn.js';

/** In a service's log/ directory, this file keeps log/run a process. */
export const OPT_OUT_FILE = 'no-hosted-log';
/**
 * In the log service's supervise/ directory: the journal through which the
 * in-process logger reads the log pipe, so that a kill of the host loses
 * and duplicates no line (logger/journal.ts, docs/differences.md).
 */
export const JOURNAL_FILE = 'logjournal';

type LoggerModules = { Logger: typeof Logger; textReporter: typeof import('../logger/report.js').textReporter };
let loaded: LoggerModules | undefined;
let loading: Promise<LoggerModules> | undefined;

/**
 * The logger's modules, loaded once the first canonical log/run is found:
 * a runsvdir that hosts no logger never compiles or runs them (~0.6 MB of
 * its memory when they were separate files; in the bundle their source is
 * there, the rest is still saved).
 */
function loadLogger(): Promise<LoggerModules> {
  loading ??= Promise.all([import('../logger/logger.js'), import('../logger/report.js')]).then(
    ([logger, report]) => (loaded = { Logger: logger.Logger, textReporter: report.textReporter }),
  );
  return loading;
}

/**
 * A factory for SupervisorOptions.hostLog. `write` takes the loggers'
 * messages and `e` lines: the host's message path (host-output.ts), where
 * svlogd would write its stderr.
 */
export function hostCanonicalLoggers(options: { childNofile?: bigint; write: (data: string | Buffer) => void }): (logDir: string) => InProcessLog | undefined {
  const write = options.write;
  return (logDir) => {
    if (existsSync(`${logDir}/${OPT_OUT_FILE}`)) return undefined;
    let text: string;
    try {
      text = readFileSync(`${logDir}/run`, 'utf8');
    } catch {
      return undefined; // let the process path report it as runit would
    }
    const args = parseCanonicalLogRun(text);
    if (!args) return undefined;
    loadLogger().catch(() => {}); // (start says why it failed)
    let logger: Logger | undefined;
    // letters that arrive while the logger's modules are still loading
    let pending: NodeJS.Signals[] | undefined;
    const begin = (input: number, onExit: (status: ExitStatus) => void, { Logger, textReporter }: LoggerModules): void => {
      logger = new Logger({
        input,
        keepInput: true,
        journal: `${logDir}/supervise/${JOURNAL_FILE}`,
        dirs: args.dirs,
        cwd: logDir,
        timestamp: args.timestamp,
        verbose: args.verbose,
        replacement: args.replacement,
        replaceBytes: args.replaceBytes,
        lineMax: args.lineMax,
        bufLen: args.bufLen,
        reporter: textReporter(write),
        spawnOptions: { nofile: options.childNofile },
      });
      logger.done.then((exit) => onExit(exit.killed ? { code: null, signal: 9 } : { code: exit.code, signal: 0 }));
      logger.start();
      for (const signal of pending?.splice(0) ?? []) deliver(signal);
    };
    const deliver = (signal: NodeJS.Signals): void => {
      if (!logger) {
        pending?.push(signal);
        return;
      }
      const info = (text: string) => args.verbose && write(`svlogd: info: ${text}\n`);
      switch (signal) {
        case 'SIGHUP':
          info('sighangup received.');
          return logger.reopen();
        case 'SIGALRM':
          info('sigalarm received.');
          return logger.rotate();
        case 'SIGTERM':
          info('sigterm received.');
          return logger.terminate();
        // signals svlogd leaves at their default action end it
        case 'SIGKILL':
        case 'SIGINT':
        case 'SIGQUIT':
        case 'SIGUSR1':
        case 'SIGUSR2':
          return logger.kill();
        default:
        // STOP/CONT: an in-process logger is not paused (README)
      }
    };
    return {
      start(input: number, onExit: (status: ExitStatus) => void) {
        if (loaded) return begin(input, onExit, loaded);
        pending = [];
        loadLogger().then(
          (modules) => begin(input, onExit, modules),
          (err: unknown) => {
            write(`svlogd: fatal: unable to load the logger: ${err instanceof Error ? err.message : String(err)}\n`);
            onExit({ code: 111, signal: 0 });
          },
        );
      },
      signal: deliver,
    };
  };
}

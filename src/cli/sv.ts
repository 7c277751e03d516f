// sv [-v] [-w sec] command service ...   (sv(8))
// Called by any other name (a symlink /etc/init.d/foo -> sv), it is the LSB
// init script for the service `foo`: `foo [-w sec] command`.
import { openSync, closeSync } from 'node:fs';
import { writeOut, writeErr, programName } from './output.js';
import { parseSvArgs, scanUlong } from '../protocol/sv-args.js';
import { svCommand } from '../protocol/sv-commands.js';
import { SvSession, LsbExit } from '../protocol/sv-client.js';
import { errorTextOf } from '../sys/errstr.js';
import { takeStartState } from '../sys/launch.js';

const VERSION = '$Id: runit-ts sv 0.1.0 $';
const USAGE = ' [-v] [-w sec] command service ...';
const USAGE_LSB = ' [-w sec] command';

async function main(): Promise<number> {
  const start = Date.now();
  // ./check gets the environment sv was given
  takeStartState();
  const prog = programName();
  const lsb = prog !== 'sv';
  const usage = (): never => {
    writeErr(`usage: ${prog}${lsb ? USAGE_LSB : USAGE}\n\n`);
    process.exit(lsb ? 2 : 100);
  };

  const env = process.env;
  const svdir = env.SVDIR ?? '/etc/service/';
  let wait = env.SVWAIT !== undefined ? scanUlong(env.SVWAIT) : 7;

  const args = parseSvArgs(process.argv.slice(2));
  if (!args.ok) {
    writeErr(args.version ? `${VERSION}\n` : `${prog}: ${args.message}\n`);
    return usage();
  }
  const { operands, verbose } = args.options;
  if (args.options.wait !== undefined) wait = args.options.wait;
  const action = operands[0];
  if (action === undefined) return usage();
  const services = lsb ? [prog] : operands.slice(1);
  if (services.length === 0) return usage();

  try {
    closeSync(openSync('.', 'r'));
  } catch (err) {
    writeErr(`fatal: unable to open current directory: ${errorTextOf(err)}\n`);
    return lsb ? 151 : 100;
  }

  const command = svCommand(action, lsb);
  if (!command) return usage();

  const session = new SvSession({ svdir, wait, lsb, verbose, start }, { stdout: writeOut, stderr: writeErr });
  try {
    const pending = session.send(services, command);
    const waits = command.wait === 'always' || (command.wait === 'verbose' && verbose);
    if (waits && pending.length > 0) await session.waitAll(pending, command);
  } catch (err) {
    if (err instanceof LsbExit) return err.code;
    throw err;
  }
  return Math.min(session.rc, 99);
}

main().then((code) => process.exit(code));

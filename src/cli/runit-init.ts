// runit-init 0|6 (runit-init(8)): as process 1, become runit; otherwise
// ask process 1 to halt (0) or reboot (6). RUNIT_DIR as for runit.
import { writeErr } from './output.js';
import { takeStartState, commandInvocation } from '../sys/launch.js';

const argv0 = takeStartState().argv0 || 'runit-init';
const VERSION = '$Id: runit-ts runit-init 0.1.0 $';
const fatal = (text: string): never => {
  writeErr(`init: fatal: ${text}\n`);
  process.exit(111);
};

if (process.pid === 1) {
  // the kernel starts init: runit does the job
  const { execProgram } = await import('../sys/exec.js');
  const { takeStartNofile } = await import('../sys/host-state.js');
  const { errorTextOf } = await import('../sys/errstr.js');
  // runit with the NOFILE limit and the environment runit-init was started with
  const runit = commandInvocation('runit', process.env, takeStartNofile());
  try {
    execProgram(runit.file, [runit.file, ...runit.args], runit.env);
  } catch (err) {
    fatal(`unable to start runit: ${errorTextOf(err)}`);
  }
}

const arg = process.argv[2] ?? '';
const usage = (): never => {
  // Debian's runit-init exits 0 here (upstream: 1)
  writeErr(`usage: ${argv0} 0|6\n\n`);
  process.exit(0);
};
if (arg[0] === '0' || arg[0] === '6') {
  const { requestShutdown, RequestError } = await import('../init/request.js');
  const { stageDir } = await import('../init/settings.js');
  try {
    requestShutdown(stageDir(process.env), arg[0] === '6');
  } catch (err) {
    if (err instanceof RequestError) fatal(err.message);
    throw err;
  }
  process.exit(0);
}
if (arg[0] === '-' && arg[1] === 'V') writeErr(`${VERSION}\n\n`);
usage();

// runit: process 1 (runit(8)). Configured by the environment only:
// RUNIT_DIR (stage directory, default /etc/runit), RUNIT_GRACE (container
// mode: seconds a stop may take, default 8), RUNIT_CONTAINER (1: container
// mode, 0: runit's behaviour inside a PID namespace too). Details in
// docs/differences.md (## runit).
import { writeErr } from './output.js';

if (process.pid !== 1) {
  writeErr('- runit: fatal: must be run as process no 1.\n');
  process.exit(111);
}

// process 1 must not die of a bug: report it and go on
process.on('uncaughtException', (err) => writeErr(`- runit: warning: internal error: ${err.stack ?? err.message}\n`));

const { takeStartState } = await import('../sys/launch.js');
const { setsid } = await import('../sys/process.js');
const { takeStartNofile } = await import('../sys/host-state.js');
const { pidNamespaceInode } = await import('../sys/namespace.js');
const { reboot, RB } = await import('../sys/reboot.js');
const { readSettings } = await import('../init/settings.js');
const { detectMode } = await import('../init/mode.js');
const { Reaper } = await import('../init/reaper.js');
const { RealPlatform } = await import('../init/platform.js');
const { nameProcess } = await import('../sys/process-name.js');

nameProcess(['runit', ...process.argv.slice(2)]);
const { StageRunner } = await import('../init/runner.js');

const VERSION = '$Id: runit-ts runit 0.1.0 $';

// the stages get the environment runit was given
takeStartState();
setsid();
const nofile = takeStartNofile();
const settings = readSettings(process.env);
let mode = detectMode(pidNamespaceInode(), settings.container);
if (mode === 'host') {
  // Let the kernel send SIGINT on ctrl-alt-del instead of rebooting. In a
  // PID namespace other than the host's this fails with EINVAL: the way to
  // tell when /proc is not mounted.
  try {
    reboot(RB.DISABLE_CAD);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EINVAL' && settings.container === undefined) mode = 'container';
    else if ((err as NodeJS.ErrnoException).code === 'EINVAL') mode = 'system';
  }
}

let runner: InstanceType<typeof StageRunner> | undefined;
const reaper = new Reaper(() => runner?.reaped());
const platform = new RealPlatform({ console: mode !== 'container', nofile, reaper });
runner = new StageRunner(platform, { dir: settings.dir, mode, graceMs: settings.graceMs, version: VERSION });

for (const warning of settings.warnings) platform.print(`- runit: warning: ${warning}`);
const signals = ['SIGCONT', 'SIGINT', 'SIGPWR', ...(mode === 'container' ? ['SIGTERM'] : [])] as const;
for (const name of signals) process.on(name, () => runner!.signal(name.slice(3) as 'CONT' | 'INT' | 'PWR' | 'TERM'));
reaper.listen();
// process 1 never runs out of things to do: after a halt that did not
// happen, runit pauses forever
setInterval(() => {}, 0x7fffffff);
runner.start();

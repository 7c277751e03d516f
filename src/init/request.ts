// runit-init 0 and 6: ask process 1 to halt or reboot (runit-init(8)).
import { openSync, closeSync, chmodSync, constants } from 'node:fs';
import { errorTextOf } from '../sys/errstr.js';
import { flagFiles } from './flags.js';

/** A failure, with runit-init's message (without the `init: fatal: ` prefix). */
export class RequestError extends Error {}

function create(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_TRUNC | constants.O_CREAT, 0o644));
  } catch (err) {
    throw new RequestError(`unable to create ${path}: ${errorTextOf(err)}`);
  }
}

function chmod(path: string, mode: number, missingOk = false): void {
  try {
    chmodSync(path, mode);
  } catch (err) {
    if (missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new RequestError(`unable to chmod ${path}: ${errorTextOf(err)}`);
  }
}

/**
 * Set the flag files for a halt (`reboot` false) or a reboot, then send
 * SIGCONT to process 1, which then leaves stage 2.
 */
export function requestShutdown(dir: string, reboot: boolean): void {
  const flags = flagFiles(dir);
  create(flags.stopit);
  chmod(flags.stopit, 0o100);
  if (reboot) {
    create(flags.reboot);
    chmod(flags.reboot, 0o100);
  } else {
    chmod(flags.reboot, 0, true);
  }
  try {
    process.kill(1, 'SIGCONT');
  } catch {}
}

// How the stage runner is configured: environment variables only, since
// the kernel hands process 1 whatever command-line words it did not
// understand itself (runit ignores its arguments).
import { isAbsolute, resolve } from 'node:path';

export interface InitSettings {
  /** the stage directory: DIR/1, DIR/2, DIR/3, DIR/ctrlaltdel, DIR/stopit... */
  dir: string;
  /** container mode: how long an orderly stop may take, in milliseconds */
  graceMs: number;
  /** RUNIT_CONTAINER: force container mode on (true) or off (false) */
  container: boolean | undefined;
  /** what was wrong with the variables, one warning each */
  warnings: string[];
}

export const DEFAULT_DIR = '/etc/runit';
/**
 * Docker and Podman send SIGKILL 10 s after their stop signal; stopping
 * within 8 s leaves time for the final KILL and an exit status of our own.
 */
export const DEFAULT_GRACE_SECONDS = 8;

/** The stage directory of RUNIT_DIR (trailing slashes dropped), or /etc/runit. */
export function stageDir(env: NodeJS.ProcessEnv): string {
  const value = env.RUNIT_DIR;
  if (!value) return DEFAULT_DIR;
  const dir = isAbsolute(value) ? value : resolve(value);
  return dir.length > 1 ? dir.replace(/\/+$/, '') || '/' : dir;
}

export function readSettings(env: NodeJS.ProcessEnv): InitSettings {
  const warnings: string[] = [];
  let graceMs = DEFAULT_GRACE_SECONDS * 1000;
  const grace = env.RUNIT_GRACE;
  if (grace !== undefined) {
    if (/^\d+(\.\d+)?$/.test(grace)) graceMs = Math.round(Number(grace) * 1000);
    else warnings.push(`invalid RUNIT_GRACE: ${grace}, using ${DEFAULT_GRACE_SECONDS} seconds.`);
  }
  let container: boolean | undefined;
  const forced = env.RUNIT_CONTAINER;
  if (forced === '1') container = true;
  else if (forced === '0') container = false;
  else if (forced !== undefined && forced !== '') warnings.push(`invalid RUNIT_CONTAINER: ${forced}, must be 0 or 1.`);
  return { dir: stageDir(env), graceMs, container, warnings };
}

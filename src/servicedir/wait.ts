// Waiting until a service just written runs: woken by inotify (the
// service's directory until its supervisor makes supervise/, then
// supervise/, where each status is renamed into place; the same for log/),
// through observe/events.ts. No polling: nothing is read while nothing
// changes.
import { statSync } from 'node:fs';
import { ServiceEvents } from '../observe/events.js';
import { readProgramStatus, serviceDir } from '../observe/service-status.js';

function hasLog(dir: string): boolean {
  try {
    return statSync(`${dir}/log`).isDirectory();
  } catch {
    return false;
  }
}

/** The service, and its log service when it has one, run. */
export function runs(dir: string): boolean {
  if (readProgramStatus(dir).state !== 'run') return false;
  return !hasLog(dir) || readProgramStatus(`${dir}/log`).state === 'run';
}

/** Resolves true once service `name` of `svdir` (and its log service) runs, false after `timeoutMs`. */
export function waitRunning(svdir: string, name: string, timeoutMs: number): Promise<boolean> {
  const dir = serviceDir(svdir, name);
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const events = new ServiceEvents(
      svdir,
      [name],
      () => check(),
      () => {},
    );
    function finish(result: boolean): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      events.close();
      resolve(result);
    }
    function check(): void {
      if (!settled && runs(dir)) finish(true);
    }
    timer = setTimeout(() => finish(runs(dir)), timeoutMs);
    events.start();
    check();
  });
}

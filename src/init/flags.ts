// The stop and reboot flag files that runit-init sets and runit reads.
// runit keeps them in its directory (/etc/runit/stopit, /etc/runit/reboot),
// Debian in /run (/run/runit.stopit, /run/runit.reboot). Both programs pick
// the same pair by the same rule, so they always agree: runit's pair when
// DIR/stopit exists (even as a dangling symbolic link, as void-linux ships
// it), else Debian's.
import { lstatSync, statSync } from 'node:fs';

export interface FlagFiles {
  stopit: string;
  reboot: string;
}

export const DEBIAN_FLAGS: FlagFiles = { stopit: '/run/runit.stopit', reboot: '/run/runit.reboot' };

export function flagFiles(dir: string): FlagFiles {
  try {
    lstatSync(`${dir}/stopit`);
    return { stopit: `${dir}/stopit`, reboot: `${dir}/reboot` };
  } catch {
    return DEBIAN_FLAGS;
  }
}

/** Whether `path` exists with the owner's execute permission (runit's test). */
export function ownerExecutable(path: string): boolean {
  try {
    return (statSync(path).mode & 0o100) !== 0;
  } catch {
    return false;
  }
}

// Which PID namespace this process is in.
import { readlinkSync } from 'node:fs';

/**
 * The inode number of the host's (initial) PID namespace, fixed in the
 * kernel since Linux 3.8 (PROC_PID_INIT_INO); every other PID namespace
 * gets another number.
 */
export const INITIAL_PID_NS_INODE = 0xeffffffc;

/**
 * The inode number of this process's PID namespace, from
 * /proc/self/ns/pid (`pid:[4026531836]`); undefined when /proc is not
 * mounted or does not tell.
 */
export function pidNamespaceInode(): number | undefined {
  try {
    const match = /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

// Host or container: what process 1 does at the end and with TERM and INT.
import { INITIAL_PID_NS_INODE } from '../sys/namespace.js';

/**
 * - host: process 1 of the machine (the initial PID namespace): runit as it
 *   is, halting or rebooting at the end.
 * - container: process 1 of any other PID namespace: TERM and INT stop
 *   everything within a grace period, and runit exits with a status.
 * - system: process 1 of another PID namespace with RUNIT_CONTAINER=0 (a
 *   whole system booted in a container, as LXC does): runit's signals and
 *   console, but an exit status instead of halting or rebooting.
 */
export type Mode = 'host' | 'container' | 'system';

/**
 * `nsInode` is the inode number of the PID namespace (undefined when /proc
 * does not tell: a machine's init starts before /proc is mounted, so that
 * counts as the host). `forced` is RUNIT_CONTAINER.
 */
export function detectMode(nsInode: number | undefined, forced: boolean | undefined): Mode {
  if (forced === true) return 'container';
  const inNamespace = nsInode !== undefined && nsInode !== INITIAL_PID_NS_INODE;
  if (!inNamespace) return 'host';
  return forced === false ? 'system' : 'container';
}

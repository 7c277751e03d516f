// Which descriptors a program started by execProgram would inherit.
import { descriptorState } from './fd.js';

/**
 * The lowest descriptor that a program exec'd now would not have: closed,
 * or (above 2) close-on-exec. Node marks 0-2 close-on-exec, but
 * execProgram clears that, so they count as inherited while open. This is
 * the descriptor that open() would return in a C program in our place.
 */
export function lowestFreeAfterExec(): number {
  for (let fd = 0; ; fd++) {
    const state = descriptorState(fd);
    if (!state.open) return fd;
    if (fd > 2 && state.cloexec) return fd;
  }
}

// The process's name as runit's programs have it: /proc/PID/comm (what
// pgrep -x, ps -C, killall and top go by) and argv[0] (what pidof goes
// by). A launcher execs `node`, so every command would be `node` to them;
// and libuv names the process after the first 15 bytes of each title it is
// given (runsvdir's log argument rewrites the title).
import { libcFunction, checkSyscall } from './libc.js';

const prctlC = libcFunction('int prctl(int option, const char *name, unsigned long arg3, unsigned long arg4, unsigned long arg5)');
const PR_SET_NAME = 15;
/** TASK_COMM_LEN - 1 */
const COMM_MAX = 15;

/**
 * Name this process `name` (cut to 15 bytes, as the kernel keeps it). It
 * names the calling thread, which for Node's main thread is the process
 * itself as /proc/PID/comm and /proc/PID/stat show it.
 */
export function setProcessName(name: string): void {
  checkSyscall(prctlC(PR_SET_NAME, Buffer.from(name, 'utf8').subarray(0, COMM_MAX).toString('latin1'), 0, 0, 0), 'prctl');
}

/**
 * Show `words` as the command line (`ps` and /proc/PID/cmdline: `runsv
 * web`, as under runit) and name the process after the first word.
 */
export function nameProcess(words: readonly string[]): void {
  process.title = words.join(' ');
  setProcessName(words[0]!);
}

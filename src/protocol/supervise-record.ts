// runit-ts's own record of a supervised program, kept in supervise/lock
// (runit leaves that file empty and never reads it): the pid and its start
// time in /proc, so that a new supervisor adopts exactly the process the
// dead one started and never a reused pid, and for a service with a log,
// the pipe between them, so that what is buffered in it is not lost.
// Writing it costs no new file: the lock is created at start-up anyway and
// its fd is held, so each update is an ftruncate and a write, where a file
// of its own cost an inode per update (.new + rename), the slowest
// operation of the supervise/ files on ext4.
//
// Format: line 1 `PID STARTTIME` (empty when there is no process), line 2
// (optional) the log pipe as /proc names it, `pipe:[INODE]`, line 3
// (optional) what contains the process: `cgroup PATH`, `pgrp` or `none`
// (docs/containment.md).

export interface SuperviseRecord {
  pid: number;
  startTime: string | undefined;
  logPipe: string | undefined;
  containment?: string | undefined;
}

export function encodeRecord(r: SuperviseRecord): string {
  const first = r.pid && r.startTime ? `${r.pid} ${r.startTime}` : '';
  if (r.pid && r.containment) return `${first}\n${r.logPipe ?? ''}\n${r.containment}\n`;
  return r.logPipe ? `${first}\n${r.logPipe}\n` : `${first}\n`;
}

/** The record in `text`; undefined for an empty file (a lock runit or an older runit-ts left). */
export function parseRecord(text: string): SuperviseRecord | undefined {
  if (text === '') return undefined;
  const [first = '', second = '', third = ''] = text.split('\n');
  const m = /^(\d+) (\d+)$/.exec(first);
  const record: SuperviseRecord = {
    pid: m ? Number(m[1]) : 0,
    startTime: m ? m[2] : undefined,
    logPipe: /^pipe:\[\d+\]$/.test(second) ? second : undefined,
  };
  if (/^(cgroup \/.*|pgrp|none)$/.test(third)) record.containment = third;
  return record;
}

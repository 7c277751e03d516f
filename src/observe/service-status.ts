// The status of a service as its supervise/ directory and /proc tell it:
// a client of runit's on-disk protocol only, so it reads a service
// supervised by Debian's runsv as well as one supervised by runit-ts.
import { readFileSync, statSync } from 'node:fs';
import { deathLine, parseDeaths, type Deaths } from '../protocol/deaths.js';
import { readPolicy } from '../protocol/policy-state.js';
import { declaresReadiness, readReadiness } from '../protocol/readiness.js';
import { readStatusBytes, supervisorRunning } from '../protocol/control.js';
import { parseRecord } from '../protocol/sv-wait.js';
import { unixSeconds } from '../protocol/tai64n.js';
import { errorTextOf } from '../sys/errstr.js';
import { scanServices } from '../protocol/service-list.js';
import { ProcessTable, type ProcessUsage } from '../sys/process-table.js';
import { parseRecord as parseSuperviseRecord } from '../protocol/supervise-record.js';
import { cgroupUsage } from '../sys/cgroup.js';

export type ProgramState = 'down' | 'run' | 'finish';

export interface ProgramStatus {
  /** a supervisor (runsv, or runit-ts's in-process one) holds supervise/ok */
  supervised: boolean;
  /** why the status could not be read (then the fields below are null) */
  error: string | null;
  state: ProgramState | null;
  /** the pid of ./run (or ./finish), null when none */
  pid: number | null;
  /** when the current state began (unix seconds, whole: as supervise/status keeps it to the second for sv) */
  since: number | null;
  /** what the supervisor was last told: `up` or `down` (the want byte) */
  want: 'up' | 'down' | null;
  /** no `down` file in the service directory */
  normallyUp: boolean | null;
  paused: boolean | null;
  gotTerm: boolean | null;
  /** the supervisor's pid (it holds supervise/lock), null when unknown */
  supervisorPid: number | null;
  /** runs inside its supervisor's process (runit-ts's in-process svlogd): `pid` is the supervisor's */
  inProcess: boolean;
  /**
   * its processes: its cgroup's, or the process tree under `pid`; null for
   * an in-process program (its cost is the supervisor's)
   */
  processes: (ProcessUsage & { memoryPeakBytes?: number }) | null;
  /** what contains it (runit-ts's record in supervise/lock): cgroup, pgrp or none; null when not recorded (Debian's runsv) */
  containment: 'cgroup' | 'pgrp' | 'none' | null;
  /** its cgroup's directory, null when it has none */
  cgroup: string | null;
  /** deaths since its supervisor started (runit-ts's supervise/deaths), null when none is recorded */
  deaths: number | null;
  /** how run last ended: `exitcode N` or `signal NAME`, null when none is recorded */
  lastExit: string | null;
  /** restarts stopped until `sv up` (runit-ts's restart policy) */
  givenUp: boolean;
  /** a backoff restart is due then (unix seconds), null when none */
  restartAt: number | null;
  /** ready (true), not ready (false), or null when readiness is not declared (runit-ts's supervise/readiness) */
  ready: boolean | null;
  /** the readiness state: ready, starting, late, reloading, stopping, never, down; null when not declared */
  readiness: string | null;
  /** the service's own STATUS= text (sd_notify), null when none */
  statusText: string | null;
  /** needed services it waits for before ./run starts (needs/) */
  waitingFor: string[];
}

export interface ServiceStatus extends ProgramStatus {
  name: string;
  dir: string;
  /** the log service (`log/` in the service directory), null when there is none */
  log: ProgramStatus | null;
}

const STATES: Record<number, ProgramState> = { 0: 'down', 1: 'run', 2: 'finish' };

function unreadable(error: string, supervised = false): ProgramStatus {
  return {
    supervised,
    error,
    state: null,
    pid: null,
    since: null,
    want: null,
    normallyUp: null,
    paused: null,
    gotTerm: null,
    supervisorPid: null,
    inProcess: false,
    processes: null,
    containment: null,
    cgroup: null,
    deaths: null,
    lastExit: null,
    givenUp: false,
    restartAt: null,
    ready: null,
    readiness: null,
    statusText: null,
    waitingFor: [],
  };
}

/** runit-ts's supervise/readiness (absent under runit, or without readiness files and needs/). */
function readinessFigures(supervise: string): Pick<ProgramStatus, 'ready' | 'readiness' | 'statusText' | 'waitingFor'> {
  const r = readReadiness(supervise);
  const declared = declaresReadiness(r);
  return {
    ready: declared ? r!.state === 'ready' : null,
    readiness: declared ? r!.state : null,
    statusText: r?.status ? r.status : null,
    waitingFor: r ? [...r.waiting] : [],
  };
}

/** runit-ts's supervise/deaths and supervise/policy (absent under runit). */
function policyFigures(supervise: string, down: boolean): Pick<ProgramStatus, 'deaths' | 'lastExit' | 'givenUp' | 'restartAt'> {
  let deaths: Deaths | undefined;
  try {
    deaths = parseDeaths(readFileSync(`${supervise}/deaths`, 'latin1'));
  } catch {
    deaths = undefined;
  }
  const last = deaths?.records.at(-1);
  const policy = readPolicy(supervise, down);
  return {
    deaths: deaths?.total ?? null,
    lastExit: last ? deathLine(last).slice(26) : null,
    givenUp: policy?.givenUp ?? false,
    restartAt: policy?.restartAt ? unixSeconds(policy.restartAt) : null,
  };
}

function supervisorOf(supervise: string, processes: ProcessTable): number | null {
  try {
    const st = statSync(`${supervise}/lock`, { bigint: true });
    return processes.lockHolder(st.dev, st.ino) ?? null;
  } catch {
    return null;
  }
}

/** Whether `dir` has no `down` file; null when that cannot be told. */
export function normallyUpIn(dir: string): boolean | null {
  try {
    // the usual absence without an exception (a scrape asks for every service)
    return statSync(`${dir}/down`, { throwIfNoEntry: false }) === undefined;
  } catch {
    return null;
  }
}

/**
 * Its supervisor (looked up unless known) and the cost of its process
 * tree, added to a program's status (`dir` is the program's directory).
 */
export function withProcesses(p: ProgramStatus, dir: string, processes: ProcessTable, knownSupervisor?: number | null): ProgramStatus {
  if (!p.supervised) return p;
  const supervisorPid = knownSupervisor === undefined ? supervisorOf(`${dir}/supervise`, processes) : knownSupervisor;
  const inProcess = p.pid !== null && p.pid === supervisorPid;
  return { ...p, supervisorPid, inProcess, processes: p.pid === null || inProcess ? null : usageOf(p, processes) };
}

/** A cgroup's figures (memory from /proc where its controller is off), or the process tree's. */
function usageOf(p: ProgramStatus, processes: ProcessTable): ProgramStatus['processes'] {
  const cgroup = p.cgroup ? cgroupUsage(p.cgroup) : undefined;
  if (!cgroup || cgroup.pids.length === 0) return processes.usage(p.pid!) ?? null;
  // without the memory controller: what its processes hold resident
  const rssBytes = cgroup.memoryBytes ?? processes.rssBytes(cgroup.pids);
  const usage = { count: cgroup.pids.length, cpuSeconds: cgroup.cpuSeconds, rssBytes };
  return cgroup.memoryPeakBytes === undefined ? usage : { ...usage, memoryPeakBytes: cgroup.memoryPeakBytes };
}

/** runit-ts's record in supervise/lock: what contains the program. */
function containmentFigures(supervise: string): Pick<ProgramStatus, 'containment' | 'cgroup'> {
  let text = '';
  try {
    text = readFileSync(`${supervise}/lock`, 'latin1');
  } catch {}
  const c = parseSuperviseRecord(text)?.containment;
  if (!c) return { containment: null, cgroup: null };
  return c.startsWith('cgroup ') ? { containment: 'cgroup', cgroup: c.slice(7) } : { containment: c as 'pgrp' | 'none', cgroup: null };
}

/**
 * One program (`dir` is the service directory or its log/), read as sv
 * reads it; its supervisor and process tree only with a process table.
 */
export function readProgramStatus(dir: string, processes?: ProcessTable): ProgramStatus {
  const supervise = `${dir}/supervise`;
  try {
    if (!supervisorRunning(supervise)) return unreadable('runsv not running');
  } catch (err) {
    return unreadable(`unable to open supervise/ok: ${errorTextOf(err)}`);
  }
  let rec: ReturnType<typeof parseRecord>;
  try {
    const bytes = readStatusBytes(supervise);
    rec = bytes.length === 20 ? parseRecord(bytes) : undefined;
  } catch (err) {
    return unreadable(`unable to read supervise/status: ${errorTextOf(err)}`, true);
  }
  const state = rec && STATES[rec.state];
  if (!rec || !state) return unreadable('unable to read supervise/status: bad format', true);
  const pid = rec.pid === 0 ? null : rec.pid;
  const status: ProgramStatus = {
    supervised: true,
    error: null,
    state,
    pid,
    since: unixSeconds(rec.time),
    want: rec.want === 0x75 ? 'up' : 'down',
    normallyUp: normallyUpIn(dir),
    paused: rec.paused !== 0,
    gotTerm: rec.term !== 0,
    supervisorPid: null,
    inProcess: false,
    processes: null,
    ...(pid === null ? { containment: null, cgroup: null } : containmentFigures(supervise)),
    ...policyFigures(supervise, state === 'down'),
    ...readinessFigures(supervise),
  };
  return processes ? withProcesses(status, dir, processes) : status;
}

/** A service and its log service. */
export function readServiceStatus(name: string, dir: string, processes: ProcessTable): ServiceStatus {
  try {
    if (!statSync(dir).isDirectory()) return { name, dir, ...unreadable('unable to change to service directory: not a directory'), log: null };
  } catch (err) {
    return { name, dir, ...unreadable(`unable to change to service directory: ${errorTextOf(err)}`), log: null };
  }
  let log: ProgramStatus | null = null;
  try {
    if (statSync(`${dir}/log`).isDirectory()) log = readProgramStatus(`${dir}/log`, processes);
  } catch {
    // no log service
  }
  return { name, dir, ...readProgramStatus(dir, processes), log };
}

/** The directory of service `name`, as sv finds it: a name starting with `/` or `.` is one, any other is under `svdir`. */
export function serviceDir(svdir: string, name: string): string {
  if (name.startsWith('/') || name.startsWith('.')) return name;
  return svdir.endsWith('/') ? svdir + name : `${svdir}/${name}`;
}

/**
 * The services `operands` name, as sv resolves them (a name starting with
 * `/` or `.` is a directory, any other is one under `svdir`), or, without
 * operands, every service of `svdir` (throws when it cannot be read).
 */
export function readServices(svdir: string, operands: readonly string[], warn: (message: string) => void): ServiceStatus[] {
  const processes = new ProcessTable();
  const named =
    operands.length > 0
      ? operands.map((name) => ({ name, dir: serviceDir(svdir, name) }))
      : scanServices(svdir, warn)
          .map(({ name }) => ({ name, dir: serviceDir(svdir, name) }))
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return named.map(({ name, dir }) => readServiceStatus(name, dir, processes));
}

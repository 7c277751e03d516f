// The 20-byte supervise/status record and the supervise/stat line, as runit
// 2.1.2's runsv writes them (daemontools-compatible bytes 0-17).
import type { Tai64n } from './tai64n.js';

export const STATUS_SIZE = 20;

export enum State {
  Down = 0,
  Run = 1,
  Finish = 2,
}

export type Want = 'up' | 'down' | 'exit';

export interface Status {
  /** when run started, or when the service went down */
  time: Tai64n;
  /** the child's pid (run or finish), 0 if none */
  pid: number;
  paused: boolean;
  /** the want byte: 'u' for up, 'd' for down and exit */
  wantUp: boolean;
  gotTerm: boolean;
  state: State;
}

export function encodeStatus(s: Status): Buffer {
  const b = Buffer.alloc(STATUS_SIZE);
  b.writeBigUInt64BE(s.time.sec, 0);
  b.writeUInt32BE(s.time.nsec >>> 0, 8);
  b.writeUInt32LE(s.pid >>> 0, 12);
  b[16] = s.paused ? 1 : 0;
  b[17] = s.wantUp ? 0x75 : 0x64;
  b[18] = s.gotTerm ? 1 : 0;
  b[19] = s.state;
  return b;
}

/** Decode a status record; undefined when it is not exactly 20 bytes. */
export function decodeStatus(b: Buffer): Status | undefined {
  if (b.length !== STATUS_SIZE) return undefined;
  return {
    time: { sec: b.readBigUInt64BE(0), nsec: b.readUInt32BE(8) },
    pid: b.readUInt32LE(12),
    paused: b[16] !== 0,
    wantUp: b[17] === 0x75,
    gotTerm: b[18] !== 0,
    state: b[19] === 1 ? State.Run : b[19] === 2 ? State.Finish : State.Down,
  };
}

const stateNames = ['down', 'run', 'finish'] as const;

export function stateName(state: State): string {
  return stateNames[state];
}

/** The supervise/stat line, newline included. */
export function statText(state: State, want: Want, paused: boolean, gotTerm: boolean): string {
  let text = stateNames[state];
  if (paused) text += ', paused';
  if (gotTerm) text += ', got TERM';
  if (state !== State.Down) {
    if (want === 'down') text += ', want down';
    else if (want === 'exit') text += ', want exit';
  }
  return `${text}\n`;
}

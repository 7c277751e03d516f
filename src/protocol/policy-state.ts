// supervise/policy: what runit-ts's restart policy is doing with a program
// (runit-ts's file; absent when nothing: runit's behaviour). One line:
//   given up                      restarts stopped until `sv up`
//   restart @400000006b0fcb65...   a backoff restart is due then
// Written by the supervisor (status-files.ts), read by `sv status` and
// `runit-ts status`. Pure.
import { readFileSync } from 'node:fs';
import { parseTaiLabel, taiLabel, type Tai64n } from './tai64n.js';

export type PolicyState = { givenUp: true; restartAt?: undefined } | { givenUp: false; restartAt: Tai64n } | undefined;

/** The file's text for a program's state ('' when there is nothing to say). */
export function policyText(p: { givenUp: boolean; restartAt: Tai64n | undefined }): string {
  if (p.givenUp) return 'given up\n';
  return p.restartAt ? `restart ${taiLabel(p.restartAt)}\n` : '';
}

/** The file's text read back; undefined for nothing or garbage. */
export function parsePolicy(text: string): PolicyState {
  if (text === 'given up\n') return { givenUp: true };
  const m = /^restart (@[0-9a-f]{24})\n$/.exec(text);
  const at = m && parseTaiLabel(m[1]!);
  return at ? { givenUp: false, restartAt: at } : undefined;
}

/** What `sv status` adds for it: `, given up` or `, restart in 4s` ('' for nothing). */
export function policyNote(state: PolicyState, now: Tai64n): string {
  if (!state) return '';
  if (state.givenUp) return ', given up';
  const us = Number(state.restartAt.sec - now.sec) * 1e6 + (state.restartAt.nsec - now.nsec) / 1000;
  return `, restart in ${Math.max(0, Math.ceil(us / 1e6))}s`;
}

/**
 * A program's supervise/policy, read, while the program is down (the file
 * goes a moment after a start is published: a running program has none);
 * undefined when there is none (runit) or it cannot be read.
 */
export function readPolicy(superviseDir: string, down: boolean): PolicyState {
  if (!down) return undefined;
  try {
    return parsePolicy(readFileSync(`${superviseDir}/policy`, 'latin1'));
  } catch {
    return undefined;
  }
}

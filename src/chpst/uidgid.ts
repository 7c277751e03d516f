// user[:group] specifications (chpst(8) -u, setuidgid, envuidgid). Pure:
// the password and group file look-ups are passed in (they may throw on a
// system error).
import { scanDigits } from '../util/scan.js';

export interface Ids {
  uid: number;
  /** the gid, then the supplementary groups: exactly this list is set */
  gids: number[];
}

export interface Lookup {
  user(name: string): { uid: number; gid: number } | undefined;
  group(name: string): number | undefined;
}

/** runit keeps at most this many groups. */
export const MAX_GROUPS = 60;
const MAX_ID = 0xffffffffn;

/**
 * `:uid:gid[:gid...]`, the part after the leading colon: no look-up. Empty
 * fields are 0, at least one gid field is required, trailing junk is
 * invalid. An id above 2^32-1 is invalid (runit truncated it, so
 * `:4294967296:0` became root).
 */
export function parseNumericIds(text: string): Ids | undefined {
  let pos = 0;
  const number = (): number | undefined => {
    const { value, length } = scanDigits(text, pos);
    pos += length;
    return value > MAX_ID ? undefined : Number(value);
  };
  const uid = number();
  if (uid === undefined || text[pos] !== ':') return undefined;
  pos++;
  const gids: number[] = [];
  for (let i = 0; i < MAX_GROUPS; i++) {
    const gid = number();
    if (gid === undefined) return undefined;
    gids.push(gid);
    if (text[pos] !== ':') break;
    pos++;
  }
  return pos < text.length ? undefined : { uid, gids };
}

/**
 * chpst -u/-U: `[:]user[:group[:group...]]`. Returns `invalid` for a bad
 * numeric form, `unknown` when the user or a group does not exist.
 */
export function resolveExtended(spec: string, lookup: Lookup): Ids | 'invalid' | 'unknown' {
  if (spec.startsWith(':')) return parseNumericIds(spec.slice(1)) ?? 'invalid';
  const colon = spec.indexOf(':');
  const user = lookup.user(colon < 0 ? spec : spec.slice(0, colon));
  if (!user) return 'unknown';
  if (colon < 0) return { uid: user.uid, gids: [user.gid] };
  const gids: number[] = [];
  for (const name of groupNames(spec.slice(colon + 1))) {
    const gid = lookup.group(name);
    if (gid === undefined) return 'unknown';
    gids.push(gid);
  }
  return { uid: user.uid, gids };
}

/** The names resolveExtended looks up for `spec`: its user, then its groups. */
export function namesIn(spec: string): { user?: string; groups: string[] } {
  if (spec.startsWith(':')) return { groups: [] };
  const colon = spec.indexOf(':');
  if (colon < 0) return { user: spec, groups: [] };
  return { user: spec.slice(0, colon), groups: groupNames(spec.slice(colon + 1)) };
}

const groupNames = (list: string): string[] => list.split(':').slice(0, MAX_GROUPS);

/** setuidgid/envuidgid: an account name only; groups := its primary gid. */
export function resolveAccount(spec: string, lookup: Lookup): Ids | 'unknown' {
  const user = lookup.user(spec);
  return user ? { uid: user.uid, gids: [user.gid] } : 'unknown';
}

// Users, groups and credentials: password/group file look-ups through
// glibc (so NSS is honoured) and the three calls that drop privileges.
// glibc's setgroups/setgid/setuid apply to every thread of the process.
import { libcFunction, checkSyscall, checkReturned } from './libc.js';

const getpwnamR = libcFunction('int getpwnam_r(const char *name, _Out_ uint8_t *pwd, _Out_ uint8_t *buf, size_t len, _Out_ uint8_t *result)');
const getgrnamR = libcFunction('int getgrnam_r(const char *name, _Out_ uint8_t *grp, _Out_ uint8_t *buf, size_t len, _Out_ uint8_t *result)');
const setgroupsC = libcFunction('int setgroups(size_t size, const uint32_t *list)');
const setgidC = libcFunction('int setgid(uint32_t gid)');
const setuidC = libcFunction('int setuid(uint32_t uid)');

const ERANGE = 34;
// struct passwd: two pointers, then uid_t pw_uid, gid_t pw_gid (LP64).
// struct group: two pointers, then gid_t gr_gid.
const PW_UID = 16;
const PW_GID = 20;
const GR_GID = 16;

/** The entry a getXXnam_r call filled, or undefined for none; its error thrown. */
function entryFound(err: number, entry: Buffer, result: Buffer, syscall: string, name: string): Buffer | undefined {
  checkReturned(err, syscall, name);
  return result.readBigUInt64LE(0) === 0n ? undefined : entry;
}

function lookup(fn: typeof getpwnamR, syscall: string, name: string, structSize: number): Buffer | undefined {
  const entry = Buffer.alloc(structSize);
  const result = Buffer.alloc(8);
  for (let size = 1024; ; size *= 2) {
    const err: number = fn(name, entry, Buffer.alloc(size), size, result);
    if (err === ERANGE && size < 1 << 20) continue;
    return entryFound(err, entry, result, syscall, name);
  }
}

/** lookup in libuv's thread pool: NSS may wait on a directory service, the event loop must not. */
async function lookupAsync(fn: typeof getpwnamR, syscall: string, name: string, structSize: number): Promise<Buffer | undefined> {
  const entry = Buffer.alloc(structSize);
  const result = Buffer.alloc(8);
  for (let size = 1024; ; size *= 2) {
    const buffer = Buffer.alloc(size);
    const err = await new Promise<number>((resolve, reject) =>
      fn.async(name, entry, buffer, size, result, (error: unknown, value: number) => (error ? reject(error) : resolve(value))),
    );
    if (err === ERANGE && buffer.length < 1 << 20) continue; // (buffer referenced until the call has returned)
    return entryFound(err, entry, result, syscall, name);
  }
}

/** getpwnam(): the user's uid and primary gid, undefined when there is no such user. */
export function getUser(name: string): { uid: number; gid: number } | undefined {
  return userOf(lookup(getpwnamR, 'getpwnam', name, 48));
}

/** getUser off the event loop. */
export async function getUserAsync(name: string): Promise<{ uid: number; gid: number } | undefined> {
  return userOf(await lookupAsync(getpwnamR, 'getpwnam', name, 48));
}

const userOf = (entry: Buffer | undefined) => entry && { uid: entry.readUInt32LE(PW_UID), gid: entry.readUInt32LE(PW_GID) };

/** getgrnam(): the group's gid, undefined when there is no such group. */
export function getGroup(name: string): number | undefined {
  return lookup(getgrnamR, 'getgrnam', name, 32)?.readUInt32LE(GR_GID);
}

/** getGroup off the event loop. */
export async function getGroupAsync(name: string): Promise<number | undefined> {
  return (await lookupAsync(getgrnamR, 'getgrnam', name, 32))?.readUInt32LE(GR_GID);
}

export function setGroups(gids: readonly number[]): void {
  checkSyscall(setgroupsC(gids.length, Uint32Array.from(gids)), 'setgroups');
}

export function setGid(gid: number): void {
  checkSyscall(setgidC(gid), 'setgid');
}

export function setUid(uid: number): void {
  checkSyscall(setuidC(uid), 'setuid');
}

// POSIX access ACLs (system.posix_acl_access), just enough to let one more
// user search a directory: a service that drops to its own user (chpst -u)
// must reach the notify socket inside supervise/, whose mode stays 0700.
// The ACL written is the directory's mode plus one `user:UID:--x` entry,
// so nobody else gains anything; it replaces an ACL set before (a new
// owner takes the place of the old one). Where the file system has no
// ACLs, setxattr fails with EOPNOTSUPP.
import { chmodSync } from 'node:fs';
import { libcFunction, checkSyscall } from './libc.js';

const setxattrC = libcFunction('int setxattr(const char *path, const char *name, const uint8_t *value, unsigned long size, int flags)');
const removexattrC = libcFunction('int removexattr(const char *path, const char *name)');

const ACL_XATTR = 'system.posix_acl_access';
const VERSION = 2;
const USER_OBJ = 0x01;
const USER = 0x02;
const GROUP_OBJ = 0x04;
const MASK = 0x10;
const OTHER = 0x20;
const UNDEFINED_ID = 0xffffffff;
const SEARCH = 1;

/** The ACL `mode` with one more entry: `user:uid:--x`. */
export function searchAcl(mode: number, uid: number): Buffer {
  const groupPerm = (mode >> 3) & 7;
  const entries: [number, number, number][] = [
    [USER_OBJ, (mode >> 6) & 7, UNDEFINED_ID],
    [USER, SEARCH, uid],
    [GROUP_OBJ, groupPerm, UNDEFINED_ID],
    [MASK, groupPerm | SEARCH, UNDEFINED_ID],
    [OTHER, mode & 7, UNDEFINED_ID],
  ];
  const acl = Buffer.alloc(4 + 8 * entries.length);
  acl.writeUInt32LE(VERSION, 0);
  entries.forEach(([tag, perm, id], i) => {
    acl.writeUInt16LE(tag, 4 + 8 * i);
    acl.writeUInt16LE(perm, 6 + 8 * i);
    acl.writeUInt32LE(id, 8 + 8 * i);
  });
  return acl;
}

/**
 * Let `uid` search (not list) `dir`, whose permissions are otherwise
 * `mode` (given, not read: once an ACL is set, the mode's group bits show
 * its mask, not the owning group's permissions). Throws a SysError
 * (EOPNOTSUPP where there are no ACLs).
 */
export function grantSearch(dir: string, uid: number, mode: number): void {
  const acl = searchAcl(mode & 0o777, uid);
  checkSyscall(setxattrC(dir, ACL_XATTR, acl, acl.length, 0), 'setxattr', dir);
}

/**
 * Take back what grantSearch gave (nothing to take back is fine) and set
 * `mode` again: while an ACL is set, the mode's group bits show its mask.
 */
export function revokeGrants(dir: string, mode: number): void {
  removexattrC(dir, ACL_XATTR);
  chmodSync(dir, mode);
}

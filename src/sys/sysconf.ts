// System constants Node does not give: the page size (sysconf).
import { libcFunction } from './libc.js';

const sysconfC = libcFunction('long sysconf(int name)');
/** _SC_PAGESIZE on Linux */
const SC_PAGESIZE = 30;

let pageSizeBytes: number | undefined;
/** The size of a memory page, in bytes (what /proc counts pages in). */
export function pageSize(): number {
  return (pageSizeBytes ??= Number(sysconfC(SC_PAGESIZE)));
}

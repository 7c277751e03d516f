// Buffer lists as writev takes them, and what is left after a short write.

/** `bufs` without their first `n` bytes (views, nothing copied). */
export function skipBytes(bufs: readonly Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < bufs.length && n >= bufs[i]!.length) n -= bufs[i++]!.length;
  const rest = bufs.slice(i);
  if (n > 0 && rest.length) rest[0] = rest[0]!.subarray(n);
  return rest;
}

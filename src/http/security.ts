// Who may ask what of `runit-ts serve` (docs/runit-ts.md, "Security"):
// requests must name a host this server answers to (DNS rebinding), a
// browser's Origin must be the server's own, and control needs the bearer
// token kept in a 0600 file, read at each request (so it can be rotated
// by rewriting the file). No cookies: a browser never sends credentials by
// itself, so there is no cross-site request to forge.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync, constants } from 'node:fs';
import { dirname } from 'node:path';

/** The Host values a server listening on `host`:`port` answers to (localhost names for a loopback address). */
export function allowedHosts(host: string, port: number, extra: readonly string[]): Set<string> {
  const names = new Set([host.includes(':') ? `[${host}]` : host]);
  if (host === '127.0.0.1' || host === '::1' || host === 'localhost') for (const n of ['127.0.0.1', '[::1]', 'localhost']) names.add(n);
  for (const n of extra) names.add(n.toLowerCase());
  return new Set([...names].flatMap((n) => [`${n}:${port}`, ...(port === 80 ? [n] : [])]));
}

/** Whether a request's Host and Origin may be answered; `allowed` undefined: any host (a unix socket). */
export function requestAllowed(host: string | undefined, origin: string | undefined, allowed: ReadonlySet<string> | undefined): string | undefined {
  if (allowed) {
    if (host === undefined || !allowed.has(host.toLowerCase())) return 'unknown Host';
  }
  if (origin !== undefined && origin.toLowerCase() !== `http://${host ?? ''}`.toLowerCase()) return 'cross-origin request';
  return undefined;
}

/** The token in `path`, made (64 hex digits, mode 0600, its directory 0700 if new) when there is none. */
export function ensureToken(path: string): string {
  try {
    return readToken(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('hex');
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return token;
}

/** The token as the file holds it now (first line, trimmed); throws when unreadable or empty. */
export function readToken(path: string): string {
  const token = readFileSync(path, 'utf8').split('\n')[0]!.trim();
  if (token === '') throw Object.assign(new Error(`empty token file ${path}`), { code: 'EINVAL' });
  return token;
}

/** `Authorization: Bearer TOKEN` against the token, in constant time. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const m = /^Bearer (\S+)$/.exec(authorization ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

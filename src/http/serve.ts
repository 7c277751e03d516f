// Starting `runit-ts serve`: the address, the token file, the socket's
// mode; then the StatusServer answers.
import { lstatSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorTextOf } from '../sys/errstr.js';
import { StatusServer } from './server.js';
import { allowedHosts, ensureToken } from './security.js';

export interface ServeRequest {
  svdir: string;
  /** ADDR:PORT (`[::1]:9420` for IPv6) */
  listen: string;
  /** a unix socket instead */
  socket: string | undefined;
  /** more Host names to answer to */
  hosts: readonly string[];
  control: boolean;
  tokenFile: string | undefined;
  info(message: string): void;
  warn(message: string): void;
}

/** Where the token lives unless told: /run for root, else the user's runtime directory or home. */
export function defaultTokenFile(env: NodeJS.ProcessEnv, uid: number): string {
  if (uid === 0) return '/run/runit-ts/token';
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'runit-ts/token');
  return join(env.HOME ?? '/tmp', '.runit-ts/token');
}

/** `ADDR:PORT` split; undefined when it is not one. */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

/** The running server, or why it could not start. */
export async function serve(request: ServeRequest): Promise<StatusServer | string> {
  const listen = request.socket === undefined ? parseListen(request.listen) : undefined;
  if (request.socket === undefined && !listen) return `not an address: ${request.listen} (ADDR:PORT)`;
  const tokenFile = request.tokenFile ?? defaultTokenFile(process.env, process.getuid?.() ?? 0);
  if (request.control) {
    try {
      ensureToken(tokenFile);
    } catch (err) {
      return `unable to make token file ${tokenFile}: ${errorTextOf(err)}`;
    }
  }
  const server = new StatusServer({
    svdir: request.svdir,
    control: request.control,
    tokenFile,
    // nothing is answered over TCP until the port is known
    allowedHosts: listen ? new Set() : undefined,
    // dist/http/ or, bundled, dist/cli/ (import.meta.dirname: Node 20.11 and later)
    dashboardDir: join(import.meta.dirname ?? dirname(fileURLToPath(import.meta.url)), '../http/dashboard'),
    warn: request.warn,
  });
  try {
    server.start();
  } catch (err) {
    return `unable to open directory ${request.svdir}: ${errorTextOf(err)}`;
  }
  const socket = request.socket;
  if (socket !== undefined) {
    try {
      // a socket left by a server that died; anything else is not removed
      if (lstatSync(socket).isSocket()) unlinkSync(socket);
    } catch {}
  }
  // the socket is made with its final mode: only this user may connect
  const umask = socket === undefined ? undefined : process.umask(0o177);
  const failed = await new Promise<string | undefined>((resolve) => {
    server.http.once('error', (err) => resolve(errorTextOf(err)));
    if (socket !== undefined) server.http.listen(socket, () => resolve(undefined));
    else
      server.http.listen(listen!.port, listen!.host, () => {
        const address = server.http.address();
        if (address && typeof address === 'object') server.allow(allowedHosts(listen!.host, address.port, request.hosts));
        resolve(undefined);
      });
  });
  if (umask !== undefined) process.umask(umask);
  if (failed !== undefined) {
    server.close();
    return `unable to listen on ${socket ?? request.listen}: ${failed}`;
  }
  const address = server.http.address();
  const where =
    socket ??
    (address && typeof address === 'object'
      ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/`
      : request.listen);
  request.info(`listening on ${where}${request.control ? `, control on, token in ${tokenFile}` : ', read-only'}`);
  return server;
}

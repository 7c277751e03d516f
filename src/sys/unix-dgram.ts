// AF_UNIX datagram sockets bound to a path: the receiving end of systemd's
// sd_notify protocol (NOTIFY_SOCKET), one per service. Received with
// recvmsg(MSG_DONTWAIT | MSG_TRUNC) when fd-watch.ts says there is
// something (never blocking the event loop), each datagram with the
// sender's credentials, which the kernel vouches for (SO_PASSCRED,
// SCM_CREDENTIALS: a sender cannot claim another pid or uid unless it is
// privileged). A datagram larger than the limit is reported as truncated
// with its real size, and its bytes are not kept. Descriptors a sender
// passes (SCM_RIGHTS) are closed at once. LP64 layouts (x86-64, arm64).
import { chmodSync, chownSync, closeSync, lstatSync, unlinkSync } from 'node:fs';
import { libcFunction, koffiModule, lastErrno, checkSyscall } from './libc.js';
import { SysError, errorCode } from './errors.js';
import { watchReadable } from './fd-watch.js';

const socketC = libcFunction('int socket(int domain, int type, int protocol)');
const bindC = libcFunction('int bind(int fd, const uint8_t *addr, uint32_t len)');
const setsockoptC = libcFunction('int setsockopt(int fd, int level, int name, const uint8_t *value, uint32_t len)');
const recvmsgC = libcFunction('long recvmsg(int fd, void *msg, int flags)');
const sendtoC = libcFunction('long sendto(int fd, const uint8_t *buf, unsigned long len, int flags, const uint8_t *addr, uint32_t addrlen)');

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_PASSCRED = 16;
const SCM_RIGHTS = 1;
const SCM_CREDENTIALS = 2;
const MSG_TRUNC = 0x20;
const MSG_CTRUNC = 0x8;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const EAGAIN = 11;
const EINTR = 4;
/** sun_path holds 108 bytes, the last one the terminating NUL */
const SUN_PATH_MAX = 107;

// struct msghdr (56 bytes), struct iovec (16), struct cmsghdr (16) on LP64
const MSGHDR_SIZE = 56;
const IOVEC_SIZE = 16;
const CMSG_HDR = 16;
/** room for the credentials (CMSG_SPACE(12) = 32) and a few passed descriptors, which are closed */
const CONTROL_SIZE = 128;

/** The sender of a datagram, as the kernel reports it. */
export interface Credentials {
  pid: number;
  uid: number;
  gid: number;
}

export interface Datagram {
  /** the bytes (empty when truncated); only valid during the handler's call */
  data: Buffer;
  /** the datagram's real size */
  size: number;
  /** larger than `maxSize`: rejected, its bytes dropped */
  truncated: boolean;
  /** undefined only if the kernel gave none (never on Linux with SO_PASSCRED) */
  sender?: Credentials;
  /** the sender passed descriptors; they were closed */
  passedDescriptors: boolean;
}

export interface DatagramHandlers {
  message(datagram: Datagram): void;
  /** a receive failed for another reason than "nothing there" */
  error(err: unknown): void;
}

export interface DatagramSocketOptions {
  /** the socket file's mode, set right after bind (default 0600) */
  mode?: number;
  /** the socket file's owner, if it should not be ours (needs privilege) */
  owner?: { uid: number; gid: number };
  /** datagrams larger than this are reported truncated (default 4096) */
  maxSize?: number;
  /** datagrams handled per event-loop turn; the rest wait for the next one (default 64) */
  perTurn?: number;
}

export interface DatagramSocket {
  readonly fd: number;
  readonly path: string;
  /** Stop receiving, close the socket and remove its file. */
  close(): void;
}

function address(path: string): Buffer {
  const bytes = Buffer.from(path);
  if (bytes.length === 0 || bytes.length > SUN_PATH_MAX || bytes.includes(0)) {
    throw new SysError('bind', bytes.length ? 36 /* ENAMETOOLONG */ : 22 /* EINVAL */, path);
  }
  const addr = Buffer.alloc(2 + bytes.length + 1);
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, 2);
  return addr;
}

/** Remove a socket a previous supervisor left at `path`; anything else there is left alone (bind then fails). */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
  }
}

/**
 * A datagram socket bound at `path` (a socket left there before is
 * replaced), receiving with credentials; `handlers.message` is called for
 * each datagram from the event loop, in order.
 */
export function openDatagramSocket(path: string, handlers: DatagramHandlers, options: DatagramSocketOptions = {}): DatagramSocket {
  const maxSize = options.maxSize ?? 4096;
  const perTurn = options.perTurn ?? 64;
  const addr = address(path);
  const fd = checkSyscall(socketC(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), 'socket');
  let receiver: Receiver | undefined;
  let cancel: (() => void) | undefined;
  let closed = false;
  try {
    const one = Buffer.alloc(4);
    one.writeInt32LE(1, 0);
    checkSyscall(setsockoptC(fd, SOL_SOCKET, SO_PASSCRED, one, 4), 'setsockopt');
    removeStaleSocket(path);
    checkSyscall(bindC(fd, addr, addr.length), 'bind', path);
    try {
      chmodSync(path, options.mode ?? 0o600);
      if (options.owner) chownSync(path, options.owner.uid, options.owner.gid);
    } catch (err) {
      unlinkSync(path);
      throw err;
    }
    receiver = new Receiver(fd, maxSize);
    const r = receiver;
    cancel = watchReadable(fd, () => {
      for (let i = 0; i < perTurn; i++) {
        let datagram: Datagram | undefined;
        try {
          datagram = r.receive();
        } catch (err) {
          handlers.error(err);
          return;
        }
        if (!datagram) return;
        handlers.message(datagram);
        if (closed) return;
      }
    });
  } catch (err) {
    receiver?.free();
    closeSync(fd);
    throw err;
  }
  return {
    fd,
    path,
    close: () => {
      if (closed) return;
      closed = true;
      cancel?.();
      closeSync(fd);
      receiver?.free();
      try {
        unlinkSync(path);
      } catch {}
    },
  };
}

/** recvmsg into one block of native memory: msghdr, iovec, control buffer, data. */
class Receiver {
  private mem: unknown;
  private view: Buffer;
  private readonly dataOffset = MSGHDR_SIZE + IOVEC_SIZE + CONTROL_SIZE;

  constructor(
    private readonly fd: number,
    private readonly maxSize: number,
  ) {
    const koffi = koffiModule();
    const total = this.dataOffset + Math.max(maxSize, 1);
    this.mem = koffi.alloc('uint8_t', total);
    const base = koffi.address(this.mem) as bigint;
    this.view = Buffer.from(koffi.view(this.mem, total) as ArrayBuffer);
    this.view.fill(0);
    // msg_name NULL; msg_iov → the iovec; msg_iovlen 1; msg_control → the control buffer
    this.view.writeBigUInt64LE(base + BigInt(MSGHDR_SIZE), 16);
    this.view.writeBigUInt64LE(1n, 24);
    this.view.writeBigUInt64LE(base + BigInt(MSGHDR_SIZE + IOVEC_SIZE), 32);
    this.view.writeBigUInt64LE(base + BigInt(this.dataOffset), MSGHDR_SIZE);
    this.view.writeBigUInt64LE(BigInt(Math.max(maxSize, 1)), MSGHDR_SIZE + 8);
  }

  /** The next datagram, or undefined when there is none now. */
  receive(): Datagram | undefined {
    const v = this.view;
    for (;;) {
      v.writeBigUInt64LE(BigInt(CONTROL_SIZE), 40);
      v.writeInt32LE(0, 48);
      const n = Number(recvmsgC(this.fd, this.mem, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC));
      if (n < 0) {
        const errno = lastErrno();
        if (errno === EAGAIN) return undefined;
        if (errno === EINTR) continue;
        throw new SysError('recvmsg', errno);
      }
      const flags = v.readInt32LE(48);
      const control = this.control(Number(v.readBigUInt64LE(40)));
      const truncated = n > this.maxSize || (flags & MSG_TRUNC) !== 0;
      return {
        data: truncated ? Buffer.alloc(0) : v.subarray(this.dataOffset, this.dataOffset + n),
        size: n,
        truncated,
        sender: control.sender,
        passedDescriptors: control.passedDescriptors || (flags & MSG_CTRUNC) !== 0,
      };
    }
  }

  private control(length: number): { sender?: Credentials; passedDescriptors: boolean } {
    const v = this.view;
    const start = MSGHDR_SIZE + IOVEC_SIZE;
    const end = start + Math.min(length, CONTROL_SIZE);
    let sender: Credentials | undefined;
    let passedDescriptors = false;
    let at = start;
    while (at + CMSG_HDR <= end) {
      const len = Number(v.readBigUInt64LE(at));
      if (len < CMSG_HDR || at + len > end) break;
      const level = v.readInt32LE(at + 8);
      const type = v.readInt32LE(at + 12);
      if (level === SOL_SOCKET && type === SCM_CREDENTIALS && len >= CMSG_HDR + 12) {
        sender = { pid: v.readInt32LE(at + 16), uid: v.readUInt32LE(at + 20), gid: v.readUInt32LE(at + 24) };
      } else if (level === SOL_SOCKET && type === SCM_RIGHTS) {
        passedDescriptors = true;
        for (let p = at + CMSG_HDR; p + 4 <= at + len; p += 4) {
          try {
            closeSync(v.readInt32LE(p));
          } catch {}
        }
      }
      at += (len + 7) & ~7;
    }
    return { sender, passedDescriptors };
  }

  free(): void {
    if (this.mem === undefined) return;
    koffiModule().free(this.mem);
    this.mem = undefined;
    this.view = Buffer.alloc(0);
  }
}

/**
 * Send one datagram to the socket at `path` without waiting (a full
 * receiver gives EAGAIN): what sd_notify does, for tests and tools.
 */
export function sendDatagram(path: string, data: Buffer): void {
  const addr = address(path);
  const fd = checkSyscall(socketC(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), 'socket');
  try {
    checkSyscall(Number(sendtoC(fd, data, data.length, MSG_DONTWAIT | MSG_NOSIGNAL, addr, addr.length)), 'sendto', path);
  } finally {
    closeSync(fd);
  }
}

// `u`/`U` targets (svlogd(8)): one datagram per selected line. runit
// opened a socket per line; one socket per directory does the same job.
import * as dgram from 'node:dgram';

export class UdpSender {
  private socket: dgram.Socket | undefined;

  /** `failed(datagram)` for each datagram that could not be sent. */
  constructor(private readonly failed: (datagram: Buffer) => void) {}

  /** Send one datagram; false if no socket could be made (runit: "no udp socket available"). */
  send(address: string, port: number, datagram: Buffer): boolean {
    if (!this.socket) {
      try {
        const socket = dgram.createSocket('udp4');
        socket.on('error', () => {});
        socket.unref();
        this.socket = socket;
      } catch {
        return false;
      }
    }
    this.socket.send(datagram, port, address, (err) => {
      if (err) this.failed(datagram);
    });
    return true;
  }

  close(): void {
    try {
      this.socket?.close();
    } catch {}
    this.socket = undefined;
  }
}

// What goes where in a log directory's output, planned as lines are cut
// and before anything is written: the selected lines' bytes (stamp, prefix,
// line), UDP datagrams and runit's UDP warnings, and where runit would have
// rotated `current` (WriteModel does that arithmetic). commit() hands the
// result to the directory's write queue as writes cut at rotations.
//
// Planned bytes are placed in blocks (BlockPool) in stream order. A block
// also holds a copy of the input chunk being cut, with its stamp and the
// prefix, so that each line is placed with copyWithin: no view object, no
// allocation per line. This is the logger's hot path.
import { defaultConfig, type LogDirConfig } from './config.js';
import { WriteModel } from './write-model.js';
import { STAMP_LENGTH } from './timestamp.js';
import { UdpSender } from './udp.js';
import { BlockPool } from './block-pool.js';

/** Where committed output goes: the directory's write queue. */
export interface PlannedOutput {
  /** these bytes (views on blocks, valid until written), in order */
  write(bufs: Buffer[], bytes: number): void;
  /** rotate `current`, which holds `size` bytes; `processor` is the config's `!` */
  rotate(size: number, processor: string): void;
}

const MIN_BLOCK_SIZE = 16 * 1024;
const EMPTY = Buffer.alloc(0);
const UDP_FAILURE = Buffer.from('warning: failure sending through udp: ');
const NO_UDP = Buffer.from('warning: no udp socket available: ');
const DOTS_NL = Buffer.from('...\n');
const NL = Buffer.from('\n');

export class OutputPlan {
  /** blocks of this stream; the write queue reports what was written */
  readonly pool = new BlockPool();
  private config: LogDirConfig = defaultConfig();
  private model: WriteModel | undefined;
  /** from begin() until the logger finishes or the directory closes: a UDP failure may still be written into the log */
  private accepting = false;
  private udp: UdpSender | undefined;
  // planned output, in absolute stream positions: sealed pieces, plus the
  // piece being filled at the end of the current block
  private pieces: Array<{ buf: Buffer; start: number }> = [];
  private block: Buffer = EMPTY;
  private blockPos = 0;
  private pieceOff = 0;
  private pieceStart = 0;
  private appended = 0;
  private committed = 0;
  // the staged input chunk, and where it, its stamp and the prefix are in the block
  private src: Buffer | undefined;
  private srcStamp: Buffer = EMPTY;
  private srcOff = 0;
  private stampOff = 0;
  private prefixOff = 0;
  private view: DataView = new DataView(new ArrayBuffer(0));
  /** the staged stamp (26 bytes) as six int32 and one uint16, little-endian */
  private readonly stampWords = new Int32Array(7);
  /** rotations planned and not yet committed: stream position, size of `current` */
  private markers: Array<{ pos: number; size: number }> = [];

  constructor(
    private readonly lineMax: number,
    private readonly bufLen: number,
    private readonly output: PlannedOutput,
    /** a rotation was planned (the `t` deadline may need re-arming) */
    private readonly rotationPlanned: () => void,
  ) {}

  /** The directory is open with `config`, and `current` holds `size` bytes. */
  begin(config: LogDirConfig, size: number): void {
    this.config = config;
    this.model = new WriteModel(config.sizeMax, this.lineMax, this.bufLen, size, (pos, rotated) => this.planRotation(pos, rotated));
    this.model.pos = this.appended;
    this.committed = this.appended;
    this.accepting = true;
  }

  /** The logger is finishing: a UDP failure reported from now on is not written into the log. */
  stop(): void {
    this.accepting = false;
  }

  /** The directory is closed: the UDP socket and the spare blocks go. */
  release(): void {
    this.accepting = false;
    this.udp?.close();
    this.udp = undefined;
    this.pool.drop();
  }

  private planRotation(pos: number, size: number): void {
    this.markers.push({ pos, size });
    this.rotationPlanned();
  }

  /** Stream position after everything planned so far (the write queue's `wrote` counts in the same bytes). */
  get planned(): number {
    return this.appended;
  }

  /** bytes put before every line */
  get prefix(): Buffer {
    return this.config.prefix;
  }

  /** ALRM or the `t` deadline: rotate now if `current` is not empty. */
  rotateNow(): void {
    this.model!.forceRotate();
    this.commit();
  }

  /** Write out what the model still buffers inside an unfinished long line (before HUP or the end). */
  flushHeld(): void {
    this.model!.flush(false);
    this.commit();
  }

  /** End the piece being filled; the next one starts at the block's free space. */
  private seal(): void {
    if (this.blockPos > this.pieceOff) this.pieces.push({ buf: this.block.subarray(this.pieceOff, this.blockPos), start: this.pieceStart });
    this.pieceOff = this.blockPos;
    this.pieceStart = this.appended;
  }

  private stagedLength(): number {
    return this.src ? this.src.length + this.srcStamp.length + this.config.prefix.length : 0;
  }

  /** A new block with room for `n` bytes of output (the staged chunk is copied again). */
  private newBlock(n: number): void {
    this.seal();
    if (this.block.length) this.pool.retire(this.block, this.appended);
    // sized by the input: small for a quiet service, a few chunks (each
    // staged, with its output) when busy
    const staged = this.stagedLength();
    this.block = this.pool.take(Math.max(MIN_BLOCK_SIZE, staged + n, 8 * staged));
    this.view = new DataView(this.block.buffer, this.block.byteOffset, this.block.length);
    this.blockPos = 0;
    this.placeStage();
  }

  private placeStage(): void {
    const src = this.src;
    if (src) {
      const blk = this.block;
      let o = this.blockPos;
      this.srcOff = o;
      blk.set(src, o);
      o += src.length;
      this.stampOff = o;
      blk.set(this.srcStamp, o);
      o += this.srcStamp.length;
      this.prefixOff = o;
      blk.set(this.config.prefix, o);
      o += this.config.prefix.length;
      this.blockPos = o;
    }
    this.pieceOff = this.blockPos;
    this.pieceStart = this.appended;
  }

  /** The input chunk about to be cut into lines, and its stamp (see appendLine). */
  stage(chunk: Buffer, stamp: Buffer): void {
    this.src = chunk;
    if (stamp !== this.srcStamp && stamp.length === STAMP_LENGTH) {
      const w = this.stampWords;
      for (let i = 0; i < 6; i++) w[i] = stamp.readInt32LE(4 * i);
      w[6] = stamp.readUInt16LE(24);
    }
    this.srcStamp = stamp;
    const need = this.stagedLength();
    if (this.block.length - this.blockPos < need + 2 * chunk.length) {
      this.newBlock(2 * chunk.length);
    } else {
      this.seal();
      this.placeStage();
    }
  }

  /** The chunk is done (it may be reused by its owner). */
  unstage(): void {
    this.src = undefined;
  }

  private appendBytes(parts: readonly Buffer[], total: number): void {
    if (this.block.length - this.blockPos < total) this.newBlock(total);
    const blk = this.block;
    let o = this.blockPos;
    for (const part of parts) {
      blk.set(part, o);
      o += part.length;
    }
    this.blockPos = o;
    this.appended += total;
  }

  /** A selected line shorter than `-l`: stamp, prefix, line, newline. */
  appendLine(stamp: Buffer, buf: Buffer, start: number, end: number): void {
    const prefix = this.config.prefix;
    const len = end - start;
    const sl = stamp.length;
    const pl = prefix.length;
    const total = sl + pl + len + 1;
    if (this.block.length - this.blockPos < total) this.newBlock(total);
    const blk = this.block;
    let o = this.blockPos;
    if (buf === this.src && stamp === this.srcStamp) {
      // everything is in this block already
      if (sl) {
        blk.copyWithin(o, this.stampOff, this.stampOff + sl);
        o += sl;
      }
      if (pl) {
        blk.copyWithin(o, this.prefixOff, this.prefixOff + pl);
        o += pl;
      }
      const from = this.srcOff + start;
      blk.copyWithin(o, from, from + len);
      o += len;
    } else {
      blk.set(stamp, o);
      o += sl;
      blk.set(prefix, o);
      o += pl;
      buf.copy(blk, o, start, end);
      o += len;
    }
    blk[o] = 10;
    this.blockPos = o + 1;
    this.appended += total;
    this.model!.line(sl, pl, len);
  }

  /**
   * `count` complete lines shorter than `-l` (see LineSink.lines), all
   * selected: the hot path. Lines of the staged chunk are copied with their
   * newline; without stamp and prefix a run of lines is one copy.
   */
  appendLines(stamp: Buffer, buf: Buffer, start: number, ends: Int32Array, count: number): void {
    if (buf !== this.src || stamp !== this.srcStamp) {
      let s = start;
      for (let i = 0; i < count; i++) {
        const e = ends[i]!;
        this.appendLine(stamp, buf, s, e);
        s = e + 1;
      }
      return;
    }
    const sl = stamp.length;
    const pl = this.config.prefix.length;
    const extra = sl + pl;
    const total = ends[count - 1]! + 1 - start + count * extra;
    if (this.block.length - this.blockPos < total) this.newBlock(total);
    const blk = this.block;
    const model = this.model!;
    const srcOff = this.srcOff;
    let o = this.blockPos;
    let s = start;
    if (extra === 0) {
      const stop = ends[count - 1]! + 1;
      blk.copyWithin(o, srcOff + s, srcOff + stop);
      o += stop - s;
      for (let i = 0; i < count; i++) {
        const e = ends[i]!;
        model.line(0, 0, e - s);
        s = e + 1;
      }
    } else if (sl === STAMP_LENGTH && pl === 0) {
      // the stamp as six 32-bit and one 16-bit store: cheaper than a copy
      const view = this.view;
      const w = this.stampWords;
      const w0 = w[0]!;
      const w1 = w[1]!;
      const w2 = w[2]!;
      const w3 = w[3]!;
      const w4 = w[4]!;
      const w5 = w[5]!;
      const w6 = w[6]!;
      for (let i = 0; i < count; i++) {
        const e = ends[i]!;
        view.setInt32(o, w0, true);
        view.setInt32(o + 4, w1, true);
        view.setInt32(o + 8, w2, true);
        view.setInt32(o + 12, w3, true);
        view.setInt32(o + 16, w4, true);
        view.setInt32(o + 20, w5, true);
        view.setUint16(o + 24, w6, true);
        o += STAMP_LENGTH;
        blk.copyWithin(o, srcOff + s, srcOff + e + 1);
        o += e + 1 - s;
        model.line(STAMP_LENGTH, 0, e - s);
        s = e + 1;
      }
    } else {
      const stampOff = this.stampOff;
      const prefixOff = this.prefixOff;
      for (let i = 0; i < count; i++) {
        const e = ends[i]!;
        if (sl) {
          blk.copyWithin(o, stampOff, stampOff + sl);
          o += sl;
        }
        if (pl) {
          blk.copyWithin(o, prefixOff, prefixOff + pl);
          o += pl;
        }
        blk.copyWithin(o, srcOff + s, srcOff + e + 1);
        o += e + 1 - s;
        model.line(sl, pl, e - s);
        s = e + 1;
      }
    }
    this.blockPos = o;
    this.appended += total;
  }

  /** Whether appendText() can take `total` bytes of lines, the longest `longest` bytes (see WriteModel.canBulk). */
  canBulk(total: number, longest: number): boolean {
    return this.model!.canBulk(total, longest);
  }

  /**
   * Complete short lines, already put together with their stamps and
   * prefix (`text`: latin1, one char per byte, `total` of them), after
   * canBulk() said yes: one copy, no work per line.
   */
  appendText(text: string, total: number): void {
    if (this.block.length - this.blockPos < total) this.newBlock(total);
    this.block.write(text, this.blockPos, total, 'latin1');
    this.blockPos += total;
    this.appended += total;
    this.model!.bulk(total);
  }

  /** The first `-l` bytes of a selected long line, with stamp and prefix. */
  appendHead(stamp: Buffer, head: Buffer): void {
    const prefix = this.config.prefix;
    this.appendBytes([stamp, prefix, head], stamp.length + prefix.length + head.length);
    this.model!.head(stamp.length, prefix.length, head.length);
  }

  /** Bytes of the long line beyond `-l`, written as they are; `offset` = input offset of the first. */
  appendRest(buf: Buffer, start: number, end: number, offset: number): void {
    this.appendBytes([buf.subarray(start, end)], end - start);
    this.model!.rest(end - start, offset);
  }

  /** The newline of the long line, at input offset `offset`. */
  appendEnd(offset: number): void {
    this.appendBytes([NL], 1);
    this.model!.end(offset);
  }

  /** UDP for a selected line: `[stamp][prefix]line[...]\n`. */
  sendUdp(stamp: Buffer, line: Buffer, long: boolean): void {
    const udp = this.config.udp;
    if (!udp) return;
    const datagram = Buffer.concat([stamp, this.config.prefix, line, long ? DOTS_NL : NL]);
    this.udp ??= new UdpSender((failed) => this.udpFailed(failed));
    if (!this.udp.send(udp.address, udp.port, datagram)) {
      const parts = [NO_UDP, stamp, this.config.prefix, line, NL];
      this.appendBytes(
        parts,
        parts.reduce((n, p) => n + p.length, 0),
      );
      this.model!.message(parts.map((p) => p.length));
    }
  }

  /** A datagram could not be sent: say so in the log (runit's warning line), between lines. */
  private udpFailed(datagram: Buffer): void {
    if (!this.accepting || !this.model || this.model.held > 0) return;
    this.appendBytes([UDP_FAILURE, datagram], UDP_FAILURE.length + datagram.length);
    this.model.message([UDP_FAILURE.length, datagram.length]);
    this.commit();
  }

  /** The absolute range [from, to) of planned bytes, as views. */
  private range(from: number, to: number): Buffer[] {
    const views: Buffer[] = [];
    const add = (buf: Buffer, start: number): void => {
      const end = start + buf.length;
      if (end <= from || start >= to) return;
      views.push(buf.subarray(Math.max(from, start) - start, Math.min(to, end) - start));
    };
    for (const { buf, start } of this.pieces) add(buf, start);
    if (this.blockPos > this.pieceOff) add(this.block.subarray(this.pieceOff, this.blockPos), this.pieceStart);
    return views;
  }

  /** Hand what the model has written so far to the write queue, cut at rotations. */
  commit(): void {
    if (!this.model) return;
    const end = this.model.pos;
    if (end === this.committed && this.markers.length === 0) return;
    let from = this.committed;
    for (const marker of this.markers) {
      if (marker.pos > from) this.output.write(this.range(from, marker.pos), marker.pos - from);
      this.output.rotate(marker.size, this.config.processor);
      from = marker.pos;
    }
    this.markers = [];
    if (end > from) this.output.write(this.range(from, end), end - from);
    this.committed = end;
    // queued bytes are never written over: later lines go after them
    this.pieces = this.pieces.filter((p) => p.start + p.buf.length > end);
  }
}

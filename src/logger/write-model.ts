// Where runit's svlogd rotates, reproduced without doing its writes.
//
// runit writes each log line through a djb `buffer` of `-b` bytes whose
// write function rotates `current` (svlogd(8)): before each write, if
// the size has reached `s` it rotates, and it cuts the write to the room
// left (so a long line may be split across files); after a write that ends
// with a newline, if the size has reached `s - len` it rotates. Which writes
// happen depends on the buffer size and, inside lines longer than `-l`, on
// where its reads of standard input ended: runit reads `-b` bytes at a time
// and flushes its buffers before each read, which for a regular file means
// at every multiple of `-b` in the input. This model does that arithmetic
// on lengths only; the caller appends the bytes to its own output in one
// piece and cuts it at the positions the model reports, so files match
// runit's byte for byte while the writes themselves are batched.
// Pure: no I/O.

/** djb's BUFFER_OUTSIZE: the write size for data larger than the buffer. */
const BUFFER_OUTSIZE = 8192;

export class WriteModel {
  /** logical size of `current` */
  size: number;
  /** bytes handed to runit's write function so far, over the whole stream */
  pos = 0;
  /** bytes in the emulated buffer, not yet written */
  private fill = 0;
  private readonly threshold: number;

  /**
   * `onRotate(pos, size)`: rotate at stream position `pos`; `size` is the
   * size of `current` being rotated (never 0).
   */
  constructor(
    readonly sizeMax: number,
    readonly lineMax: number,
    readonly bufLen: number,
    size: number,
    private readonly onRotate: (pos: number, size: number) => void,
  ) {
    this.size = size;
    // runit computes sizemax - linemax in unsigned arithmetic: when the
    // line length exceeds the size, the "room for a line" rule never fires
    this.threshold = sizeMax >= lineMax ? sizeMax - lineMax : Infinity;
  }

  /** Bytes taken in but not yet written (inside an unfinished long line). */
  get held(): number {
    return this.fill;
  }

  private rotate(): void {
    if (this.size > 0) {
      const size = this.size;
      this.size = 0;
      this.onRotate(this.pos, size);
    }
  }

  /** runit's buffer_pwrite for `len` bytes; `endsWithNewline`: their last byte is `\n`. */
  private write(len: number, endsWithNewline: boolean): void {
    const max = this.sizeMax;
    while (len > 0) {
      let w = len;
      if (max) {
        if (this.size >= max) this.rotate();
        if (w > max - this.size) w = max - this.size;
      }
      this.size += w;
      this.pos += w;
      len -= w;
      if (max && len === 0 && endsWithNewline && this.size >= this.threshold) this.rotate();
    }
  }

  /**
   * A complete line shorter than `-l`: stamp, prefix, line and newline. One
   * write when it all fits in the buffer, which is the common case.
   */
  line(stampLength: number, prefixLength: number, lineLength: number): void {
    const len = stampLength + prefixLength + lineLength + 1;
    if (len <= this.bufLen && this.fill === 0) {
      // the common case, inlined: one write of the whole line
      const max = this.sizeMax;
      if (max) {
        if (this.size >= max) this.rotate();
        if (len <= max - this.size) {
          this.size += len;
          this.pos += len;
          if (this.size >= this.threshold) this.rotate();
          return;
        }
      } else {
        this.size += len;
        this.pos += len;
        return;
      }
      this.write(len, true);
      return;
    }
    this.head(stampLength, prefixLength, lineLength);
    this.putc(1);
    this.flush(true);
  }

  /**
   * Whether `total` bytes of complete short lines, none longer than
   * `longest` bytes (stamp, prefix and newline included), can be taken at
   * once (bulk()): each would be one write of the common case in line(),
   * and no rotation falls among them.
   */
  canBulk(total: number, longest: number): boolean {
    if (this.fill !== 0 || longest > this.bufLen) return false;
    const max = this.sizeMax;
    return !max || this.size + total < Math.min(this.threshold, max);
  }

  /** Those lines (canBulk() said yes): what line() for each would have done. */
  bulk(total: number): void {
    this.size += total;
    this.pos += total;
  }

  /** djb buffer_put of `len` bytes. */
  put(len: number): void {
    const n = this.bufLen;
    if (len > n - this.fill) {
      this.flush(false);
      const chunk = Math.max(n, BUFFER_OUTSIZE);
      while (len > n) {
        const w = Math.min(chunk, len);
        this.write(w, false);
        len -= w;
      }
    }
    this.fill += len;
  }

  /** `count` bytes through djb buffer_PUTC, one at a time. */
  putc(count: number): void {
    const n = this.bufLen;
    while (count > 0) {
      if (this.fill === n) {
        this.write(this.fill, false);
        this.fill = 0;
      }
      const take = Math.min(count, n - this.fill);
      this.fill += take;
      count -= take;
    }
  }

  /** djb buffer_flush. */
  flush(endsWithNewline: boolean): void {
    if (this.fill > 0) {
      const len = this.fill;
      this.fill = 0;
      this.write(len, endsWithNewline);
    }
  }

  /**
   * The start of a line of at least `-l` bytes: stamp, prefix and the first
   * `-l` bytes, put into the buffer.
   */
  head(stampLength: number, prefixLength: number, lineLength: number): void {
    if (stampLength) this.put(stampLength);
    if (prefixLength) this.put(prefixLength);
    this.put(lineLength);
  }

  /**
   * `len` more bytes of a long line, the first of them at input offset
   * `offset`: runit flushes before reading at each multiple of `-b`.
   */
  rest(len: number, offset: number): void {
    const n = this.bufLen;
    while (len > 0) {
      if (offset % n === 0) this.flush(false);
      const untilRead = n - (offset % n);
      const take = Math.min(len, untilRead);
      this.putc(take);
      len -= take;
      offset += take;
    }
  }

  /** The newline that ends a long line, at input offset `offset`. */
  end(offset: number): void {
    if (offset % this.bufLen === 0) this.flush(false);
    this.putc(1);
    this.flush(true);
  }

  /** A message put in pieces of these lengths, then flushed; it ends with a newline (runit's UDP warnings). */
  message(lengths: readonly number[]): void {
    for (const len of lengths) this.put(len);
    this.flush(true);
  }

  /** ALRM or the `t` deadline: write what is buffered, then rotate if `current` is not empty. */
  forceRotate(): void {
    this.flush(false);
    this.rotate();
  }
}

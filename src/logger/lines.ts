// Cutting standard input into lines (svlogd(8)). Pure: no I/O.
//
// A line is the bytes up to `\n`. Only its first `len` (-l) bytes are "the
// line" that patterns, stderr and UDP see, and only those are subject to
// the replacement character; bytes beyond are written to the directory as
// they are. A line reaches the sink in one of two shapes:
//   - shorter than `len`: `line(buf, start, end, stamp)` once it is complete;
//   - `len` bytes or longer: `head()` with the first `len` bytes as soon as
//     they are in, then `rest()` for the bytes beyond as they arrive, then
//     `end()` for its newline. Memory stays bounded by `len` whatever the
//     line length.
// The stamp of a line is the one given with the input chunk holding its
// first byte: the time that byte was read.

export interface LineSink {
  /** A complete line shorter than `len`, without its newline (already replaced). */
  line(buf: Buffer, start: number, end: number, stamp: Buffer): void;
  /**
   * `count` complete lines shorter than `len`, one after the other in
   * `buf`: line i runs from `start` (i = 0) or `ends[i - 1] + 1` to its
   * newline at `ends[i]`. `ends` is only valid during the call.
   */
  lines(buf: Buffer, start: number, ends: Int32Array, count: number, stamp: Buffer): void;
  /** The first `len` bytes of a longer line (already replaced). */
  head(head: Buffer, stamp: Buffer): void;
  /** More bytes of that line; `offset` is the input offset of buf[start]. */
  rest(buf: Buffer, start: number, end: number, offset: number): void;
  /** Its newline, at input offset `offset`. */
  end(offset: number): void;
}

/**
 * The byte map of `-r c` / `-R abc`: bytes below 32 or above 126, and those
 * in `extra`, become `replacement`. Undefined when there is no replacement.
 */
export function replacementMap(replacement: number | undefined, extra: Uint8Array = new Uint8Array(0)): Uint8Array | undefined {
  if (replacement === undefined) return undefined;
  const map = new Uint8Array(256);
  for (let b = 0; b < 256; b++) map[b] = b < 32 || b > 126 ? replacement : b;
  for (const b of extra) map[b] = replacement;
  return map;
}

function growInt32(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

export class LineFramer {
  /** input offset of the next byte */
  offset = 0;
  /** input offset of the first byte of the line begun and not ended (= offset when none is) */
  lineStart = 0;
  /** pieces of an unfinished line shorter than `len` so far */
  private parts: Buffer[] = [];
  private partLength = 0;
  private partStamp: Buffer = Buffer.alloc(0);
  /** inside a line of `len` bytes or more, after its head */
  private long = false;
  private prepared: Buffer | undefined;
  /** newline positions of a run of short lines */
  private ends: Int32Array<ArrayBuffer> = new Int32Array(1024);

  constructor(
    private readonly lineMax: number,
    private readonly map: Uint8Array | undefined,
    private readonly sink: LineSink,
  ) {}

  /** Inside a line of `len` bytes or more (its head is out). */
  get inLongLine(): boolean {
    return this.long;
  }

  /** A line has begun and not ended. */
  get pending(): boolean {
    return this.long || this.partLength > 0;
  }

  /**
   * Apply the replacement to the bytes of `chunk` that will be "the line"
   * (the first `len` bytes of each line), in place. push() does it when it
   * was not done before; a caller that wants the replaced bytes first (to
   * copy the chunk) calls it itself.
   */
  prepare(chunk: Buffer): void {
    this.prepared = chunk;
    const map = this.map;
    if (!map) return;
    const lineMax = this.lineMax;
    const n = chunk.length;
    let pos = 0;
    let inLine = this.long ? lineMax : this.partLength;
    for (;;) {
      const nl = chunk.indexOf(10, pos);
      const stop = nl < 0 ? n : nl;
      if (inLine < lineMax) {
        const limit = Math.min(stop, pos + lineMax - inLine);
        for (let i = pos; i < limit; i++) chunk[i] = map[chunk[i]!]!;
      }
      if (nl < 0) break;
      pos = nl + 1;
      inLine = 0;
    }
  }

  /**
   * Take a chunk of input read at the time `stamp` stands for. Modifies
   * `chunk` in place (replacement); keeps no reference to it after return,
   * so the caller may reuse it.
   */
  push(chunk: Buffer, stamp: Buffer): void {
    if (this.prepared !== chunk) this.prepare(chunk);
    this.prepared = undefined;
    const n = chunk.length;
    const base = this.offset;
    const sink = this.sink;
    const lineMax = this.lineMax;
    let pos = 0;
    if (this.long) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        if (n > 0) sink.rest(chunk, 0, n, base);
        this.offset += n;
        return;
      }
      if (nl > 0) sink.rest(chunk, 0, nl, base);
      sink.end(base + nl);
      this.long = false;
      pos = nl + 1;
    } else if (this.partLength > 0) {
      const need = lineMax - this.partLength;
      const nl = chunk.indexOf(10);
      if (nl >= 0 && nl < need) {
        this.parts.push(chunk.subarray(0, nl));
        const line = Buffer.concat(this.parts, this.partLength + nl);
        const stamp2 = this.partStamp;
        this.clearPart();
        sink.line(line, 0, line.length, stamp2);
        pos = nl + 1;
      } else if (nl < 0 && n < need) {
        this.parts.push(Buffer.from(chunk));
        this.partLength += n;
        this.offset += n;
        return;
      } else {
        this.parts.push(chunk.subarray(0, need));
        const head = Buffer.concat(this.parts, lineMax);
        const stamp2 = this.partStamp;
        this.clearPart();
        sink.head(head, stamp2);
        const stop = nl < 0 ? n : nl;
        if (stop > need) sink.rest(chunk, need, stop, base + need);
        if (nl < 0) {
          this.long = true;
          this.offset += n;
          return;
        }
        sink.end(base + nl);
        pos = nl + 1;
      }
    }
    // runs of complete short lines go to the sink in one call
    let ends = this.ends;
    let count = 0;
    let runStart = pos;
    while (pos < n) {
      const nl = chunk.indexOf(10, pos);
      const stop = nl < 0 ? n : nl;
      const len = stop - pos;
      if (len < lineMax && nl >= 0) {
        if (count === ends.length) ends = this.ends = growInt32(ends);
        ends[count++] = nl;
        pos = nl + 1;
        continue;
      }
      if (count > 0) {
        sink.lines(chunk, runStart, ends, count, stamp);
        count = 0;
      }
      if (len < lineMax) {
        // an unfinished line: keep a copy, the chunk may be reused
        this.parts.push(Buffer.from(chunk.subarray(pos)));
        this.partLength = len;
        this.partStamp = stamp;
        this.lineStart = base + pos;
        pos = n;
        break;
      }
      const headEnd = pos + lineMax;
      sink.head(chunk.subarray(pos, headEnd), stamp);
      if (stop > headEnd) sink.rest(chunk, headEnd, stop, base + headEnd);
      if (nl < 0) {
        this.long = true;
        this.lineStart = base + pos;
        pos = n;
        break;
      }
      sink.end(base + nl);
      pos = stop + 1;
      runStart = pos;
    }
    if (count > 0) sink.lines(chunk, runStart, ends, count, stamp);
    this.offset += n;
    if (!this.long && this.partLength === 0) this.lineStart = this.offset;
  }

  /** `n` bytes of complete lines were taken by the caller in bulk (no line was in progress). */
  skip(n: number): void {
    this.offset += n;
    this.lineStart = this.offset;
  }

  private clearPart(): void {
    this.parts = [];
    this.partLength = 0;
  }

  /**
   * End of input (or TERM): an unfinished line gets its newline. Returns
   * whether there was one. (runit discarded it.)
   */
  finish(): boolean {
    this.lineStart = this.offset;
    if (this.long) {
      this.long = false;
      this.sink.end(this.offset);
      return true;
    }
    if (this.partLength > 0) {
      const line = Buffer.concat(this.parts, this.partLength);
      const stamp = this.partStamp;
      this.clearPart();
      this.sink.line(line, 0, line.length, stamp);
      return true;
    }
    return false;
  }
}

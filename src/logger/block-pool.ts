// The memory that planned output is assembled in: blocks of a log
// directory's output stream, each reused once every byte planned into it
// has been written. A quiet logger keeps a couple of small blocks; a busy
// one a few large ones (a rotation's fsync lets some fill up meanwhile),
// and lets go of those it has not needed for a second.

/** Written blocks kept for reuse: up to SPARE_BUSY while they are being used again... */
const SPARE_BUSY = 8;
/** ...and SPARE_BLOCKS once a second has passed without needing the others. */
const SPARE_BLOCKS = 2;
const SPARE_TRIM_MS = 1000;

export class BlockPool {
  /** full blocks and the stream position after their last byte */
  private retired: Array<{ block: Buffer; end: number }> = [];
  private spare: Buffer[] = [];
  /** the fewest spare blocks there were since the trim timer was armed */
  private spareLow = 0;
  private spareTimer: NodeJS.Timeout | undefined;
  /** stream position of the bytes written so far */
  private writtenTo = 0;

  /** A block of at least `size` bytes: a spare one if there is one, else new. */
  take(size: number): Buffer {
    const reuse = this.spare.findIndex((b) => b.length >= size);
    if (reuse >= 0) {
      const block = this.spare.splice(reuse, 1)[0]!;
      if (this.spare.length < this.spareLow) this.spareLow = this.spare.length;
      return block;
    }
    // spare blocks too small for this input are from quieter times
    this.spare = this.spare.filter((b) => b.length >= size);
    return Buffer.allocUnsafe(size);
  }

  /** `block` is full; its last planned byte is at stream position `end`. */
  retire(block: Buffer, end: number): void {
    this.retired.push({ block, end });
  }

  /** `n` more bytes of the stream are written: blocks whose bytes all are can be filled again. */
  written(n: number): void {
    this.writtenTo += n;
    while (this.retired.length && this.retired[0]!.end <= this.writtenTo) {
      const { block } = this.retired.shift()!;
      if (this.spare.length < SPARE_BUSY) this.spare.push(block);
    }
    if (this.spare.length > SPARE_BLOCKS && !this.spareTimer) this.armTrim();
  }

  /** Let go of every spare block (the directory is closed). */
  drop(): void {
    if (this.spareTimer) clearTimeout(this.spareTimer);
    this.spareTimer = undefined;
    this.spare = [];
  }

  private armTrim(): void {
    this.spareLow = this.spare.length;
    this.spareTimer = setTimeout(() => this.trim(), SPARE_TRIM_MS);
    this.spareTimer.unref();
  }

  /** Let go of the spare blocks not needed for a second (beyond SPARE_BLOCKS). */
  private trim(): void {
    this.spareTimer = undefined;
    const drop = Math.min(this.spareLow, this.spare.length - SPARE_BLOCKS);
    if (drop > 0) this.spare.splice(0, drop);
    if (this.spare.length > SPARE_BLOCKS) this.armTrim();
  }
}

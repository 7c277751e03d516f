// The `t` instruction of a log directory's config (svlogd(8)): rotate a
// non-empty `current` once it is this many seconds old. The deadline is
// measured on the monotonic clock; a timer that fires early (timers may)
// waits again for the rest.

/** setTimeout's largest delay */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class RotationDeadline {
  private timer: NodeJS.Timeout | undefined;
  private deadline = 0;

  /** `timeUp` when the deadline has come; the owner rotates (if non-empty) and re-arms. */
  constructor(private readonly timeUp: () => void) {}

  /** A new deadline `seconds` from now (0: none). */
  arm(seconds: number): void {
    this.disarm();
    if (!seconds) return;
    this.deadline = performance.now() + seconds * 1000;
    this.schedule();
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A rotation was planned: runit re-arms `t` on any rotation once its deadline has passed. */
  rotated(seconds: number): void {
    if (seconds && performance.now() >= this.deadline) this.arm(seconds);
  }

  private schedule(): void {
    const delay = Math.min(Math.max(this.deadline - performance.now(), 0), MAX_DELAY_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (performance.now() + 1 < this.deadline) this.schedule();
      else this.timeUp();
    }, delay);
  }
}

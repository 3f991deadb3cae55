/**
 * Spreads a burst of work over turns of the event loop: at most `batch` callers go on per turn.
 *
 * When thousands of trigger claims come back from Redis at once, setting up all their watchers in
 * one microtask run blocks the event loop for seconds (10,000 watchers: ~3 s on this project's
 * bench machine), and BullMQ's lock renewal, a timer, misses its turn: locks expire and the
 * stalled check takes the triggers away again. Between two batches the loop runs its timers.
 */
export class Pacer {
  private readonly waiting: (() => void)[] = [];
  private scheduled = false;

  constructor(private readonly batch = 100) {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be >= 1, got ${batch}`);
  }

  /** Resolves on a later turn of the event loop, callers in the order they came. */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  /** Lets every caller waiting now go on at once (on close, when nothing is left to protect). */
  flush(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // An immediate scheduled from an immediate runs on the next turn, after that turn's timers.
    setImmediate(() => this.release());
  }

  private release(): void {
    this.scheduled = false;
    for (const resolve of this.waiting.splice(0, this.batch)) resolve();
    if (this.waiting.length > 0) this.schedule();
  }
}

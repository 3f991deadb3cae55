/**
 * A one-shot signal that remembers: the first `fire` wins, and a listener that comes later is
 * called at once with that value. One listener at a time (a later `listen` replaces it). What a
 * watcher's stop (hand-off, lost lock) needs, without an RxJS Subject and its subscribers per trigger.
 */
export class Latch<T> {
  private fired = false;
  private value: T | undefined;
  private listener: ((value: T) => void) | undefined;

  /** Fires with `value` unless fired before; calls the listener, if any. */
  fire(value: T): void {
    if (this.fired) return;
    this.fired = true;
    this.value = value;
    this.listener?.(value);
  }

  /** Calls `listener` when fired, at once if it already has. */
  listen(listener: (value: T) => void): void {
    this.listener = listener;
    if (this.fired) listener(this.value as T);
  }

  /** Drops the listener. */
  clear(): void {
    this.listener = undefined;
  }
}

/** A promise with its resolve (Promise.withResolvers needs Node 22). */
export interface Settable<T> {
  readonly promise: Promise<T>;
  resolve(value: T | Promise<T>): void;
}

export function settable<T>(): Settable<T> {
  let resolve!: (value: T | Promise<T>) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

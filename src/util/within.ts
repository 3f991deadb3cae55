/**
 * Waits for `promise` at most `ms`; resolves true when it settled in time (fulfilled or rejected),
 * false otherwise. Never rejects. What closing uses against a Redis that may be away.
 */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}

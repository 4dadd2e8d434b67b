/**
 * Test harness: polls `check` every 25 ms until it holds, or throws after
 * `ms` naming `what` was awaited.
 *
 * @module
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms = 15_000,
  what = "Condition",
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `check` until it returns something truthy and returns that; bounded, so a broken run fails
 * instead of hanging. Tests wait on conditions with it, never on fixed sleeps.
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
  stepMs = 20,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(stepMs);
  }
}

/**
 * Controllers running on the fake api, for handler tests: what was started is
 * stopped after each test (`afterEach(stopRunning)`), and `until` polls the
 * fake's state with a deadline instead of sleeping.
 */
import type { InformerFactory } from '@kemu/client';

const running: { informers: InformerFactory; ac: AbortController }[] = [];

/** Remember informers and the signal of controllers a test started. */
export function trackRunning(informers: InformerFactory, ac: AbortController): void {
  running.push({ informers, ac });
}

/** Stop every controller and informer a test started. */
export function stopRunning(): void {
  for (const r of running.splice(0)) {
    r.ac.abort();
    r.informers.stop();
  }
}

/** The first truthy value of `get`, polled every 5 ms; throws after `ms`. */
export async function until<T>(what: string, get: () => T | undefined | false, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

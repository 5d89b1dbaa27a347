/**
 * Calls refused with a Retry-After, tried again as client-go does; shared by
 * the gRPC client and the REST one (which the in-cluster add-ons load alone).
 */
import { StatusError } from '@kemu/api';

/** client-go's default: a request refused with a Retry-After is tried again up to 10 times. */
export const MAX_RETRIES = 10;

/**
 * How long to wait before trying a failed call again, in ms, or undefined
 * when it is not to be retried: as client-go's checkWait, a 429 or a 5xx
 * that says when to come back (the Status' retryAfterSeconds, which REST
 * sends as the Retry-After header). The api-server refuses such a call
 * before doing anything, so even a create may be sent again.
 */
export function retryAfterMs(e: unknown): number | undefined {
  if (!(e instanceof StatusError) || (e.code !== 429 && e.code < 500)) return undefined;
  const seconds = e.status.details?.retryAfterSeconds;
  return seconds === undefined || !(seconds >= 0) ? undefined : seconds * 1000;
}

/** Run `attempt`, and again after each refusal with a Retry-After, at most `maxRetries` more times; then fail with the last error. */
export async function withRetries<T>(attempt: () => Promise<T>, sleep: (ms: number) => Promise<void>, maxRetries = MAX_RETRIES): Promise<T> {
  for (let retries = 0; ; retries++) {
    try {
      return await attempt();
    } catch (e) {
      const wait = retries < maxRetries ? retryAfterMs(e) : undefined;
      if (wait === undefined) throw e;
      await sleep(wait);
    }
  }
}

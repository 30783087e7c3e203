import type { Logger } from 'pino';
import { Pause } from './events.js';
import { startChangeFeed, type ChangeFeed, type ChangeFeedOptions } from './index.js';

/**
 * Starts the change feed; when the broker cannot be reached (or the stream is not there yet),
 * the subgraph starts without it and keeps trying with back-off. Reads and the revalidation sweep
 * do not depend on a broker, so a broker outage must not keep a replica from serving.
 */
export async function superviseChangeFeed(url: string, options: ChangeFeedOptions, log: Logger, firstRetryMs = 5000): Promise<ChangeFeed> {
  let feed: ChangeFeed | null = null;
  let stopped = false;
  const pause = new Pause();
  const attempt = async (): Promise<boolean> => {
    try {
      feed = await startChangeFeed(url, options);
      return true;
    } catch (err) {
      log.error({ err: { message: (err as Error).message } }, 'change feed unavailable; the subgraph runs without it and keeps trying');
      return false;
    }
  };
  let retrying: Promise<void> = Promise.resolve();
  if (!(await attempt())) {
    retrying = (async () => {
      for (let delay = firstRetryMs; !stopped; delay = Math.min(delay * 2, 60_000)) {
        await pause.sleep(delay);
        if (stopped || (await attempt())) return;
      }
    })();
  }
  return {
    async stop() {
      stopped = true;
      pause.interrupt();
      await retrying;
      await (feed as ChangeFeed | null)?.stop();
    },
  };
}

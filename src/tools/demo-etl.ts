import { resolve } from 'node:path';
import { runEtl } from '../demo/etl.js';
import { ensureDemoClientStore } from '../remote/client-demo.js';

/**
 * `npm run demo:etl`: the daily reload of the client store, with its change events on
 * CHANGE_FEED_URL when set. Uses CLIENT_DATABASE_URL, else the embedded store in DATA_DIR.
 */
const clientUrl = process.env.CLIENT_DATABASE_URL || `sqlite:${resolve(process.env.DATA_DIR || './data', 'client.sqlite')}`;
const feedUrl = process.env.CHANGE_FEED_URL || undefined;

try {
  if (!process.env.CLIENT_DATABASE_URL) await ensureDemoClientStore(clientUrl);
  const { actions, published, createdStream } = await runEtl({ clientUrl, feedUrl });
  if (createdStream)
    process.stdout.write(`Created the JetStream stream ${createdStream.name} (subjects ${createdStream.subjects.join(', ')})\n`);
  const by = (a: string) => [...actions].filter(([, x]) => x === a).map(([k]) => k);
  for (const action of ['changed', 'deleted', 'reinserted', 'kept']) {
    process.stdout.write(`${action.padEnd(11)} ${by(action).join(', ') || '-'}\n`);
  }
  process.stdout.write(
    published
      ? `\nPublished ${published} change events to the feed. Watch the statuses in Sandbox:\n`
      : `\nNo CHANGE_FEED_URL: only the store was reloaded. The revalidation sweep (REVALIDATE_AFTER_SECONDS) and reads catch up; watch in Sandbox:\n`,
  );
  process.stdout.write(`  { deploymentIntentGroups(project: "retail") { name owner { status lastError entity { name department } } } }\n`);
} catch (e) {
  process.stderr.write(`demo:etl failed: ${(e as Error).message}\n`);
  process.exit(1);
}

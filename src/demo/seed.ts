import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import { DEMO_RESOURCES } from './demo-data.js';

/** Loads the demo resources into an empty operational store; a store with any resource is left alone. */
export async function seedDemo(engine: Engine, log: Logger): Promise<number> {
  const [row] = await engine.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM resource');
  if (Number(row.n) > 0) return 0;
  for (const [kind, content] of DEMO_RESOURCES) await engine.create(kind, content);
  log.info({ resources: DEMO_RESOURCES.length }, 'loaded the demo resources');
  return DEMO_RESOURCES.length;
}

import type { Logger } from 'pino';
import type { RelationshipSchema } from '../../model/model.js';
import { GraphqlSource } from './graphql-source.js';
import { resilient, type ResilienceSettings, type ResilientSource } from './resilient-source.js';
import { SqlSource } from './sql-source.js';

export interface SourceOptions {
  env?: NodeJS.ProcessEnv;
  /** For sql sources with neither `url` nor a set `urlEnv` (the embedded client store). */
  defaultClientUrl: string;
  resilience: ResilienceSettings;
  log?: Logger;
}

/** One resilient source per `sources` entry of the schema, keyed by the entry's name. */
export function createSources(schema: RelationshipSchema, options: SourceOptions): Map<string, ResilientSource> {
  const env = options.env ?? process.env;
  const out = new Map<string, ResilientSource>();
  for (const def of schema.sources.values()) {
    const fromEnv = def.urlEnv ? env[def.urlEnv]?.trim() : undefined;
    const url = def.url || fromEnv || (def.type === 'sql' ? options.defaultClientUrl : undefined);
    if (!url) {
      throw new Error(`source "${def.name}" has no URL: set ${def.urlEnv ?? 'its url'} in ${def.urlEnv ? 'the environment' : schema.file}`);
    }
    const source =
      def.type === 'sql'
        ? new SqlSource(def.name, url, {
            connectTimeoutMs: Math.min(options.resilience.timeoutMs, 2000),
            queryTimeoutMs: options.resilience.timeoutMs,
          })
        : new GraphqlSource(def.name, url, { timeoutMs: options.resilience.timeoutMs });
    out.set(def.name, resilient(source, options.resilience, options.log));
  }
  return out;
}

export async function closeSources(sources: Map<string, { close(): Promise<void> }>): Promise<void> {
  await Promise.allSettled([...sources.values()].map((s) => s.close()));
}

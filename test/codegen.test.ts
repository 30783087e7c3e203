import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './fixtures/subgraph-process.js';

const run = promisify(execFile);
const COMMITTED = 'resolvers/__generated__/resolvers-types.ts';

describe('generated resolver types', () => {
  it('are up to date with schema/*.graphql and codegen.yml', async () => {
    const config = readFileSync(join(ROOT, 'codegen.yml'), 'utf8');
    expect(config).toContain(`${COMMITTED}:`);
    // Same settings, another output file in the same directory: the mapper and context paths are
    // relative to the output file, so it must sit beside the committed one.
    const output = `resolvers/__generated__/resolvers-types.check-${process.pid}-${randomBytes(4).toString('hex')}.ts`;
    const dir = mkdtempSync(join(tmpdir(), 'codegen-'));
    const configFile = join(dir, 'codegen.yml');
    writeFileSync(configFile, config.replace(`${COMMITTED}:`, `${output}:`));
    try {
      await run(join(ROOT, 'node_modules', '.bin', 'graphql-codegen'), ['--config', configFile, '--silent'], {
        cwd: ROOT,
        env: { ...process.env, CI: 'true' },
        timeout: 60_000,
      });
      expect(existsSync(join(ROOT, output)), `codegen wrote no ${output}`).toBe(true);
      const fresh = readFileSync(join(ROOT, output), 'utf8');
      const committed = readFileSync(join(ROOT, COMMITTED), 'utf8');
      expect(fresh.length).toBeGreaterThan(1000);
      // Byte-identical, with a message that says what to do.
      expect(fresh === committed, `${COMMITTED} is out of date with schema/*.graphql: run npm run codegen`).toBe(true);
    } finally {
      rmSync(join(ROOT, output), { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

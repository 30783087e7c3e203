/**
 * The container image's entrypoint: `node dist/src/tools/entrypoint.js [command] [args]`. The
 * command's module is imported into this same process (no shell, no child), so the signals a
 * runtime sends to the container's main process reach the server's own handlers.
 *   serve (default)  the subgraph (src/main.ts)
 *   migrate          applies the pending migrations and exits (src/tools/migrate.ts)
 *   token [args]     mints a development token (src/tools/mint-token.ts; --help for its options)
 *   employees        the example employees subgraph (examples/employees-subgraph/main.ts)
 *   health           exits 0 if and only if GET /health on this container's PORT answers 200
 */
const COMMANDS: Record<string, () => Promise<unknown>> = {
  serve: () => import('../main.js'),
  migrate: () => import('./migrate.js'),
  token: () => import('./mint-token.js'),
  employees: () => import('../../examples/employees-subgraph/main.js'),
  health: health,
};

const USAGE = `usage: [serve | migrate | token [--scopes "…" …] | employees | health]
  serve      the integrity subgraph on PORT (default)
  migrate    apply the pending migrations to DATABASE_URL (or the embedded store) and exit
  token      mint a development token signed with AUTH_JWT_SECRET (token --help)
  employees  the example employees subgraph on PORT, reading CLIENT_DATABASE_URL
  health     exit 0 if GET /health on PORT answers 200 (the image's health check)
`;

/** The health check: a wildcard bind address is asked on loopback. */
async function health(): Promise<void> {
  const host = process.env.HOST || '127.0.0.1';
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${process.env.PORT || 4001}/health`;
  // /health bounds its own read by HEALTH_TIMEOUT_MS; the extra second covers the connection.
  const timeoutMs = Number(process.env.HEALTH_TIMEOUT_MS || 2000) + 1000;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    process.stdout.write(`health: ${res.status}\n`);
    process.exit(res.status === 200 ? 0 : 1);
  } catch (e) {
    process.stdout.write(`health: no answer (${e instanceof Error ? e.message : String(e)})\n`);
    process.exit(1);
  }
}

const command = process.argv[2] && !process.argv[2].startsWith('-') ? process.argv[2] : 'serve';
if (command === 'help' || process.argv[2] === '--help') {
  process.stdout.write(USAGE);
} else if (!(command in COMMANDS)) {
  process.stderr.write(`unknown command "${command}"\n${USAGE}`);
  process.exit(2);
} else {
  // The command's own argument parsing (token's) sees only its arguments.
  if (process.argv[2] === command) process.argv.splice(2, 1);
  await COMMANDS[command]();
}

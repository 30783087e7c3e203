/**
 * One benchmark server in a process of its own, so that its CPU time and memory are its own:
 *   node --import tsx bench/peer/serve.ts integrity|peer-groups|peer-employees|gateway
 * Settings come from the environment (DATABASE_URL, CLIENT_DATABASE_URL, GATEWAY_SUBGRAPHS as JSON
 * [{name, url}]). Over the IPC channel it sends `{ ready, url }`, and answers `{ stats }` requests
 * with its CPU time, memory and counters (statements it sent, subgraph fetches it made).
 */
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startApp } from '../../src/server/app.js';
import { startPeerEmployees } from './employees-subgraph.js';
import { startGateway } from './gateway.js';
import { startPeerGroups } from './groups-subgraph.js';

export type Role = 'integrity' | 'peer-groups' | 'peer-employees' | 'gateway';

export interface ServerStats {
  cpuMs: number;
  rssMb: number;
  heapMb: number;
  statements: number;
  fetches: number;
}

interface Running {
  url: string;
  statements: () => number;
  fetches: () => number;
  stop: () => Promise<void>;
}

async function start(role: Role): Promise<Running> {
  const env = process.env;
  const none = () => 0;
  switch (role) {
    case 'integrity': {
      const app = await startApp(loadConfig(env), createLogger('silent'), env);
      let statements = 0;
      app.db.statementLog.listen(() => statements++);
      return { url: app.url, statements: () => statements, fetches: none, stop: () => app.stop() };
    }
    case 'peer-groups': {
      const s = await startPeerGroups(env.DATABASE_URL!);
      return { ...s, fetches: none };
    }
    case 'peer-employees': {
      const s = await startPeerEmployees(env.CLIENT_DATABASE_URL!);
      return { ...s, fetches: none };
    }
    case 'gateway': {
      const s = await startGateway(JSON.parse(env.GATEWAY_SUBGRAPHS!) as { name: string; url: string }[]);
      return { ...s, statements: none };
    }
  }
}

const role = process.argv[2] as Role;
const running = await start(role);
const mb = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
process.on('message', (m: { id: number; cmd: 'stats' | 'stop' }) => {
  if (m.cmd === 'stop') {
    void running.stop().finally(() => process.exit(0));
    return;
  }
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  process.send!({
    id: m.id,
    stats: {
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssMb: mb(mem.rss),
      heapMb: mb(mem.heapUsed),
      statements: running.statements(),
      fetches: running.fetches(),
    } satisfies ServerStats,
  });
});
process.send!({ ready: true, url: running.url });

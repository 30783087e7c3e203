import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../fixtures/subgraph-process.js';

/**
 * A TCP proxy on loopback in front of a real store, to play its faults: `cut()` (unreachable:
 * connections reset, nothing listens), `stall()` (a hung link: connections stay open, and
 * bytes go nowhere in either direction, new connections included) and `hold()` (a slow link:
 * bytes wait, in order, until `release()`).
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private stalled = false;

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async open(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = createConnection(this.target.port, this.target.host);
      for (const sock of [client, upstream]) {
        this.sockets.add(sock);
        sock.on('close', () => this.sockets.delete(sock));
        sock.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      const forward = (from: Socket, to: Socket) =>
        from.on('data', (chunk) => {
          if (this.held && (from === upstream || !this.repliesOnly)) {
            this.held.push(() => to.destroyed || to.write(chunk));
            if (from === client) this.heldRequests++;
            else this.heldReplies.push(chunk);
          } else if (!this.stalled) to.write(chunk);
        });
      forward(client, upstream);
      forward(upstream, client);
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
    });
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(this.port, '127.0.0.1', () => res());
    });
    this.server = server;
  }

  /** The link hangs: nothing is forwarded (what was sent meanwhile is lost, as on a dead link). */
  stall(): void {
    this.stalled = true;
  }

  /** Forwards again; connections that lost bytes while stalled are reset, as a real link would leave them broken. */
  resume(): void {
    this.stalled = false;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
  }

  private held: (() => unknown)[] | null = null;
  private heldRequests = 0;

  private repliesOnly = false;
  private heldReplies: Buffer[] = [];

  /**
   * The link is held: bytes wait in order (nothing is lost) until `release()`, as on a slow link.
   * `repliesOnly`: requests reach the store (it answers them as of now), only its answers wait.
   */
  hold({ repliesOnly = false }: { repliesOnly?: boolean } = {}): void {
    this.held ??= [];
    this.repliesOnly = repliesOnly;
    this.heldRequests = 0;
    this.heldReplies = [];
  }

  /** What the store answered while the link was held, as text: which answer a request waits for. */
  get heldReplyText(): string {
    return Buffer.concat(this.heldReplies).toString('latin1');
  }

  /** Chunks a client sent while the link was held: a request is waiting for the store. */
  get waitingRequests(): number {
    return this.heldRequests;
  }

  /** Delivers what was held, in order, and forwards again. */
  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const deliver of held) deliver();
  }

  /** Stops listening and destroys every open connection: the store is unreachable. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((res) => server.close(() => res()));
  }
}

/** An open proxy on a free loopback port in front of the server `storeUrl` names, and that URL routed through it. */
export async function proxied(storeUrl: string): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(storeUrl);
  const proxy = new TcpProxy(await freePort(), { host: target.hostname, port: Number(target.port || 3306) });
  await proxy.open();
  const url = new URL(storeUrl);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return { proxy, url: url.toString() };
}

/**
 * A TCP proxy the test can cut and heal, to make network partitions between real processes.
 * Point a server's host entry at the proxy (hosts: { B: '127.0.0.3:<proxy port>' }) and let that
 * server bind elsewhere (`listen: '127.0.0.3:<port>'`); every byte to it then crosses here.
 *
 *   cut('reset')     destroys every connection and refuses new ones (peers see the close at once);
 *   cut('blackhole') keeps sockets open but drops every byte, and holds new connections silent
 *                    (like a dead route: only timeouts and heartbeats can notice);
 *   heal()           drops what the cut left behind and forwards new connections again.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type CutMode = 'reset' | 'blackhole';

export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private mode: 'open' | CutMode = 'open';
  /** Connections accepted so far (a test can check that dialing goes through the proxy). */
  accepted = 0;

  constructor(readonly listenHost: string, readonly target: { host: string; port: number }) {}

  /** Starts listening (port 0 = any free port); resolves with the port. */
  start(port = 0): Promise<number> {
    this.server = createServer((client) => this.onClient(client));
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, this.listenHost, () => resolve((this.server!.address() as { port: number }).port));
    });
  }

  get port(): number {
    return (this.server!.address() as { port: number }).port;
  }

  cut(mode: CutMode = 'reset'): void {
    this.mode = mode;
    if (mode === 'reset') this.destroyAll();
  }

  heal(): void {
    this.destroyAll();
    this.mode = 'open';
  }

  async close(): Promise<void> {
    this.destroyAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private onClient(client: Socket): void {
    this.accepted++;
    this.track(client);
    if (this.mode === 'reset') return void client.destroy();
    if (this.mode === 'blackhole') return void client.on('data', () => {});
    const upstream = connect({ host: this.target.host, port: this.target.port });
    this.track(upstream);
    const forward = (from: Socket, to: Socket) => from.on('data', (chunk) => {
      if (this.mode === 'open') to.write(chunk);
    });
    forward(client, upstream);
    forward(upstream, client);
    // A dead route carries no FIN or RST either: during a blackhole a close stays on its side.
    client.on('close', () => this.mode !== 'blackhole' && upstream.destroy());
    upstream.on('close', () => this.mode !== 'blackhole' && client.destroy());
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => this.sockets.delete(socket));
  }

  private destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

/**
 * The chaos run's room clients: one WebSocket client of the API role per server, joined to the
 * chaos box's `feed` room, reconnecting (and joining again) whenever its connection drops. Each
 * connection is a session; the checker requires that, within every session, each sender's pushes
 * arrive in order (gaps are allowed: a partition or a restart drops pushes in flight), and that
 * pushes from the session's own server process arrive without a gap (they are delivered by the
 * very process that holds the connection).
 */
import WebSocket from 'ws';

interface Session {
  server: string;
  last: Map<string, number>;
  received: number;
  outOfOrder: string[];
  ownGaps: string[];
}

export class RoomClients {
  private readonly sessions: Session[] = [];
  private readonly sockets = new Set<WebSocket>();
  private stopped = false;

  constructor(private readonly servers: Array<{ name: string; address: string; port: number }>) {}

  start(): void {
    for (const server of this.servers) this.connect(server);
  }

  stop(): void {
    this.stopped = true;
    for (const socket of this.sockets) socket.terminate();
  }

  private connect(server: { name: string; address: string; port: number }): void {
    if (this.stopped) return;
    const socket = new WebSocket(`ws://${server.address}:${server.port}/__API`, { handshakeTimeout: 3000 });
    this.sockets.add(socket);
    const session: Session = { server: server.name, last: new Map(), received: 0, outOfOrder: [], ownGaps: [] };
    let joined = false;
    socket.on('open', () => socket.send(JSON.stringify({ id: 1, box: 'chaos', join: 'feed' })));
    socket.on('message', (raw) => {
      let message: { id?: number; result?: unknown; room?: string; data?: { from: string; n: number } };
      try {
        message = JSON.parse(String(raw));
      } catch {
        return;
      }
      if (message.id === 1 && message.result === true && !joined) {
        joined = true;
        this.sessions.push(session);
      } else if (joined && message.room === 'feed' && message.data) this.received(session, message.data);
    });
    // A drop (the server killed, paused past the handshake, restarted): a new session after a moment.
    const again = () => {
      this.sockets.delete(socket);
      setTimeout(() => this.connect(server), 300);
    };
    socket.on('close', again);
    socket.on('error', () => socket.terminate());
    // A paused server keeps the TCP connection open but answers nothing: ping it.
    const ping = setInterval(() => {
      if (socket.readyState !== WebSocket.OPEN) return;
      let answered = false;
      socket.once('pong', () => (answered = true));
      socket.ping();
      setTimeout(() => !answered && socket.terminate(), 4000);
    }, 5000);
    socket.on('close', () => clearInterval(ping));
  }

  private received(session: Session, { from, n }: { from: string; n: number }): void {
    session.received++;
    const last = session.last.get(from);
    if (last !== undefined && n <= last) {
      if (session.outOfOrder.length < 5) session.outOfOrder.push(`${from}: ${n} after ${last} (client of ${session.server})`);
      return;
    }
    // The session's own process: everything it pushed after the join reaches its own clients.
    if (last !== undefined && n !== last + 1 && from.startsWith(`${session.server}/`) && session.ownGaps.length < 5) {
      session.ownGaps.push(`${from}: ${n} after ${last} (client of ${session.server})`);
    }
    session.last.set(from, n);
  }

  report(): { sessions: number; received: number; outOfOrder: string[]; ownGaps: string[] } {
    return {
      sessions: this.sessions.length,
      received: this.sessions.reduce((sum, s) => sum + s.received, 0),
      outOfOrder: this.sessions.flatMap((s) => s.outOfOrder),
      ownGaps: this.sessions.flatMap((s) => s.ownGaps),
    };
  }
}

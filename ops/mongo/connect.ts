/**
 * Driver connections for the admin steps. Every admin step talks to one specific process, so
 * connections are direct (`directConnection`: no topology discovery, which would also fail on a
 * member whose replica set is not initiated yet). Clients are cached per address and identity
 * and closed together at the end.
 */
import { MongoClient, MongoServerError, type Document } from 'mongodb';
import type { MongoUser } from '../../src/config/index.js';

export interface ConnectOptions {
  /** Milliseconds to find the server before a command fails; default 10 s. */
  timeoutMs?: number;
}

export class ClientPool {
  private readonly clients = new Map<string, Promise<MongoClient>>();
  constructor(private readonly options: ConnectOptions = {}) {}

  /** A connected client for `address` (host:port), authenticated as `user` when given. */
  get(address: string, user?: MongoUser): Promise<MongoClient> {
    const key = `${address}|${user?.user ?? ''}`;
    let client = this.clients.get(key);
    if (!client) {
      client = openClient(address, user, this.options);
      // A failed connect must not stay cached: the next attempt dials again.
      client.catch(() => this.clients.delete(key));
      this.clients.set(key, client);
    }
    return client;
  }

  /** Drops a cached client (after the server was shut down, or credentials changed). */
  async forget(address: string, user?: MongoUser): Promise<void> {
    const key = `${address}|${user?.user ?? ''}`;
    const client = this.clients.get(key);
    this.clients.delete(key);
    if (client) await client.then((c) => c.close(true), () => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.then((client) => client.close(true), () => undefined)));
  }
}

export async function openClient(address: string, user: MongoUser | undefined, options: ConnectOptions = {}): Promise<MongoClient> {
  const timeout = options.timeoutMs ?? 10_000;
  const client = new MongoClient(`mongodb://${address}/`, {
    directConnection: true,
    serverSelectionTimeoutMS: timeout,
    connectTimeoutMS: timeout,
    appName: 'boxwire-ops',
    // One admin command at a time: one pooled connection is plenty and keeps servers' logs quiet.
    maxPoolSize: 1,
    ...(user ? { auth: { username: user.user, password: user.pwd }, authSource: 'admin', authMechanism: 'SCRAM-SHA-256' as const } : {}),
  });
  try {
    await client.connect();
  } catch (error) {
    await client.close(true).catch(() => undefined);
    throw error;
  }
  return client;
}

/** MongoDB error codes the steps branch on. */
export const Codes = {
  Unauthorized: 13,
  AuthenticationFailed: 18,
  AlreadyInitialized: 23,
  NotYetInitialized: 94,
  UserAlreadyExists: 51003,
} as const;

export function hasCode(error: unknown, code: number): boolean {
  return error instanceof MongoServerError && error.code === code;
}

export async function adminCommand(client: MongoClient, command: Document, db = 'admin'): Promise<Document> {
  return client.db(db).command(command);
}

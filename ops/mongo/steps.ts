/**
 * How each kind of planned admin command is detected as done, and run. Detection uses only
 * reads (hello, listShards, config.*, usersInfo, a root login), so a rerun of `init` on a
 * finished cluster sends no mutating command at all.
 */
import { isDeepStrictEqual } from 'node:util';
import type { MongoClient, Document } from 'mongodb';
import type { MongoConfig } from '../../src/config/index.js';
import { OpsError } from '../errors.js';
import { adminCommand, ClientPool, Codes, hasCode } from './connect.js';
import type { PlannedCommand } from './plan.js';
import { dialAddress, type HostMatcher } from './this-host.js';

export interface StepContext {
  mongo: MongoConfig;
  pool: ClientPool;
  hosts: HostMatcher;
  /** Between replSetGetStatus polls; default 500 ms. */
  pollIntervalMs: number;
  /** How long to wait for a primary; default 120 s (an election takes ~10 s after initiate). */
  primaryTimeoutMs: number;
}

export interface StepRunner {
  /** True when the step's effect is already in place (nothing will be sent). */
  isDone(command: PlannedCommand, ctx: StepContext): Promise<boolean>;
  run(command: PlannedCommand, ctx: StepContext): Promise<void>;
}

export function targetAddress(command: PlannedCommand, ctx: StepContext): string {
  const { host, port } = splitAddress(command.target);
  return dialAddress(host, port, ctx.hosts);
}

export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) };
}

async function unauthenticated(command: PlannedCommand, ctx: StepContext): Promise<MongoClient> {
  return ctx.pool.get(targetAddress(command, ctx));
}

async function asRoot(command: PlannedCommand, ctx: StepContext): Promise<MongoClient> {
  return ctx.pool.get(targetAddress(command, ctx), ctx.mongo.users.root);
}

const replSetInitiate: StepRunner = {
  async isDone(command, ctx) {
    const hello = await adminCommand(await unauthenticated(command, ctx), { hello: 1 });
    const wanted = (command.command.replSetInitiate as { _id: string })._id;
    if (hello.setName === undefined) return false;
    if (hello.setName !== wanted) throw new OpsError(`${command.target} already belongs to replica set '${hello.setName}', the config says '${wanted}'`);
    return true;
  },
  async run(command, ctx) {
    try {
      await adminCommand(await unauthenticated(command, ctx), command.command);
    } catch (error) {
      if (!hasCode(error, Codes.AlreadyInitialized)) throw error;
    }
  },
};

const waitForPrimary: StepRunner = {
  // Waiting sends nothing that changes state, so it always runs; it returns at the first poll
  // when a primary exists.
  async isDone() {
    return false;
  },
  async run(command, ctx) {
    const client = await unauthenticated(command, ctx);
    const deadline = Date.now() + ctx.primaryTimeoutMs;
    let last = 'no answer yet';
    for (;;) {
      const state = await primaryState(client);
      if (state.primary) return;
      last = state.detail;
      if (Date.now() > deadline) throw new OpsError(`no primary after ${Math.round(ctx.primaryTimeoutMs / 1000)} s (${last}); check that every member is running and reachable, and read its log`);
      await new Promise((resolve) => setTimeout(resolve, ctx.pollIntervalMs));
    }
  },
};

/**
 * replSetGetStatus tells the member states; once users exist it needs a login, and then the
 * unauthenticated `hello` still says whether a primary is known.
 */
async function primaryState(client: MongoClient): Promise<{ primary: boolean; detail: string }> {
  try {
    const status = await adminCommand(client, { replSetGetStatus: 1 });
    const members = (status.members ?? []) as Document[];
    const primary = members.some((m) => m.stateStr === 'PRIMARY');
    return { primary, detail: `member states: ${members.map((m) => `${m.name} ${m.stateStr}`).join(', ')}` };
  } catch (error) {
    if (hasCode(error, Codes.NotYetInitialized)) return { primary: false, detail: 'replica set not initiated' };
    if (!hasCode(error, Codes.Unauthorized)) throw error;
    const hello = await adminCommand(client, { hello: 1 });
    return { primary: Boolean(hello.isWritablePrimary || hello.primary), detail: `hello: primary ${hello.primary ?? 'unknown'}` };
  }
}

const createRootUser: StepRunner = {
  // A successful root login proves the user exists (and that the config's password is right).
  async isDone(command, ctx) {
    try {
      await asRoot(command, ctx);
      return true;
    } catch (error) {
      if (hasCode(error, Codes.AuthenticationFailed)) return false;
      throw error;
    }
  },
  async run(command, ctx) {
    try {
      await adminCommand(await unauthenticated(command, ctx), command.command);
    } catch (error) {
      if (hasCode(error, Codes.Unauthorized) || hasCode(error, Codes.UserAlreadyExists)) {
        throw new OpsError(`users already exist on this cluster but the root login in the config (mongo.users.root) is refused; set the right credentials`, { cause: error });
      }
      throw error;
    }
  },
};

const addShard: StepRunner = {
  async isDone(command, ctx) {
    const { shards } = await adminCommand(await asRoot(command, ctx), { listShards: 1 });
    return (shards as Document[]).some((s) => s._id === command.command.name);
  },
  async run(command, ctx) {
    await adminCommand(await asRoot(command, ctx), command.command);
  },
};

const enableSharding: StepRunner = {
  // Since MongoDB 6.0 every database can hold sharded collections and `partitioned` is gone;
  // before, a database entry with partitioned: false still needs the command.
  async isDone(command, ctx) {
    const client = await asRoot(command, ctx);
    const entry = await client.db('config').collection('databases').findOne({ _id: command.command.enableSharding as never });
    return entry !== null && entry.partitioned !== false;
  },
  async run(command, ctx) {
    await adminCommand(await asRoot(command, ctx), command.command);
  },
};

const shardCollection: StepRunner = {
  async isDone(command, ctx) {
    const client = await asRoot(command, ctx);
    const ns = command.command.shardCollection as string;
    const entry = await client.db('config').collection('collections').findOne({ _id: ns as never });
    if (!entry || entry.dropped === true) return false;
    if (!isDeepStrictEqual(normalizeKey(entry.key), normalizeKey(command.command.key as Document))) {
      throw new OpsError(`${ns} is already sharded on ${JSON.stringify(entry.key)}, the config asks for ${JSON.stringify(command.command.key)}; a shard key cannot be swapped by init (see reshardCollection)`);
    }
    return true;
  },
  async run(command, ctx) {
    await adminCommand(await asRoot(command, ctx), command.command);
  },
};

/** Key values come back from BSON as Int32/Double/strings; compare them as plain values. */
function normalizeKey(key: Document | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(key ?? {}).map(([field, v]) => [field, typeof v === 'object' && v !== null && 'valueOf' in v ? (v as { valueOf(): unknown }).valueOf() : v]));
}

const createAppUser: StepRunner = {
  async isDone(command, ctx) {
    const client = await asRoot(command, ctx);
    const { users } = await adminCommand(client, { usersInfo: { user: command.command.createUser, db: command.db } }, command.db);
    return (users as Document[]).length > 0;
  },
  async run(command, ctx) {
    await adminCommand(await asRoot(command, ctx), command.command, command.db);
  },
};

export const STEP_RUNNERS: Record<PlannedCommand['kind'], StepRunner> = {
  replSetInitiate, waitForPrimary, createRootUser, addShard, enableSharding, shardCollection, createAppUser,
};

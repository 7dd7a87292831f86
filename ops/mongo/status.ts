/**
 * `boxwire ops mongo status`: what the cluster looks like now — shards, databases, sharded
 * collections (with documents per shard), balancer state, and each replica set's primary as its
 * members see it. Member states come from the unauthenticated `hello`, so status works from any
 * host that can reach them; the rest is read through a router as root.
 */
import type { Document } from 'mongodb';
import type { MongoConfig, MongoReplicaSet } from '../../src/config/index.js';
import { adminCommand, ClientPool } from './connect.js';
import { memberAddress } from './plan.js';
import { dialAddress, type HostMatcher } from './this-host.js';

export interface ReplicaSetStatus {
  replSet: string;
  primary: string | null;
  members: Array<{ address: string; state: 'primary' | 'secondary' | 'not initiated' | 'other' | 'unreachable' }>;
}

export interface MongoStatus {
  router: string;
  shards: Array<{ id: string; host: string; state?: number }>;
  databases: Array<{ name: string; primary: string }>;
  collections: Array<{ ns: string; key: Document; documentsPerShard: Record<string, number> }>;
  balancer: { mode: string; inBalancerRound: boolean };
  replicaSets: ReplicaSetStatus[];
}

export interface StatusOptions {
  hosts: HostMatcher;
  connectTimeoutMs?: number;
}

export async function readStatus(mongo: MongoConfig, options: StatusOptions): Promise<MongoStatus> {
  const pool = new ClientPool({ timeoutMs: options.connectTimeoutMs ?? 5000 });
  try {
    const replicaSets = await Promise.all([mongo.configServers, ...mongo.shards].map((set) => replicaSetStatus(set, pool, options.hosts)));
    const router = mongo.routers[0];
    const client = await pool.get(dialAddress(router.host, router.port, options.hosts), mongo.users.root);
    const { shards } = await adminCommand(client, { listShards: 1 });
    const databases = await client.db('config').collection('databases').find({}).toArray();
    const collections = (await client.db('config').collection('collections').find({}).toArray()).filter((c) => c.dropped !== true);
    const balancer = await adminCommand(client, { balancerStatus: 1 });
    const perShard = async (ns: string) => {
      const [db, ...rest] = ns.split('.');
      const stats = await client.db(db).collection(rest.join('.')).aggregate([{ $collStats: { count: {} } }]).toArray();
      return Object.fromEntries(stats.map((s) => [String(s.shard), Number(s.count)]));
    };
    return {
      router: memberAddress(router),
      shards: (shards as Document[]).map((s) => ({ id: String(s._id), host: String(s.host), state: s.state })),
      databases: databases.filter((d) => String(d._id) !== 'config').map((d) => ({ name: String(d._id), primary: String(d.primary) })),
      collections: await Promise.all(collections.filter((c) => !String(c._id).startsWith('config.')).map(async (c) => ({
        ns: String(c._id), key: c.key as Document, documentsPerShard: await perShard(String(c._id)),
      }))),
      balancer: { mode: String(balancer.mode), inBalancerRound: Boolean(balancer.inBalancerRound) },
      replicaSets,
    };
  } finally {
    await pool.closeAll();
  }
}

async function replicaSetStatus(set: MongoReplicaSet, pool: ClientPool, hosts: HostMatcher): Promise<ReplicaSetStatus> {
  const members: ReplicaSetStatus['members'] = [];
  let primary: string | null = null;
  for (const member of set.members) {
    const address = memberAddress(member);
    try {
      const hello = await adminCommand(await pool.get(dialAddress(member.host, member.port, hosts)), { hello: 1 });
      if (hello.primary) primary = String(hello.primary);
      const state = hello.setName === undefined ? 'not initiated' : hello.isWritablePrimary ? 'primary' : hello.secondary ? 'secondary' : 'other';
      members.push({ address, state });
    } catch {
      members.push({ address, state: 'unreachable' });
    }
  }
  return { replSet: set.replSet, primary, members };
}

export function formatStatus(status: MongoStatus): string {
  const lines = [`router ${status.router}`, `balancer: ${status.balancer.mode}${status.balancer.inBalancerRound ? ' (in a round)' : ''}`, '', 'replica sets:'];
  for (const set of status.replicaSets) {
    lines.push(`  ${set.replSet}: primary ${set.primary ?? 'none'}`);
    for (const m of set.members) lines.push(`    ${m.address} ${m.state}`);
  }
  lines.push('', 'shards:', ...status.shards.map((s) => `  ${s.id} ${s.host}`));
  lines.push('', 'databases:', ...status.databases.map((d) => `  ${d.name} (primary shard ${d.primary})`));
  lines.push('', 'sharded collections:');
  for (const c of status.collections) {
    const counts = Object.entries(c.documentsPerShard).map(([shard, n]) => `${shard}=${n}`).join(' ');
    lines.push(`  ${c.ns} key ${JSON.stringify(c.key)}${counts ? `  documents: ${counts}` : ''}`);
  }
  return lines.join('\n');
}

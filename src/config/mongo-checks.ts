/**
 * The checks across the `mongo` section's processes, and between them and the boxwire servers,
 * made before anything starts: distinct replica set names, no two processes on one host:port,
 * and MongoDB's own rule against mixing loopback names with real addresses.
 */
import { canonicalHost, isLoopback } from '../core/host.js';
import type { MongoConfig, MongoMember, MongoReplicaSet, ServerConfig } from './types.js';

interface Endpoint {
  key: string;
  member: MongoMember;
}

export function checkReplicaSetNames(configServers: MongoReplicaSet, shards: MongoReplicaSet[], problems: string[]): void {
  const seen = new Map<string, string>([[configServers.replSet, 'mongo.configServers.replSet']]);
  shards.forEach((shard, i) => {
    const key = `mongo.shards[${i}].replSet`;
    const other = seen.get(shard.replSet);
    if (other) problems.push(`${key}: '${shard.replSet}' is already the name of ${other}; every replica set needs its own name`);
    else seen.set(shard.replSet, key);
  });
}

/**
 * Two MongoDB rules checked before anything starts: no two processes on one host:port, and no
 * mixing of loopback names with other hosts (mongod rejects a replica set config, and addShard
 * rejects a shard, that mixes `localhost`/127.0.0.1 with real addresses).
 */
export function checkMongoHosts(configServers: MongoReplicaSet | undefined, shards: MongoReplicaSet[], routers: MongoMember[], problems: string[]): void {
  const endpoints = endpointsOf(configServers, shards, routers);
  const taken = new Map<string, string>();
  for (const { key, member } of endpoints) {
    const id = `${canonicalHost(member.host)}:${member.port}`;
    const owner = taken.get(id);
    if (owner) problems.push(`${key}: ${member.host}:${member.port} is already used by ${owner}`);
    else taken.set(id, key);
  }
  const loopback = endpoints.filter((e) => isLoopback(e.member.host));
  const other = endpoints.filter((e) => !isLoopback(e.member.host));
  if (loopback.length > 0 && other.length > 0) {
    problems.push(`mongo: ${loopback[0].key} uses loopback host '${loopback[0].member.host}' while ${other[0].key} uses '${other[0].member.host}'; MongoDB refuses to mix localhost/127.0.0.1 with other hosts — use the machine's address everywhere`);
  }
}

/** The mongo processes must not take a port a boxwire server on the same host already binds. */
export function checkMongoAgainstServers(mongo: MongoConfig, servers: Record<string, ServerConfig>, clusteringPort: number | undefined, problems: string[]): void {
  const taken = new Map<string, string>();
  for (const server of Object.values(servers)) {
    taken.set(`${canonicalHost(server.host)}:${server.webPort}`, `servers.${server.name}.webPort`);
    if (clusteringPort !== undefined) taken.set(`${canonicalHost(server.host)}:${clusteringPort}`, `clusteringPort of servers.${server.name}`);
  }
  for (const { key, member } of endpointsOf(mongo.configServers, mongo.shards, mongo.routers)) {
    const owner = taken.get(`${canonicalHost(member.host)}:${member.port}`);
    if (owner) problems.push(`${key}: ${member.host}:${member.port} is already used by ${owner}`);
  }
}

/** Every mongod and mongos of the section, each with the key path that names it. */
function endpointsOf(configServers: MongoReplicaSet | undefined, shards: MongoReplicaSet[], routers: MongoMember[]): Endpoint[] {
  return [
    ...(configServers?.members ?? []).map((member, i) => ({ key: `mongo.configServers.members[${i}]`, member })),
    ...shards.flatMap((shard, s) => shard.members.map((member, i) => ({ key: `mongo.shards[${s}].members[${i}]`, member }))),
    ...routers.map((member, i) => ({ key: `mongo.routers[${i}]`, member })),
  ];
}

/**
 * Before a process first reads or writes a store: checks that Redis holds the store in as many
 * slot groups as this process is configured for (another number would put an id in another
 * group: half of the store would be invisible), records the number for a new store, and learns
 * what each group holds (for the store-wide entry limit). One round trip or three, once per store
 * per process.
 */
import { ConfigError } from '../../../core/errors.js';
import type { RedisClient } from '../../../redis/redis-connection.js';
import type { GroupCounts } from './group-counts.js';
import type { StoreLayout } from './store-keys.js';

export async function checkStoreLayout(client: RedisClient, layout: StoreLayout, counts: GroupCounts, redisNow: number): Promise<void> {
  const groups = layout.groups.length;
  let recorded = await client.hget(layout.layoutKey, 'groups');
  if (groups === 1) {
    // A one-group store keeps its data in the layout key's hash; a recorded number means more groups.
    if (recorded !== null && recorded !== '1') throw mismatch(layout.store, recorded, groups);
    return;
  }
  if (recorded === null) {
    // The key exists without a number: the store was written with one group.
    if ((await client.exists(layout.layoutKey)) === 1) throw mismatch(layout.store, '1', groups);
    await client.hsetnx(layout.layoutKey, 'groups', String(groups));
    recorded = await client.hget(layout.layoutKey, 'groups');
  }
  if (recorded !== String(groups)) throw mismatch(layout.store, recorded ?? '1', groups);
  const held = await Promise.all(layout.groups.map((keys) => client.zcount(keys.ids, `(${redisNow}`, '+inf')));
  held.forEach((count, group) => counts.set(group, count));
}

function mismatch(store: string, recorded: string, groups: number): ConfigError {
  return new ConfigError(
    `SHARED_STORE('${store}'): Redis holds this store in ${recorded} slot group(s), but this process is configured for ${groups}. ` +
      `Give every process the same slotGroups (SHARED_STORE.configure({ slotGroups }) or BOXWIRE_STORE_SLOT_GROUPS; the default is 1 on a single Redis server, 16 on a Redis Cluster); ` +
      `a store cannot change its number of groups in place (copy it to a new store)`,
  );
}

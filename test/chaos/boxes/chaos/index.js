// The chaos run's workload box: each method is one acknowledged operation (the HTTP 200 is the
// acknowledgement), and `dump` reads this server's replica for the checker.
import { SERVER_CLUSTERING } from '../../../../src/index.ts';

SERVER_CLUSTERING.on('chaos.echo', (data) => data);

async function ensure(store, id, data) {
  return (await store.create({ id, data })) ?? (await store.get(id));
}

export default {
  name: 'chaos',
  methods: {
    async inc({ id, by }, { box }) {
      const counters = box.SHARED_STORE('counters');
      const updated = (await counters.update({ id, data: { $inc: { value: by } } })) ?? ((await ensure(counters, id, { value: 0 })), await counters.update({ id, data: { $inc: { value: by } } }));
      return updated?.value ?? null;
    },
    async add({ id, item }, { box }) {
      const sets = box.SHARED_STORE('sets');
      const updated = (await sets.update({ id, data: { $addToSet: { items: item } } })) ?? ((await ensure(sets, id, { items: [] })), await sets.update({ id, data: { $addToSet: { items: item } } }));
      return updated?.items.length ?? null;
    },
    async create({ id, data }, { box }) {
      return box.SHARED_STORE('created').create({ id, data });
    },
    async save({ id, data }, { box }) {
      return box.SHARED_STORE('scratch').save({ id, data });
    },
    async remove({ id }, { box }) {
      return (await box.SHARED_STORE('scratch').remove(id)) ?? null;
    },
    /** A server-to-server request; reports how it settled and how long it took, measured here. */
    async relay({ server, timeoutMs, token }) {
      const started = performance.now();
      try {
        const reply = await SERVER_CLUSTERING.request({ serverName: server, methodName: 'chaos.echo', data: token }, { timeoutMs });
        return { outcome: reply === token ? 'answer' : 'wrong-answer', ms: performance.now() - started };
      } catch (error) {
        return { outcome: error?.constructor?.name ?? 'Error', ms: performance.now() - started };
      }
    },
    async dump(_data, { box }) {
      return {
        counters: await box.SHARED_STORE('counters').all(),
        sets: await box.SHARED_STORE('sets').all(),
        created: await box.SHARED_STORE('created').all(),
      };
    },
  },
};

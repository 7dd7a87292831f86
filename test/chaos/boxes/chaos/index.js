// The chaos run's workload box: each method is one acknowledged operation (the HTTP 200 is the
// acknowledgement), and `dump` reads this server's replica for the checker.
import { DISTRIBUTE_PROCESS, SERVER_CLUSTERING } from '../../../../src/index.ts';

SERVER_CLUSTERING.on('chaos.echo', (data) => data);

// Order checks: per sending process (its random instance, so a restart starts a new sequence) the
// numbers must only grow here; gaps are allowed (a partition or a restart drops messages).
const instance = Math.random().toString(36).slice(2);

/** Receives numbered messages on `method` and counts those that arrive after a larger number. */
function orderCheck(method) {
  const lastSeen = new Map();
  const report = { received: 0, outOfOrder: 0, examples: [] };
  SERVER_CLUSTERING.on(method, ({ from, n }) => {
    report.received++;
    const last = lastSeen.get(from) ?? 0;
    if (n <= last) {
      report.outOfOrder++;
      if (report.examples.length < 5) report.examples.push(`${from}: ${n} after ${last}`);
    } else lastSeen.set(from, n);
  });
  return report;
}

// Broadcasts: one sequence per sending process. Direct messages: one per sender and receiving server.
let sent = 0;
const order = orderCheck('chaos.seq');
const sentTo = new Map();
const messages = orderCheck('chaos.msg');

// DISTRIBUTE_PROCESS: a few singleton jobs offered by every process. A job runs until its process
// dies (work cannot be stopped from outside); the driver polls which process runs what.
const JOB_TAGS = ['job-a', 'job-b', 'job-c'];
const runningJobs = {};
let offered = false;
let pushed = 0;

async function ensure(store, id, data) {
  return (await store.create({ id, data })) ?? (await store.get(id));
}

export default {
  name: 'chaos',
  rooms: ['feed'],
  onBoot() {
    if (offered) return;
    offered = true;
    for (const tag of JOB_TAGS) {
      DISTRIBUTE_PROCESS({ tag }, () => {
        runningJobs[tag] = Date.now();
      });
    }
  },
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
        // A PeerDownError raised on the target server (its worker died with the request) arrives as
        // a RemoteError carrying that name.
        const name = error?.constructor?.name ?? 'Error';
        return { outcome: name === 'RemoteError' ? `RemoteError(${error.remoteName})` : name, message: String(error?.message).slice(0, 300), ms: performance.now() - started };
      }
    },
    /**
     * Broadcasts the next number of this process's sequence to every other server, and sends each
     * other server the next number of this process's sequence for it.
     */
    broadcast() {
      const me = SERVER_CLUSTERING.getThisServerName();
      SERVER_CLUSTERING.broadcast({ methodName: 'chaos.seq', data: { from: `${me}/${instance}`, n: ++sent } });
      for (const server of Object.keys(SERVER_CLUSTERING.getHosts())) {
        if (server === me) continue;
        const n = (sentTo.get(server) ?? 0) + 1;
        sentTo.set(server, n);
        SERVER_CLUSTERING.send({ serverName: server, methodName: 'chaos.msg', data: { from: `${me}/${instance}`, n } });
      }
      return sent;
    },
    /** What this server's worker saw of other servers' broadcasts and messages (not replicated: per server). */
    order() {
      return { broadcasts: order, messages };
    },
    /** Pushes the next number of this process's sequence to the room every driver client joined. */
    push(_data, { box }) {
      const from = `${SERVER_CLUSTERING.getThisServerName()}/${instance}`;
      box.room('feed').push('n', { from, n: ++pushed });
      return { from, n: pushed };
    },
    /** The DISTRIBUTE_PROCESS jobs this process runs, with their start times. */
    jobs() {
      return { pid: process.pid, server: SERVER_CLUSTERING.getThisServerName(), running: runningJobs };
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

// Anti-entropy sends a peer what its digest lacks, except this replica's own operations already
// on their way over the link that is up now (resending those would only duplicate traffic).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HybridLogicalClock } from '../../src/core/hlc.js';
import { AntiEntropy } from '../../src/store/replication/anti-entropy.js';
import { unpackOperations } from '../../src/store/replication/operation-wire.js';
import { Replica } from '../../src/store/replication/replica.js';
import type { ReplicationMessage, ReplicationTransport } from '../../src/store/replication/replication.js';

function setup(inFlight?: { origin: string; seq: number }) {
  const time = { now: 1000 };
  const replica = new Replica({ name: 'A', members: () => ['A', 'B'], clock: new HybridLogicalClock(() => time.now) });
  for (let i = 0; i < 5; i++) replica.receive(replica.stamp({ store: 's', kind: 'save', id: `k${i}`, data: { i } }));
  const sent: ReplicationMessage[] = [];
  const transport = { self: 'A', members: () => ['A', 'B'], connected: () => ['B'] } as unknown as ReplicationTransport;
  const antiEntropy = new AntiEntropy(replica, transport, (_peer, message) => sent.push(message), () => inFlight);
  return { antiEntropy, sent };
}

const sentSeqs = (sent: ReplicationMessage[]) => sent.flatMap((m) => (m.t === 'ops' ? unpackOperations(m.packed).ops.map((op) => op.seq) : []));

test('a peer that lacks everything gets every operation when nothing is in flight', () => {
  const { antiEntropy, sent } = setup();
  antiEntropy.onDigest('B', {}, true);
  assert.equal(sentSeqs(sent), [1, 2, 3, 4, 5]);
  assert.equal(sent.at(-1), { t: 'digest', digest: { A: 5 }, answer: false });
});

test('operations already sent on the live link are not sent again; the rest are', () => {
  const { antiEntropy, sent } = setup({ origin: 'A', seq: 3 });
  antiEntropy.onDigest('B', { A: 1 }, false);
  assert.equal(sentSeqs(sent), [4, 5]);
});

test('in flight under another origin (a fresh incarnation) filters nothing of this one', () => {
  const { antiEntropy, sent } = setup({ origin: 'A~old', seq: 5 });
  antiEntropy.onDigest('B', {}, false);
  assert.equal(sentSeqs(sent), [1, 2, 3, 4, 5]);
});

test('a large repair is packed and sent over several turns; the answering digest goes out behind all of it', async () => {
  const time = { now: 1000 };
  const replica = new Replica({ name: 'A', members: () => ['A', 'B'], clock: new HybridLogicalClock(() => time.now) });
  const count = 60_000;
  for (let i = 0; i < count; i++) replica.receive(replica.stamp({ store: 's', kind: 'save', id: `k${i % 100}`, data: { i, name: 'value' } }));
  const sent: ReplicationMessage[] = [];
  const transport = { self: 'A', members: () => ['A', 'B'], connected: () => ['B'] } as unknown as ReplicationTransport;
  new AntiEntropy(replica, transport, (_peer, message) => sent.push(message)).onDigest('B', {}, true);
  let turns = 0;
  for (; sent.at(-1)?.t !== 'digest'; turns++) {
    assert.ok(turns < 1000, 'the repair finishes');
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(sent.filter((m) => m.t === 'ops').length > 1, `several chunks (sent over ${turns + 1} turns)`);
  assert.equal(sentSeqs(sent), Array.from({ length: count }, (_, i) => i + 1));
  assert.equal(sent.filter((m) => m.t === 'digest').length, 1);
});

test.run();

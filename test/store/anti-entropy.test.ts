// Anti-entropy sends a peer what its digest lacks, except this replica's own operations already
// on their way over the link that is up now (resending those would only duplicate traffic).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HybridLogicalClock } from '../../src/core/hlc.js';
import { AntiEntropy } from '../../src/store/replication/anti-entropy.js';
import { unpackOperations } from '../../src/store/replication/operation-wire.js';
import { Replica } from '../../src/store/replication/replica.js';
import type { ReplicationMessage, ReplicationTransport } from '../../src/store/replication/replication.js';
import { SnapshotAssembler } from '../../src/store/replication/snapshot.js';

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

test('a large snapshot goes out over several turns, one transfer per peer at a time, and rebuilds an equal replica', async () => {
  const time = { now: 1000 };
  const replica = new Replica({ name: 'A', members: () => ['A', 'B'], clock: new HybridLogicalClock(() => time.now) });
  const count = 20_000;
  for (let i = 0; i < count; i++) replica.receive(replica.stamp({ store: 's', kind: 'save', id: `k${i}`, data: { i, pad: 'x'.repeat(400) } }));
  time.now += 10;
  replica.noteBeat('B', 0, replica.clock.now());
  replica.noteWatermark('B', replica.clock.now());
  replica.advance();
  while (replica.foldStep());
  assert.is(replica.pendingOperations, 0, 'everything folded: a peer that lacks it needs a snapshot');
  const sent: ReplicationMessage[] = [];
  const transport = { self: 'A', members: () => ['A', 'B'], connected: () => ['B'] } as unknown as ReplicationTransport;
  const antiEntropy = new AntiEntropy(replica, transport, (_peer, message) => sent.push(message));
  antiEntropy.onDigest('B', {}, true);
  antiEntropy.onDigest('B', {}, true); // asked again while the first transfer is still going out
  let turns = 0;
  for (; sent.at(-1)?.t !== 'digest'; turns++) {
    assert.ok(turns < 10_000, 'the transfer finishes');
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(turns >= 1, `over several turns (${turns + 1})`);
  const parts = sent.flatMap((m) => (m.t === 'snapshot-part' ? [m.part] : []));
  assert.ok(parts.length > 5, `~1 MiB parts (${parts.length})`);
  assert.is(new Set(parts.map((part) => part.transfer)).size, 1, 'one transfer');
  assert.equal(sent.map((m) => m.t).filter((t) => t !== 'snapshot-part'), ['snapshot', 'digest']);
  const assembler = new SnapshotAssembler();
  for (const part of parts) assembler.add('A', part);
  const head = sent.find((m) => m.t === 'snapshot')!;
  const fresh = new Replica({ name: 'B', members: () => ['A', 'B'], clock: new HybridLogicalClock(() => time.now) });
  if (head.t !== 'snapshot') throw new Error('no head');
  assert.is(head.parts, parts.length, 'the head counts the parts');
  assert.is(new SnapshotAssembler().finish('A', head.snapshot, head.transfer, head.parts), undefined, 'without its parts (a link dropped) the head is refused, not merged');
  const partial = new SnapshotAssembler();
  for (const part of parts.slice(1)) partial.add('A', part);
  assert.is(partial.finish('A', head.snapshot, head.transfer, head.parts), undefined, 'one part missing: refused');
  fresh.merge(assembler.finish('A', head.snapshot, head.transfer, head.parts)!);
  assert.is(fresh.state.table('s').size, count);
  assert.equal(fresh.state.table('s').get('k12345')!.doc, { i: 12_345, pad: 'x'.repeat(400) });
  assert.equal(fresh.digest(), replica.digest());
});

test.run();

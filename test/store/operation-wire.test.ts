// Operations between servers travel as packed tuples; what another server sends is checked
// before a replica trusts it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encode } from '../../src/core/codec.js';
import type { Operation } from '../../src/store/replication/operation.js';
import { operationFromWire, operationToWire, packOperations, unpackOperations } from '../../src/store/replication/operation-wire.js';
import { writeRequestFromWire, writeRequestToWire } from '../../src/store/workers/write-request-wire.js';
import type { WriteRequest } from '../../src/store/workers/write-request.js';

const ops: Operation[] = [
  { store: 's', kind: 'save', origin: 'A', seq: 1, wall: 10, counter: 0, id: 'x', data: { n: 1, tags: ['a'] }, expiresAt: 99 },
  { store: 's', kind: 'update', origin: 'A', seq: 2, wall: 11, counter: 3, id: 'x', data: { $inc: { n: 2 } } },
  { store: 's', kind: 'remove', origin: 'B', seq: 1, wall: 12, counter: 0, id: 'y' },
  { store: 's.t', kind: 'clear', origin: 'B', seq: 2, wall: 13, counter: 1 },
];

test('every kind of operation survives packing unchanged (absent fields stay absent)', () => {
  for (const op of ops) assert.equal(operationFromWire(operationToWire(op)), op);
  assert.equal(unpackOperations(packOperations(ops)), { ops, dropped: 0 });
});

test('malformed operations from a peer are dropped and counted, the rest applied', () => {
  const good = operationToWire(ops[0]);
  const wires = [good, 'not a tuple', ['s', 9, 'A', 3, 1, 0, 'x'], ['s', 0, 'A', 0, 1, 0, 'x', {}], ['s', 1, 'A', 4, 1, 0, null, { a: 1 }], ['s', 0, 'A', 5, 'late', 0, 'x', {}]];
  const { ops: kept, dropped } = unpackOperations(encode(wires));
  assert.equal(kept, [ops[0]]);
  assert.is(dropped, 5);
  assert.equal(unpackOperations(Buffer.from([0xc1, 0xff, 0x00])), { ops: [], dropped: 1 }, 'bytes that are not msgpack');
  assert.equal(unpackOperations({ not: 'bytes' }), { ops: [], dropped: 1 });
});

test('write requests from a worker survive the trip as tuples, absent fields staying absent', () => {
  const requests: WriteRequest[] = [
    { store: 's', kind: 'save', id: 'x', data: { n: 1 }, removeAfterSeconds: 1.5, maxEntries: 10 },
    { store: 's', kind: 'save', id: 'x', data: { n: 1 }, maxEntries: 10 },
    { store: 's', kind: 'update', id: 'x', data: { $inc: { n: 1 } }, removeAfterSeconds: 3 },
    { store: 's', kind: 'update', id: 'x', data: { a: null } },
    { store: 's', kind: 'update', id: 'x', data: { $inc: { n: 1 } }, returnDocument: true },
    { store: 's', kind: 'remove', id: 'y' },
    { store: 's.t', kind: 'clear' },
  ];
  for (const request of requests) assert.equal(writeRequestFromWire(writeRequestToWire(request)), request);
});

test.run();

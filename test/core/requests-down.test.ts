// The two "the process holding your requests died" notices (bw.core.requestsDown and
// bw.core.remoteWorkerDown) arrive from other processes and other servers: malformed ones are
// ignored without a throw and settle nothing; well-formed ones reject exactly the requests named.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PeerDownError } from '../../src/core/errors.js';
import { RequestTable } from '../../src/core/request-table.js';
import { settleRequestsDown, settleWorkerDown } from '../../src/core/requests-down.js';

function table() {
  const requests = new RequestTable();
  const opened = [0, 1, 2].map(() => requests.open<unknown>('B', 1, 'echo', 60_000));
  const outcomes = opened.map(({ promise }) => promise.then(() => 'resolved', (error: Error) => error));
  return { requests, ids: opened.map((o) => o.id), outcomes };
}

test('malformed requestsDown notices are ignored: nothing settles, nothing throws', async () => {
  const { requests, ids } = table();
  const hostile: unknown[] = [
    null, undefined, 42, 'ids', [], {}, { ids: 'all' }, { ids: ids }, { who: 'x' }, { ids: ids, who: 7 },
    { ids: { length: 3, 0: ids[0] }, who: 'x' }, { ids: [String(ids[0]), null, {}, [ids[1]]], who: 'x' },
    JSON.parse(`{"__proto__": {"ids": [${ids[0]}], "who": "x"}}`),
  ];
  for (const notice of hostile) settleRequestsDown(requests, notice);
  assert.is(requests.size, 3, 'every request still pending');
  for (const id of ids) requests.resolve(id, 'ok');
});

test('a well-formed requestsDown rejects exactly the ids it names with PeerDownError (a long name cut to 200 characters); unknown ids are ignored', async () => {
  const { requests, ids, outcomes } = table();
  settleRequestsDown(requests, { ids: [ids[0], ids[2], 999_999_999, -1, 1.5], who: `worker 2 of server 'B'${'x'.repeat(500)}` });
  assert.is(requests.size, 1);
  requests.resolve(ids[1], 'fine');
  const [first, second, third] = await Promise.all(outcomes);
  assert.ok(first instanceof PeerDownError && third instanceof PeerDownError, String(first));
  assert.ok((first as Error).message.length < 400, 'the name from the wire is bounded in the message');
  assert.is(second, 'resolved');
});

test('remoteWorkerDown: malformed notices are ignored; a well-formed one names the server and worker it rejects', () => {
  const calls: Array<[string, string]> = [];
  const reject = (matches: (peer: string) => boolean, who: string) => {
    calls.push([['B/2', 'B/1', 'C/2'].filter(matches).join(','), who]);
  };
  for (const notice of [null, 'B', {}, { server: 'B' }, { worker: 2 }, { server: 2, worker: 'B' }, { server: ['B'], worker: 2 }]) settleWorkerDown(reject, notice);
  assert.equal(calls, []);
  settleWorkerDown(reject, { server: 'B', worker: 2 });
  assert.equal(calls, [['B/2', "worker 2 of server 'B'"]]);
});

test.run();

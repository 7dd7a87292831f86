import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decode } from '../../src/core/codec.js';
import { AnswerCode, WorkerFeeds, type WorkerFeed, type WorkerFeedItem } from '../../src/store/workers/worker-feeds.js';
import type { OperationWire } from '../../src/store/replication/operation-wire.js';

function recorder(alive: (pid: number) => boolean = () => true) {
  const sent: Array<{ pid: number; feed: WorkerFeed }> = [];
  const feeds = new WorkerFeeds(() => (_workerId, pid, feed) => {
    sent.push({ pid, feed });
    return alive(pid);
  });
  return { feeds, sent };
}

const op = (store: string, seq: number): OperationWire => [store, 0, 'A', seq, 1000 + seq, 0, `id${seq}`, { n: seq }];
const items = (feed: WorkerFeed) => (feed[0] ? (decode(feed[0]) as WorkerFeedItem[]) : []);

test('a worker receives the snapshot of a store it starts reading, then only the changes of the stores it reads', () => {
  const { feeds, sent } = recorder();
  feeds.addReader(1, 101, 'a', [], 5);
  feeds.addReader(2, 102, 'b', [], 5);
  assert.equal(sent.map(({ pid, feed }) => [pid, feed[2]]), [[101, ['a', [], 5]], [102, ['b', [], 5]]]);
  sent.length = 0;
  assert.ok(feeds.isRead('a') && feeds.isRead('b') && !feeds.isRead('c'));
  feeds.push(op('a', 1));
  feeds.push(op('b', 2));
  feeds.push({ t: 'prune', wall: 900 });
  feeds.flush();
  const byPid = new Map(sent.map(({ pid, feed }) => [pid, items(feed)]));
  assert.equal(byPid.get(101), [op('a', 1), { t: 'prune', wall: 900 }], 'its store and what concerns every store, in order');
  assert.equal(byPid.get(102), [op('b', 2), { t: 'prune', wall: 900 }]);
});

test('workers reading the same stores share one packing; answers go only to the writer, behind its changes', () => {
  const { feeds, sent } = recorder();
  feeds.addReader(1, 101, 'a', [], 0);
  feeds.addReader(2, 102, 'a', [], 0);
  sent.length = 0;
  feeds.push(op('a', 1));
  feeds.ack(1, 101, 7);
  feeds.ack(1, 101, 9, [[8, AnswerCode.NotExists]]);
  feeds.ack(3, 103, 2); // a worker that reads nothing still hears its answers
  feeds.flush();
  const [first, second, third] = sent;
  assert.is(first.feed[0], second.feed[0], 'the same packed bytes for both readers');
  assert.equal([first.pid, first.feed[1]], [101, [9, [[8, AnswerCode.NotExists]]]], 'answers merged up to the latest');
  assert.equal([second.pid, second.feed[1]], [102, null]);
  assert.equal([third.pid, third.feed[0], third.feed[1]], [103, null, [2]]);
});

test('a worker that is gone stops being fed: when its process exits, or when a send to it fails', () => {
  const { feeds, sent } = recorder((pid) => pid !== 102);
  feeds.addReader(1, 101, 'a', [], 0);
  feeds.addReader(2, 102, 'b', [], 0); // this send fails: 102 is dropped at once
  assert.not.ok(feeds.isRead('b'));
  feeds.dropReader(101);
  assert.not.ok(feeds.isRead('a'));
  assert.not.ok(feeds.hasReaders());
  sent.length = 0;
  feeds.push(op('a', 1));
  feeds.flush();
  assert.equal(sent, []);
});

test.run();

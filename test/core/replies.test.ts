// The one failure-reply builder: every path that fails a request (a handler threw, nobody handles
// it, it could not be delivered, its reply was too large) sends the same envelope, addressed back
// to the requester, across servers when it came from another one; and the requester rejects with
// a RemoteError carrying the error's name, message, origin and code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Channel, Kind, decodeEnvelopes, encodeEnvelope, type Envelope } from '../../src/core/envelope.js';
import { Endpoint, type Address } from '../../src/core/endpoint.js';
import { OverflowError, RemoteError, UnknownPeerError } from '../../src/core/errors.js';
import { answerEnvelope, failureEnvelope, requesterOf } from '../../src/core/replies.js';

function request(overrides: Partial<Envelope> = {}): Envelope {
  return { kind: Kind.Request, channel: Channel.Server, method: 'sum', data: [1, 2], id: 41, fromWorker: 3, ...overrides };
}

const master = { workerId: 0, serverName: 'alpha', origin: 'alpha master' };

test('a failure to a requester on this server: its id, channel and method; the error as it travels', () => {
  const failure = failureEnvelope(request({ fromServer: 'alpha' }), new OverflowError('worker 3', 'raise the outbox'), master);
  assert.is(failure.kind, Kind.Failure);
  assert.is(failure.id, 41);
  assert.is(failure.channel, Channel.Server);
  assert.is(failure.method, 'sum');
  assert.is(failure.fromWorker, 0);
  assert.is(failure.toServer, undefined, 'no routing fields when it stays on this server');
  const wire = failure.data as { name: string; message: string; origin: string; code?: string };
  assert.is(wire.name, 'OverflowError');
  assert.is(wire.origin, 'alpha master');
  assert.ok(wire.message.includes('worker 3'));
  assert.equal(requesterOf(request({ fromServer: 'alpha' })), { server: 'alpha', worker: 3 });
});

test('a failure to another server carries the routing fields back to the requesting worker', () => {
  const failure = failureEnvelope(request({ fromServer: 'beta', fromWorker: 2 }), new Error('nope'), master);
  assert.is(failure.fromServer, 'alpha');
  assert.is(failure.toServer, 'beta');
  assert.is(failure.toWorker, 2);
  // It survives the wire like any envelope.
  const [decoded] = decodeEnvelopes(encodeEnvelope(failure));
  assert.is(decoded.kind, Kind.Failure);
  assert.is(decoded.toServer, 'beta');
});

test('a remote error keeps its first origin (it is relayed, not re-blamed)', () => {
  const remote = new RemoteError({ name: 'TypeError', message: 'kaboom', origin: 'beta worker 2' });
  const failure = failureEnvelope(request(), remote, master);
  assert.is((failure.data as { origin: string }).origin, 'beta worker 2');
  assert.is((failure.data as { name: string }).name, 'TypeError');
});

test('replies and failures share the addressing', () => {
  const reply = answerEnvelope(request({ fromServer: 'beta' }), Kind.Reply, 3, master);
  const failure = failureEnvelope(request({ fromServer: 'beta' }), new Error('x'), master);
  assert.equal({ ...reply, kind: 0, data: 0 }, { ...failure, kind: 0, data: 0 });
});

/** An endpoint that loops everything back to itself (the unit under test is Endpoint's reply path). */
class Loopback extends Endpoint {
  readonly workerCount = 1;
  routed: Array<{ to: Address; envelope: Envelope }> = [];
  protected route(to: Address, envelope: Envelope): void {
    this.routed.push({ to, envelope });
    const body = encodeEnvelope(envelope);
    setImmediate(() => this.receive(body));
  }
}

test('Endpoint.failRequest: the requester rejects with a RemoteError naming the error and this process', async () => {
  const endpoint = new Loopback(1);
  endpoint.registries[Channel.Cpu].on('slow', () => new Promise(() => {}));
  const pending = endpoint.request({ worker: 1 }, Channel.Cpu, 'slow', null);
  await new Promise((resolve) => setImmediate(resolve));
  const sent = endpoint.routed[0].envelope;
  endpoint.failRequest(sent, new UnknownPeerError('there is no worker 9'));
  const error = await pending.then(() => undefined, (e: unknown) => e);
  assert.instance(error, RemoteError);
  assert.is((error as RemoteError).remoteName, 'UnknownPeerError');
  assert.is((error as RemoteError).origin, 'worker 1');
  assert.is(endpoint.routed[1].envelope.kind, Kind.Failure);
  assert.equal(endpoint.routed[1].to, { server: undefined, worker: 1 });
});

test('a handler that throws and a missing handler fail through the same builder', async () => {
  const endpoint = new Loopback(1);
  endpoint.registries[Channel.Cpu].on('boom', () => {
    throw new TypeError('kaboom');
  });
  const thrown = await endpoint.request({ worker: 1 }, Channel.Cpu, 'boom', null).then(() => undefined, (e: RemoteError) => e);
  assert.is(thrown?.remoteName, 'TypeError');
  assert.is(thrown?.remoteMessage, 'kaboom');
  const missing = await endpoint.request({ worker: 1 }, Channel.Cpu, 'absent', null).then(() => undefined, (e: RemoteError) => e);
  assert.is(missing?.remoteName, 'NoHandlerError');
});

test('the default process contract: no workers to lose, no process to send to, no server links', () => {
  const endpoint = new Loopback(1);
  assert.equal(endpoint.readyWorkerIds(), []);
  assert.equal(endpoint.workerPids(), {});
  assert.equal(endpoint.workerSlots(), []);
  assert.is(endpoint.sendToProcess(1, process.pid, new Uint8Array()), false);
  assert.type(endpoint.onWorkerDown(() => {}), 'function');
  assert.throws(() => endpoint.deliverFromServer(1, new Uint8Array(), 1), (e: Error) => e instanceof UnknownPeerError);
});

test.run();

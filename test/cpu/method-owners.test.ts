// The master's table of which workers handle each method: round-robin among them, and what
// arrives for a method whose only workers are being re-forked waits for them (bounded), then gets
// delivered again when one registers it or every worker is back without it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Channel, Kind, MASTER, type Envelope } from '../../src/core/envelope.js';
import { MethodOwners } from '../../src/cpu/method-owners.js';

function message(method: string): Envelope {
  return { kind: Kind.Message, channel: Channel.Cpu, method, data: null, id: 0, fromWorker: 1 };
}

test('round-robin among the workers that registered a method; MASTER when none did', () => {
  const owners = new MethodOwners();
  assert.is(owners.pick(Channel.Cpu, 'work'), MASTER);
  owners.set(Channel.Cpu, 'work', 3, true);
  owners.set(Channel.Cpu, 'work', 1, true);
  assert.equal([1, 2, 3, 4].map(() => owners.pick(Channel.Cpu, 'work')), [1, 3, 1, 3]);
  assert.is(owners.pick(Channel.Server, 'work'), MASTER, 'channels are separate namespaces');
  owners.set(Channel.Cpu, 'work', 1, false);
  assert.is(owners.pick(Channel.Cpu, 'work'), 3);
});

test('a method whose only worker is re-forked: what arrives waits until the new process registers it', () => {
  const owners = new MethodOwners();
  owners.set(Channel.Cpu, 'only', 2, true);
  owners.set(Channel.Cpu, 'shared', 1, true);
  owners.set(Channel.Cpu, 'shared', 2, true);
  owners.workerReplaced(2);
  const redelivered: string[] = [];
  assert.ok(owners.holdForRestarting(message('only'), () => redelivered.push('only')));
  assert.not.ok(owners.holdForRestarting(message('shared'), () => redelivered.push('shared')), 'worker 1 still handles it');
  assert.is(owners.pick(Channel.Cpu, 'shared'), 1);
  assert.equal(redelivered, []);
  owners.set(Channel.Cpu, 'only', 2, true);
  assert.equal(redelivered, ['only']);
  assert.not.ok(owners.holdForRestarting(message('only'), () => {}), 'no longer restarting');
});

test('every worker back without the method: what waited is delivered again (to its no-handler answer)', () => {
  const owners = new MethodOwners();
  owners.set(Channel.Cpu, 'gone', 1, true);
  owners.workerReplaced(1);
  const redelivered: number[] = [];
  for (let i = 0; i < 3; i++) owners.holdForRestarting(message('gone'), () => redelivered.push(i));
  owners.releaseRestarting();
  assert.equal(redelivered, [0, 1, 2], 'in arrival order');
  assert.not.ok(owners.holdForRestarting(message('gone'), () => {}));
});

test.run();

/**
 * The chaos run's network: one Linux bridge in the root namespace and one network namespace per
 * server, joined by veth pairs, with names unique to this run (so parallel runs and leftovers of
 * a crashed run never collide). Links are cut with iptables inside the namespaces. Needs root.
 */
import { execFileSync } from 'node:child_process';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function quiet(run: () => void): void {
  try {
    run();
  } catch {
    // Cleanup of something already gone.
  }
}

export class ChaosNetwork {
  readonly bridge: string;
  readonly hostAddress: string;
  readonly namespaces: string[] = [];
  readonly addresses: string[] = [];
  private readonly veths: string[] = [];

  /** `tag`: a few characters unique to this run (interface names are limited to 15). */
  constructor(readonly tag: string, readonly servers: number, readonly subnet: string) {
    this.bridge = `bwc${tag}br`;
    this.hostAddress = `${subnet}.1`;
    for (let i = 0; i < servers; i++) {
      this.namespaces.push(`bwchaos-${tag}-s${i + 1}`);
      this.addresses.push(`${subnet}.${10 + i}`);
      this.veths.push(`bwc${tag}v${i + 1}`);
    }
  }

  create(): void {
    ip('link', 'add', this.bridge, 'type', 'bridge');
    ip('addr', 'add', `${this.hostAddress}/24`, 'dev', this.bridge);
    ip('link', 'set', this.bridge, 'up');
    this.namespaces.forEach((ns, i) => {
      const outside = this.veths[i];
      const inside = `${outside}p`;
      ip('netns', 'add', ns);
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      ip('link', 'set', inside, 'netns', ns);
      ip('link', 'set', outside, 'master', this.bridge);
      ip('link', 'set', outside, 'up');
      ip('-n', ns, 'addr', 'add', `${this.addresses[i]}/24`, 'dev', inside);
      ip('-n', ns, 'link', 'set', inside, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    });
  }

  /**
   * Cuts every link between the two groups (server indexes), both directions; the driver keeps its
   * access. Returns the repair of exactly this cut (overlapping partitions heal one by one).
   */
  cut(groupA: number[], groupB: number[]): () => void {
    const rules: Array<[number, string]> = [];
    for (const a of groupA) for (const b of groupB) rules.push([a, this.addresses[b]], [b, this.addresses[a]]);
    for (const [server, peer] of rules) this.rule('-A', server, peer);
    return () => {
      for (const [server, peer] of rules) quiet(() => this.rule('-D', server, peer));
    };
  }

  private rule(action: '-A' | '-D', server: number, peer: string): void {
    const ns = this.namespaces[server];
    execFileSync('ip', ['netns', 'exec', ns, 'iptables', action, 'INPUT', '-s', peer, '-j', 'DROP'], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'exec', ns, 'iptables', action, 'OUTPUT', '-d', peer, '-j', 'DROP'], { stdio: 'ignore' });
  }

  heal(): void {
    for (const ns of this.namespaces) execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-F']);
  }

  destroy(): void {
    for (const ns of this.namespaces) quiet(() => ip('netns', 'del', ns));
    for (const veth of this.veths) quiet(() => ip('link', 'del', veth));
    quiet(() => ip('link', 'del', this.bridge));
  }
}

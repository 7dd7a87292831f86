/**
 * `boxwire ops …`: operations driven by the cluster config — the MongoDB sharded cluster
 * (`ops mongo …`) and the load balancer in front of the servers (`ops lb …`).
 */
import { runGroup, type CommandGroup } from './command.js';
import { lbGroup } from './lb/cli.js';
import { mongoGroup } from './mongo/cli.js';
import { prometheusCommand } from './prometheus/cli.js';

const opsGroup: CommandGroup = {
  path: 'boxwire ops',
  summary: 'Operations from the cluster config: a MongoDB sharded cluster, load balancer configs, a Prometheus scrape config.',
  commands: { mongo: mongoGroup, lb: lbGroup, prometheus: prometheusCommand },
};

export const opsCommand = {
  summary: 'operations: MongoDB sharded cluster (ops mongo …) and load balancer configs (ops lb …)',
  run(argv: string[]): Promise<number> {
    return runGroup(opsGroup, argv);
  },
};

/**
 * `npm start`: the embedded default. One server holding every role, CPU clustering, the sample
 * box, the in-memory SHARED_STORE; no MongoDB, Redis or config file needed. Prints its URL.
 * PORT / HOST change where it listens.
 */
import { join } from 'node:path';
import { boot } from './boot.js';
import { ConfigValidationError, packageInfo, parseClusterConfig } from '../config/index.js';
import { BoxwireError } from '../core/errors.js';

const { root } = packageInfo();
const host = process.env.HOST ?? '127.0.0.1';
const webPort = Number(process.env.PORT ?? 8080);

try {
  const config = parseClusterConfig({
    clusteringPort: webPort === 8125 ? 8126 : 8125,
    defaultBox: 'sample',
    boxes: ['sample'],
    servers: { local: { host, webPort, dataDir: join(root, 'data', 'local') } },
  });
  await boot({
    config,
    serverName: 'local',
    boxesDir: join(root, 'boxes'),
    onListening: ({ url, workerId }) => {
      if (workerId === 1) console.log(`boxwire: the sample box is at ${url}  (all roles, cluster view at ${url}__CLUSTER; Ctrl-C stops)`);
    },
  });
} catch (error) {
  if (error instanceof ConfigValidationError || error instanceof BoxwireError) {
    console.error(`npm start: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

// Starts this app: one boxwire server (every role, CPU clustering, the in-memory SHARED_STORE)
// from cluster.json, serving the boxes in ./boxes. `npm start` runs it; PORT=… overrides webPort.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { boot, parseClusterConfig } from 'boxwire';

const here = import.meta.dirname;
const serverName = process.env.BOXWIRE_SERVER ?? 'app';
const raw = JSON.parse(readFileSync(join(here, 'cluster.json'), 'utf8'));
if (process.env.PORT && raw.servers?.[serverName]) raw.servers[serverName].webPort = Number(process.env.PORT);

await boot({
  config: parseClusterConfig(raw, { source: 'cluster.json' }),
  serverName,
  boxesDir: join(here, 'boxes'),
  baseDir: here,
  onListening: ({ url, workerId }) => {
    if (workerId === 1) console.log(`listening at ${url}  (Ctrl-C stops)`);
  },
});

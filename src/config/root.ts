/**
 * Stage 2 at the top of the file: which keys may appear there, the keys that belong to no
 * section (clustering port and key, upload limit, boxes), and the order sections are read in —
 * each section by its own reader, then the checks that span two sections.
 */
import { isPlainObject } from '../core/value-kinds.js';
import { readPublicUrl, readTrustedProxies } from './edge.js';
import { readRedis, readStore } from './engines.js';
import { checkMongoAgainstServers } from './mongo-checks.js';
import { readMongo } from './mongo.js';
import { checkUnknownKeys, NAME, readOptionalString, readPort, show, toNumber } from './readers.js';
import { readServers } from './servers.js';
import { DEFAULT_MAX_UPLOAD_FILE_MB, type ClusterConfig } from './types.js';

const ROOT_KEYS = ['clusteringPort', 'clusterKey', 'defaultBox', 'boxes', 'maxUploadFileMB', 'servers', 'mongo', 'redis', 'store', 'publicUrl', 'trustedProxies'];

export function readRoot(raw: unknown, problems: string[], needsClusteringPort = true): ClusterConfig | undefined {
  if (!isPlainObject(raw)) {
    problems.push('(root): must be a JSON object');
    return undefined;
  }
  checkUnknownKeys(raw, '', ROOT_KEYS, problems);
  const clusteringPort = readPort(raw.clusteringPort, 'clusteringPort', problems, needsClusteringPort);
  const config: ClusterConfig = {
    clusteringPort: clusteringPort ?? 0,
    maxUploadFileMB: readMaxUpload(raw.maxUploadFileMB, problems),
    servers: readServers(raw.servers, clusteringPort, problems),
  };
  const clusterKey = readOptionalString(raw.clusterKey, 'clusterKey', problems);
  if (clusterKey !== undefined) config.clusterKey = clusterKey;
  readBoxes(raw, config, problems);
  const publicUrl = readPublicUrl(raw.publicUrl, problems);
  if (publicUrl !== undefined) config.publicUrl = publicUrl;
  const trustedProxies = readTrustedProxies(raw.trustedProxies, problems);
  if (trustedProxies !== undefined) config.trustedProxies = trustedProxies;
  if (raw.mongo !== undefined) config.mongo = readMongo(raw.mongo, problems);
  if (raw.redis !== undefined) config.redis = readRedis(raw.redis, problems);
  if (raw.store !== undefined) config.store = readStore(raw.store, config.redis, problems);
  if (config.mongo) checkMongoAgainstServers(config.mongo, config.servers, clusteringPort, problems);
  return config;
}

function readMaxUpload(value: unknown, problems: string[]): number {
  if (value === undefined) return DEFAULT_MAX_UPLOAD_FILE_MB;
  const n = toNumber(value);
  if (n === undefined || !(n > 0)) {
    problems.push(`maxUploadFileMB: must be a positive number of megabytes (got ${show(value)})`);
    return DEFAULT_MAX_UPLOAD_FILE_MB;
  }
  return n;
}

function readBoxes(raw: Record<string, unknown>, config: ClusterConfig, problems: string[]): void {
  if (raw.boxes !== undefined) {
    if (!Array.isArray(raw.boxes)) problems.push('boxes: must be an array of box names');
    else {
      const boxes: string[] = [];
      raw.boxes.forEach((box, i) => {
        if (typeof box !== 'string' || !NAME.test(box)) problems.push(`boxes[${i}]: must be a box name (letters, digits, _ and -, starting with a letter), got ${show(box)}`);
        else if (boxes.includes(box)) problems.push(`boxes[${i}]: '${box}' is listed twice`);
        else boxes.push(box);
      });
      config.boxes = boxes;
    }
  }
  if (raw.defaultBox !== undefined) {
    if (typeof raw.defaultBox !== 'string' || !NAME.test(raw.defaultBox)) problems.push(`defaultBox: must be a box name, got ${show(raw.defaultBox)}`);
    else {
      if (config.boxes && !config.boxes.includes(raw.defaultBox)) problems.push(`defaultBox: '${raw.defaultBox}' is not one of boxes (${config.boxes.join(', ')})`);
      config.defaultBox = raw.defaultBox;
    }
  }
}

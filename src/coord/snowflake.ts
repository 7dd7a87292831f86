/**
 * 64-bit time-ordered ids: 41 bits of milliseconds since 2024-01-01 UTC (until 2093), 10 bits of
 * node id, 12 bits of sequence (4,096 ids per node per ms). The ids of one generator strictly
 * increase: when the clock steps back, the generator keeps counting from the highest millisecond
 * it used (borrowing sequence numbers, then the next millisecond) instead of going back.
 */
import { ConfigError } from '../core/errors.js';
import { describeInput } from './coord-input.js';

export const SNOWFLAKE_EPOCH_MS = Date.UTC(2024, 0, 1);
const SEQUENCE_BITS = 12n;
const NODE_BITS = 10n;
const MAX_SEQUENCE = 4095;
const MAX_ID = (1n << 63n) - 1n;

export interface SnowflakeParts {
  timestamp: Date;
  nodeId: number;
  sequence: number;
}

export class SnowflakeGenerator {
  /** The millisecond of the last id (never decreases). */
  lastMs = 0;
  private sequence = 0;
  private lastNodeId = -1;

  /** The next id for `nodeId`, at or after `floorMs` (a previous holder's high-water mark). */
  next(nodeId: number, nowMs: number, floorMs = 0): string {
    let ms = Math.max(nowMs, floorMs, this.lastMs);
    if (nodeId !== this.lastNodeId && this.lastNodeId >= 0 && ms === this.lastMs) {
      // A new node id must not sort below the ids already given out in this millisecond.
      ms = this.lastMs + 1;
    }
    if (ms === this.lastMs) {
      this.sequence++;
      if (this.sequence > MAX_SEQUENCE) {
        ms = this.lastMs + 1;
        this.sequence = 0;
      }
    } else {
      this.sequence = 0;
    }
    this.lastMs = ms;
    this.lastNodeId = nodeId;
    return ((BigInt(ms - SNOWFLAKE_EPOCH_MS) << (NODE_BITS + SEQUENCE_BITS)) | (BigInt(nodeId) << SEQUENCE_BITS) | BigInt(this.sequence)).toString();
  }
}

/** The parts of an id made by UNIQUE_ID. */
export function parseSnowflake(id: string): SnowflakeParts {
  const value = typeof id === 'string' && /^\d{1,20}$/.test(id) ? BigInt(id) : -1n;
  if (value < 0n || value > MAX_ID) throw new ConfigError(`UNIQUE_ID.parse(id): not a UNIQUE_ID id (got ${describeInput(id)}); ids are decimal strings of a 64-bit number`);
  return {
    timestamp: new Date(Number(value >> (NODE_BITS + SEQUENCE_BITS)) + SNOWFLAKE_EPOCH_MS),
    nodeId: Number((value >> SEQUENCE_BITS) & ((1n << NODE_BITS) - 1n)),
    sequence: Number(value & ((1n << SEQUENCE_BITS) - 1n)),
  };
}

/** Limits of the API role; defaults suit a browser app, override per server with env. */
export interface ApiLimits {
  /** Largest WebSocket message or HTTP body accepted (bytes). */
  maxMessageBytes: number;
  /** Calls per second per WebSocket connection / per HTTP client address, shared by every worker of a server (sustained). */
  callsPerSecond: number;
  /** Calls allowed in a burst above the sustained rate. */
  burst: number;
  /** A slow WebSocket client whose unsent backlog passes this is disconnected (bytes). */
  maxBufferedBytes: number;
}

/** A positive number from the environment, or `fallback` when unset or not one. */
export function positiveFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

export function apiLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): ApiLimits {
  const num = (name: string, fallback: number) => positiveFromEnv(env, name, fallback);
  return {
    maxMessageBytes: num('BOXWIRE_API_MAX_MESSAGE_KB', 1024) * 1024,
    callsPerSecond: num('BOXWIRE_API_CALLS_PER_SECOND', 200),
    burst: num('BOXWIRE_API_BURST', 400),
    maxBufferedBytes: num('BOXWIRE_API_MAX_BUFFERED_KB', 8 * 1024) * 1024,
  };
}

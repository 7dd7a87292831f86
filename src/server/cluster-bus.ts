/**
 * The roles' one seam to the server mesh: "tell every other server" and "hear what other
 * servers say". boot() installs the SERVER_CLUSTERING-backed bus; without one (a single server,
 * `npm start`) there is nobody else to tell and publishing is a no-op.
 */
export interface ServerBus {
  /** Sends to every other live server; each handles it once (one of its workers). */
  publish(method: string, data: unknown): void;
  /** Handles what other servers publish under `method`. */
  subscribe(method: string, handler: (data: any) => void): void;
}

let bus: ServerBus | undefined;
const pending: Array<[string, (data: any) => void]> = [];

export function installServerBus(next: ServerBus): void {
  bus = next;
  for (const [method, handler] of pending.splice(0)) next.subscribe(method, handler);
}

export function publishToServers(method: string, data: unknown): void {
  bus?.publish(method, data);
}

/** Subscriptions made before the bus is installed are kept and applied when it is. */
export function subscribeFromServers(method: string, handler: (data: any) => void): void {
  if (bus) bus.subscribe(method, handler);
  else pending.push([method, handler]);
}

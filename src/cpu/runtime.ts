import { createRegistries, type Endpoint } from '../core/endpoint.js';
import { SoloRuntime } from './solo-runtime.js';

/**
 * This process's messaging endpoint. Until CPU_CLUSTERING decides otherwise, the process is
 * "solo": worker 1 of 1 and its own master, so every API works without clustering.
 */
const registries = createRegistries();
let endpoint: Endpoint | undefined;
let role: 'solo' | 'master' | 'worker' = 'solo';

export function currentEndpoint(): Endpoint {
  return (endpoint ??= new SoloRuntime(registries));
}

export function sharedRegistries() {
  return registries;
}

export function installEndpoint(next: Endpoint, nextRole: 'solo' | 'master' | 'worker'): void {
  endpoint = next;
  role = nextRole;
}

export function processRole(): 'solo' | 'master' | 'worker' {
  return role;
}

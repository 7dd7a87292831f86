/**
 * Coordination tests on a real redis-server: a RedisServer this test process uses too
 * (configureRedis), fixture processes of test/fixtures/coord-app.ts pointed at it, and the
 * clean-up (fixtures killed, connections closed, server stopped) registered on the uvu suite.
 */
import type { Test } from 'uvu';
import { FixtureProcess } from './process-harness.js';
import { RedisServer, type RedisServerOptions } from './redis-server.js';
import { configureRedis } from '../../src/redis/redis-settings.js';
import { closeCoordination } from '../../src/coord/backend-choice.js';

export class CoordRedisSuite {
  readonly redis: RedisServer;
  readonly fixtures: FixtureProcess[] = [];

  constructor(test: Test, options: RedisServerOptions = {}, cleanUp?: () => void) {
    this.redis = new RedisServer(options);
    test.before(async () => {
      await this.redis.start();
      configureRedis(this.redis.url);
    });
    test.after(async () => {
      for (const fixture of this.fixtures) fixture.kill('SIGKILL');
      await closeCoordination();
      await this.redis.dispose();
      cleanUp?.();
    });
  }

  /** A coord-app.ts process running `scenario` against this Redis (or `redisUrl`). */
  start(scenario: string, args: Record<string, unknown>, env: Record<string, string> = {}, redisUrl = this.redis.url): FixtureProcess {
    const fixture = new FixtureProcess('test/fixtures/coord-app.ts', [scenario, JSON.stringify(args)], { BOXWIRE_REDIS_URL: redisUrl, ...env });
    this.fixtures.push(fixture);
    return fixture;
  }
}

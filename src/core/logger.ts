/**
 * Structured logs: one JSON object per line on stderr. Quiet by default (warnings and errors);
 * BOXWIRE_LOG=debug|info|warn|error|silent changes the level.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

function configuredLevel(): Level {
  const value = (process.env.BOXWIRE_LOG ?? 'warn').toLowerCase();
  return value in ORDER ? (value as Level) : 'warn';
}

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(base: Record<string, unknown> = {}): Logger {
  const threshold = ORDER[configuredLevel()];
  const write = (level: Level, event: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < threshold) return;
    const line = { t: new Date().toISOString(), level, event, pid: process.pid, ...base, ...fields };
    process.stderr.write(JSON.stringify(line, replaceErrors) + '\n');
  };
  return {
    debug: (event, fields) => write('debug', event, fields),
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
    child: (fields) => createLogger({ ...base, ...fields }),
  };
}

function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export const log = createLogger();

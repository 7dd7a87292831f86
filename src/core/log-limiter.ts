/**
 * Logging for events an outsider can trigger (refused connections, bad handshakes): at most
 * `perWindow` lines per event per window, then one line saying how many were suppressed, so an
 * attacker cannot fill the disk or drown real warnings.
 */
import { log as defaultLog, type Logger } from './logger.js';

interface Window {
  startedAt: number;
  written: number;
  suppressed: number;
  timer?: NodeJS.Timeout;
}

export class LogLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly perWindow = 5, private readonly windowMs = 10_000, private readonly log: Logger = defaultLog) {}

  warn(event: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    let window = this.windows.get(event);
    if (!window || now - window.startedAt >= this.windowMs) {
      if (window) this.flush(event, window);
      this.windows.set(event, (window = { startedAt: now, written: 0, suppressed: 0 }));
    }
    if (window.written < this.perWindow) {
      window.written++;
      this.log.warn(event, fields);
      return;
    }
    window.suppressed++;
    if (!window.timer) {
      const current = window;
      current.timer = setTimeout(() => {
        this.flush(event, current);
        if (this.windows.get(event) === current) this.windows.delete(event);
      }, this.windowMs - (now - current.startedAt));
      current.timer.unref();
    }
  }

  private flush(event: string, window: Window): void {
    clearTimeout(window.timer);
    window.timer = undefined;
    if (window.suppressed > 0) this.log.warn(event, { suppressed: window.suppressed, note: `more of these in the last ${this.windowMs / 1000} s were not logged` });
    window.suppressed = 0;
  }
}

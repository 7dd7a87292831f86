/** `BOXWIRE_METRICS=off` (or 0, false, no) turns /__METRICS and its event-loop sampling off. */
export function metricsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return !/^(off|0|false|no)$/i.test(env.BOXWIRE_METRICS ?? '');
}

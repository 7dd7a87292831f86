/**
 * Redis Stream entry ids (`<ms>-<seq>`) as versions: every write's feed entry id is the version of
 * the document it wrote, so versions compare in the feed's order.
 */
export const NO_VERSION = '0-0';

export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0;
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  const ma = Number(a.slice(0, da));
  const mb = Number(b.slice(0, db));
  if (ma !== mb) return ma < mb ? -1 : 1;
  const sa = Number(a.slice(da + 1));
  const sb = Number(b.slice(db + 1));
  return sa === sb ? 0 : sa < sb ? -1 : 1;
}

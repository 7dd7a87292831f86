/**
 * Uploaded files are served from the app's own origin, so a file that a browser would run
 * (HTML, SVG, XML, XHTML, JavaScript…) must never render there: its script would read the app's
 * cookies and call the API as the user. Only types that cannot carry script are shown inline;
 * every other type is an attachment. Every download also carries a sandboxing CSP (a file that is
 * opened anyway runs in an opaque origin, with no script) and `nosniff` (the browser believes
 * the declared type instead of guessing HTML from the bytes).
 */

/** Types a browser displays without running anything from the file. */
const INLINE_SAFE = new Set([
  'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp', 'image/x-icon', 'image/vnd.microsoft.icon',
  'text/plain', 'text/csv', 'application/pdf', 'application/json',
]);

/** `sandbox` without `allow-scripts`: no script, an opaque origin; nothing is loaded from elsewhere. */
export const DOWNLOAD_CSP = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'";

const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,127}$/;

/**
 * A declared type reduced to `type/subtype` in lower case, or `application/octet-stream` when it
 * is not a well-formed type (a client chooses it; it ends up in a response header).
 */
export function normalizeType(declared: string | undefined): string {
  const essence = (declared ?? '').split(';')[0].trim().toLowerCase();
  return MIME.test(essence) ? essence : 'application/octet-stream';
}

/** Whether a file of this type may be displayed inline on the app's origin. */
export function mayShowInline(type: string): boolean {
  const essence = normalizeType(type);
  return INLINE_SAFE.has(essence) || essence.startsWith('audio/') || essence.startsWith('video/');
}

/**
 * The headers that decide how a browser treats a download: the type (text types get an explicit
 * charset so no sniffing decides it), the disposition (attachment unless asked inline and safe),
 * the sandboxing CSP and nosniff.
 */
export function safetyHeaders(type: string, wantsAttachment: boolean): { type: string; disposition: 'inline' | 'attachment'; headers: Record<string, string> } {
  const essence = normalizeType(type);
  const served = essence === 'text/plain' || essence === 'text/csv' ? `${essence}; charset=utf-8` : essence;
  return {
    type: served,
    disposition: wantsAttachment || !mayShowInline(essence) ? 'attachment' : 'inline',
    headers: { 'Content-Security-Policy': DOWNLOAD_CSP, 'X-Content-Type-Options': 'nosniff', 'Cross-Origin-Resource-Policy': 'same-site' },
  };
}

/**
 * What an API client sees when a call fails: an HTTP-like status (used as the HTTP status for
 * `POST /__API`) and a stable code, plus a message that says what to do.
 */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface WireApiError {
  code: string;
  message: string;
  status: number;
}

/** Maps anything a box method threw to the reply shape; unexpected errors keep their message. */
export function toApiError(error: unknown): WireApiError {
  if (error instanceof ApiError) return { status: error.status, code: error.code, message: error.message };
  const e = error as { status?: unknown; code?: unknown; message?: unknown };
  const status = typeof e?.status === 'number' && e.status >= 400 && e.status < 600 ? e.status : 500;
  const code = typeof e?.code === 'string' ? e.code : 'METHOD_FAILED';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return { status, code, message };
}

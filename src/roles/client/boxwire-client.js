/**
 * boxwire browser client (ESM, no build step): `import { connect } from '/__boxwire/client.js'`.
 *
 *   const bw = connect({ box: 'sample' });            // discovers an API server, reconnects by itself
 *   await bw.call('increment', { by: 1 });             // box method → Promise of the result
 *   bw.join('counter', (event, data) => { … });        // room pushes; re-joined after reconnects
 *   await bw.upload(file, { onProgress });             // to a live upload server → file metadata
 *   bw.downloadUrl(meta)                                // any server; redirects to the owner
 *
 * JSON over the WebSocket. Calls made while disconnected wait for the next connection (bounded
 * by `timeoutMs`).
 *
 * Events (`bw.on(name, listener)`): 'open' (host) when connected; 'close' when an open connection
 * drops; 'error' (error) when an attempt to connect fails — discovery answered an error or
 * nothing, or the WebSocket would not open. `error.message` says why, `error.code` is the
 * server's code (e.g. NO_LIVE_SERVER) or DISCOVERY_FAILED / CONNECT_FAILED, `error.attempt`
 * counts failed attempts since the last connection and `error.retryInMs` says when the client
 * tries again (it always does, with backoff, until `close()`).
 */
export class BoxwireError extends Error {
  constructor(error) {
    super(error?.message ?? 'request failed');
    this.name = 'BoxwireError';
    this.code = error?.code ?? 'ERROR';
    this.status = error?.status ?? 500;
  }
}

export function connect(options = {}) {
  return new BoxwireClient(options);
}

export class BoxwireClient {
  constructor({ box, origin = location.origin, apiHost, timeoutMs = 15000 } = {}) {
    this.box = box;
    this.origin = origin;
    this.fixedApiHost = apiHost;
    this.timeoutMs = timeoutMs;
    this.nextId = 1;
    this.pending = new Map();
    this.queue = [];
    this.rooms = new Map();
    this.listeners = { open: new Set(), close: new Set(), error: new Set() };
    this.failedAttempts = 0;
    this.backoffMs = 250;
    this.closed = false;
    this.apiHost = undefined;
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    this.open();
  }

  /** 'open' (host), 'close' and 'error' (error) events; returns a function that removes the listener. */
  on(event, listener) {
    this.listeners[event]?.add(listener);
    return () => this.listeners[event]?.delete(listener);
  }

  call(method, data = null, { box = this.box } = {}) {
    return this.request({ box, method, data });
  }

  /** Joins a room of the box; `handler(event, data)` gets its pushes. Returns a leave function. */
  join(room, handler, { box = this.box } = {}) {
    const key = `${box}/${room}`;
    let handlers = this.rooms.get(key);
    const first = !handlers;
    if (first) this.rooms.set(key, (handlers = new Set()));
    handlers.add(handler);
    const joined = first ? this.request({ box, join: room }) : Promise.resolve(true);
    // The room is re-joined on every (re)connect anyway; a join that timed out while the client
    // could not connect must not surface as an uncaught rejection (await leave.joined to see it).
    joined.catch(() => {});
    const leave = () => {
      handlers.delete(handler);
      if (handlers.size === 0) {
        this.rooms.delete(key);
        this.request({ box, leave: room }).catch(() => {});
      }
    };
    leave.joined = joined;
    return leave;
  }

  /** Uploads one File/Blob to a live upload server; resolves to its metadata. */
  async upload(file, { box = this.box, name = file.name ?? 'file', onProgress } = {}) {
    const host = await this.discover('/__UPLOAD_SERVER_HOST');
    let leave;
    let token;
    let finished;
    const complete = new Promise((resolve) => (finished = resolve));
    if (onProgress) {
      token = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
      leave = this.join(`__upload.${token}`, (event, data) => {
        if (event !== 'progress') return;
        onProgress(data);
        if (data.total !== null && data.received >= data.total) finished();
      }, { box });
      await leave.joined;
    }
    try {
      const form = new FormData();
      form.append('file', file, name);
      const query = new URLSearchParams({ box, ...(token ? { progress: token } : {}) });
      const response = await fetch(`${new URL(this.origin).protocol}//${host}/__UPLOAD?${query}`, { method: 'POST', body: form });
      const body = await response.json();
      if (!response.ok) throw new BoxwireError(body.error);
      // The last progress push travels through the cluster; give it a moment to arrive.
      if (onProgress) await Promise.race([complete, new Promise((resolve) => setTimeout(resolve, 1000))]);
      return body.files[0];
    } finally {
      leave?.();
    }
  }

  /** A URL any server answers (302 to the owner when needed). */
  downloadUrl(meta, { attachment = false } = {}) {
    return `${this.origin}/__RF/${encodeURIComponent(meta.box)}/${encodeURIComponent(meta.id)}${attachment ? '?download=1' : ''}`;
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket?.close(1000);
  }

  // ---- internals ---------------------------------------------------------------------------

  /** Asks the front door for a live server; the error says why when it cannot answer. */
  async discover(path) {
    let response;
    try {
      response = await fetch(`${this.origin}${path}`, { cache: 'no-store', signal: AbortSignal.timeout(Math.min(this.timeoutMs, 10000)) });
    } catch (error) {
      const why = error?.name === 'TimeoutError' ? 'no answer in time' : error?.message ?? String(error);
      throw new BoxwireError({ code: 'DISCOVERY_FAILED', status: 503, message: `${this.origin}${path} failed: ${why}` });
    }
    if (!response.ok) {
      const error = (await response.json().catch(() => null))?.error;
      throw new BoxwireError({ code: error?.code ?? 'DISCOVERY_FAILED', status: response.status, message: `${this.origin}${path} answered ${response.status}${error?.code ? ` ${error.code}` : ''}${error?.message ? `: ${error.message}` : ''}` });
    }
    return (await response.text()).trim();
  }

  async open() {
    if (this.closed) return;
    try {
      const host = this.fixedApiHost ?? (await this.discover('/__SOCKET_SERVER_HOST'));
      // Same security as the page's origin: wss behind an https public address.
      const scheme = new URL(this.origin).protocol === 'https:' ? 'wss' : 'ws';
      const url = `${scheme}://${host}/__API`;
      const socket = new WebSocket(url);
      this.socket = socket;
      // A host that never answers would otherwise keep this attempt open for minutes.
      const openTimer = setTimeout(() => socket.close(), this.timeoutMs);
      socket.onopen = () => {
        clearTimeout(openTimer);
        socket.opened = true;
        this.apiHost = host;
        this.backoffMs = 250;
        this.failedAttempts = 0;
        for (const key of this.rooms.keys()) {
          const [box, room] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
          socket.send(JSON.stringify({ id: this.nextId++, box, join: room }));
        }
        for (const queued of this.queue.splice(0)) {
          queued.pending.sent = true;
          socket.send(queued.frame);
        }
        this.resolveReady(host);
        for (const listener of this.listeners.open) listener(host);
      };
      socket.onmessage = (event) => this.onMessage(event.data);
      socket.onclose = () => {
        clearTimeout(openTimer);
        if (socket.opened) return this.onClose(socket);
        if (this.socket === socket) this.socket = undefined;
        this.failed(new BoxwireError({ code: 'CONNECT_FAILED', status: 503, message: `could not open ${url}` }));
      };
    } catch (error) {
      this.failed(error instanceof BoxwireError ? error : new BoxwireError({ code: 'CONNECT_FAILED', message: error?.message ?? String(error) }));
    }
  }

  /** An attempt to connect failed: say why ('error' event), then try again with backoff. */
  failed(error) {
    if (this.closed) return;
    error.attempt = ++this.failedAttempts;
    error.retryInMs = this.scheduleRetry();
    // Nobody listening: the developer console still says why the page is not connecting.
    if (this.listeners.error.size === 0) console.warn(`boxwire: ${error.message} — retrying in ${error.retryInMs} ms (attempt ${error.attempt})`);
    for (const listener of this.listeners.error) listener(error);
  }

  onMessage(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.room !== undefined && message.event !== undefined && message.id === undefined) {
      for (const handler of this.rooms.get(`${message.box}/${message.room}`) ?? []) handler(message.event, message.data);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.error) pending.reject(new BoxwireError(message.error));
    else pending.resolve(message.result);
  }

  onClose(socket) {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.apiHost = undefined;
    // Requests sent on the lost connection may or may not have run: fail them, do not resend.
    for (const [id, pending] of this.pending) {
      if (pending.sent) {
        this.pending.delete(id);
        clearTimeout(pending.timer);
        pending.reject(new BoxwireError({ code: 'DISCONNECTED', message: 'the connection closed before the reply' }));
      }
    }
    for (const listener of this.listeners.close) listener();
    this.scheduleRetry();
  }

  /** Schedules the next attempt (backoff with jitter); returns its delay in ms. */
  scheduleRetry() {
    if (this.closed) return undefined;
    const delay = Math.round(this.backoffMs * (0.5 + Math.random()));
    this.backoffMs = Math.min(this.backoffMs * 2, 10000);
    this.retryTimer = setTimeout(() => this.open(), delay);
    return delay;
  }

  request(message) {
    const id = this.nextId++;
    const frame = JSON.stringify({ id, ...message });
    return new Promise((resolve, reject) => {
      const pending = { resolve, reject, sent: false };
      pending.timer = setTimeout(() => {
        this.pending.delete(id);
        this.queue = this.queue.filter((queued) => queued.pending !== pending);
        reject(new BoxwireError({ code: 'TIMEOUT', message: `no reply within ${this.timeoutMs} ms` }));
      }, this.timeoutMs);
      this.pending.set(id, pending);
      if (this.socket?.readyState === WebSocket.OPEN) {
        pending.sent = true;
        this.socket.send(frame);
      } else {
        this.queue.push({ frame, pending });
      }
    });
  }
}

/**
 * A client for the load balancer tests that trusts a test CA (node's fetch cannot be given one
 * without undici's Agent): plain http(s) requests, WebSocket calls, multipart bodies, and a
 * self-signed certificate made with openssl.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** A self-signed certificate for 127.0.0.1 (and localhost), made by openssl in `dir`. */
export function selfSignedCert(dir: string): { cert: string; key: string; ca: Buffer } {
  const cert = join(dir, 'lb-cert.pem');
  const key = join(dir, 'lb-key.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  return { cert, key, ca: readFileSync(cert) };
}

export function send(url: string, options: { method?: string; body?: Buffer | string; headers?: Record<string, string>; ca?: Buffer } = {}): Promise<Answer> {
  const target = new URL(url);
  const module = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = module.request(target, { method: options.method ?? 'GET', headers: options.headers, agent: false, ...(options.ca ? { ca: options.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A multipart/form-data body with one file, as a browser would send it. */
export async function multipartFile(name: string, bytes: Buffer, type = 'application/octet-stream'): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type }), name);
  const request = new Request('http://x/', { method: 'POST', body: form });
  return { body: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get('content-type')! };
}

/** Opens a WebSocket to `${base}/__API`, makes one call, closes; resolves to the reply message. */
export async function callOverWebSocket(url: string, message: Record<string, unknown>, ca?: Buffer): Promise<Record<string, unknown>> {
  const socket = new WebSocket(url, ca ? { ca } : {});
  try {
    await Promise.race([once(socket, 'open'), once(socket, 'error').then(([error]) => Promise.reject(error))]);
    socket.send(JSON.stringify({ id: 1, ...message }));
    for (;;) {
      const [data] = await once(socket, 'message');
      const reply = JSON.parse(String(data));
      if (reply.id === 1) return reply;
    }
  } finally {
    socket.close();
  }
}

/**
 * The chaos run's file uploads: random bytes POSTed as multipart to a random server's upload role;
 * a 201 is the acknowledgement. The checker downloads every acknowledged file — through a random
 * server, which redirects to the owner — and compares the bytes (SHA-256).
 */
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';

export interface Uploaded {
  id: string;
  owner: string;
  size: number;
  sha256: string;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Uploads `size` random bytes; resolves the stored file, or undefined (no acknowledgement). */
export function upload(address: string, port: number, size: number, random: () => number): Promise<Uploaded | undefined> {
  const bytes = randomBytes(size);
  const boundary = `----chaos${Math.floor(random() * 1e12)}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="chaos-${size}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return new Promise((resolve) => {
    const req = httpRequest({ host: address, port, path: '/__UPLOAD?box=chaos', method: 'POST', timeout: 15_000,
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        try {
          const file = JSON.parse(Buffer.concat(chunks).toString()).files?.[0];
          resolve(res.statusCode === 201 && file ? { id: file.id, owner: file.server, size, sha256: sha256(bytes) } : undefined);
        } catch {
          resolve(undefined);
        }
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}

/** Downloads a file (following one redirect to its owner); resolves its status and the bytes' hash. */
export function download(address: string, port: number, id: string, hops = 1): Promise<{ status: number; sha256?: string; via?: string }> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: address, port, path: `/__RF/chaos/${id}`, timeout: 15_000 }, (res) => {
      const location = res.headers.location;
      if (res.statusCode === 302 && location && hops > 0) {
        res.resume();
        const target = new URL(location);
        void download(target.hostname, Number(target.port || 80), id, hops - 1).then((r) => resolve({ ...r, via: address }));
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sha256: res.statusCode === 200 ? sha256(Buffer.concat(chunks)) : undefined }));
      res.on('error', () => resolve({ status: 0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0 }));
    req.end();
  });
}

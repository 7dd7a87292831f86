// The upload role and downloads: size limit (413, nothing left behind), hostile file names,
// 10 concurrent uploads, HTTP Range, download from another server by redirect.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { ClusterServers, waitClusterUp, waitHttp, writeConfig } from '../helpers/roles-cluster.js';

const WEB = 18530;
const servers = {
  api1: { host: '127.0.0.2', webPort: WEB, roles: ['front-door', 'api'] },
  upload1: { host: '127.0.0.3', webPort: WEB, roles: ['upload'], dataDir: 'files-upload1', workers: 2 },
};
const { path, dir } = writeConfig({ clusteringPort: 18531, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'], maxUploadFileMB: 1, servers });
const dataDir = join(dir, 'files-upload1');
const cluster = new ClusterServers(path);
const upload = `http://127.0.0.3:${WEB}`;
const other = `http://127.0.0.2:${WEB}`;

test.before(async () => {
  cluster.start('api1');
  cluster.start('upload1', { BOXWIRE_WORKERS: '2' });
  await waitClusterUp(other, Object.values(servers), 2);
});
test.after(() => cluster.stopAll());

function form(files: Array<{ name: string; bytes: Uint8Array; type?: string }>): FormData {
  const data = new FormData();
  for (const f of files) data.append('file', new Blob([new Uint8Array(f.bytes)], { type: f.type ?? 'application/octet-stream' }), f.name);
  return data;
}

async function post(files: Array<{ name: string; bytes: Uint8Array; type?: string }>, box = 'sample') {
  const response = await fetch(`${upload}/__UPLOAD?box=${box}`, { method: 'POST', body: form(files) });
  return { status: response.status, body: await response.json() };
}

/**
 * Every file under dataDir (recursively), sidecars and partial files included. A download's count
 * is written to its sidecar after the response, aside and then renamed (`<id>.json.tmp-<pid>`):
 * an earlier test's download may still be doing that, so those passing files are not counted.
 */
function filesOnDisk(): string[] {
  if (!existsSync(dataDir)) return [];
  return readdirSync(dataDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !/\.json\.tmp-\d+$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

test('an upload is stored under dataDir and downloads with identical bytes, type and disposition', async () => {
  const bytes = randomBytes(200_000);
  const { status, body } = await post([{ name: 'photo.png', bytes, type: 'image/png' }]);
  assert.is(status, 201, JSON.stringify(body));
  const [meta] = body.files;
  assert.is(meta.name, 'photo.png');
  assert.is(meta.size, bytes.length);
  assert.is(meta.server, 'upload1');
  assert.is(meta.type, 'image/png');
  assert.is(meta.downloads, 0);
  assert.ok(filesOnDisk().some((f) => f.endsWith(meta.id)));
  const response = await fetch(`${upload}/__RF/sample/${meta.id}`);
  assert.is(response.status, 200);
  assert.is(response.headers.get('content-type'), 'image/png');
  assert.match(response.headers.get('content-disposition')!, /^inline; filename="photo.png"/);
  assert.is(response.headers.get('accept-ranges'), 'bytes');
  assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes));
  const attachment = await fetch(`${upload}/__RF/sample/${meta.id}?download=1`, { method: 'HEAD' });
  assert.match(attachment.headers.get('content-disposition')!, /^attachment;/);
});

test('download through another server: 302 to the owner, then the same bytes', async () => {
  const bytes = randomBytes(5000);
  const [meta] = (await post([{ name: 'a.bin', bytes }])).body.files;
  const redirect = await fetch(`${other}/__RF/sample/${meta.id}`, { redirect: 'manual' });
  assert.is(redirect.status, 302);
  assert.is(redirect.headers.get('location'), `${upload}/__RF/sample/${meta.id}`);
  const followed = await fetch(`${other}/__RF/sample/${meta.id}`);
  assert.ok(Buffer.from(await followed.arrayBuffer()).equals(bytes));
  assert.match(meta.id, /^upload1\./, 'the id names its owner');
  // An unknown id of the owner: the other server redirects, the owner says 404.
  const missing = await fetch(`${other}/__RF/sample/upload1.AAAAAAAAAAAAAAAA`);
  assert.is(missing.status, 404);
  assert.is((await missing.json()).error.code, 'NO_SUCH_FILE');
  assert.is((await fetch(`${other}/__RF/sample/nosuchserver.AAAAAAAAAAAAAAAA`)).status, 404);
});

test('over the size limit: 413 with a clear message, and no file (partial or sidecar) left behind', async () => {
  const before = filesOnDisk();
  const { status, body } = await post([{ name: 'small.txt', bytes: randomBytes(10) }, { name: 'big.bin', bytes: randomBytes(1024 * 1024 + 1) }]);
  assert.is(status, 413);
  assert.is(body.error.code, 'TOO_LARGE');
  assert.match(body.error.message, /'big.bin' is larger than the limit of 1 MB \(maxUploadFileMB\); nothing was stored/);
  assert.equal(filesOnDisk().sort(), before.sort());
  // Exactly at the limit is fine.
  assert.is((await post([{ name: 'edge.bin', bytes: randomBytes(1024 * 1024) }])).status, 201);
});

test('hostile names: ../ and absolute paths, control characters, dot files — sanitized, stored inside dataDir', async () => {
  const cases: Array<[string, string]> = [
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\windows\\win.ini', 'win.ini'],
    ['/abs/path/x.txt', 'x.txt'],
    ['..', 'file'],
    ['.hidden', 'hidden'],
    ['a<b>c|d?e*f:g.txt', 'a_b_c_d_e_f_g.txt'],
    ['한글 이름.txt', '한글 이름.txt'],
  ];
  for (const [raw, expected] of cases) {
    const { status, body } = await post([{ name: raw, bytes: Buffer.from(raw) }]);
    assert.is(status, 201, raw);
    assert.is(body.files[0].name, expected, raw);
    const response = await fetch(`${upload}/__RF/sample/${body.files[0].id}`);
    assert.match(response.headers.get('content-disposition')!, /^(inline|attachment); filename="[\x20-\x7e]*"; filename\*=UTF-8''/);
  }
  // What a multipart header cannot carry verbatim (NUL, CR, LF, quotes) is checked directly.
  const { sanitizeFilename } = await import('../../src/roles/files/filename.js');
  assert.is(sanitizeFilename('a\u0000b\r\nc"d.txt'), 'a_b__c_d.txt');
  assert.is(sanitizeFilename(' ../.. '), 'file');
  assert.is(sanitizeFilename('x'.repeat(300) + '.txt').length, 200);
  assert.ok(sanitizeFilename('x'.repeat(300) + '.txt').endsWith('.txt'));
  for (const file of filesOnDisk()) assert.ok(file.startsWith(dataDir + '/'), file);
  // Traversal through the download path is impossible too: ids are validated, never joined raw.
  for (const probe of ['/__RF/sample/..%2F..%2Fcluster.json', '/__RF/..%2F..%2F/x', '/__RF/sample/../../cluster.json']) {
    assert.is((await fetch(`${upload}${probe}`)).status, 404, probe);
  }
  assert.is((await post([{ name: 'x', bytes: Buffer.from('x') }], '../etc')).status, 404);
});

test('10 concurrent uploads: all stored, each downloads intact', async () => {
  const payloads = Array.from({ length: 10 }, (_, i) => randomBytes(50_000 + i * 1000));
  const results = await Promise.all(payloads.map((bytes, i) => post([{ name: `c${i}.bin`, bytes }])));
  const ids = new Set<string>();
  for (const [i, { status, body }] of results.entries()) {
    assert.is(status, 201);
    ids.add(body.files[0].id);
    const back = Buffer.from(await (await fetch(`${other}/__RF/sample/${body.files[0].id}`)).arrayBuffer());
    assert.ok(back.equals(payloads[i]), `upload ${i}`);
  }
  assert.is(ids.size, 10);
});

test('Range: bytes=a-b, a-, -n (206), past the end (416), malformed or multiple (200 whole)', async () => {
  const bytes = randomBytes(1000);
  const [meta] = (await post([{ name: 'r.bin', bytes }])).body.files;
  const get = (range: string) => fetch(`${other}/__RF/sample/${meta.id}`, { headers: { Range: range } });
  const cases: Array<[string, number, number]> = [['bytes=0-9', 0, 9], ['bytes=990-', 990, 999], ['bytes=-5', 995, 999], ['bytes=500-5000', 500, 999]];
  for (const [range, start, end] of cases) {
    const response = await get(range);
    assert.is(response.status, 206, range);
    assert.is(response.headers.get('content-range'), `bytes ${start}-${end}/1000`);
    assert.is(Number(response.headers.get('content-length')), end - start + 1);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes.subarray(start, end + 1)), range);
  }
  const beyond = await get('bytes=1000-');
  assert.is(beyond.status, 416);
  assert.is(beyond.headers.get('content-range'), 'bytes */1000');
  for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=9-3']) {
    const response = await get(range);
    assert.is(response.status, 200, range);
    assert.is((await response.arrayBuffer()).byteLength, 1000);
  }
});

test('bad uploads: not multipart, no file, unknown box, GET', async () => {
  const notMultipart = await fetch(`${upload}/__UPLOAD?box=sample`, { method: 'POST', body: 'hello', headers: { 'Content-Type': 'text/plain' } });
  assert.is(notMultipart.status, 400);
  assert.is((await notMultipart.json()).error.code, 'NOT_MULTIPART');
  const noFile = new FormData();
  noFile.append('field', 'value');
  const empty = await fetch(`${upload}/__UPLOAD?box=sample`, { method: 'POST', body: noFile });
  assert.is((await empty.json()).error.code, 'NO_FILES');
  assert.is((await fetch(`${upload}/__UPLOAD?box=nope`, { method: 'POST', body: form([{ name: 'a', bytes: Buffer.from('a') }]) })).status, 404);
  assert.is((await fetch(`${upload}/__UPLOAD?box=sample`)).status, 405);
  // Uploads go to upload servers only.
  assert.is((await fetch(`${other}/__UPLOAD?box=sample`, { method: 'POST', body: form([{ name: 'a', bytes: Buffer.from('a') }]) })).status, 404);
});

test('a refused upload is answered after its body: 30 refusals in a row on kept-alive connections, then one accepted; a refused body over one file at the limit gets Connection: close at once', async () => {
  for (let i = 0; i < 30; i++) {
    const refused = await fetch(`${upload}/__UPLOAD?box=${i % 2 ? 'nope' : 'sample'}${i % 2 ? '' : '&progress=bad!'}`, { method: 'POST', body: form([{ name: 'a.txt', bytes: randomBytes(2_000) }]) });
    assert.is(refused.status, i % 2 ? 404 : 400);
    assert.is(refused.headers.get('connection'), 'keep-alive', 'a small refused body is read, so the connection stays usable');
    await refused.arrayBuffer();
  }
  assert.is((await post([{ name: 'after.txt', bytes: Buffer.from('after') }])).status, 201);
  // Past one file at the limit, the refusal does not wait for the rest: it answers at once and
  // closes (read over a raw socket: a client still sending may not see it, which is the point).
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(WEB, '127.0.0.3', () => {
      socket.write(`POST /__UPLOAD?box=nope HTTP/1.1\r\nHost: 127.0.0.3\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`);
      socket.write(Buffer.alloc(1024 * 1024 + 200 * 1024, 0x61));
    });
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', (error) => (text ? resolve(text) : reject(error)));
  });
  assert.match(answer, /^HTTP\/1\.1 404 /);
  assert.match(answer, /\r\nConnection: close\r\n/i);
});

test('the download count is kept', async () => {
  const [meta] = (await post([{ name: 'count.txt', bytes: Buffer.from('count me') }])).body.files;
  for (let i = 0; i < 3; i++) await (await fetch(`${upload}/__RF/sample/${meta.id}`)).arrayBuffer();
  // A later range of a resumed download does not count again.
  await (await fetch(`${upload}/__RF/sample/${meta.id}`, { headers: { Range: 'bytes=3-' } })).arrayBuffer();
  const { readFile } = await import('node:fs/promises');
  const sidecar = join(dataDir, 'sample', `${meta.id}.json`);
  const deadline = Date.now() + 10_000;
  let downloads = 0;
  while (Date.now() < deadline && downloads < 3) {
    downloads = JSON.parse(await readFile(sidecar, 'utf8')).downloads;
    if (downloads < 3) await new Promise((r) => setTimeout(r, 100));
  }
  assert.is(downloads, 3);
});

test('after the whole cluster restarts, the upload server re-announces its files from disk', async () => {
  const bytes = randomBytes(3000);
  const [meta] = (await post([{ name: 'survivor.bin', bytes }])).body.files;
  await (await fetch(`${upload}/__RF/sample/${meta.id}`)).arrayBuffer();
  const sidecars = filesOnDisk().filter((f) => f.endsWith('.json')).length;
  await cluster.stopAll();
  cluster.start('api1');
  cluster.start('upload1', { BOXWIRE_WORKERS: '2' });
  await waitClusterUp(other, Object.values(servers), 2);
  // The store started empty everywhere: what it knows now came from upload1's sidecar files.
  const status = await waitHttp(`${other}/__STATUS`, (code, text) => {
    const files = code === 200 ? JSON.parse(text).servers.find((x: any) => x.name === 'api1').detail.stores['boxwire.files'] : 0;
    return files === sidecars ? files : undefined;
  });
  assert.is(status, sidecars);
  const back = await fetch(`${other}/__RF/sample/${meta.id}`);
  assert.ok(back.redirected);
  assert.ok(Buffer.from(await back.arrayBuffer()).equals(bytes));
});

test.run();

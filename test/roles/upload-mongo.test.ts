// The upload role with a `mongo` section: file metadata lives in MongoDB (MongoFileIndex through
// the real `mongodb` driver), here the scripted wire-protocol peer posing as the cluster's mongos,
// with the app user's SCRAM login. Upload → the document in the peer; download → same bytes and
// the count incremented in the peer; another server reads the metadata from MongoDB to redirect.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MongoClient, type Document } from 'mongodb';
import { ScriptedMongoCluster } from '../helpers/mongo-wire-peer.js';
import { ClusterServers, waitClusterUp, waitHttp, writeConfig } from '../helpers/roles-cluster.js';

const WEB = 18590;
const MONGO_HOST = '127.0.0.1';
const ROUTER = 18592;
const DB = 'boxwire';
const APP = { user: 'boxapp', pwd: 'app-secret-pw' };
const servers = {
  api1: { host: '127.0.0.2', webPort: WEB, roles: ['front-door', 'api'] },
  upload1: { host: '127.0.0.3', webPort: WEB, roles: ['upload'], dataDir: 'files-upload1' },
};
const mongo = {
  database: DB, keyFile: '/srv/mongodb/keyfile',
  // Only the router is ever dialled by the application; the others are never contacted here.
  configServers: { replSet: 'cfgRS', members: [{ host: MONGO_HOST, port: 18593 }] },
  shards: [{ replSet: 'sh1', members: [{ host: MONGO_HOST, port: 18594 }] }],
  routers: [{ host: MONGO_HOST, port: ROUTER }],
  users: { root: { user: 'env:TEST_MONGO_ROOT_USER', pwd: 'env:TEST_MONGO_ROOT_PWD' }, app: { user: 'env:TEST_MONGO_APP_USER', pwd: 'env:TEST_MONGO_APP_PWD' } },
};
const { path, dir } = writeConfig({ clusteringPort: 18591, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'], maxUploadFileMB: 1, servers, mongo });
const ENV = { TEST_MONGO_ROOT_USER: 'root', TEST_MONGO_ROOT_PWD: 'root-pw', TEST_MONGO_APP_USER: APP.user, TEST_MONGO_APP_PWD: APP.pwd };
const cluster = new ClusterServers(path, ENV);
const dataDir = join(dir, 'files-upload1');
const upload = `http://127.0.0.3:${WEB}`;
const other = `http://127.0.0.2:${WEB}`;
let peer = new ScriptedMongoCluster();

/** The peer as mongos, holding the app user (as `ops mongo init` leaves it): unauthenticated commands are refused. */
async function startPeer(): Promise<void> {
  await peer.listen([{ host: MONGO_HOST, port: ROUTER, kind: 'mongos' }]);
  const admin = new MongoClient(`mongodb://${MONGO_HOST}:${ROUTER}/`, { serverSelectionTimeoutMS: 5000 });
  try {
    await admin.db(DB).command({ createUser: APP.user, pwd: APP.pwd, roles: [{ role: 'readWrite', db: DB }] });
  } finally {
    await admin.close();
  }
}

test.before(async () => {
  await startPeer();
  cluster.start('api1');
  cluster.start('upload1');
  await waitClusterUp(other, Object.values(servers), 2);
});
test.after(async () => {
  await cluster.stopAll();
  await peer.close();
});

async function post(name: string, bytes: Uint8Array, type: string) {
  const data = new FormData();
  data.append('file', new Blob([new Uint8Array(bytes)], { type }), name);
  const response = await fetch(`${upload}/__UPLOAD?box=sample`, { method: 'POST', body: data });
  return { status: response.status, body: await response.json() };
}

function fileDocs(): Document[] {
  return peer.documents(DB, 'boxwire_files');
}

function docOf(id: string): Document | undefined {
  return fileDocs().find((d) => d._id === `sample.${id}`);
}

/** `find` commands the peer received for one file's metadata document. */
function findsFor(id: string): number {
  return peer.commands.filter((c) => c.name === 'find' && c.command.find === 'boxwire_files' && c.command.filter?._id === `sample.${id}`).length;
}

test('an upload writes one metadata document to MongoDB (as the app user), bytes stay on the owner', async () => {
  const before = Date.now();
  const bytes = randomBytes(150_000);
  const { status, body } = await post('report.pdf', bytes, 'application/pdf');
  assert.is(status, 201, JSON.stringify(body));
  const [meta] = body.files;
  const doc = docOf(meta.id);
  assert.ok(doc, `no document for ${meta.id} in ${JSON.stringify(fileDocs())}`);
  const { created, ...rest } = doc!;
  assert.equal(rest, { _id: `sample.${meta.id}`, id: meta.id, box: 'sample', name: 'report.pdf', type: 'application/pdf', size: bytes.length, server: 'upload1', downloads: 0 });
  assert.is(typeof created, 'string');
  assert.is(new Date(created).toISOString(), created, 'ISO 8601');
  assert.ok(Date.parse(created) >= before - 1000 && Date.parse(created) <= Date.now() + 1000, created);
  assert.equal({ ...meta, _id: doc!._id }, doc, 'the upload answer is the stored metadata');
  const insert = peer.commands.find((c) => c.name === 'insert' && c.command.documents?.some((d: Document) => d.id === meta.id));
  assert.ok(insert);
  assert.is(insert!.db, DB, 'the database comes from mongo.database');
  assert.is(insert!.user, APP.user, 'written over a SCRAM login as the app user');
  // With MongoDB as the record there is no sidecar: only the bytes are on disk.
  const onDisk = readdirSync(join(dataDir, 'sample'));
  assert.ok(onDisk.includes(meta.id));
  assert.not.ok(existsSync(join(dataDir, 'sample', `${meta.id}.json`)));
});

test('a download returns the same bytes and increments the count in MongoDB', async () => {
  const bytes = randomBytes(40_000);
  const [meta] = (await post('data.bin', bytes, 'application/octet-stream')).body.files;
  const response = await fetch(`${upload}/__RF/sample/${meta.id}`);
  assert.is(response.status, 200);
  assert.is(response.headers.get('content-type'), 'application/octet-stream');
  assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes));
  await peer.waitFor(() => (docOf(meta.id)?.downloads === 1 ? true : undefined), 10_000, `downloads = 1 on ${meta.id}`);
  await (await fetch(`${upload}/__RF/sample/${meta.id}`)).arrayBuffer();
  await peer.waitFor(() => (docOf(meta.id)?.downloads === 2 ? true : undefined), 10_000, `downloads = 2 on ${meta.id}`);
  const update = peer.commands.find((c) => c.name === 'update' && c.command.updates?.[0]?.q?._id === `sample.${meta.id}`);
  assert.equal(update!.command.updates[0].u, { $inc: { downloads: 1 } });
  // Only the counted file changed.
  const { downloads, ...unchanged } = docOf(meta.id)!;
  assert.is(downloads, 2);
  assert.equal({ ...unchanged, downloads: 0 }, { ...meta, _id: `sample.${meta.id}` });
});

test('another server reads the metadata from MongoDB and redirects to the owner', async () => {
  const bytes = randomBytes(8000);
  const [meta] = (await post('x.txt', bytes, 'text/plain')).body.files;
  const findsBefore = findsFor(meta.id);
  const redirect = await fetch(`${other}/__RF/sample/${meta.id}`, { redirect: 'manual' });
  assert.is(redirect.status, 302);
  assert.is(redirect.headers.get('location'), `${upload}/__RF/sample/${meta.id}`);
  // The redirect was not followed, so only api1 can have asked MongoDB for this document.
  assert.ok(findsFor(meta.id) > findsBefore, 'api1 looked the file up in MongoDB');
  const followed = await fetch(`${other}/__RF/sample/${meta.id}`);
  assert.ok(followed.redirected);
  assert.ok(Buffer.from(await followed.arrayBuffer()).equals(bytes));
});

test('the MongoDB document, not the id, decides where a download goes; a missing document is a 404 at the owner', async () => {
  const [meta] = (await post('moved.txt', Buffer.from('moved'), 'text/plain')).body.files;
  // Edit the record behind the servers' backs: it now names a server that is not in the cluster.
  peer.data.get(`${DB}.boxwire_files`)!.find((d) => d._id === `sample.${meta.id}`)!.server = 'nowhere';
  const answer = await fetch(`${other}/__RF/sample/${meta.id}`, { redirect: 'manual' });
  assert.is(answer.status, 404, 'the id alone would have sent it to upload1');
  assert.is((await answer.json()).error.code, 'NO_SUCH_FILE');
  // An id of upload1 with no document: api1 trusts the id and redirects, upload1 finds nothing.
  const unknown = 'upload1.AAAAAAAAAAAAAAAA';
  const missing = await fetch(`${other}/__RF/sample/${unknown}`);
  assert.ok(missing.redirected);
  assert.is(missing.status, 404);
  assert.is((await missing.json()).error.code, 'NO_SUCH_FILE');
  assert.ok(findsFor(unknown) >= 2, 'both servers asked MongoDB');
});

test('MongoDB down at the first upload: that upload fails, and once MongoDB is up the next one succeeds', async () => {
  // Same cluster, but the URL given explicitly with a short server selection timeout (the default
  // is 30 s); upload1 restarts on it with MongoDB stopped.
  const url = `mongodb://${APP.user}:${APP.pwd}@${MONGO_HOST}:${ROUTER}/${DB}?authSource=${DB}&serverSelectionTimeoutMS=1500`;
  const lateConfig = writeConfig({ clusteringPort: 18591, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'], maxUploadFileMB: 1, servers, mongo: { ...mongo, url } });
  const late = new ClusterServers(lateConfig.path, ENV);
  const lateFiles = join(dirname(lateConfig.path), 'files-upload1', 'sample');
  const stored = () => (existsSync(lateFiles) ? readdirSync(lateFiles).sort() : []);
  try {
    await cluster.servers.get('upload1')!.stop();
    await peer.close();
    late.start('upload1');
    await waitHttp(`${upload}/__CHECK_ALIVE`, (status) => (status === 200 ? true : undefined));
    const before = stored();
    const down = await post('early.txt', Buffer.from('early'), 'text/plain');
    assert.is(down.status, 500, JSON.stringify(down.body));
    assert.is(down.body.error.code, 'UPLOAD_FAILED');
    assert.equal(stored(), before, 'no bytes are left behind without a record');
    peer = new ScriptedMongoCluster();
    await startPeer();
    const up = await post('late.txt', Buffer.from('late'), 'text/plain');
    assert.is(up.status, 201, `the failed first connect was retried: ${JSON.stringify(up.body)}`);
    assert.is(docOf(up.body.files[0].id)?.name, 'late.txt');
  } finally {
    await late.stopAll();
  }
});

test.run();

/**
 * Metadata of an uploaded file, and where it is kept. The bytes always stay on the upload
 * server that received them (its `dataDir`); the metadata must be findable from every server so
 * any of them can redirect a download to the owner:
 *   - with `mongo` configured: one document per file in the `boxwire_files` collection;
 *   - otherwise: a JSON file beside the bytes (the owner's durable copy) announced into the
 *     SHARED_STORE `boxwire.files` on upload and again at every boot of the owner.
 */
import { promises as fs } from 'node:fs';
import type lockfile from 'proper-lockfile';
import { lazyModule } from '../../core/lazy-module.js';
import { join } from 'node:path';
import type { MongoClient, Collection } from 'mongodb';
import { boxStore, type BoxStore } from '../../boxes/box-store.js';
import { log } from '../../core/logger.js';

/** Loaded on the first lock. */
const properLockfile = lazyModule<typeof lockfile>('proper-lockfile');

export interface FileMeta {
  id: string;
  box: string;
  name: string;
  type: string;
  size: number;
  /** Name of the upload server holding the bytes. */
  server: string;
  /** ISO 8601. */
  created: string;
  downloads: number;
}

export interface FileIndex {
  add(meta: FileMeta): Promise<void>;
  get(box: string, id: string): Promise<FileMeta | undefined>;
  countDownload(meta: FileMeta): Promise<void>;
  /** The owner re-announces what its disk holds (the store index needs it after a full restart). */
  announce(dataDir: string, server: string): Promise<number>;
  close(): Promise<void>;
}

export const FILES_STORE = 'boxwire.files';
/**
 * File ids are `<owning server>.<random>`: any server can send a download to the owner even
 * before the metadata has replicated to it (an upload answers as soon as the owner recorded it).
 */
const ID = /^([A-Za-z][A-Za-z0-9_-]*)\.[A-Za-z0-9_-]{8,64}$/;

export function isFileId(id: string): boolean {
  return ID.test(id);
}

export function fileId(serverName: string, random: string): string {
  return `${serverName}.${random}`;
}

/** The server named in a file id (undefined for a malformed id). */
export function ownerOfId(id: string): string | undefined {
  return ID.exec(id)?.[1];
}

/** Where the bytes and the sidecar JSON of a file live on its owner. */
export function filePaths(dataDir: string, box: string, id: string): { bytes: string; meta: string } {
  return { bytes: join(dataDir, box, id), meta: join(dataDir, box, `${id}.json`) };
}

/**
 * The owner's own record of a file, written before the file is announced in the index: the owner
 * answers from it while the index entry is still replicating to this process.
 */
export async function readSidecar(dataDir: string, box: string, id: string): Promise<FileMeta | undefined> {
  const text = await fs.readFile(filePaths(dataDir, box, id).meta, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const meta = JSON.parse(text) as FileMeta;
    return meta.box === box && meta.id === id && isFileId(meta.id) ? meta : undefined;
  } catch {
    return undefined;
  }
}

function key(box: string, id: string): string {
  return `${box}.${id}`;
}

export class StoreFileIndex implements FileIndex {
  private readonly store: BoxStore = boxStore(FILES_STORE);

  constructor(private readonly dataDir?: string) {}

  async add(meta: FileMeta): Promise<void> {
    if (this.dataDir) await fs.writeFile(filePaths(this.dataDir, meta.box, meta.id).meta, JSON.stringify(meta));
    await this.store.save({ id: key(meta.box, meta.id), data: { ...meta } });
  }

  async get(box: string, id: string): Promise<FileMeta | undefined> {
    return ((await this.store.get(key(box, id))) as FileMeta | undefined) ?? undefined;
  }

  async countDownload(meta: FileMeta): Promise<void> {
    const updated = (await this.store.update({ id: key(meta.box, meta.id), data: { $inc: { downloads: 1 } } })) as FileMeta | undefined;
    if (!this.dataDir || !updated) return;
    // The owner keeps its sidecar current so the count survives a restart of the whole cluster.
    // Several workers count downloads of one file at once, each learning its own count, so the
    // sidecar only ever moves forward: read, compare and write under a lock shared by the owner's
    // processes (proper-lockfile: a lock directory, taken over when stale).
    const path = filePaths(this.dataDir, meta.box, meta.id).meta;
    const release = await properLockfile().lock(path, { realpath: false, stale: 10_000, retries: { retries: 50, minTimeout: 2, maxTimeout: 50 } });
    try {
      const onDisk = await readSidecar(this.dataDir, meta.box, meta.id);
      if ((onDisk?.downloads ?? 0) < (updated.downloads ?? 0)) {
        // Written aside and renamed: a reader never sees half a file.
        await fs.writeFile(`${path}.tmp-${process.pid}`, JSON.stringify(updated));
        await fs.rename(`${path}.tmp-${process.pid}`, path);
      }
    } finally {
      await release();
    }
  }

  async announce(dataDir: string, server: string): Promise<number> {
    let count = 0;
    const boxes = await fs.readdir(dataDir, { withFileTypes: true }).catch(() => []);
    for (const entry of boxes) {
      if (!entry.isDirectory()) continue;
      const dir = join(dataDir, entry.name);
      for (const file of await fs.readdir(dir)) {
        if (!file.endsWith('.json')) continue;
        try {
          const meta = JSON.parse(await fs.readFile(join(dir, file), 'utf8')) as FileMeta;
          if (!isFileId(meta.id) || meta.box !== entry.name) continue;
          // Insert only what the cluster lost (a full restart): a sidecar can lag the store's
          // download count, and a restart of this server alone must not set it back.
          await this.store.create({ id: key(meta.box, meta.id), data: { ...meta, server } });
          count++;
        } catch (error) {
          log.warn('upload.bad_sidecar', { file: join(dir, file), error });
        }
      }
    }
    return count;
  }

  async close(): Promise<void> {}
}

export class MongoFileIndex implements FileIndex {
  private client?: Promise<MongoClient>;

  constructor(private readonly url: string) {}

  private async collection(): Promise<Collection<FileMeta & { _id: string }>> {
    this.client ??= import('mongodb').then(async ({ MongoClient }) => {
      const client = new MongoClient(this.url, { appName: 'boxwire-upload' });
      try {
        await client.connect();
      } catch (error) {
        await client.close().catch(() => undefined);
        throw error;
      }
      return client;
    });
    const pending = this.client;
    // A failed first connect (MongoDB not up yet) must not be cached: the next call tries again.
    const client = await pending.catch((error: unknown) => {
      if (this.client === pending) this.client = undefined;
      throw error;
    });
    // The database comes from the connection string (built from the config's mongo section).
    return client.db().collection<FileMeta & { _id: string }>('boxwire_files');
  }

  async add(meta: FileMeta): Promise<void> {
    await (await this.collection()).insertOne({ _id: key(meta.box, meta.id), ...meta });
  }

  async get(box: string, id: string): Promise<FileMeta | undefined> {
    const doc = await (await this.collection()).findOne({ _id: key(box, id) }, { projection: { _id: 0 } });
    return (doc as FileMeta | null) ?? undefined;
  }

  async countDownload(meta: FileMeta): Promise<void> {
    await (await this.collection()).updateOne({ _id: key(meta.box, meta.id) }, { $inc: { downloads: 1 } });
  }

  /** MongoDB is the durable record; nothing to announce. */
  async announce(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    const pending = this.client;
    this.client = undefined;
    // Nothing to close when the connect never succeeded.
    const client = await pending?.catch(() => undefined);
    await client?.close();
  }
}

/**
 * A scripted MongoDB wire-protocol peer for tests: real TCP listeners speaking OP_MSG (and the
 * legacy OP_QUERY the driver uses for its very first handshake) with BSON, so the real `mongodb`
 * driver can run ops commands against it. No MongoDB server can be installed on these machines.
 *
 * It is not a database: it keeps just the state the ops steps read and write — replica sets
 * (initiated, a PRIMARY after a few replSetGetStatus polls), users (with real SCRAM-SHA-256
 * logins and the localhost exception: unauthenticated commands are refused once a user exists),
 * shards, config.databases and config.collections — and records every command it receives.
 *
 * Application collections get just the CRUD the upload role's MongoFileIndex sends: insert (with
 * the duplicate-_id error), find with top-level equality filters and projections (every match in
 * the first batch, cursor id 0), update with $inc/$set on top-level fields. Anything else in
 * those commands (operators in filters, sort, upsert, replacement documents…) is refused with an
 * error naming it, so a new query shape fails loudly instead of matching nothing.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { BSON, Binary, Long, type Document } from 'mongodb';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const MORE_TO_COME = 1 << 1;
const CHECKSUM_PRESENT = 1;

export interface PeerEndpoint {
  host: string;
  port: number;
  kind: 'mongod' | 'mongos';
  /** For mongods: the replica set it belongs to (started with --replSet). */
  replSet?: string;
  /** Config server members hold the cluster's users (so auth applies to them too). */
  configsvr?: boolean;
}

export interface RecordedCommand {
  /** host:port of the endpoint that received it. */
  endpoint: string;
  db: string;
  name: string;
  /** The command document as received, driver fields ($db, lsid, $clusterTime…) included. */
  command: Document;
  /** The user the connection had logged in as, if any. */
  user?: string;
}

/** Commands that change state; everything else ops sends is a read. */
export const MUTATING_COMMANDS = new Set(['replSetInitiate', 'createUser', 'addShard', 'enableSharding', 'shardCollection', 'balancerStop', 'balancerStart', 'shutdown', 'dropUser', 'insert', 'update', 'delete']);

/** Sent by the driver itself (handshake, monitoring, auth, session cleanup). */
export const HOUSEKEEPING_COMMANDS = new Set(['hello', 'ismaster', 'isMaster', 'ping', 'buildInfo', 'buildinfo', 'saslStart', 'saslContinue', 'endSessions', 'getParameter']);

interface ReplicaSetState {
  name: string;
  initiated: boolean;
  pollsUntilPrimary: number;
  members: string[];
  configsvr: boolean;
}

interface StoredUser {
  user: string;
  db: string;
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
  roles: Document[];
}

interface ConnectionState {
  id: number;
  endpoint: PeerEndpoint;
  user?: string;
  scram?: { user: StoredUser; clientFirstBare: string; serverFirst: string; nonce: string };
}

export interface InjectedFailure {
  code: number;
  errmsg: string;
  codeName?: string;
}

export class ScriptedMongoCluster {
  readonly commands: RecordedCommand[] = [];
  /** How many replSetGetStatus polls a freshly initiated set answers before it has a PRIMARY. */
  pollsUntilPrimary = 3;
  readonly replSets = new Map<string, ReplicaSetState>();
  readonly users: StoredUser[] = [];
  readonly shards: Document[] = [];
  readonly databases: Document[] = [];
  readonly collections: Document[] = [];
  balancerMode = 'full';
  /** Application collections, by namespace (`db.collection`), documents in insertion order. */
  readonly data = new Map<string, Document[]>();
  private readonly waiters = new Set<() => void>();
  private readonly failures = new Map<string, InjectedFailure>();
  private readonly servers = new Map<string, Server>();
  private readonly sockets = new Set<Socket>();
  private nextConnectionId = 1;

  /** Starts one listener per endpoint (all of them, or none: a failure closes what started). */
  async listen(endpoints: PeerEndpoint[]): Promise<void> {
    try {
      for (const endpoint of endpoints) await this.listenOne(endpoint);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Every future command named `name` fails with this error (until cleared). */
  injectFailure(name: string, failure: InjectedFailure): void {
    this.failures.set(name, failure);
  }

  clearFailures(): void {
    this.failures.clear();
  }

  /** Copies of the documents of `db.collection` (empty when nothing was inserted). */
  documents(db: string, collection: string): Document[] {
    return (this.data.get(`${db}.${collection}`) ?? []).map(clone);
  }

  /**
   * Resolves with the first defined value of `probe`, which runs now and after every command the
   * peer answers (state only changes then); rejects after `timeoutMs` with `what` in the message.
   */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value === undefined) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`mongo peer: gave up after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** The recorded commands minus driver housekeeping. */
  opsCommands(): RecordedCommand[] {
    return this.commands.filter((c) => !HOUSEKEEPING_COMMANDS.has(c.name));
  }

  mutatingCommands(): RecordedCommand[] {
    return this.commands.filter((c) => MUTATING_COMMANDS.has(c.name));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([...this.servers.values()].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    this.servers.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Transport

  private listenOne(endpoint: PeerEndpoint): Promise<void> {
    const server = createServer((socket) => this.accept(socket, endpoint));
    this.servers.set(address(endpoint), server);
    if (endpoint.replSet && !this.replSets.has(endpoint.replSet)) {
      this.replSets.set(endpoint.replSet, { name: endpoint.replSet, initiated: false, pollsUntilPrimary: 0, members: [], configsvr: Boolean(endpoint.configsvr) });
    }
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(endpoint.port, endpoint.host, () => resolve());
    });
  }

  private accept(socket: Socket, endpoint: PeerEndpoint): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const state: ConnectionState = { id: this.nextConnectionId++, endpoint };
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= buffered.readInt32LE(0)) {
        const length = buffered.readInt32LE(0);
        const message = buffered.subarray(0, length);
        buffered = buffered.subarray(length);
        this.onMessage(socket, state, message);
      }
    });
  }

  private onMessage(socket: Socket, state: ConnectionState, message: Buffer): void {
    const requestId = message.readInt32LE(4);
    const opCode = message.readInt32LE(12);
    if (opCode === OP_QUERY) {
      const { db, command } = parseOpQuery(message);
      const reply = this.handle(state, db, command);
      if (reply !== undefined) socket.write(encodeOpReply(requestId, reply));
    } else if (opCode === OP_MSG) {
      const { flags, command } = parseOpMsg(message);
      const reply = this.handle(state, String(command.$db ?? 'admin'), command);
      if (reply !== undefined && !(flags & MORE_TO_COME)) socket.write(encodeOpMsg(requestId, reply));
      if (reply === undefined) socket.destroy();
    } else {
      socket.destroy();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  /** Returns the reply, or undefined to drop the connection (shutdown). */
  private handle(state: ConnectionState, db: string, command: Document): Document | undefined {
    const reply = this.dispatch(state, db, command);
    for (const check of [...this.waiters]) check();
    return reply;
  }

  private dispatch(state: ConnectionState, db: string, command: Document): Document | undefined {
    const name = Object.keys(command)[0];
    const endpoint = address(state.endpoint);
    this.commands.push({ endpoint, db, name, command, ...(state.user ? { user: state.user } : {}) });
    const failure = this.failures.get(name);
    if (failure) return errorReply(failure.code, failure.errmsg, failure.codeName ?? 'InjectedFailure');
    if (!this.allowed(state, name)) return errorReply(13, `command ${name} requires authentication`, 'Unauthorized');
    switch (name) {
      case 'hello': case 'ismaster': case 'isMaster': return this.hello(state);
      case 'ping': case 'endSessions': case 'getParameter': return { ok: 1 };
      case 'buildInfo': case 'buildinfo': return { version: '7.0.0', versionArray: [7, 0, 0, 0], maxBsonObjectSize: 16 * 1024 * 1024, ok: 1 };
      case 'saslStart': return this.saslStart(state, db, command);
      case 'saslContinue': return this.saslContinue(state, command);
      case 'connectionStatus': return { authInfo: { authenticatedUsers: state.user ? [{ user: state.user, db: 'admin' }] : [] }, ok: 1 };
      case 'replSetInitiate': return this.replSetInitiate(state, command);
      case 'replSetGetStatus': return this.replSetGetStatus(state);
      case 'createUser': return this.createUser(db, command);
      case 'usersInfo': return this.usersInfo(db, command);
      case 'addShard': return this.addShard(command);
      case 'listShards': return { shards: this.shards, ok: 1 };
      case 'enableSharding': return this.enableSharding(command);
      case 'shardCollection': return this.shardCollection(command);
      case 'find': return this.find(db, command);
      case 'insert': return this.insert(db, command);
      case 'update': return this.update(db, command);
      case 'aggregate': return { cursor: { firstBatch: [], id: Long.fromNumber(0), ns: `${db}.${command.aggregate}` }, ok: 1 };
      case 'balancerStatus': return { mode: this.balancerMode, inBalancerRound: false, numBalancerRounds: Long.fromNumber(1), ok: 1 };
      case 'balancerStop': this.balancerMode = 'off'; return { ok: 1 };
      case 'balancerStart': this.balancerMode = 'full'; return { ok: 1 };
      case 'shutdown': void this.stopEndpoint(endpoint); return undefined;
      default: return errorReply(59, `no such command: '${name}'`, 'CommandNotFound');
    }
  }

  /** The localhost exception: until the first user exists, unauthenticated clients may act. */
  private allowed(state: ConnectionState, name: string): boolean {
    if (state.user) return true;
    if (HOUSEKEEPING_COMMANDS.has(name) || name === 'connectionStatus') return true;
    const holdsUsers = state.endpoint.kind === 'mongos' || Boolean(state.endpoint.configsvr);
    return !(holdsUsers && this.users.length > 0);
  }

  private hello(state: ConnectionState): Document {
    const base: Document = {
      helloOk: true, maxBsonObjectSize: 16 * 1024 * 1024, maxMessageSizeBytes: 48_000_000, maxWriteBatchSize: 100_000,
      localTime: new Date(), logicalSessionTimeoutMinutes: 30, connectionId: state.id, minWireVersion: 0, maxWireVersion: 21, readOnly: false, ok: 1,
    };
    if (state.endpoint.kind === 'mongos') return { ...base, ismaster: true, isWritablePrimary: true, msg: 'isdbgrid' };
    const set = state.endpoint.replSet ? this.replSets.get(state.endpoint.replSet) : undefined;
    if (!set) return { ...base, ismaster: true, isWritablePrimary: true };
    if (!set.initiated) return { ...base, ismaster: false, isWritablePrimary: false, secondary: false, isreplicaset: true, info: 'Does not have a valid replica set config' };
    const me = address(state.endpoint);
    const primary = set.pollsUntilPrimary <= 0 ? set.members[0] : undefined;
    return {
      ...base, setName: set.name, hosts: set.members, me, ...(primary ? { primary } : {}),
      ismaster: me === primary, isWritablePrimary: me === primary, secondary: primary !== undefined && me !== primary,
      ...(set.configsvr ? { configsvr: 2 } : {}),
    };
  }

  private replSetInitiate(state: ConnectionState, command: Document): Document {
    const set = state.endpoint.replSet ? this.replSets.get(state.endpoint.replSet) : undefined;
    if (!set) return errorReply(76, 'This node was not started with replication enabled.', 'NoReplicationEnabled');
    if (set.initiated) return errorReply(23, 'already initialized', 'AlreadyInitialized');
    const config = command.replSetInitiate as Document;
    if (config._id !== set.name) return errorReply(93, `Attempting to initiate a replica set with name ${config._id}, but command line reports ${set.name}`, 'InvalidReplicaSetConfig');
    set.initiated = true;
    set.pollsUntilPrimary = this.pollsUntilPrimary;
    set.members = (config.members as Document[]).map((m) => String(m.host));
    return { ok: 1 };
  }

  private replSetGetStatus(state: ConnectionState): Document {
    const set = state.endpoint.replSet ? this.replSets.get(state.endpoint.replSet) : undefined;
    if (!set) return errorReply(76, 'not running with --replSet', 'NoReplicationEnabled');
    if (!set.initiated) return errorReply(94, 'no replset config has been received', 'NotYetInitialized');
    set.pollsUntilPrimary -= 1;
    const elected = set.pollsUntilPrimary <= 0;
    return {
      set: set.name, ok: 1,
      members: set.members.map((name, i) => ({ _id: i, name, stateStr: elected ? (i === 0 ? 'PRIMARY' : 'SECONDARY') : 'STARTUP2' })),
    };
  }

  private createUser(db: string, command: Document): Document {
    const user = String(command.createUser);
    if (this.users.some((u) => u.user === user && u.db === db)) return errorReply(51003, `User "${user}@${db}" already exists`, 'Location51003');
    this.users.push({ ...scramCredentials(String(command.pwd)), user, db, roles: command.roles as Document[] });
    return { ok: 1 };
  }

  private usersInfo(db: string, command: Document): Document {
    const wanted = command.usersInfo as Document;
    const users = this.users.filter((u) => u.user === wanted.user && u.db === (wanted.db ?? db)).map((u) => ({ _id: `${u.db}.${u.user}`, user: u.user, db: u.db, roles: u.roles }));
    return { users, ok: 1 };
  }

  private addShard(command: Document): Document {
    const name = String(command.name ?? String(command.addShard).split('/')[0]);
    if (!this.shards.some((s) => s._id === name)) this.shards.push({ _id: name, host: command.addShard, state: 1 });
    return { shardAdded: name, ok: 1 };
  }

  private enableSharding(command: Document): Document {
    const db = String(command.enableSharding);
    if (!this.databases.some((d) => d._id === db)) this.databases.push({ _id: db, primary: this.shards[0]?._id ?? 'none' });
    return { ok: 1 };
  }

  private shardCollection(command: Document): Document {
    const ns = String(command.shardCollection);
    if (!this.collections.some((c) => c._id === ns)) this.collections.push({ _id: ns, key: command.key, unique: false });
    return { collectionsharded: ns, ok: 1 };
  }

  private find(db: string, command: Document): Document {
    const sources: Record<string, Document[]> = { 'config.databases': this.databases, 'config.collections': this.collections, 'config.shards': this.shards };
    const ns = `${db}.${command.find}`;
    if (!(ns in sources)) return this.findData(ns, command);
    const filter = (command.filter ?? {}) as Document;
    const docs = (sources[ns] ?? []).filter((doc) => Object.entries(filter).every(([k, v]) => doc[k] === v));
    return { cursor: { firstBatch: command.limit ? docs.slice(0, Number(command.limit)) : docs, id: Long.fromNumber(0), ns }, ok: 1 };
  }

  // -------------------------------------------------------------------------------------------
  // Application collections

  private findData(ns: string, command: Document): Document {
    const refused = unsupported(command, ['sort', 'skip', 'hint', 'collation', 'min', 'max', 'returnKey', 'showRecordId', 'tailable', 'awaitData']);
    if (refused) return refused;
    const filter = (command.filter ?? {}) as Document;
    const badFilter = checkEqualityFilter(filter);
    if (badFilter) return badFilter;
    const projection = (command.projection ?? {}) as Document;
    const badProjection = checkProjection(projection);
    if (badProjection) return badProjection;
    const limit = Number(command.limit ?? 0);
    const matches = (this.data.get(ns) ?? []).filter((doc) => matchesEquality(doc, filter));
    const batch = (limit > 0 ? matches.slice(0, limit) : matches).map((doc) => project(doc, projection));
    // Every match goes in the first batch: a server may always answer with id 0 (no cursor left).
    return { cursor: { firstBatch: batch, id: Long.fromNumber(0), ns }, ok: 1 };
  }

  private insert(db: string, command: Document): Document {
    const ns = `${db}.${command.insert}`;
    const stored = this.data.get(ns) ?? [];
    this.data.set(ns, stored);
    const ordered = command.ordered !== false;
    const writeErrors: Document[] = [];
    let n = 0;
    for (const [index, doc] of ((command.documents ?? []) as Document[]).entries()) {
      if (doc._id === undefined) {
        writeErrors.push({ index, code: 2, errmsg: 'scripted peer: documents need an _id (the driver adds one)' });
      } else if (stored.some((other) => sameValue(other._id, doc._id))) {
        writeErrors.push({ index, code: 11000, errmsg: `E11000 duplicate key error collection: ${ns} index: _id_ dup key: { _id: ${JSON.stringify(doc._id)} }`, keyPattern: { _id: 1 }, keyValue: { _id: doc._id } });
      } else {
        stored.push(clone(doc));
        n++;
        continue;
      }
      if (ordered) break;
    }
    return { n, ...(writeErrors.length ? { writeErrors } : {}), ok: 1 };
  }

  private update(db: string, command: Document): Document {
    const stored = this.data.get(`${db}.${command.update}`) ?? [];
    const ordered = command.ordered !== false;
    const writeErrors: Document[] = [];
    let n = 0;
    let nModified = 0;
    for (const [index, statement] of ((command.updates ?? []) as Document[]).entries()) {
      const q = (statement.q ?? {}) as Document;
      const u = statement.u as Document;
      const problem = statement.upsert ? 'upsert is not supported by the scripted peer'
        : checkEqualityFilter(q)?.errmsg ?? checkUpdateOperators(u);
      if (problem) {
        writeErrors.push({ index, code: 2, errmsg: String(problem) });
        if (ordered) break;
        continue;
      }
      const targets = stored.filter((doc) => matchesEquality(doc, q));
      for (const doc of statement.multi ? targets : targets.slice(0, 1)) {
        const result = applyUpdate(doc, u);
        if (typeof result === 'string') {
          writeErrors.push({ index, code: 14, codeName: 'TypeMismatch', errmsg: result });
          break;
        }
        n++;
        if (result) nModified++;
      }
      if (writeErrors.length && ordered) break;
    }
    return { n, nModified, ...(writeErrors.length ? { writeErrors } : {}), ok: 1 };
  }

  private async stopEndpoint(endpoint: string): Promise<void> {
    const server = this.servers.get(endpoint);
    this.servers.delete(endpoint);
    for (const socket of this.sockets) if (`${socket.localAddress}:${socket.localPort}` === endpoint) socket.destroy();
    await new Promise<void>((resolve) => server ? server.close(() => resolve()) : resolve());
  }

  // -------------------------------------------------------------------------------------------
  // SCRAM-SHA-256 (RFC 5802/7677), the server side.

  private saslStart(state: ConnectionState, db: string, command: Document): Document {
    if (command.mechanism !== 'SCRAM-SHA-256') return errorReply(2, `unsupported mechanism ${command.mechanism}`, 'BadValue');
    const clientFirst = binaryText(command.payload);
    const clientFirstBare = clientFirst.replace(/^n,,/, '');
    const fields = parseScram(clientFirstBare);
    const userName = fields.n.replace(/=2C/g, ',').replace(/=3D/g, '=');
    const user = this.users.find((u) => u.user === userName && u.db === db);
    if (!user) return errorReply(18, 'Authentication failed.', 'AuthenticationFailed');
    const nonce = `${fields.r}${randomBytes(18).toString('base64')}`;
    const serverFirst = `r=${nonce},s=${user.salt.toString('base64')},i=${user.iterations}`;
    state.scram = { user, clientFirstBare, serverFirst, nonce };
    return { conversationId: 1, done: false, payload: new Binary(Buffer.from(serverFirst)), ok: 1 };
  }

  private saslContinue(state: ConnectionState, command: Document): Document {
    const scram = state.scram;
    const clientFinal = binaryText(command.payload);
    // The empty exchange after a finished conversation (drivers that do not skip it).
    if (!scram && clientFinal === '' && state.user) return { conversationId: 1, done: true, payload: new Binary(Buffer.alloc(0)), ok: 1 };
    if (!scram) return errorReply(17, 'No SASL session state found', 'ProtocolError');
    const withoutProof = clientFinal.replace(/,p=[^,]*$/, '');
    const fields = parseScram(clientFinal);
    const authMessage = `${scram.clientFirstBare},${scram.serverFirst},${withoutProof}`;
    const signature = createHmac('sha256', scram.user.storedKey).update(authMessage).digest();
    const proof = Buffer.from(fields.p ?? '', 'base64');
    const clientKey = Buffer.from(signature.map((byte, i) => byte ^ (proof[i] ?? 0)));
    const valid = fields.r === scram.nonce && proof.length === signature.length && timingSafeEqual(createHash('sha256').update(clientKey).digest(), scram.user.storedKey);
    state.scram = undefined;
    if (!valid) return errorReply(18, 'Authentication failed.', 'AuthenticationFailed');
    state.user = scram.user.user;
    const serverSignature = createHmac('sha256', scram.user.serverKey).update(authMessage).digest('base64');
    return { conversationId: 1, done: true, payload: new Binary(Buffer.from(`v=${serverSignature}`)), ok: 1 };
  }
}

function scramCredentials(password: string): Pick<StoredUser, 'salt' | 'iterations' | 'storedKey' | 'serverKey'> {
  const salt = randomBytes(16);
  const iterations = 4096;
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return { salt, iterations, storedKey: createHash('sha256').update(clientKey).digest(), serverKey: createHmac('sha256', salted).update('Server Key').digest() };
}

function parseScram(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    if (at > 0) fields[part.slice(0, at)] = part.slice(at + 1);
  }
  return fields;
}

function binaryText(value: unknown): string {
  if (value instanceof Binary) return Buffer.from(value.buffer.subarray(0, value.position)).toString('utf8');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return '';
}

// ---------------------------------------------------------------------------------------------
// Matching and updating application documents (top-level fields only)

function clone(doc: Document): Document {
  return BSON.deserialize(BSON.serialize(doc));
}

/** BSON equality: same type and value (as MongoDB compares for an equality match). */
function sameValue(a: unknown, b: unknown): boolean {
  return Buffer.from(BSON.serialize({ v: a })).equals(BSON.serialize({ v: b }));
}

function unsupported(command: Document, options: string[]): Document | undefined {
  const found = options.find((option) => command[option] !== undefined);
  return found ? errorReply(2, `scripted peer: find option '${found}' is not supported; extend test/helpers/mongo-wire-peer.ts`, 'BadValue') : undefined;
}

function isOperatorDocument(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
    && Object.getPrototypeOf(value) === Object.prototype && Object.keys(value).some((k) => k.startsWith('$'));
}

function checkEqualityFilter(filter: Document): Document | undefined {
  for (const [field, value] of Object.entries(filter)) {
    if (field.startsWith('$') || field.includes('.') || isOperatorDocument(value)) {
      return errorReply(2, `scripted peer: only top-level equality filters are supported, got '${field}'`, 'BadValue');
    }
  }
  return undefined;
}

function matchesEquality(doc: Document, filter: Document): boolean {
  return Object.entries(filter).every(([field, value]) => sameValue(doc[field], value));
}

function checkProjection(projection: Document): Document | undefined {
  const values = Object.entries(projection);
  const included = values.filter(([field, v]) => field !== '_id' && v !== 0 && v !== false);
  const excluded = values.filter(([field, v]) => field !== '_id' && (v === 0 || v === false));
  if (values.some(([field, v]) => field.includes('.') || field.startsWith('$') || (typeof v === 'object' && v !== null))) {
    return errorReply(2, 'scripted peer: only top-level inclusion/exclusion projections are supported', 'BadValue');
  }
  if (included.length && excluded.length) return errorReply(31254, 'Cannot do exclusion on a field in an inclusion projection', 'Location31254');
  return undefined;
}

function project(doc: Document, projection: Document): Document {
  const copy = clone(doc);
  const entries = Object.entries(projection);
  const inclusive = entries.some(([field, v]) => field !== '_id' && v !== 0 && v !== false);
  const out: Document = inclusive ? Object.fromEntries(entries.filter(([field]) => field !== '_id' && field in copy).map(([field]) => [field, copy[field]])) : copy;
  if (inclusive && '_id' in copy) out._id = copy._id;
  for (const [field, v] of entries) if (v === 0 || v === false) delete out[field];
  // Inclusion projections return _id first, as mongod does.
  return inclusive && '_id' in out ? { _id: out._id, ...out } : out;
}

function checkUpdateOperators(u: unknown): string | undefined {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return 'scripted peer: only operator updates ($inc, $set) are supported, not pipelines';
  const operators = Object.keys(u);
  if (operators.length === 0 || operators.some((op) => !op.startsWith('$'))) return 'scripted peer: replacement documents are not supported; use $inc/$set';
  const other = operators.find((op) => op !== '$inc' && op !== '$set');
  if (other) return `scripted peer: update operator ${other} is not supported (only $inc and $set)`;
  for (const fields of Object.values(u as Document)) {
    const bad = Object.keys(fields as Document).find((field) => field.includes('.') || field.startsWith('$') || field === '_id');
    if (bad !== undefined) return `scripted peer: cannot update field '${bad}' (top-level fields other than _id only)`;
  }
  return undefined;
}

/** Applies $inc/$set in place; true when the document changed, or an error message. */
function applyUpdate(doc: Document, u: Document): boolean | string {
  const increments = Object.entries((u.$inc ?? {}) as Document);
  for (const [field, by] of increments) {
    if (typeof by !== 'number') return `scripted peer: $inc by a ${typeof by} is not supported (plain numbers only)`;
    if (doc[field] !== undefined && typeof doc[field] !== 'number') {
      return `Cannot apply $inc to a value of non-numeric type. {_id: ${JSON.stringify(doc._id)}} has the field '${field}' of non-numeric type ${typeof doc[field]}`;
    }
  }
  let changed = false;
  for (const [field, by] of increments) {
    const had = field in doc;
    doc[field] = ((doc[field] as number | undefined) ?? 0) + (by as number);
    changed ||= by !== 0 || !had;
  }
  for (const [field, value] of Object.entries((u.$set ?? {}) as Document)) {
    if (field in doc && sameValue(doc[field], value)) continue;
    doc[field] = clone({ value }).value;
    changed = true;
  }
  return changed;
}

// ---------------------------------------------------------------------------------------------
// Message encoding

function address(endpoint: PeerEndpoint): string {
  return `${endpoint.host}:${endpoint.port}`;
}

function errorReply(code: number, errmsg: string, codeName: string): Document {
  return { ok: 0, errmsg, code, codeName };
}

function parseOpQuery(message: Buffer): { db: string; command: Document } {
  let at = 20; // header (16) + flags (4)
  const end = message.indexOf(0, at);
  const collection = message.toString('utf8', at, end);
  at = end + 1 + 8; // cstring, numberToSkip, numberToReturn
  const size = message.readInt32LE(at);
  const command = BSON.deserialize(message.subarray(at, at + size));
  return { db: collection.split('.')[0], command };
}

function parseOpMsg(message: Buffer): { flags: number; command: Document } {
  const flags = message.readUInt32LE(16);
  const end = flags & CHECKSUM_PRESENT ? message.length - 4 : message.length;
  let at = 20;
  let command: Document = {};
  const sequences: Record<string, Document[]> = {};
  while (at < end) {
    const kind = message[at];
    at += 1;
    if (kind === 0) {
      const size = message.readInt32LE(at);
      command = BSON.deserialize(message.subarray(at, at + size));
      at += size;
    } else {
      const size = message.readInt32LE(at);
      const sectionEnd = at + size;
      const idEnd = message.indexOf(0, at + 4);
      const id = message.toString('utf8', at + 4, idEnd);
      const docs: Document[] = [];
      for (let p = idEnd + 1; p < sectionEnd; ) {
        const docSize = message.readInt32LE(p);
        docs.push(BSON.deserialize(message.subarray(p, p + docSize)));
        p += docSize;
      }
      sequences[id] = docs;
      at = sectionEnd;
    }
  }
  return { flags, command: { ...command, ...sequences } };
}

let nextResponseId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const head = Buffer.alloc(16);
  head.writeInt32LE(length, 0);
  head.writeInt32LE(nextResponseId++, 4);
  head.writeInt32LE(responseTo, 8);
  head.writeInt32LE(opCode, 12);
  return head;
}

function encodeOpMsg(responseTo: number, reply: Document): Buffer {
  const body = BSON.serialize(reply);
  const flags = Buffer.alloc(5); // flagBits (4) + section kind 0 (1)
  return Buffer.concat([header(16 + flags.length + body.length, responseTo, OP_MSG), flags, body]);
}

function encodeOpReply(responseTo: number, reply: Document): Buffer {
  const body = BSON.serialize(reply);
  const fields = Buffer.alloc(20); // responseFlags, cursorID (8), startingFrom, numberReturned
  fields.writeInt32LE(1, 16);
  return Buffer.concat([header(16 + fields.length + body.length, responseTo, OP_REPLY), fields, body]);
}

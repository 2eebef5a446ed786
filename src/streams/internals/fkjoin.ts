// Foreign-key KTable-KTable join (KIP-213), with Kafka Streams' subscription/response protocol:
// the left table registers each key's foreign key on a registration topic partitioned like the
// right table; the right side keeps the subscriptions, answers them and re-answers on every
// right-side change; responses (keyed by the left key) are resolved against the current left
// value, and stale ones (the left value changed since) are dropped by comparing value hashes.
import type { Serde } from "../../serde/index.ts";
import { Serdes } from "../../serde/index.ts";
import type { KeyValueStore, StoreSpec } from "../stores.ts";
import type { Change } from "../types.ts";
import type { TaskContext } from "./context.ts";
import type { ValueGetter, ValueGetterSupplier } from "./getters.ts";
import { ProcessorNode } from "./node.ts";

type U = unknown;
type AnySerde = Serde<U>;

const DELETE_NO_PROPAGATE = 0;
const DELETE_AND_PROPAGATE = 1;
const PROPAGATE_NULL_IF_NO_FK_VAL = 2;
const PROPAGATE_ONLY_IF_FK_VAL = 3;

function hashBytes(b: Uint8Array | null): Uint8Array | null {
  if (b === null) return null;
  let h1 = 0x811c9dc5;
  let h2 = 5381;
  for (let i = 0; i < b.length; i++) {
    h1 = Math.imul(h1 ^ b[i]!, 0x01000193);
    h2 = (Math.imul(h2, 33) + b[i]!) | 0;
  }
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, h1 >>> 0);
  dv.setUint32(4, h2 >>> 0);
  return out;
}

function sameHash(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return false;
  return true;
}

function encodeSubscription(instruction: number, hash: Uint8Array | null, leftKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(10 + leftKey.byteLength);
  out[0] = instruction;
  out[1] = hash === null ? 0 : 1;
  if (hash !== null) out.set(hash, 2);
  out.set(leftKey, 10);
  return out;
}

function encodeResponse(hash: Uint8Array | null, rightValue: Uint8Array | null): Uint8Array {
  const out = new Uint8Array(10 + (rightValue?.byteLength ?? 0));
  out[0] = hash === null ? 0 : 1;
  if (hash !== null) out.set(hash, 1);
  out[9] = rightValue === null ? 0 : 1;
  if (rightValue !== null) out.set(rightValue, 10);
  return out;
}

export interface ForeignKeyJoinOptions {
  readonly leftNode: string;
  readonly rightNode: string;
  readonly leftGetter: ValueGetterSupplier;
  readonly rightGetter: ValueGetterSupplier;
  readonly leftKeySerde: AnySerde;
  readonly rightKeySerde: AnySerde;
  readonly leftValueSerde: AnySerde;
  readonly rightValueSerde: AnySerde;
  readonly extractor: (v: U) => U;
  readonly joiner: (l: U, r: U, k: U) => U;
  readonly leftJoin: boolean;
}

interface Builder {
  newName(prefix: string): string;
  addNode(
    prefix: string,
    make: (name: string) => ProcessorNode,
    parents: readonly string[],
    named?: string,
  ): string;
  readonly internal: import("./builder.ts").InternalTopologyBuilder;
}

class SubscriptionSendNode extends ProcessorNode {
  private readonly o: ForeignKeyJoinOptions;
  private readonly regSink: string;
  private readonly respSink: string;
  constructor(name: string, o: ForeignKeyJoinOptions, regSink: string, respSink: string) {
    super(name);
    this.o = o;
    this.regSink = regSink;
    this.respSink = respSink;
  }
  private fkBytes(fk: U): Uint8Array | null {
    return fk === null || fk === undefined ? null : this.o.rightKeySerde.serialize("", fk);
  }
  process(key: U, value: U, ts: number): void {
    if (key === null || key === undefined) return;
    const c = value as Change<U>;
    const o = this.o;
    const leftKey = o.leftKeySerde.serialize("", key) ?? new Uint8Array(0);
    const newFk = c.newValue === null ? null : o.extractor(c.newValue);
    const oldFk = c.oldValue === null ? null : o.extractor(c.oldValue);
    const newFkB = this.fkBytes(newFk);
    const oldFkB = this.fkBytes(oldFk);
    const fkChanged = newFkB === null || oldFkB === null || Buffer.compare(newFkB, oldFkB) !== 0;
    const reg = this.childByName.get(this.regSink)!;
    const resp = this.childByName.get(this.respSink)!;
    if (c.newValue === null) {
      // Left key deleted: drop its subscription and let the resolver emit the tombstone.
      if (oldFkB !== null) reg.process(oldFk, encodeSubscription(DELETE_AND_PROPAGATE, null, leftKey), ts);
      else resp.process(leftKey, encodeResponse(null, null), ts);
      return;
    }
    const hash = hashBytes(o.leftValueSerde.serialize("", c.newValue));
    if (oldFkB !== null && fkChanged)
      reg.process(oldFk, encodeSubscription(DELETE_NO_PROPAGATE, null, leftKey), ts);
    if (newFkB === null) {
      // No foreign key: nothing to join; a left join still emits (v, null), an inner join retracts.
      if (o.leftJoin || c.oldValue !== null) resp.process(leftKey, encodeResponse(hash, null), ts);
      return;
    }
    const instruction =
      o.leftJoin || c.oldValue !== null ? PROPAGATE_NULL_IF_NO_FK_VAL : PROPAGATE_ONLY_IF_FK_VAL;
    reg.process(newFk, encodeSubscription(instruction, hash, leftKey), ts);
  }
}

function subscriptionKey(fk: Uint8Array, leftKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + fk.byteLength + leftKey.byteLength);
  new DataView(out.buffer).setUint32(0, fk.byteLength);
  out.set(fk, 4);
  out.set(leftKey, 4 + fk.byteLength);
  return out;
}

function prefixOf(fk: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + fk.byteLength);
  new DataView(out.buffer).setUint32(0, fk.byteLength);
  out.set(fk, 4);
  return out;
}

class SubscriptionReceiveNode extends ProcessorNode {
  private readonly o: ForeignKeyJoinOptions;
  private readonly storeName: string;
  private store!: KeyValueStore<Uint8Array, Uint8Array>;
  private right!: ValueGetter;
  constructor(name: string, o: ForeignKeyJoinOptions, storeName: string) {
    super(name);
    this.o = o;
    this.storeName = storeName;
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.store = ctx.getStore(this.storeName) as KeyValueStore<Uint8Array, Uint8Array>;
    this.right = this.o.rightGetter.make(ctx);
  }
  process(fk: U, value: U, ts: number): void {
    const msg = value as Uint8Array;
    const instruction = msg[0]!;
    const hash = msg[1] === 1 ? msg.slice(2, 10) : null;
    const leftKey = msg.subarray(10);
    const fkB = this.o.rightKeySerde.serialize("", fk) ?? new Uint8Array(0);
    const sk = subscriptionKey(fkB, leftKey);
    if (instruction === DELETE_NO_PROPAGATE || instruction === DELETE_AND_PROPAGATE) {
      this.store.delete(sk);
      if (instruction === DELETE_AND_PROPAGATE) this.forward(leftKey, encodeResponse(null, null), ts);
      return;
    }
    this.store.put(sk, hash ?? new Uint8Array(0));
    const rv = this.right.get(fk);
    const rvalue = rv === undefined ? null : rv.value;
    if (rvalue === null && instruction === PROPAGATE_ONLY_IF_FK_VAL) return;
    const rb = rvalue === null ? null : this.o.rightValueSerde.serialize("", rvalue);
    this.forward(leftKey, encodeResponse(hash, rb), rv === undefined ? ts : Math.max(ts, rv.timestamp));
  }
}

class RightChangeNode extends ProcessorNode {
  private readonly o: ForeignKeyJoinOptions;
  private readonly storeName: string;
  private store!: KeyValueStore<Uint8Array, Uint8Array>;
  constructor(name: string, o: ForeignKeyJoinOptions, storeName: string) {
    super(name);
    this.o = o;
    this.storeName = storeName;
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.store = ctx.getStore(this.storeName) as KeyValueStore<Uint8Array, Uint8Array>;
  }
  process(fk: U, value: U, ts: number): void {
    if (fk === null || fk === undefined) return;
    const c = value as Change<U>;
    const fkB = this.o.rightKeySerde.serialize("", fk) ?? new Uint8Array(0);
    const prefix = prefixOf(fkB);
    const upper = new Uint8Array(prefix.byteLength + 1);
    upper.set(prefix, 0);
    upper[prefix.byteLength] = 0xff;
    const rb = c.newValue === null ? null : this.o.rightValueSerde.serialize("", c.newValue);
    for (const e of this.store.range(prefix, undefined)) {
      if (
        e.key.byteLength < prefix.byteLength ||
        Buffer.compare(e.key.subarray(0, prefix.byteLength), prefix) !== 0
      )
        break;
      const leftKey = e.key.subarray(prefix.byteLength);
      const hash = e.value.byteLength === 8 ? e.value : null;
      this.forward(leftKey, encodeResponse(hash, rb), ts);
    }
  }
}

class ResponseResolverNode extends ProcessorNode {
  private readonly o: ForeignKeyJoinOptions;
  private left!: ValueGetter;
  constructor(name: string, o: ForeignKeyJoinOptions) {
    super(name);
    this.o = o;
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.left = this.o.leftGetter.make(ctx);
  }
  process(keyBytes: U, value: U, ts: number): void {
    const o = this.o;
    const msg = value as Uint8Array;
    const hash = msg[0] === 1 ? msg.subarray(1, 9) : null;
    const rightValue = msg[9] === 1 ? o.rightValueSerde.deserialize("", msg.subarray(10)) : null;
    const key = o.leftKeySerde.deserialize("", keyBytes as Uint8Array);
    const current = this.left.get(key);
    const cv = current === undefined ? null : current.value;
    const currentHash = cv === null ? null : hashBytes(o.leftValueSerde.serialize("", cv));
    // A response to an older version of the left value is stale: a newer response will follow.
    if (!sameHash(hash, currentHash)) return;
    let result: U = null;
    if (cv !== null && (rightValue !== null || o.leftJoin)) result = o.joiner(cv, rightValue, key);
    this.forward(key, { newValue: result, oldValue: null }, ts);
  }
}

export class ForeignKeyJoinBuilder {
  private readonly b: Builder;
  private readonly o: ForeignKeyJoinOptions;
  constructor(b: Builder, o: ForeignKeyJoinOptions) {
    this.b = b;
    this.o = o;
  }
  /** Adds every node, topic and store; returns the node emitting the joined Change records. */
  build(): string {
    const b = this.b;
    const o = this.o;
    const base = b.newName("KTABLE-FK-JOIN");
    const regTopic = `${base}-subscription-registration-topic`;
    const respTopic = `${base}-subscription-response-topic`;
    const storeName = `${base}-subscription-store`;
    b.internal.addInternalTopic({ name: regTopic, kind: "subscription" });
    b.internal.addInternalTopic({ name: respTopic, kind: "subscription" });
    const regSink = `${base}-registration-sink`;
    const respSinkLeft = `${base}-response-sink-left`;
    const send = b.addNode(
      "KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION",
      (n) => new SubscriptionSendNode(n, o, regSink, respSinkLeft),
      [o.leftNode],
    );
    const bytes = Serdes.Bytes as AnySerde;
    b.internal.addSink(regSink, regTopic, o.rightKeySerde, bytes, undefined, [send]);
    b.internal.addSink(respSinkLeft, respTopic, bytes, bytes, undefined, [send]);
    const regSource = b.newName("KTABLE-FK-JOIN-REGISTRATION-SOURCE");
    b.internal.addSource(regSource, [regTopic], o.rightKeySerde, bytes);
    const spec: StoreSpec<U, U> = {
      kind: "keyValue",
      name: storeName,
      keySerde: bytes,
      valueSerde: bytes,
      persistent: true,
      logging: true,
      timestamped: false,
    };
    const receive = b.addNode(
      "KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR",
      (n) => new SubscriptionReceiveNode(n, o, storeName),
      [regSource],
    );
    const rightChange = b.addNode(
      "KTABLE-FK-JOIN-RIGHT-CHANGE",
      (n) => new RightChangeNode(n, o, storeName),
      [o.rightNode],
    );
    b.internal.addStore(spec, [receive, rightChange]);
    b.internal.connectStores([receive], o.rightGetter.storeNames);
    b.internal.addSink(b.newName("KTABLE-FK-JOIN-RESPONSE-SINK"), respTopic, bytes, bytes, undefined, [
      receive,
      rightChange,
    ]);
    const respSource = b.newName("KTABLE-FK-JOIN-RESPONSE-SOURCE");
    b.internal.addSource(respSource, [respTopic], bytes, bytes);
    const resolver = b.addNode("KTABLE-FK-JOIN-RESOLVER", (n) => new ResponseResolverNode(n, o), [
      respSource,
    ]);
    b.internal.connectStores([resolver], o.leftGetter.storeNames);
    b.internal.connectStores([send], o.leftGetter.storeNames);
    return resolver;
  }
}

// The messages of the cluster link between a worker thread (LinkedCluster) and the thread owning the
// embedded broker (ClusterLink). One MessagePort carries requests (worker -> broker's thread) and the
// answers to asynchronous calls; a second port, created by the worker, carries only the answers to
// synchronous calls, which the worker takes with receiveMessageOnPort while blocked in Atomics.wait on
// a shared flag. Errors cross as plain fields and are rebuilt with their class and code.
import type { MessagePort } from "node:worker_threads";
import { LogError, type LogErrorCode } from "../log/index.ts";
import { KafkaError } from "./types.ts";

/** Slots of the shared Int32Array. */
export const STATE_REPLIES = 0; // bumped (then notified) after each synchronous answer is posted
export const STATE_CLOSED = 1; // LINK_* below; non-zero once the serving side will answer no more
export const LINK_OPEN = 0;
export const LINK_CLOSED = 1;
export const LINK_BROKER_CLOSED = 2;

export interface HelloMessage {
  readonly k: "hello";
  readonly syncPort: MessagePort;
  readonly state: Int32Array;
}
export interface CallMessage {
  readonly k: "call";
  readonly id: number;
  readonly m: string;
  readonly a: readonly unknown[];
  readonly sync: boolean;
}
export interface CancelMessage {
  readonly k: "cancel";
  readonly id: number;
}
export interface ByeMessage {
  readonly k: "bye";
}
export type ToBrokerMessage = HelloMessage | CallMessage | CancelMessage | ByeMessage;

export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly retriable?: boolean;
  readonly stack?: string;
}
export interface ReplyMessage {
  readonly k: "reply";
  readonly id: number;
  readonly v?: unknown;
  readonly e?: WireError;
}
export interface ClosedMessage {
  readonly k: "closed";
  readonly state: number;
}
export type FromBrokerMessage = ReplyMessage | ClosedMessage;

/** What a worker's reader gets for one fetch: stored batch bytes as read, and the partition's offsets. */
export interface LinkFetch {
  readonly records: Uint8Array;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
  readonly abortedTransactions: { producerId: number; firstOffset: number }[] | null;
}

/** One partition's answer to a "fetchMany" call: what it read, or why it could not. */
export type LinkFetchAnswer = { readonly ok: LinkFetch } | { readonly error: WireError };

export function toWireError(e: unknown): WireError {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const retriable = (e as { retriable?: unknown }).retriable;
    return {
      name: e.name,
      message: e.message,
      code: typeof code === "string" ? code : undefined,
      retriable: typeof retriable === "boolean" ? retriable : undefined,
      stack: e.stack,
    };
  }
  return { name: "Error", message: String(e) };
}

/** The error again, as the class it was thrown as (KafkaError, LogError, else an Error with its code). */
export function fromWireError(w: WireError): Error {
  let e: Error;
  if (w.name === "LogError" && w.code !== undefined) e = new LogError(w.code as LogErrorCode, w.message);
  else if (w.name === "KafkaError" && w.code !== undefined)
    e = new KafkaError(w.code, w.message, { retriable: w.retriable ?? false });
  else {
    e = new Error(w.message);
    e.name = w.name;
    if (w.code !== undefined) Object.assign(e, { code: w.code });
  }
  // Where it was thrown matters more than where the call was made; keep both.
  const remote = w.stack?.split("\n").slice(1).join("\n");
  if (remote) e.stack = `${e.stack}\n    -- thrown in the broker's thread:\n${remote}`;
  return e;
}

/**
 * Per topic and partition of a produce request sent over a link: null, or the batch is the worker's
 * encodeRecordBatch output, with whether all its records have keys (see vouchEncoded).
 */
export type LinkVouches = (boolean | null)[][];

/**
 * Bytes to post with their buffer transferred, never copied twice: a Uint8Array alone owning its
 * ArrayBuffer goes as is; a view of a larger buffer (the Buffer pool, a slice of a read) is copied
 * once into one of its own first. Transferring the pool would detach every other Buffer in it.
 */
export function ownedBytes(bytes: Uint8Array, transfer: ArrayBuffer[]): Uint8Array {
  const b = bytes.buffer;
  if (
    b instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === b.byteLength &&
    b.byteLength > 0
  ) {
    transfer.push(b);
    return bytes;
  }
  return copiedBytes(bytes, transfer);
}

/** A copy of `bytes` in an ArrayBuffer of its own, added to `transfer` (for bytes whose owner keeps them). */
export function copiedBytes(bytes: Uint8Array, transfer: ArrayBuffer[]): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  if (copy.byteLength > 0) transfer.push(copy.buffer);
  return copy;
}

/**
 * The answer to a "batch" call (deferred calls, then one call): the last call's value, or the
 * first deferred call whose answer holds an error (the calls after it were not made).
 */
export interface LinkBatchReply {
  readonly value?: unknown;
  readonly failed?: { readonly method: string; readonly code: string; readonly message?: string };
}

/** The first error code other than NONE in a broker answer (an errorCode, or per topic and partition). */
export function firstErrorCode(answer: unknown): string | undefined {
  if (answer === null || typeof answer !== "object") return undefined;
  if (Array.isArray(answer)) {
    for (const a of answer) {
      const c = firstErrorCode(a);
      if (c !== undefined) return c;
    }
    return undefined;
  }
  const o = answer as { errorCode?: unknown; partitions?: unknown; topics?: unknown };
  if (typeof o.errorCode === "string" && o.errorCode !== "NONE") return o.errorCode;
  return firstErrorCode(o.partitions) ?? firstErrorCode(o.topics);
}

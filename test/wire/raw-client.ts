// A minimal Kafka protocol client for tests: frames requests with the generated codecs and reads
// size-prefixed responses in order.
import { connect, type Socket } from "node:net";
import { API_DEFINITIONS, type Encodable, Reader, Writer } from "../../src/wire/index.ts";

export class RawClient {
  readonly socket: Socket;
  private waiters: { resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  /** Frames that arrived before anyone asked for them. */
  private ready: Buffer[] = [];
  private ended = false;
  closed: Promise<void>;
  private correlation = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    let chunks: Buffer[] = [];
    let total = 0;
    let need = 4;
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      total += d.length;
      // concatenate only once a whole frame is there (large fetch responses arrive in many chunks)
      while (total >= need) {
        const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
        chunks = [all];
        const size = all.readInt32BE(0);
        if (total < 4 + size) {
          need = 4 + size;
          break;
        }
        const frame = all.subarray(4, 4 + size);
        const rest = all.subarray(4 + size);
        chunks = rest.length > 0 ? [rest] : [];
        total = rest.length;
        need = 4;
        const w = this.waiters.shift();
        if (w) w.resolve(frame);
        else this.ready.push(Buffer.from(frame));
      }
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.ended = true;
        for (const w of this.waiters.splice(0)) w.reject(new Error("connection closed"));
        resolve();
      });
    });
    socket.on("error", () => {});
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(new RawClient(s)));
      s.once("error", reject);
    });
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Encodes a request frame (size prefix included). */
  static frame(
    apiKey: number,
    version: number,
    correlationId: number,
    body: object,
    clientId = "test",
  ): Buffer {
    const def = API_DEFINITIONS.get(apiKey)!;
    const flexible = def.firstFlexibleVersion >= 0 && version >= def.firstFlexibleVersion;
    const w = new Writer();
    w.int32(0);
    w.int16(apiKey);
    w.int16(version);
    w.int32(correlationId);
    w.nstring(clientId, false);
    if (flexible) w.uvarint(0);
    def.writeRequest(w, version, body as Encodable<never>);
    w.patchInt32(0, w.length - 4);
    return w.finish();
  }

  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The next response frame (without size prefix). */
  next(): Promise<Buffer> {
    const early = this.ready.shift();
    if (early) return Promise.resolve(early);
    if (this.ended) return Promise.reject(new Error("connection closed"));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Sends one request and decodes its response. */
  async request<T = Record<string, unknown>>(apiKey: number, version: number, body: object): Promise<T> {
    const corr = ++this.correlation;
    const p = this.next();
    this.socket.write(RawClient.frame(apiKey, version, corr, body));
    const frame = await p;
    return RawClient.decode<T>(apiKey, version, corr, frame);
  }

  static decode<T>(apiKey: number, version: number, corr: number, frame: Buffer): T {
    const def = API_DEFINITIONS.get(apiKey)!;
    const r = new Reader(frame);
    const got = r.int32();
    if (got !== corr) throw new Error(`correlation id ${got}, expected ${corr}`);
    const flexible = apiKey !== 18 && def.firstFlexibleVersion >= 0 && version >= def.firstFlexibleVersion;
    if (flexible) {
      const n = r.uvarint();
      for (let i = 0; i < n; i++) {
        r.uvarint();
        r.pos = r.taggedFieldEnd();
      }
    }
    const body = def.readResponse(r, version) as T;
    if (r.pos !== frame.length) throw new Error(`response has ${frame.length - r.pos} trailing bytes`);
    return body;
  }

  close(): void {
    this.socket.destroy();
  }
}

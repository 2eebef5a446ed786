// Server side of SASL/PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802, RFC 7677) for the wire server.
// Users come from a file (YAML or JSON): `users: [{ name, password }]`. SCRAM credentials are
// derived once at load time (salted password), so authentication costs one HMAC chain per login.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";

export type SaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
export const SASL_MECHANISMS: readonly SaslMechanism[] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

export class SaslError extends Error {
  readonly code = "SASL_AUTHENTICATION_FAILED";
  constructor(message: string) {
    super(message);
    this.name = "SaslError";
  }
}

interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

interface UserEntry {
  password: Buffer;
  scram: Map<SaslMechanism, ScramCredential>;
}

const SCRAM_ITERATIONS = 4096;

function hashName(m: SaslMechanism): "sha256" | "sha512" {
  return m === "SCRAM-SHA-512" ? "sha512" : "sha256";
}

function scramCredential(
  m: SaslMechanism,
  password: string,
  salt: Buffer,
  iterations: number,
): ScramCredential {
  const h = hashName(m);
  const len = h === "sha512" ? 64 : 32;
  const salted = pbkdf2Sync(password, salt, iterations, len, h);
  const clientKey = createHmac(h, salted).update("Client Key").digest();
  return {
    salt,
    iterations,
    storedKey: createHash(h).update(clientKey).digest(),
    serverKey: createHmac(h, salted).update("Server Key").digest(),
  };
}

/** The users a broker accepts. */
export class UserStore {
  private readonly users = new Map<string, UserEntry>();

  static fromFile(path: string): UserStore {
    let doc: unknown;
    try {
      const text = readFileSync(path, "utf8");
      doc = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
    } catch (e) {
      throw new SaslError(`cannot read users file ${path}: ${(e as Error).message}`);
    }
    const list = (doc as { users?: unknown })?.users;
    if (!Array.isArray(list))
      throw new SaslError(`users file ${path}: expected "users: [{ name, password }]"`);
    const store = new UserStore();
    list.forEach((u, i) => {
      const name = (u as { name?: unknown })?.name;
      const password = (u as { password?: unknown })?.password;
      if (typeof name !== "string" || typeof password !== "string" || name === "") {
        throw new SaslError(`users file ${path}: entry ${i} needs string "name" and "password"`);
      }
      store.add(name, password);
    });
    return store;
  }

  add(name: string, password: string): void {
    const scram = new Map<SaslMechanism, ScramCredential>();
    for (const m of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
      scram.set(m, scramCredential(m, password, randomBytes(16), SCRAM_ITERATIONS));
    }
    this.users.set(name, { password: Buffer.from(password, "utf8"), scram });
  }

  get size(): number {
    return this.users.size;
  }

  get(name: string): UserEntry | undefined {
    return this.users.get(name);
  }
}

/** One authentication exchange. `step` returns the server's reply; `done` is set once authenticated. */
export interface SaslSession {
  readonly mechanism: SaslMechanism;
  step(token: Uint8Array): Buffer;
  readonly done: boolean;
  readonly principal: string | null;
}

export function createSaslSession(mechanism: SaslMechanism, users: UserStore): SaslSession {
  return mechanism === "PLAIN" ? new PlainSession(users) : new ScramSession(mechanism, users);
}

class PlainSession implements SaslSession {
  readonly mechanism = "PLAIN" as const;
  done = false;
  principal: string | null = null;
  private readonly users: UserStore;
  constructor(users: UserStore) {
    this.users = users;
  }
  step(token: Uint8Array): Buffer {
    // authzid \0 authcid \0 passwd
    const parts = Buffer.from(token).toString("utf8").split("\0");
    if (parts.length !== 3)
      throw new SaslError("malformed PLAIN message: expected authzid\\0user\\0password");
    const [authz, user, password] = parts as [string, string, string];
    if (authz !== "" && authz !== user)
      throw new SaslError(`PLAIN: authorization id ${authz} differs from user`);
    const entry = this.users.get(user);
    const given = Buffer.from(password, "utf8");
    if (!entry || entry.password.length !== given.length || !timingSafeEqual(entry.password, given)) {
      throw new SaslError(`authentication failed for user ${JSON.stringify(user)}: invalid credentials`);
    }
    this.done = true;
    this.principal = user;
    return Buffer.alloc(0);
  }
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function scramAttrs(msg: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of msg.split(",")) {
    const eq = part.indexOf("=");
    if (eq === 1) m.set(part[0]!, part.slice(2));
  }
  return m;
}

function saslName(s: string): string {
  return s.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

class ScramSession implements SaslSession {
  readonly mechanism: SaslMechanism;
  done = false;
  principal: string | null = null;
  private readonly users: UserStore;
  private stage: "first" | "final" | "done" = "first";
  private user = "";
  private clientFirstBare = "";
  private serverFirst = "";
  private nonce = "";
  private cred: ScramCredential | null = null;

  constructor(mechanism: SaslMechanism, users: UserStore) {
    this.mechanism = mechanism;
    this.users = users;
  }

  step(token: Uint8Array): Buffer {
    const msg = Buffer.from(token).toString("utf8");
    if (this.stage === "first") return this.first(msg);
    if (this.stage === "final") return this.final(msg);
    throw new SaslError("SCRAM exchange already complete");
  }

  private first(msg: string): Buffer {
    // gs2-header "n,," (no channel binding) then client-first-message-bare "n=user,r=nonce"
    if (!msg.startsWith("n,") && !msg.startsWith("y,")) {
      throw new SaslError("SCRAM: channel binding is not supported (client-first must start with n,,)");
    }
    const second = msg.indexOf(",", 2);
    if (second < 0) throw new SaslError("SCRAM: malformed client-first message");
    this.clientFirstBare = msg.slice(second + 1);
    const a = scramAttrs(this.clientFirstBare);
    const user = a.get("n");
    const clientNonce = a.get("r");
    if (!user || !clientNonce) throw new SaslError("SCRAM: client-first message lacks n= or r=");
    this.user = saslName(user);
    const entry = this.users.get(this.user);
    // Unknown users get a fake challenge so that the failure is indistinguishable until the proof.
    this.cred =
      entry?.scram.get(this.mechanism) ??
      scramCredential(this.mechanism, randomBytes(16).toString("hex"), randomBytes(16), SCRAM_ITERATIONS);
    this.nonce = clientNonce + randomBytes(18).toString("base64");
    this.serverFirst = `r=${this.nonce},s=${this.cred.salt.toString("base64")},i=${this.cred.iterations}`;
    this.stage = "final";
    return Buffer.from(this.serverFirst, "utf8");
  }

  private final(msg: string): Buffer {
    const a = scramAttrs(msg);
    const proofB64 = a.get("p");
    // Kafka checks endsWith: librdkafka sends r = client nonce + the whole server nonce.
    const r = a.get("r");
    if (r === undefined || !r.endsWith(this.nonce) || !proofB64) {
      throw new SaslError("SCRAM: the client-final message has a wrong nonce or no proof");
    }
    const withoutProof = msg.slice(0, msg.lastIndexOf(",p="));
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const h = hashName(this.mechanism);
    const cred = this.cred!;
    const clientSignature = createHmac(h, cred.storedKey).update(authMessage).digest();
    const proof = Buffer.from(proofB64, "base64");
    if (proof.length !== clientSignature.length)
      throw new SaslError(`authentication failed for user ${JSON.stringify(this.user)}`);
    const clientKey = xor(proof, clientSignature);
    const stored = createHash(h).update(clientKey).digest();
    if (!this.users.get(this.user) || !timingSafeEqual(stored, cred.storedKey)) {
      throw new SaslError(`authentication failed for user ${JSON.stringify(this.user)}: invalid credentials`);
    }
    const serverSignature = createHmac(h, cred.serverKey).update(authMessage).digest();
    this.stage = "done";
    this.done = true;
    this.principal = this.user;
    return Buffer.from(`v=${serverSignature.toString("base64")}`, "utf8");
  }
}

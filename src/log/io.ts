// The log's storage operations, in one place so a test can make any of them fail (a full disk, a
// failing device) through a fault hook, and so every failure names the file it touched.
// Synchronous on purpose: fs.writeSync/readSync on open fds is the fastest path in Node for the
// log's large sequential writes and reads, and it makes "acknowledged only once stored" trivial.
import * as fs from "node:fs";
import type { StorageFaultHook, StorageOp } from "./types.ts";

export class LogIo {
  private readonly hook: StorageFaultHook | undefined;
  private readonly onFsync: ((seconds: number) => void) | undefined;

  constructor(hook?: StorageFaultHook, onFsync?: (seconds: number) => void) {
    this.hook = hook;
    this.onFsync = onFsync;
  }

  private check(op: StorageOp, path: string): void {
    if (this.hook) this.hook(op, path);
  }

  open(path: string, flags: string): number {
    this.check("open", path);
    return fs.openSync(path, flags);
  }

  close(fd: number): void {
    try {
      fs.closeSync(fd);
    } catch {
      // closing is best effort: the fd is gone either way
    }
  }

  /** Writes all of buf[off, off+len) at `position`, looping over short writes. */
  write(fd: number, path: string, buf: Uint8Array, off: number, len: number, position: number): void {
    this.check("write", path);
    let done = 0;
    while (done < len) {
      const n = fs.writeSync(fd, buf, off + done, len - done, position + done);
      if (n <= 0) throw Object.assign(new Error(`short write to ${path}`), { code: "EIO" });
      done += n;
    }
  }

  /** Reads up to len bytes at `position` into buf[off..]; returns the count read (short at end of file). */
  read(fd: number, path: string, buf: Uint8Array, off: number, len: number, position: number): number {
    this.check("read", path);
    let done = 0;
    while (done < len) {
      const n = fs.readSync(fd, buf, off + done, len - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  fsync(fd: number, path: string): void {
    this.check("fsync", path);
    if (!this.onFsync) {
      fs.fsyncSync(fd);
      return;
    }
    const t0 = performance.now();
    fs.fsyncSync(fd);
    this.onFsync((performance.now() - t0) / 1000);
  }

  /**
   * fsync on the libuv thread pool: the event loop goes on while the device syncs. `done` gets the
   * error, if any (a fault hook's throw included). The caller must keep `fd` open until `done`.
   */
  fsyncInBackground(fd: number, path: string, done: (err: Error | null) => void): void {
    try {
      this.check("fsync", path);
    } catch (e) {
      queueMicrotask(() => done(e as Error));
      return;
    }
    const t0 = performance.now();
    fs.fsync(fd, (err) => {
      if (!err) this.onFsync?.((performance.now() - t0) / 1000);
      done(err);
    });
  }

  truncate(fd: number, path: string, size: number): void {
    this.check("truncate", path);
    fs.ftruncateSync(fd, size);
  }

  size(fd: number): number {
    return fs.fstatSync(fd).size;
  }

  rename(from: string, to: string): void {
    this.check("rename", to);
    fs.renameSync(from, to);
  }

  /** Writes a whole small file atomically: temp file, fsync, rename, fsync of the directory. */
  writeFileAtomic(path: string, data: string | Uint8Array, durable = true): void {
    const tmp = `${path}.tmp`;
    this.check("write", path);
    const fd = fs.openSync(tmp, "w");
    try {
      const buf = typeof data === "string" ? Buffer.from(data) : data;
      fs.writeSync(fd, buf, 0, buf.length, 0);
      if (durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
    if (durable) fsyncDir(path.slice(0, path.lastIndexOf("/")) || ".");
  }

  unlink(path: string): void {
    try {
      fs.unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
}

/** fsync of a directory makes renames and creations in it durable. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // not supported on every platform/filesystem; the data files themselves are synced
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

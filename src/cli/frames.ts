// courant frames decode|encode|catalog|sample: PDV terminal frames in files of length-prefixed frames.
import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import {
  encodeLengthPrefixed,
  frameFromJson,
  frameToJson,
  PDV_CATALOG,
  PdvFrameCodec,
  PdvFrameError,
  readLengthPrefixedFrames,
  samplePdvFrames,
} from "../pdv/index.ts";

export function register(program: Command): void {
  const frames = program.command("frames").description("PDV terminal frames (EBCDIC, COBOL copybooks)");

  frames
    .command("decode")
    .description(
      "decode a file of frames, each preceded by a 4-byte big-endian length, to JSON lines (one per frame)",
    )
    .argument("<file>", "file of length-prefixed frames ('-' for stdin)")
    .option("--header-only", "decode headers only")
    .option("--pretty", "indent the JSON (not one line per frame)")
    .action(async (file: string, opts: { headerOnly?: boolean; pretty?: boolean }) => {
      const code = await decodeCommand(file, opts, process.stdout, process.stderr);
      process.exitCode = code;
    });

  frames
    .command("encode")
    .description("encode JSON lines (as printed by `frames decode`) to length-prefixed frames")
    .argument("[file]", "JSON lines file ('-' or omitted for stdin)")
    .option("-o, --output <file>", "output file (default stdout)")
    .action(async (file: string | undefined, opts: { output?: string }) => {
      const out = opts.output ? createWriteStream(opts.output) : process.stdout;
      const code = await encodeCommand(file ?? "-", out, process.stderr);
      if (opts.output) await new Promise<void>((resolve) => out.end(resolve));
      process.exitCode = code;
    });

  frames
    .command("catalog")
    .description("list the frame types the decoder recognises")
    .option("--copybook <type>", "print the copybook of one type")
    .action((opts: { copybook?: string }) => {
      if (opts.copybook) {
        const spec = PDV_CATALOG.get(opts.copybook.toUpperCase());
        if (!spec) {
          process.stderr.write(`unknown frame type ${opts.copybook}\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(spec.copybook);
        return;
      }
      for (const s of PDV_CATALOG.values()) {
        process.stdout.write(
          `${s.type}  ${s.origin.padEnd(9)}  ${s.responseRecord ? "Q/R" : "Q  "}  ${s.title}\n`,
        );
      }
    });

  frames
    .command("sample")
    .description("write N sample frames of the production mix as length-prefixed frames")
    .argument("<count>", "number of frames")
    .option("--seed <seed>", "random seed", "1")
    .option("-o, --output <file>", "output file (default stdout)")
    .action(async (count: string, opts: { seed: string; output?: string }) => {
      const n = Number(count);
      if (!Number.isInteger(n) || n < 0) {
        process.stderr.write(`count must be a non-negative integer, got ${count}\n`);
        process.exitCode = 1;
        return;
      }
      const out = opts.output ? createWriteStream(opts.output) : process.stdout;
      for (const f of samplePdvFrames(n, opts.seed)) await write(out, encodeLengthPrefixed(f));
      if (opts.output) await new Promise<void>((resolve) => out.end(resolve));
    });
}

function source(file: string): AsyncIterable<Uint8Array> {
  return file === "-" ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
}

async function write(out: Writable, chunk: string | Uint8Array): Promise<void> {
  if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", resolve));
}

/** The decode verb; returns the exit code (0 all decoded, 2 some frames undecodable, 1 stream broken). */
export async function decodeCommand(
  file: string,
  opts: { headerOnly?: boolean; pretty?: boolean },
  out: Writable,
  err: Writable,
): Promise<number> {
  const codec = new PdvFrameCodec();
  const started = performance.now();
  const counts = { frames: 0, decoded: 0, headerOnly: 0, errors: 0 };
  const byType = new Map<string, number>();
  let buffer = "";
  let broken: PdvFrameError | null = null;
  const emit = async (obj: unknown): Promise<void> => {
    buffer += `${JSON.stringify(obj, jsonSafe, opts.pretty ? 2 : undefined)}\n`;
    if (buffer.length > 1 << 16) {
      await write(out, buffer);
      buffer = "";
    }
  };
  try {
    for await (const f of readLengthPrefixedFrames(source(file))) {
      counts.frames++;
      try {
        const frame = opts.headerOnly
          ? { header: codec.decodeHeader(f.bytes), body: null, record: null }
          : codec.decode(f.bytes);
        byType.set(frame.header.type, (byType.get(frame.header.type) ?? 0) + 1);
        if (frame.body === null) counts.headerOnly++;
        else counts.decoded++;
        await emit(frameToJson(frame, f.bytes, f.index));
      } catch (e) {
        if (!(e instanceof PdvFrameError)) throw e;
        counts.errors++;
        await emit({ frameIndex: f.index, error: errorJson(e.atFrame(f.index)) });
      }
    }
  } catch (e) {
    if (e instanceof PdvFrameError) {
      broken = e;
      await emit({ frameIndex: e.frameIndex, error: errorJson(e) });
    } else if (isNodeError(e)) {
      err.write(`courant frames decode: cannot read ${file}: ${e.message}\n`);
      return 1;
    } else throw e;
  }
  if (buffer) await write(out, buffer);
  const ms = performance.now() - started;
  const types = [...byType.entries()].sort((a, b) => b[1] - a[1]);
  err.write(
    `${counts.frames} frames: ${counts.decoded} decoded, ${counts.headerOnly} header-only, ${counts.errors} undecodable` +
      `${broken ? ", stream broken" : ""} in ${ms.toFixed(0)} ms; ${byType.size} types` +
      (types.length > 0
        ? ` (top: ${types
            .slice(0, 5)
            .map(([t, n]) => `${t} ${n}`)
            .join(", ")})`
        : "") +
      "\n",
  );
  return broken ? 1 : counts.errors > 0 ? 2 : 0;
}

/** Custom field codecs may yield bigints; JSON has no such type, so they print as decimal strings. */
function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

function errorJson(e: PdvFrameError): Record<string, unknown> {
  return {
    code: e.code,
    message: e.message,
    frameIndex: e.frameIndex ?? null,
    field: e.field ?? null,
    byteOffset: e.byteOffset ?? null,
  };
}

function isNodeError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string" && "syscall" in e;
}

/** The encode verb; returns the exit code (0 all encoded, 2 some lines refused). */
export async function encodeCommand(file: string, out: Writable, err: Writable): Promise<number> {
  const codec = new PdvFrameCodec();
  const input = file === "-" ? process.stdin : createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  let encoded = 0;
  let refused = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === "") continue;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (e) {
        refused++;
        err.write(`line ${lineNo}: not JSON: ${(e as Error).message}\n`);
        continue;
      }
      if (typeof json === "object" && json !== null && "error" in json) {
        refused++;
        err.write(`line ${lineNo}: an undecodable frame (error object) cannot be encoded; skipped\n`);
        continue;
      }
      try {
        const bytes = codec.encode(frameFromJson(json));
        await write(out, encodeLengthPrefixed(bytes));
        encoded++;
      } catch (e) {
        if (!(e instanceof PdvFrameError)) throw e;
        refused++;
        err.write(`line ${lineNo}: ${e.message}\n`);
      }
    }
  } catch (e) {
    if (isNodeError(e)) {
      err.write(`courant frames encode: cannot read ${file}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  err.write(`${encoded} frames encoded, ${refused} lines refused\n`);
  return refused > 0 ? 2 : 0;
}

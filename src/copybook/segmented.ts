// Multi-segment files where a segment-id field selects the record layout (one 01 record per segment
// type), as opposed to selecting a REDEFINES branch of one record.
import type { CodecOptions, Copybook, PartialDecoder, RecordCodec } from "./codec.ts";
import { CopybookError, hexOf, RecordDecodeError, RecordEncodeError } from "./errors.ts";

export interface SegmentedOptions extends Omit<CodecOptions, "record"> {
  /** The segment id field (found in the first record that has it; its offset must be the same in all). */
  readonly segmentField: string;
  /** Segment id -> 01 record name. */
  readonly segments: Readonly<Record<string, string>>;
}

/**
 * Decodes each record with the layout its segment id selects; the result is `{ RECORD-NAME: {...} }`,
 * which encode() takes back.
 */
export class SegmentedCodec {
  readonly codecs: ReadonlyMap<string, RecordCodec>;
  private readonly byId = new Map<string, { name: string; codec: RecordCodec }>();
  private readonly idReader: PartialDecoder;
  private readonly idKey: string;
  private readonly idPath: string;
  private readonly idOffset: number;
  private readonly idSize: number;

  constructor(copybook: Copybook, options: SegmentedOptions) {
    const { segmentField, segments, ...codecOptions } = options;
    const codecs = new Map<string, RecordCodec>();
    for (const [id, record] of Object.entries(segments)) {
      let codec = codecs.get(record.toUpperCase());
      if (!codec) {
        codec = copybook.compile({ ...codecOptions, record });
        codecs.set(record.toUpperCase(), codec);
      }
      this.byId.set(id, { name: codec.layout.root.name, codec });
    }
    this.codecs = codecs;
    const holder = [...codecs.values()].find((c) =>
      c.fields().some((f) => f.name === segmentField.toUpperCase()),
    );
    if (!holder)
      throw new CopybookError("COPYBOOK_OPTION", `segmentField: no record has a field ${segmentField}`);
    const info = holder.fields().find((f) => f.name === segmentField.toUpperCase())!;
    this.idPath = info.path;
    this.idOffset = info.offset;
    this.idSize = info.size;
    // Read the id without wrapping or keeping the root, whatever the options say.
    this.idReader = copybook
      .compile({ ...codecOptions, record: holder.layout.root.name, keepRoot: false })
      .pick([info.path]);
    const probe = this.idReader.decode(new Uint8Array(info.offset + info.size + 1).fill(0x40));
    this.idKey = Object.keys(probe)[0]!;
  }

  private idOf(bytes: Uint8Array, offset: number, end: number): string {
    let v: unknown;
    const r = this.idReader.decode(bytes, offset, end);
    v = r[this.idKey];
    while (v !== null && typeof v === "object" && !Array.isArray(v)) v = Object.values(v as object)[0];
    return String(v ?? "").trim();
  }

  /** Decodes one record: `{ RECORD-NAME: value }`. Unknown segment ids fail naming the id field. */
  decode(bytes: Uint8Array, offset = 0, end = bytes.length): Record<string, unknown> {
    const id = this.idOf(bytes, offset, end);
    const hit = this.byId.get(id);
    if (!hit) {
      throw new RecordDecodeError(
        this.idPath,
        this.idOffset,
        hexOf(bytes, offset + this.idOffset, offset + this.idOffset + this.idSize),
        `unknown segment id '${id}'`,
      );
    }
    return { [hit.name]: hit.codec.decode(bytes, offset, end) };
  }

  /** Segment id of the record at offset. */
  segmentOf(bytes: Uint8Array, offset = 0, end = bytes.length): string {
    return this.idOf(bytes, offset, end);
  }

  encode(record: Record<string, unknown>): Uint8Array {
    const keys = Object.keys(record);
    if (keys.length !== 1)
      throw new RecordEncodeError("", 0, `expected { RECORD-NAME: {...} } with one key, got ${keys.length}`);
    const codec = this.codecs.get(keys[0]!.toUpperCase());
    if (!codec) throw new RecordEncodeError(keys[0]!, 0, `no segment layout named ${keys[0]}`);
    return codec.encode(record[keys[0]!] as Record<string, unknown>);
  }
}

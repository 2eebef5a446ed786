// Error classes of the copybook layer. Every error has a stable `code` and names where and why.

export class CopybookError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A copybook text that does not follow the grammar. */
export class CopybookSyntaxError extends CopybookError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly expected: string;
  readonly found: string;
  constructor(file: string, line: number, column: number, expected: string, found: string, detail?: string) {
    super(
      "COPYBOOK_SYNTAX",
      `${file}:${line}:${column}: expected ${expected}, found ${found}${detail ? ` (${detail})` : ""}`,
    );
    this.file = file;
    this.line = line;
    this.column = column;
    this.expected = expected;
    this.found = found;
  }
}

/** A copybook that parses but cannot be laid out (unknown REDEFINES target, bad OCCURS...). */
export class CopybookLayoutError extends CopybookError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly field: string;
  constructor(file: string, line: number, column: number, field: string, message: string) {
    super("COPYBOOK_LAYOUT", `${file}:${line}:${column}: ${field}: ${message}`);
    this.file = file;
    this.line = line;
    this.column = column;
    this.field = field;
  }
}

export function hexOf(bytes: Uint8Array, start: number, end: number, max = 64): string {
  let s = "";
  const stop = Math.min(end, start + max, bytes.length);
  for (let i = Math.max(0, start); i < stop; i++) s += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16);
  if (end - start > max) s += "...";
  return s.toUpperCase();
}

/** A record (or one of its fields) that is not valid for its layout. */
export class RecordDecodeError extends CopybookError {
  /** Field path (e.g. `T031-REQUEST.T031-UNIT-STAKE`), or "" for record-level problems. */
  readonly field: string;
  /** Byte offset of the field from the start of the record. */
  readonly offset: number;
  /** The bytes seen, upper-case hex. */
  readonly bytes: string;
  readonly reason: string;
  constructor(field: string, offset: number, bytes: string, reason: string) {
    super(
      "RECORD_DECODE",
      field
        ? `field ${field} at byte ${offset}: ${reason} (bytes ${bytes || "none"})`
        : `record at byte ${offset}: ${reason}${bytes ? ` (bytes ${bytes})` : ""}`,
    );
    this.field = field;
    this.offset = offset;
    this.bytes = bytes;
    this.reason = reason;
  }
}

/** A value that cannot be written into its field. */
export class RecordEncodeError extends CopybookError {
  readonly field: string;
  readonly offset: number;
  readonly reason: string;
  constructor(field: string, offset: number, reason: string) {
    super("RECORD_ENCODE", `field ${field} at byte ${offset}: ${reason}`);
    this.field = field;
    this.offset = offset;
    this.reason = reason;
  }
}

/** A data stream whose record framing (RDW, BDW, length prefix...) is broken. */
export class RecordFramingError extends CopybookError {
  readonly offset: number;
  readonly recordIndex: number;
  constructor(offset: number, recordIndex: number, message: string) {
    super("RECORD_FRAMING", `record ${recordIndex} at file byte ${offset}: ${message}`);
    this.offset = offset;
    this.recordIndex = recordIndex;
  }
}

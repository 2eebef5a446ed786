// courant/copybook: COBOL copybook parser, EBCDIC code pages, compiled record codecs (decode + encode),
// record framing (F/FB, V/RDW, VB/BDW, length field, text, length-prefixed) and multi-segment records.
// Depends on nothing else in Courant (node builtins only).
export type { ConditionName, CopybookItem, ParsedCopybook, SourcePosition, UsageName } from "./ast.ts";
export {
  type CodePage,
  codePageNames,
  decodeText,
  getCodePage,
  registerCodePage,
} from "./codepages.ts";
export type {
  CorruptField,
  FieldCodecRule,
  FieldInfo,
  FloatFormat,
  RedefineSelector,
} from "./codegen.ts";
export {
  type CodecOptions,
  Copybook,
  compileCopybook,
  type DecodeResult,
  type PartialDecoder,
  parseCopybook,
  RecordCodec,
} from "./codec.ts";
export {
  CopybookError,
  CopybookLayoutError,
  CopybookSyntaxError,
  RecordDecodeError,
  RecordEncodeError,
  RecordFramingError,
} from "./errors.ts";
export type { FieldType, LayoutNode, RecordLayout } from "./layout.ts";
export type { ParseOptions } from "./parser.ts";
export type { PictureInfo } from "./picture.ts";
export {
  type FramingOptions,
  frameRecords,
  type RawRecord,
  type RecordDescriptorWord,
  type RecordFormat,
  type StreamRecord,
  splitRecords,
  streamRecords,
} from "./records.ts";
export { HierarchyBuilder, type HierarchyOptions } from "./segments.ts";
export { SegmentedCodec, type SegmentedOptions } from "./segmented.ts";

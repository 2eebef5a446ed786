// courant PDV frames: the betting terminals' EBCDIC frames (contract: the PDV frames spec), their
// copybooks, the catalog of frame types, the bitmap24 house rule, and the frame codec.
export { BITMAP24_SIZE, decodeBitmap24, encodeBitmap24, isBitmap24FieldName } from "./bitmap24.ts";
export {
  type FrameOrigin,
  type FrameTypeSpec,
  GENERATED_TYPE_COUNT,
  type GeneratedField,
  PDV_CATALOG,
  REWARDS_TYPES,
  readPdvCopybook,
} from "./catalog.ts";
export {
  bitmap24FieldCodec,
  compileHeaderCopybook,
  PDV_CODE_PAGE,
  PDV_REDEFINES,
  type PdvRedefineRule,
  PdvFrameCodec,
  type PdvFrameCodecOptions,
} from "./codec.ts";
export { PdvFrameError, type PdvFrameErrorCode, type PdvFrameErrorDetails } from "./errors.ts";
export {
  type LengthPrefixedFrame,
  lengthPrefixed as encodeLengthPrefixed,
  MAX_FRAME_SIZE,
  readLengthPrefixedFrames,
  splitLengthPrefixedFrames,
} from "./framing.ts";
export {
  decodeHeaderFields,
  encodeHeaderInto,
  frameDirectionOf,
  frameTypeOf,
  HEADER_OFFSETS,
  HEADER_SIZE,
  MAX_BODY_LENGTH,
} from "./header.ts";
export { frameFromJson, frameToJson, headerToJson, type PdvFrameJson } from "./json.ts";
export { createRandom, hashSeed, type Random } from "./random.ts";
export { type SampleFrameSpec, sampleBody, samplePdvFrameSpecs, samplePdvFrames } from "./samples.ts";
export {
  epochMsToPdvTimestamp,
  parisOffsetMs,
  pdvTimestampToEpochMs,
  type RawTimestamp,
} from "./timestamp.ts";
export {
  HEADER_FIELD_NAMES,
  type PdvBody,
  type PdvDirection,
  type PdvFrame,
  type PdvFrameInput,
  type PdvHeader,
  type PdvHeaderInput,
} from "./types.ts";

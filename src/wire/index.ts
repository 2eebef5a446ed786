// Public face of the wire layer: generated Kafka protocol codecs and the TCP server over the broker.
export * from "./codec.ts";
export * from "./generated/index.ts";
export {
  createSaslSession,
  SASL_MECHANISMS,
  type SaslMechanism,
  SaslError,
  type SaslSession,
  UserStore,
} from "./sasl.ts";
export {
  type ApiHandler,
  type ApiSupport,
  type RequestContext,
  WireServer,
  type WireServerOptions,
} from "./server.ts";
export { brokerHandlers, errorCode, SUPPORTED, type WireAddress } from "./handlers.ts";
export {
  isLoopback,
  type KafkaServer,
  KafkaServerError,
  type KafkaServerOptions,
  serveBroker,
} from "./kafka-server.ts";

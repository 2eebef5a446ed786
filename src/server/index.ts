// Public face of the server layer: the ops HTTP endpoint (metrics, health, readiness, queries).
export {
  OpsServer,
  OpsServerError,
  type OpsServerOptions,
  QueryError,
  type QueryRequest,
  type QueryRoute,
  type ReadinessCheck,
  type ReadinessProbe,
  type ReadinessReport,
} from "./ops-server.ts";
export { LivenessWorker, type LivenessWorkerOptions } from "./liveness-worker.ts";

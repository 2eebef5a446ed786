export class ConnectError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConnectError";
    this.code = code;
  }
}

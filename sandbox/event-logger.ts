/**
 * Where the engine reports its own events (limit breaches, host service failures), and the helper
 * that turns a winston logger into a procedure's `logger` sink. Both carry the procedure id and the
 * request id; neither ever receives token values (the host bridge redacts them).
 */
import winston from 'winston';
import type { LogLevel, ProcedureLogSink } from './types.ts';

/** The part of a winston logger the engine uses. */
export interface SandboxEventLogger {
  warn(message: string, meta: Record<string, unknown>): void;
  error(message: string, meta: Record<string, unknown>): void;
}

let defaultLogger: winston.Logger | undefined;

/** JSON lines on stdout at LOG_LEVEL, like the rest of the server; created on first use. */
export function defaultSandboxEventLogger(): SandboxEventLogger {
  defaultLogger ??= winston.createLogger({
    level: process.env['LOG_LEVEL'] ?? 'info',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { component: 'sandbox' },
    transports: [new winston.transports.Console()],
  });
  return defaultLogger;
}

/** The winston methods a procedure log sink needs. */
export type LeveledLogger = Pick<winston.Logger, LogLevel>;

/** A `RunOptions.log` sink writing a procedure's `logger` lines into winston with its ids. */
export function procedureLogSink(logger: LeveledLogger, procedureId: string, requestId: string): ProcedureLogSink {
  return (level, message) => {
    logger[level](message, { source: 'procedure', procedure_id: procedureId, request_id: requestId });
  };
}

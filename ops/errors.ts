/**
 * Errors of the ops commands. They carry what an operator needs next: which step failed and
 * how to resume, so the CLI prints the message and exits 1 without a stack trace.
 */
import { BoxwireError } from '../src/core/errors.js';

/** An operation could not be done as asked (missing binary, keyfile, unreachable host…). */
export class OpsError extends BoxwireError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BOXWIRE_OPS', message, options);
  }
}

/** A planned step failed; earlier steps are done and are detected and skipped on a rerun. */
export class StepFailedError extends OpsError {
  readonly step: string;
  readonly index: number;
  constructor(step: string, index: number, total: number, detail: string, resume: string, options?: { cause?: unknown }) {
    super(`step ${index + 1}/${total} '${step}' failed: ${detail}\n${resume}`, options);
    this.step = step;
    this.index = index;
  }
}

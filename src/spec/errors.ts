/**
 * Error classes, one per kind of failure, each with a stable `code` a script can match on.
 * Expected failures (an unparsable rating, an invalid row) are values, not these: exceptions are for
 * bad input that stops a command, infrastructure failures and bugs.
 */

/** Base class: every error this toolkit throws on purpose carries a stable machine-readable code. */
export class StableAlignmentError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration file or flag is invalid; `field` names the offending key, `file` the source. */
export class ConfigError extends StableAlignmentError {
  readonly field: string | undefined;
  readonly file: string | undefined;
  constructor(message: string, details: { field?: string; file?: string; cause?: unknown } = {}) {
    super("CONFIG_INVALID", message, { cause: details.cause });
    this.field = details.field;
    this.file = details.file;
  }
}

/**
 * A command line that cannot work as given: a bad flag value or contradictory or missing flags. A
 * kind of ConfigError; the CLI reports it with a pointer to the command's `--help` and exits 2.
 */
export class UsageError extends ConfigError {
  override readonly code: string = "USAGE_INVALID";
}

/** A model spec string (`openai:gpt-4o-mini`, `gguf:./m.gguf`, ...) is malformed or unusable. */
export class ModelSpecError extends StableAlignmentError {
  readonly spec: string;
  constructor(spec: string, message: string, options?: { cause?: unknown }) {
    super("MODEL_SPEC_INVALID", message, options);
    this.spec = spec;
  }
}

/** An input file (questions, prior, records, data rows) is missing or malformed at `file`:`line`. */
export class InputError extends StableAlignmentError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  constructor(message: string, details: { file?: string; line?: number; cause?: unknown } = {}) {
    const where = details.file ? `${details.file}${details.line ? `:${details.line}` : ""}: ` : "";
    super("INPUT_INVALID", `${where}${message}`, { cause: details.cause });
    this.file = details.file;
    this.line = details.line;
  }
}

/**
 * A language-model or embedding endpoint failed. `retryable` says whether the same request may succeed
 * later (429, 5xx, timeouts, connection resets); `retryAfterMs` carries a server's Retry-After.
 */
export class ProviderError extends StableAlignmentError {
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly requestId: string | undefined;
  readonly endpoint: string | undefined;
  constructor(
    message: string,
    details: {
      code?: string;
      status?: number;
      retryable: boolean;
      retryAfterMs?: number;
      requestId?: string;
      endpoint?: string;
      cause?: unknown;
    },
  ) {
    super(details.code ?? "PROVIDER_ERROR", message, { cause: details.cause });
    this.status = details.status;
    this.retryable = details.retryable;
    this.retryAfterMs = details.retryAfterMs;
    this.requestId = details.requestId;
    this.endpoint = details.endpoint;
  }
}

/** The configured spending cap (US dollars) or token cap was reached; work stops cleanly. */
export class BudgetExceededError extends StableAlignmentError {
  readonly spentUsd: number;
  readonly budgetUsd: number;
  constructor(spentUsd: number, budgetUsd: number) {
    super(
      "BUDGET_EXCEEDED",
      `budget of $${budgetUsd.toFixed(4)} reached (spent $${spentUsd.toFixed(4)}); raise --budget to continue`,
    );
    this.spentUsd = spentUsd;
    this.budgetUsd = budgetUsd;
  }
}

/** Work was cancelled through an AbortSignal (Ctrl-C, a budget stop elsewhere). */
export class CancelledError extends StableAlignmentError {
  constructor(message = "cancelled") {
    super("CANCELLED", message);
  }
}

/** Training produced a NaN or infinite loss; `step` and the batch's source ids say where. */
export class TrainingDivergedError extends StableAlignmentError {
  readonly step: number;
  readonly sourceIds: readonly string[];
  constructor(step: number, sourceIds: readonly string[]) {
    const shown = sourceIds.slice(0, 5).map((id) => JSON.stringify(id.length > 60 ? `${id.slice(0, 57)}...` : id));
    const more = sourceIds.length > 5 ? ` and ${sourceIds.length - 5} more` : "";
    super(
      "TRAINING_DIVERGED",
      `the loss became NaN or infinite at step ${step}; batch sources: ${shown.join(", ")}${more}; lower --lr or check those rows`,
    );
    this.step = step;
    this.sourceIds = sourceIds;
  }
}

/** The PyTorch trainer (`train --backend torch`) exited with a failure; `exitCode` is torchrun's. */
export class TorchTrainerError extends StableAlignmentError {
  readonly exitCode: number | null;
  constructor(message: string, details: { exitCode: number | null }) {
    super("TORCH_TRAINER_FAILED", message);
    this.exitCode = details.exitCode;
  }
}

/**
 * A run directory is in use: another live process holds its lock. `holderPid` is that process;
 * `lockPath` the lock file (removable by hand only when that pid is not a stable-alignment process).
 */
export class RunLockedError extends StableAlignmentError {
  readonly holderPid: number;
  readonly lockPath: string;
  constructor(message: string, details: { holderPid: number; lockPath: string }) {
    super("RUN_LOCKED", message);
    this.holderPid = details.holderPid;
    this.lockPath = details.lockPath;
  }
}

/** A SQLite store at `path` is not a database or is damaged (truncated, overwritten, corrupted). */
export class StoreCorruptError extends StableAlignmentError {
  readonly path: string;
  constructor(message: string, details: { path: string; cause?: unknown }) {
    super("STORE_CORRUPT", message, { cause: details.cause });
    this.path = details.path;
  }
}

/** `doctor` found at least one failing check; the report naming each one is already printed. */
export class DoctorCheckFailedError extends StableAlignmentError {
  /** Names of the failing checks. */
  readonly checks: readonly string[];
  constructor(checks: readonly string[]) {
    super("DOCTOR_CHECK_FAILED", `${checks.length} check(s) failed: ${checks.join(", ")}`);
    this.checks = [...checks];
  }
}

/**
 * An evaluation report was asked for scores the run has not stored yet (the run was stopped before
 * it finished); `missing` counts the continuations without a score.
 */
export class EvaluationIncompleteError extends StableAlignmentError {
  readonly missing: number;
  constructor(message: string, details: { missing: number }) {
    super("EVALUATION_INCOMPLETE", message);
    this.missing = details.missing;
  }
}

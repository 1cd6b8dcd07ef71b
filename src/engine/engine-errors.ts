/** Errors the training engine throws: shape mismatches (bugs or bad input) and a missing BLAS library. */
import { StableAlignmentError } from "../spec/errors.js";

/** Tensors handed to an op do not have the shapes it needs; the message names the argument. */
export class ShapeError extends StableAlignmentError {
  constructor(message: string) {
    super("SHAPE_MISMATCH", message);
  }
}

/** A native BLAS library was required (`backend: "native"`) but none could be loaded. */
export class BlasUnavailableError extends StableAlignmentError {
  /** Each library tried, with why it failed to load. */
  readonly attempts: readonly string[];
  constructor(message: string, attempts: readonly string[]) {
    super("BLAS_UNAVAILABLE", message);
    this.attempts = attempts;
  }
}

/** A token id is outside the vocabulary; the message names the position. */
export class TokenRangeError extends StableAlignmentError {
  constructor(message: string) {
    super("TOKEN_OUT_OF_RANGE", message);
  }
}

/**
 * Tensor memory cannot serve a request: an array larger than one WebAssembly memory, every memory
 * full, or (in a strict memory, as tests use) an op given an array outside fast memory.
 */
export class TensorMemoryError extends StableAlignmentError {
  constructor(message: string) {
    super("TENSOR_MEMORY", message);
  }
}

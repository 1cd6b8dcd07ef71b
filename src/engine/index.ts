/** The training engine: tensors, BLAS backends, fused ops with hand-written backward passes, optimizer. */
export * from "./blas.js";
export * from "./engine-description.js";
export * from "./engine-errors.js";
export * from "./ops/causal-attention.js";
export * from "./ops/embedding.js";
export * from "./ops/log-softmax-gather.js";
export * from "./ops/masked-cross-entropy.js";
export * from "./ops/matmul.js";
export * from "./ops/residual-add.js";
export * from "./ops/rms-norm.js";
export * from "./ops/rotary-embedding.js";
export * from "./ops/swiglu.js";
export * from "./optimizer/adamw.js";
export * from "./optimizer/clip-gradient-norm.js";
export * from "./random.js";
export * from "./tensor.js";
export * from "./tensor-memory.js";

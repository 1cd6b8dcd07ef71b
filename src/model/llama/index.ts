/** The llama decoder: configuration and presets, parameter layout, model, trainer. */
export * from "./llama-config.js";
export * from "./llama-layer.js";
export * from "./llama-lora.js";
export * from "./llama-model.js";
export * from "./llama-parameters.js";
export * from "./llama-trainer.js";
export * from "./llama-workspace.js";

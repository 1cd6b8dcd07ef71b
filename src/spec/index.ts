export * from "./alignment-data.js";
export * from "./embedding-model.js";
export * from "./errors.js";
export * from "./interaction-record.js";
export * from "./language-model.js";
export * from "./process-liveness.js";
export * from "./response-cache.js";
export * from "./scoring.js";

/** LM middleware: compose these around any LanguageModel with wrapLanguageModel or createModelStack. */
export * from "./budget-gate.js";
export * from "./concurrency-limiter.js";
export * from "./load-balancer.js";
export * from "./memory-response-cache-store.js";
export * from "./price-table.js";
export * from "./response-cache-middleware.js";
export * from "./retry-middleware.js";
export * from "./usage-meter.js";
export * from "./wrap-language-model.js";

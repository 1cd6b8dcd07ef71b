/** Test doubles and fixtures for users' own tests: `import { ... } from "stable-alignment/test"`. */

export * from "./fake-hugging-face-hub.js";
export * from "./fake-llm-server.js";
export * from "./fake-llm-server-process.js";
export * from "./gguf-writer.js";
export * from "./scripted-model.js";
export * from "./tiny-gguf-model.js";

/**
 * The GGUF writer lives with the model exporter (src/model/gguf); the test kit re-exports it so
 * tests and users of `stable-alignment/test` keep one import path.
 */
export * from "../model/gguf/gguf-writer.js";

/** Test doubles and fixtures for users' own tests: `import { ... } from "stable-alignment/test"`. */
export * from "./scripted-model.js";

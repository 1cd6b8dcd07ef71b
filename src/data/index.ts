/** Alignment data: build from interaction records, statistics, export and import (SPEC 2). */

export * from "../model/atomic-writer.js";
export * from "./agreement.js";
export * from "./alignment-data-stats.js";
export * from "./alignment-example-reader.js";
export * from "./bradley-terry.js";
export * from "./build-alignment-data.js";
export * from "./chat-messages.js";
export * from "./data-mix.js";
export * from "./data-templates.js";
export * from "./example-grouper.js";
export * from "./export-alignment-data.js";
export * from "./hh-rlhf.js";
export * from "./import-alignment-data.js";
export * from "./interaction-record-reader.js";
export * from "./json-values-reader.js";
export * from "./line-reader.js";
export * from "./preference-accuracy.js";
export * from "./preference-pairs-reader.js";
export * from "./record-rows.js";
export * from "./reference-records.js";
export * from "./statistics.js";
export * from "./text-table.js";

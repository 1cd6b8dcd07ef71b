/**
 * Moves weights between a checkpoint (tensors by Hugging Face name) and the training decoder (one
 * flat parameter array whose entries carry the same names).
 */
import { InputError } from "../spec/errors.js";
import { isDerivedTensor, type ModelWeights, tiedHeadMessage, tiedHeadMismatch } from "./checkpoint-tensors.js";
import type { LlamaModel } from "./llama/index.js";

/** The training model's weights by name, as views into its parameter array (no copy). */
export function trainingModelWeights(model: LlamaModel): ModelWeights {
  return new Map(model.layout.map((entry) => [entry.name, model.parameter(entry.name).data]));
}

/**
 * Copies `weights` into the training model. Every parameter must be present with its exact size, and
 * every tensor of `weights` must have a place in the model's layout: a tensor it would drop (for
 * example Qwen2 biases into a model built without them) is refused in one line, except derived
 * tensors (DERIVED_TENSOR_SUFFIXES) and, for a tied model, an `lm_head.weight` equal to the
 * embeddings. `source` names where the weights came from in messages (default none).
 */
export function copyWeightsIntoModel({
  model,
  weights,
  source,
}: {
  model: LlamaModel;
  weights: ModelWeights;
  source?: string;
}): void {
  const details = source === undefined ? {} : { file: source };
  const placed = new Set(model.layout.map((entry) => entry.name));
  for (const [name, values] of weights) {
    if (placed.has(name) || isDerivedTensor(name)) continue;
    if (name === "lm_head.weight" && model.config.tieWordEmbeddings) {
      const mismatch = tiedHeadMismatch({
        head: values,
        embedding: weights.get("model.embed_tokens.weight") ?? values,
      });
      if (mismatch !== undefined) throw new InputError(tiedHeadMessage(mismatch), details);
      continue;
    }
    throw new InputError(
      `checkpoint tensor ${name} has no place in the training decoder (${model.config.queryKeyValueBias === true ? "with" : "without"} q/k/v biases, ${model.config.tieWordEmbeddings ? "tied" : "untied"} head); refusing to drop it`,
      details,
    );
  }
  for (const entry of model.layout) {
    const values = weights.get(entry.name);
    if (!values) throw new InputError(`checkpoint lacks ${entry.name}, which the training decoder needs`, details);
    if (values.length !== entry.size) {
      throw new InputError(
        `checkpoint tensor ${entry.name} has ${values.length} values, the decoder expects ${entry.size}`,
        details,
      );
    }
  }
  for (const entry of model.layout) model.parameter(entry.name).data.set(weights.get(entry.name) as Float32Array);
}

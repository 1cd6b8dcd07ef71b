/**
 * Moves weights between a checkpoint (tensors by Hugging Face name) and the training decoder (one
 * flat parameter array whose entries carry the same names).
 */
import { InputError } from "../spec/errors.js";
import type { ModelWeights } from "./checkpoint-tensors.js";
import type { LlamaModel } from "./llama/index.js";

/** The training model's weights by name, as views into its parameter array (no copy). */
export function trainingModelWeights(model: LlamaModel): ModelWeights {
  return new Map(model.layout.map((entry) => [entry.name, model.parameter(entry.name).data]));
}

/** Copies `weights` into the training model; every parameter must be present with its exact size. */
export function copyWeightsIntoModel({ model, weights }: { model: LlamaModel; weights: ModelWeights }): void {
  for (const entry of model.layout) {
    const source = weights.get(entry.name);
    if (!source) throw new InputError(`checkpoint lacks ${entry.name}, which the training decoder needs`);
    if (source.length !== entry.size) {
      throw new InputError(
        `checkpoint tensor ${entry.name} has ${source.length} values, the decoder expects ${entry.size}`,
      );
    }
    model.parameter(entry.name).data.set(source);
  }
}

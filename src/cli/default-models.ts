/**
 * The models a command uses when neither a flag nor the config names one.
 *
 * Qwen2.5-0.5B-Instruct (Apache-2.0), 4-bit: about 400 MB, downloaded once into the cache. It is the
 * smallest widely used instruct model that follows a rubric and answers in a requested format, runs on
 * a laptop CPU through llama.cpp, and with grammar-constrained ratings never produces an unparsable
 * rating. It is a default for trying the toolkit, not for research results: pass a stronger
 * `--agent-model` / `--observer-model` for those.
 */
export const DEFAULT_AGENT_MODEL = "hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf";

/** Observers default to the same model; an observer judges, so a stronger model is better where affordable. */
export const DEFAULT_OBSERVER_MODEL = DEFAULT_AGENT_MODEL;

/** The built-in offline embedder. */
export const DEFAULT_EMBEDDER = "lexical";

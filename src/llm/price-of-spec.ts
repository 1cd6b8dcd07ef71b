/**
 * The price of a model or embedder spec as the model factory's usage meter charges it, without
 * building the model: an OpenAI-compatible server named by URL is priced by the config's `prices`
 * under its model name (else free); any other spec by the price table (built in, overridden by the
 * config's `prices`), else free.
 */
import { defaultPriceTable, lookupPrice, type PriceTable, type TokenPrice } from "./middleware/price-table.js";
import { parseModelSpec } from "./model-spec.js";

const FREE: TokenPrice = { prompt: 0, completion: 0 };

/** US dollars per million tokens of `spec` (`lexical` and unknown models: 0). */
export function priceOfSpec({
  spec,
  prices = {},
}: {
  spec: string;
  /** The config's `prices` (model name -> USD per million tokens). Default none. */
  prices?: PriceTable;
}): TokenPrice {
  if (spec === "lexical") return FREE;
  const parsed = parseModelSpec(spec);
  if (parsed.provider === "openai" && parsed.baseURLs !== undefined) return prices[parsed.model] ?? FREE;
  return lookupPrice({ ...defaultPriceTable, ...prices }, spec) ?? FREE;
}

/**
 * Mixing the three kinds (SPEC 2): counted in grouped prompts, every Imitation example is kept and
 * the other kinds are sampled without replacement down to their share of the Imitation count (5:1:1
 * keeps floor(imitation / 5) of each), never upsampled. Sampling is seeded and each kind draws from
 * its own stream, so adding or removing a kind does not change which examples the others keep.
 */
import type { AlignmentDataKind } from "../spec/alignment-data.js";
import { ConfigError } from "../spec/errors.js";

/** Keep everything, or mix by a ratio of imitation : self-critic : realignment. */
export type DataMix = { mode: "all" } | { mode: "ratio"; ratio: Readonly<Record<AlignmentDataKind, number>> };

/** The reference mix of the released training files. */
export const REFERENCE_MIX: DataMix = { mode: "ratio", ratio: { imitation: 5, "self-critic": 1, realignment: 1 } };

/** Parses `all` or `a:b:c` (non-negative numbers, imitation first and above zero). Throws ConfigError. */
export function parseDataMix(text: string): DataMix {
  const trimmed = text.trim();
  if (trimmed === "all") return { mode: "all" };
  const parts = trimmed.split(":");
  const numbers = parts.map((part) => (/^\d+(\.\d+)?$/.test(part.trim()) ? Number(part) : Number.NaN));
  if (numbers.length !== 3 || numbers.some((value) => !Number.isFinite(value))) {
    throw new ConfigError(`--mix must be "all" or imitation:self-critic:realignment such as 5:1:1, not "${text}"`, {
      field: "mix",
    });
  }
  const [imitation, selfCritic, realignment] = numbers as [number, number, number];
  if (imitation <= 0) {
    throw new ConfigError(
      `--mix ${text}: the imitation share must be above 0 (it is what the others are counted against)`,
      {
        field: "mix",
      },
    );
  }
  return { mode: "ratio", ratio: { imitation, "self-critic": selfCritic, realignment } };
}

/** Writes a mix back as `all` or `a:b:c`. */
export function formatDataMix(mix: DataMix): string {
  if (mix.mode === "all") return "all";
  return `${mix.ratio.imitation}:${mix.ratio["self-critic"]}:${mix.ratio.realignment}`;
}

/** How many grouped examples of each kind a mix keeps, given how many exist. */
export function mixQuotas({
  mix,
  available,
}: {
  mix: DataMix;
  available: Readonly<Record<AlignmentDataKind, number>>;
}): Record<AlignmentDataKind, number> {
  if (mix.mode === "all") return { ...available };
  const share = (kind: AlignmentDataKind): number =>
    // The small epsilon keeps exact quotients such as 10 * 1 / 5 from flooring to 1.
    Math.min(available[kind], Math.floor((available.imitation * mix.ratio[kind]) / mix.ratio.imitation + 1e-9));
  return { imitation: available.imitation, "self-critic": share("self-critic"), realignment: share("realignment") };
}

/**
 * The seed of one kind's sampling stream (give it to `createRandom` with the mulberry32 algorithm):
 * depends on `seed` and the stream's name, so each kind is sampled independently.
 */
export function mixStreamSeed({ seed, stream = "" }: { seed: number; stream?: string }): number {
  let state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  for (let index = 0; index < stream.length; index += 1) {
    state = Math.imul(state ^ stream.charCodeAt(index), 0x01000193) >>> 0;
  }
  return state;
}

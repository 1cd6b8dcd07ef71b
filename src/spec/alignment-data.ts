/** The three kinds of alignment data built from interaction records (SPEC 2). */
export type AlignmentDataKind = "imitation" | "self-critic" | "realignment";

/**
 * One training example in the reference training format: one prompt with several rated responses.
 * `scores[i]` (1-7) rates `responses[i]`, written by the model `models[i]`. `kind` is our addition.
 */
export interface AlignmentExample {
  query: string;
  responses: string[];
  scores: number[];
  models: string[];
  kind: AlignmentDataKind;
  /**
   * The question the row's interactions answered (our addition; absent in the reference's files).
   * Training draws its held-out split by it, so one question never lands on both sides.
   */
  source?: string;
}

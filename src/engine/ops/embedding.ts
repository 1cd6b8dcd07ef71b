/** Token embedding lookup; the table may be shared with the output head (tied embeddings). */
import { TokenRangeError } from "../engine-errors.js";
import { assertLength, assertShape, type Tensor } from "../tensor.js";

function checkTokens(tokens: Int32Array, vocabularySize: number): void {
  for (let position = 0; position < tokens.length; position++) {
    const token = tokens[position] as number;
    if (token < 0 || token >= vocabularySize) {
      throw new TokenRangeError(
        `token ${token} at position ${position} is outside the vocabulary of ${vocabularySize}`,
      );
    }
  }
}

/** output[n, :] = table[tokens[n], :]. `table` is [vocabulary, dimension], `output` [tokens, dimension]. */
export function embeddingForward(options: { table: Tensor; tokens: Int32Array; output: Tensor }): void {
  const { table, tokens, output } = options;
  const [vocabularySize = 0, dimension = 0] = table.shape;
  assertShape(output, [tokens.length, dimension], "embedding output");
  checkTokens(tokens, vocabularySize);
  for (let position = 0; position < tokens.length; position++) {
    const start = (tokens[position] as number) * dimension;
    output.data.set(table.data.subarray(start, start + dimension), position * dimension);
  }
}

/** tableGradient[tokens[n], :] += outputGradient[n, :] (accumulates, so a tied head can add its part). */
export function embeddingBackward(options: {
  tokens: Int32Array;
  outputGradient: Tensor;
  tableGradient: Tensor;
}): void {
  const { tokens, outputGradient, tableGradient } = options;
  const [vocabularySize = 0, dimension = 0] = tableGradient.shape;
  assertShape(outputGradient, [tokens.length, dimension], "embedding output gradient");
  assertLength(tokens, outputGradient.shape[0] ?? 0, "embedding tokens");
  checkTokens(tokens, vocabularySize);
  const source = outputGradient.data;
  const target = tableGradient.data;
  for (let position = 0; position < tokens.length; position++) {
    const tableStart = (tokens[position] as number) * dimension;
    const sourceStart = position * dimension;
    for (let column = 0; column < dimension; column++) {
      target[tableStart + column] = (target[tableStart + column] as number) + (source[sourceStart + column] as number);
    }
  }
}

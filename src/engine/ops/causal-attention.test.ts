import { describe, expect, it } from "vitest";
import { testBackends } from "../testing/backends.js";
import { readFixture, scaledMaxError } from "../testing/fixtures.js";
import { finiteDifferenceError, pseudoRandom, weightedSum } from "../testing/gradient-check.js";
import {
  type AttentionShape,
  attentionProbabilitiesSize,
  causalAttentionBackward,
  causalAttentionForward,
} from "./causal-attention.js";

interface AttentionFixture extends AttentionShape {
  qkv: number[];
  output: number[];
  outputGradient: number[];
  qkvGradient: number[];
}

describe.each(testBackends())("causal attention on $name", (backend) => {
  const { blas, tensor } = backend;
  it("matches the PyTorch fixture (grouped key/value heads)", () => {
    const fixture = readFixture<AttentionFixture>("src/engine", "causal-attention");
    const rows = fixture.batchSize * fixture.sequenceLength;
    const width = (fixture.heads + 2 * fixture.kvHeads) * fixture.headDimension;
    const qkv = tensor([rows, width], fixture.qkv);
    const output = tensor([rows, fixture.heads * fixture.headDimension]);
    const probabilities = backend.float32(attentionProbabilitiesSize(fixture));
    causalAttentionForward({ ...fixture, blas, qkv, probabilities, output });
    expect(scaledMaxError(output.data, fixture.output)).toBeLessThan(1e-6);
    const qkvGradient = tensor(qkv.shape, new Float32Array(rows * width).fill(Number.NaN));
    const outputGradient = tensor(output.shape, fixture.outputGradient);
    const scratch = backend.float32(fixture.sequenceLength ** 2);
    causalAttentionBackward({ ...fixture, blas, qkv, probabilities, outputGradient, qkvGradient, scratch });
    expect(scaledMaxError(qkvGradient.data, fixture.qkvGradient)).toBeLessThan(1e-6);
  });

  it("has the finite-difference gradient", () => {
    const shape: AttentionShape = { batchSize: 2, sequenceLength: 4, heads: 2, kvHeads: 1, headDimension: 3 };
    const rows = 8;
    const width = 12;
    const qkv = tensor([rows, width], pseudoRandom(rows * width, 21, 1.5));
    const output = tensor([rows, 6]);
    const probabilities = backend.float32(attentionProbabilitiesSize(shape));
    const weights = pseudoRandom(rows * 6, 22);
    causalAttentionForward({ ...shape, blas, qkv, probabilities, output });
    const qkvGradient = tensor([rows, width]);
    const outputGradient = tensor([rows, 6], weights);
    const scratch = backend.float32(16);
    causalAttentionBackward({ ...shape, blas, qkv, probabilities, outputGradient, qkvGradient, scratch });
    const loss = () => {
      causalAttentionForward({ ...shape, blas, qkv, probabilities, output });
      return weightedSum(output.data, weights);
    };
    expect(finiteDifferenceError({ values: qkv.data, analytic: qkvGradient.data, loss, samples: 96 })).toBeLessThan(
      2e-3,
    );
  });

  it("is causal: a later token does not change earlier outputs", () => {
    const shape: AttentionShape = { batchSize: 1, sequenceLength: 3, heads: 1, kvHeads: 1, headDimension: 2 };
    const qkv = tensor([3, 6], pseudoRandom(18, 23));
    const probabilities = backend.float32(9);
    const first = tensor([3, 2]);
    causalAttentionForward({ ...shape, blas, qkv, probabilities, output: first });
    qkv.data.fill(9, 12, 18);
    const second = tensor([3, 2]);
    causalAttentionForward({ ...shape, blas, qkv, probabilities, output: second });
    expect(Array.from(second.data.subarray(0, 4))).toEqual(Array.from(first.data.subarray(0, 4)));
    expect(second.data[4]).not.toBe(first.data[4]);
  });
});

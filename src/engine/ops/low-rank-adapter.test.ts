import { describe, expect, it } from "vitest";
import { ShapeError } from "../engine-errors.js";
import { testBackends } from "../testing/backends.js";
import { finiteDifferenceError, pseudoRandom, weightedSum } from "../testing/gradient-check.js";
import { lowRankAdapterBackward, lowRankAdapterForward } from "./low-rank-adapter.js";

describe.each(testBackends())("low-rank adapter on $name", (backend) => {
  const { blas, tensor } = backend;
  const rows = 5;
  const inner = 7;
  const rank = 3;
  const outer = 4;
  // The adapter writes columns [2, 6) of a 9-wide output, as q/k/v blocks inside the packed projection.
  const width = 9;
  const column = 2;
  const scaling = 2.5;

  const setup = () => ({
    input: tensor([rows, inner], pseudoRandom(rows * inner, 1)),
    down: tensor([rank, inner], pseudoRandom(rank * inner, 2, 0.5)),
    up: tensor([outer, rank], pseudoRandom(outer * rank, 3, 0.5)),
    hidden: tensor([rows, rank]),
    base: pseudoRandom(rows * width, 4),
  });

  it("adds scaling * B A x into its column block only", () => {
    const { input, down, up, hidden, base } = setup();
    const output = tensor([rows, width], base);
    lowRankAdapterForward({ blas, input, down, up, scaling, hidden, output, outputColumn: column });
    for (let row = 0; row < rows; row++) {
      for (let out = 0; out < width; out++) {
        let expected = base[row * width + out] as number;
        if (out >= column && out < column + outer) {
          for (let r = 0; r < rank; r++) {
            let a = 0;
            for (let i = 0; i < inner; i++)
              a += (down.data[r * inner + i] as number) * (input.data[row * inner + i] as number);
            expected += scaling * (up.data[(out - column) * rank + r] as number) * a;
          }
        }
        expect(output.data[row * width + out]).toBeCloseTo(expected, 5);
      }
    }
  });

  it.each([
    { dropout: false, name: "without dropout" },
    { dropout: true, name: "with inverted dropout" },
  ])("has gradients equal to finite differences $name", ({ dropout: withDropout }) => {
    const { input, down, up, hidden, base } = setup();
    const scale = new Float32Array(rows * inner).map((_, index) => (index % 3 === 0 ? 0 : 1 / (1 - 1 / 3)));
    const dropout = withDropout ? { scale, dropped: tensor([rows, inner]) } : undefined;
    const weights = pseudoRandom(rows * width, 5);
    const output = tensor([rows, width]);
    const loss = () => {
      output.data.set(base);
      lowRankAdapterForward({
        blas,
        input,
        down,
        up,
        scaling,
        hidden,
        output,
        outputColumn: column,
        ...(dropout ? { dropout } : {}),
      });
      return weightedSum(output.data, weights);
    };
    loss();
    const downGradient = tensor(down.shape);
    const upGradient = tensor(up.shape);
    const inputGradient = tensor(input.shape, pseudoRandom(rows * inner, 6));
    const before = Float32Array.from(inputGradient.data);
    lowRankAdapterBackward({
      blas,
      input,
      down,
      up,
      scaling,
      hidden,
      outputGradient: tensor([rows, width], weights),
      outputColumn: column,
      downGradient,
      upGradient,
      inputGradient,
      hiddenGradient: tensor([rows, rank]),
      ...(dropout ? { dropout, inputScratch: tensor([rows, inner]) } : {}),
    });
    // The input gradient accumulates onto what it held.
    const added = inputGradient.data.map((value, index) => value - (before[index] as number));
    expect(finiteDifferenceError({ values: down.data, analytic: downGradient.data, loss })).toBeLessThan(1e-3);
    expect(finiteDifferenceError({ values: up.data, analytic: upGradient.data, loss })).toBeLessThan(1e-3);
    expect(finiteDifferenceError({ values: input.data, analytic: added, loss })).toBeLessThan(1e-3);
    if (withDropout) expect(added[0]).toBe(0);
  });

  it("refuses a block outside the output", () => {
    const { input, down, up, hidden } = setup();
    const output = tensor([rows, width]);
    expect(() => lowRankAdapterForward({ blas, input, down, up, scaling, hidden, output, outputColumn: 6 })).toThrow(
      ShapeError,
    );
  });
});

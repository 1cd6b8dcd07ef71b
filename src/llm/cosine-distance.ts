/**
 * Cosine distance, the one implementation: the simulation's memory retrieval (unit vectors kept
 * sparse when mostly zeros) and every embedder's threshold use the same arithmetic, so a distance
 * computed here equals the one retrieval compares with the threshold.
 */

/**
 * A unit-length vector, sparse when fewer than a quarter of its values are non-zero (lexical
 * embeddings have a few dozen of 4,096), so thousands of prior memories cost kilobytes, not megabytes.
 */
export interface UnitVector {
  length: number;
  /** Positions of `values`; undefined when `values` is dense. */
  indices: Uint32Array | undefined;
  values: Float32Array;
}

/** A unit-length copy of a vector (zero vectors stay zero and match nothing). */
export function normalise(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  const unit = new Float32Array(vector.length);
  if (norm === 0) return unit;
  for (let index = 0; index < vector.length; index += 1) unit[index] = (vector[index] as number) / norm;
  return unit;
}

/** A unit-length copy of a vector, sparse when mostly zeros. */
export function toUnitVector(vector: Float32Array): UnitVector {
  // One pass finds the non-zero positions and the squared norm (summed in index order, as normalise
  // does: zeros add nothing); the sparse values are then the same quotients normalise would store.
  const length = vector.length;
  const positions: number[] = [];
  let sum = 0;
  for (let index = 0; index < length; index += 1) {
    const value = vector[index] as number;
    if (value !== 0) {
      positions.push(index);
      sum += value * value;
      if (positions.length * 4 >= length) break;
    }
  }
  if (positions.length * 4 >= length) {
    const dense = normalise(vector);
    let count = 0;
    for (let index = 0; index < length; index += 1) if (dense[index] !== 0) count += 1;
    if (count * 4 >= length) return { length, indices: undefined, values: dense };
    return sparseOf(dense, count);
  }
  const norm = Math.sqrt(sum);
  const quotients = new Float32Array(positions.length);
  let count = 0;
  if (norm !== 0) {
    for (let position = 0; position < positions.length; position += 1) {
      quotients[position] = (vector[positions[position] as number] as number) / norm;
      if (quotients[position] !== 0) count += 1;
    }
  }
  const indices = new Uint32Array(count);
  const values = new Float32Array(count);
  let cursor = 0;
  for (let position = 0; position < positions.length; position += 1) {
    const value = quotients[position] as number;
    if (value === 0) continue;
    indices[cursor] = positions[position] as number;
    values[cursor] = value;
    cursor += 1;
  }
  return { length, indices, values };
}

/** The `count` non-zero values of a dense unit vector, with their positions. */
function sparseOf(dense: Float32Array, count: number): UnitVector {
  const indices = new Uint32Array(count);
  const values = new Float32Array(count);
  let cursor = 0;
  for (let index = 0; index < dense.length; index += 1) {
    const value = dense[index] as number;
    if (value !== 0) {
      indices[cursor] = index;
      values[cursor] = value;
      cursor += 1;
    }
  }
  return { length: dense.length, indices, values };
}

/** Cosine distance 1 - cos(a, b) (0 same direction, 2 opposite); 1 when either vector is zero. Throws RangeError when the lengths differ. */
export function cosineDistance(left: Float32Array, right: Float32Array): number {
  return unitVectorDistance(normalise(left), toUnitVector(right));
}

/**
 * 1 - (query . entry) for a dense unit query (from {@link normalise}); 1 when either is zero. Throws
 * RangeError when the lengths differ.
 */
export function unitVectorDistance(query: Float32Array, entry: UnitVector): number {
  if (query.length !== entry.length) {
    throw new RangeError(`embedding lengths differ: ${query.length} and ${entry.length}`);
  }
  const { indices, values } = entry;
  let dot = 0;
  if (indices !== undefined) {
    for (let position = 0; position < indices.length; position += 1) {
      dot += (values[position] as number) * (query[indices[position] as number] as number);
    }
  } else {
    for (let index = 0; index < values.length; index += 1) dot += (values[index] as number) * (query[index] as number);
  }
  return 1 - dot;
}

/**
 * 1 - (query . entry) for two unit vectors, each sparse or dense; 1 when either is zero. The same
 * number as `unitVectorDistance(normalise(q), entry)` for `query = toUnitVector(q)`, bit for bit (the
 * same non-zero products summed in the same index order), without a dense copy of the query. Throws
 * RangeError when the lengths differ.
 */
export function unitVectorsDistance(query: UnitVector, entry: UnitVector): number {
  if (query.indices === undefined) return unitVectorDistance(query.values, entry);
  if (query.length !== entry.length) {
    throw new RangeError(`embedding lengths differ: ${query.length} and ${entry.length}`);
  }
  const queryIndices = query.indices;
  const queryValues = query.values;
  let dot = 0;
  if (entry.indices === undefined) {
    for (let position = 0; position < queryIndices.length; position += 1) {
      dot += (entry.values[queryIndices[position] as number] as number) * (queryValues[position] as number);
    }
    return 1 - dot;
  }
  const entryIndices = entry.indices;
  const entryValues = entry.values;
  let cursor = 0;
  for (let position = 0; position < entryIndices.length && cursor < queryIndices.length; position += 1) {
    const index = entryIndices[position] as number;
    while (cursor < queryIndices.length && (queryIndices[cursor] as number) < index) cursor += 1;
    if (queryIndices[cursor] === index) dot += (entryValues[position] as number) * (queryValues[cursor] as number);
  }
  return 1 - dot;
}

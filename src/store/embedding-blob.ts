/** Storage layout of embedding vectors in simulation_embeddings. */
// Embeddings are stored sparse when most values are zero (lexical embeddings keep a few dozen of
// 4,096): "SPV1", length, count, then the positions and the values. Dense vectors are raw float32.
const SPARSE_MAGIC = 0x31565053; // "SPV1" read as little-endian uint32
/** A vector as stored: sparse ("SPV1") when at most a quarter of its values are non-zero, else raw float32. */
export const toBlob = (vector: Float32Array): Buffer => {
  let count = 0;
  for (const value of vector) if (value !== 0) count += 1;
  if (count * 4 >= vector.length) return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  const blob = Buffer.alloc(12 + count * 8);
  blob.writeUInt32LE(SPARSE_MAGIC, 0);
  blob.writeUInt32LE(vector.length, 4);
  blob.writeUInt32LE(count, 8);
  let cursor = 0;
  for (let index = 0; index < vector.length; index += 1) {
    const value = vector[index] as number;
    if (value === 0) continue;
    blob.writeUInt32LE(index, 12 + cursor * 4);
    blob.writeFloatLE(value, 12 + count * 4 + cursor * 4);
    cursor += 1;
  }
  return blob;
};
/** The vector of a stored blob (either layout). */
export const fromBlob = (blob: Buffer): Float32Array => {
  if (blob.byteLength >= 12 && blob.readUInt32LE(0) === SPARSE_MAGIC) {
    const length = blob.readUInt32LE(4);
    const count = blob.readUInt32LE(8);
    if (blob.byteLength === 12 + count * 8) {
      const vector = new Float32Array(length);
      for (let cursor = 0; cursor < count; cursor += 1) {
        vector[blob.readUInt32LE(12 + cursor * 4)] = blob.readFloatLE(12 + count * 4 + cursor * 4);
      }
      return vector;
    }
  }
  // Copy: the Buffer may share a pool and not be 4-byte aligned.
  const copy = new Uint8Array(blob.byteLength);
  copy.set(blob);
  return new Float32Array(copy.buffer);
};

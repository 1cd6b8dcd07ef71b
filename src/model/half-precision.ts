/**
 * Conversions between float32 and the two 16-bit float formats checkpoints use: IEEE 754 binary16
 * (`f16`) and bfloat16 (`bf16`, the top half of a float32). Both directions round to nearest even and
 * keep infinities, NaN and subnormals, as PyTorch does.
 */

const float32Scratch = new Float32Array(1);
const uint32Scratch = new Uint32Array(float32Scratch.buffer);

/** The float32 bits of `value` (after rounding it to float32). */
export function float32Bits(value: number): number {
  float32Scratch[0] = value;
  return uint32Scratch[0] ?? 0;
}

/** The float32 whose bits are `bits` (an unsigned 32-bit integer). */
export function float32FromBits(bits: number): number {
  uint32Scratch[0] = bits >>> 0;
  return float32Scratch[0] ?? 0;
}

/** IEEE 754 binary16 bits for a float32, rounding to nearest even; keeps infinities, NaN and subnormals. */
export function float32ToFloat16Bits(value: number): number {
  const bits = float32Bits(value);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    const fullMantissa = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShiftRightEven(fullMantissa, shift);
  }
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | ((halfExponent << 10) + roundShiftRightEven(mantissa, 13));
}

function roundShiftRightEven(value: number, shift: number): number {
  const truncated = value >>> shift;
  const remainder = value & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (remainder > halfway || (remainder === halfway && (truncated & 1) === 1)) return truncated + 1;
  return truncated;
}

/** The float32 value of IEEE 754 binary16 bits (exact: every f16 is a float32). */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** bfloat16 bits for a float32, rounding to nearest even; NaN becomes the quiet NaN 0x7fc0 (as PyTorch). */
export function float32ToBfloat16Bits(value: number): number {
  if (Number.isNaN(value)) return 0x7fc0;
  const bits = float32Bits(value);
  const roundingBias = 0x7fff + ((bits >>> 16) & 1);
  // Unsigned arithmetic: the sum may exceed 2^31, and the carry correctly rounds up to infinity.
  return Math.floor((bits + roundingBias) / 0x10000) & 0xffff;
}

/** The float32 value of bfloat16 bits (exact). */
export function bfloat16BitsToFloat32(bits: number): number {
  return float32FromBits((bits & 0xffff) << 16);
}

/** Decodes little-endian f16 values from `bytes` into `output` (length = bytes / 2). */
export function decodeFloat16(bytes: Uint8Array, output: Float32Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let index = 0; index < output.length; index++)
    output[index] = float16BitsToFloat32(view.getUint16(index * 2, true));
}

/** Decodes little-endian bf16 values from `bytes` into `output` (length = bytes / 2). */
export function decodeBfloat16(bytes: Uint8Array, output: Float32Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const output32 = new Uint32Array(output.buffer, output.byteOffset, output.length);
  for (let index = 0; index < output.length; index++) output32[index] = view.getUint16(index * 2, true) << 16;
}

/** Decodes little-endian f32 values from `bytes` into `output` (length = bytes / 4). */
export function decodeFloat32(bytes: Uint8Array, output: Float32Array): void {
  // Through integer views, so NaN payloads survive bit for bit.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const output32 = new Uint32Array(output.buffer, output.byteOffset, output.length);
  for (let index = 0; index < output.length; index++) output32[index] = view.getUint32(index * 4, true);
}

/** Encodes `values` as little-endian f32, f16 or bf16 bytes. */
export function encodeFloats(values: Float32Array, format: "f32" | "f16" | "bf16"): Uint8Array {
  const width = format === "f32" ? 4 : 2;
  const bytes = new Uint8Array(values.length * width);
  const view = new DataView(bytes.buffer);
  if (format === "f32") {
    const values32 = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let index = 0; index < values.length; index++) view.setUint32(index * 4, values32[index] ?? 0, true);
  } else if (format === "f16") {
    for (let index = 0; index < values.length; index++) {
      view.setUint16(index * 2, float32ToFloat16Bits(values[index] ?? 0), true);
    }
  } else {
    for (let index = 0; index < values.length; index++) {
      view.setUint16(index * 2, float32ToBfloat16Bits(values[index] ?? 0), true);
    }
  }
  return bytes;
}

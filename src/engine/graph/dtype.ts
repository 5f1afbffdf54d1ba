// The element types a graph tensor may have, and their ONNX / host-array counterparts.

export type DType = "float32" | "float64" | "int64" | "int32" | "uint8" | "bool";

export type FloatDType = "float32" | "float64";

export const isFloat = (d: DType): d is FloatDType => d === "float32" || d === "float64";

/** ONNX TensorProto.DataType codes. */
export const onnxDTypeCode: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
};

export type HostArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export function allocHostArray(dtype: DType, size: number): HostArray {
  switch (dtype) {
    case "float32": return new Float32Array(size);
    case "float64": return new Float64Array(size);
    case "int64": return new BigInt64Array(size);
    case "int32": return new Int32Array(size);
    case "uint8": case "bool": return new Uint8Array(size);
  }
}

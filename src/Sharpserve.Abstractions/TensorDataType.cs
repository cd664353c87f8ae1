namespace Sharpserve.Abstractions;

/// <summary>Element types of the Open Inference Protocol (v2), in the protocol's own spelling.</summary>
public enum TensorDataType
{
    Bool,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Int8,
    Int16,
    Int32,
    Int64,
    Fp16,
    Fp32,
    Fp64,
    Bytes,
}

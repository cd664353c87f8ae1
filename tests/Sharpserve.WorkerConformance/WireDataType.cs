namespace Sharpserve.WorkerConformance;

/// <summary>Tensor datatype codes as docs/worker-protocol.md numbers them (the OIP datatypes, in this order).</summary>
public enum WireDataType : byte
{
    Bool = 0,
    UInt8 = 1,
    UInt16 = 2,
    UInt32 = 3,
    UInt64 = 4,
    Int8 = 5,
    Int16 = 6,
    Int32 = 7,
    Int64 = 8,
    Fp16 = 9,
    Fp32 = 10,
    Fp64 = 11,
    Bytes = 12,
}

import CKernels

/// `dst[i] = (u(seed, start + i) >= p) ? src[i] · scale : 0` for `i < count` with AVX-512F, eight
/// elements per step, where `u` is the dropout mask's counter-based uniform (`DropoutMask` in Autodiff:
/// SplitMix64's mixer of `seed + index·0x9E3779B97F4A7C15`, top 24 bits). Integer hashing and one fp32
/// multiply, so it equals the scalar loop bit for bit. `src` may be `dst`. Only where
/// `CPUInfo.current.avx512f`.
public func dropoutMaskAVX512(seed: UInt64, start: Int, p: Float, scale: Float, _ src: UnsafePointer<Float>,
                              _ dst: UnsafeMutablePointer<Float>, count: Int) {
    precondition(CPUInfo.current.avx512f, "dropoutMaskAVX512 needs AVX-512F")
    ck_dropout_avx512(seed, UInt64(start), p, scale, src, dst, count)
}

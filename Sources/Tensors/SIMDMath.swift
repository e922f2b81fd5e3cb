/// SIMD helpers. Stdlib `pointwiseMin/Max` on SIMD16 compile to scalar loops (docs/architecture.md, Swift performance facts), so
/// min/max are written as compare + blend; `exp` is a Cephes-style polynomial (max rel. error ~1.2e-7)
/// because Foundation's `exp` is scalar glibc at 3.5 ns/element.

public typealias V16 = SIMD16<Float>

@inlinable @inline(__always) public func load16(_ p: UnsafePointer<Float>) -> V16 {
    UnsafeRawPointer(p).loadUnaligned(as: V16.self)
}
@inlinable @inline(__always) public func store16(_ p: UnsafeMutablePointer<Float>, _ v: V16) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V16.self)
}
@inlinable @inline(__always) public func vmax(_ a: V16, _ b: V16) -> V16 { a.replacing(with: b, where: a .< b) }
@inlinable @inline(__always) public func vmin(_ a: V16, _ b: V16) -> V16 { a.replacing(with: b, where: b .< a) }

/// e^x for 16 lanes; inputs are clamped to [-87, 88] (so e^-inf gives ~1e-38, never NaN).
@inlinable @inline(__always) public func exp16(_ x0: V16) -> V16 {
    let x = vmin(vmax(x0, V16(repeating: -87)), V16(repeating: 88))
    let magic = V16(repeating: 12582912.0)  // 1.5·2^23: adding it rounds to the nearest integer
    let tm = x * 1.44269504088896341 + magic
    let n = tm - magic
    var r = x - n * 0.693359375
    r = r - n * -2.12194440e-4
    var p = V16(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * (r * r) + r + 1
    let ti = unsafeBitCast(tm, to: SIMD16<Int32>.self) &- Int32(bitPattern: magic[0].bitPattern)
    return p * unsafeBitCast((ti &+ 127) &<< 23, to: V16.self)
}

/// Scalar e^x with the same polynomial as `exp16`, so tails of vector loops agree with their bodies.
@inlinable @inline(__always) public func expScalar(_ x: Float) -> Float {
    exp16(V16(repeating: x))[0]
}

/// Σ a[i]·b[i] in Float with 16-lane partial sums (a fixed summation order: deterministic).
@inlinable @inline(__always) public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = V16(repeating: 0)
    var i = 0
    while i + 16 <= n {
        acc += load16(a + i) * load16(b + i)
        i += 16
    }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// `y[i] += alpha · x[i]`.
@inlinable @inline(__always) public func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    let a = V16(repeating: alpha)
    while i + 16 <= n {
        store16(y + i, load16(y + i) + a * load16(x + i))
        i += 16
    }
    while i < n { y[i] += alpha * x[i]; i += 1 }
}

/// `y[i] = x[i] · s`.
@inlinable @inline(__always) public func scale(_ x: UnsafePointer<Float>, _ s: Float, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    let v = V16(repeating: s)
    while i + 16 <= n {
        store16(y + i, load16(x + i) * v)
        i += 16
    }
    while i < n { y[i] = x[i] * s; i += 1 }
}

/// Sets every denormal of `x` (magnitude below 2⁻¹²⁶) to zero of the same sign, working on the bits
/// only. A product with a denormal operand costs a microcode assist on x86 (about a hundred times an
/// ordinary one), so a GEMM over a softmax of a large vocabulary — most of whose probabilities are far
/// below 2⁻¹²⁶ — ran tens of times slower than its rate (docs/precision.md, "Denormals").
@inlinable public func flushDenormalsToZero(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    x.withMemoryRebound(to: UInt32.self, capacity: n) { b in
        let exponent = SIMD16<UInt32>(repeating: 0x7F80_0000), sign = SIMD16<UInt32>(repeating: 0x8000_0000)
        var i = 0
        while i + 16 <= n {
            let v = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<UInt32>.self)
            let flushed = v.replacing(with: v & sign, where: (v & exponent) .== 0)
            UnsafeMutableRawPointer(b + i).storeBytes(of: flushed, as: SIMD16<UInt32>.self)
            i += 16
        }
        while i < n {
            if b[i] & 0x7F80_0000 == 0 { b[i] &= 0x8000_0000 }
            i += 1
        }
    }
}

/// max of `n > 0` floats.
@inlinable @inline(__always) public func maxElement(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var m = -Float.infinity
    var i = 0
    if n >= 16 {
        var acc = load16(x)
        i = 16
        while i + 16 <= n { acc = vmax(acc, load16(x + i)); i += 16 }
        for l in 0..<16 where acc[l] > m { m = acc[l] }
    }
    while i < n { if x[i] > m { m = x[i] }; i += 1 }
    return m
}

/// `x[i] = exp(x[i] - shift)` in place; returns Σ of the results (fixed order).
@inlinable @inline(__always) public func expShiftSum(_ x: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
    var acc = V16(repeating: 0)
    let s = V16(repeating: shift)
    var i = 0
    while i + 16 <= n {
        let e = exp16(load16(x + i) - s)
        store16(x + i, e)
        acc += e
        i += 16
    }
    var total = acc.sum()
    while i < n {
        let e = expScalar(x[i] - shift)
        x[i] = e
        total += e
        i += 1
    }
    return total
}

import Seeds
import XCTest

final class SeedsTests: XCTestCase {
    /// Value i of the counter-based stream is output i of SplitMix64 started one increment earlier
    /// (whose outputs are checked against the reference implementation in EpochOrderTests).
    func testCounterUniformIsSplitMix64Indexed() {
        for seed: UInt64 in [0, 1, 42, 0xDEAD_BEEF_0123_4567] {
            var rng = SplitMix64(seed: seed &- 0x9E37_79B9_7F4A_7C15)
            for i in 0..<100 {
                XCTAssertEqual(counterUniform(seed: seed, index: i), Float(rng.next() >> 40) / 16_777_216, "seed \(seed) index \(i)")
            }
        }
    }

    func testCounterUniformStaysInTheUnitInterval() {
        for i in 0..<100_000 {
            let u = counterUniform(seed: 7, index: i)
            XCTAssertTrue(u >= 0 && u < 1)
        }
    }

    /// Neighbouring bases and parts give distinct seeds, and the parts' order matters.
    func testDerivedSeedsAreDistinct() {
        var seen = Set<UInt64>()
        for base: UInt64 in 0..<8 {
            for layer in 0..<16 {
                for projection in 0..<7 { seen.insert(deriveSeed(base, layer, projection)) }
            }
        }
        XCTAssertEqual(seen.count, 8 * 16 * 7)
        XCTAssertNotEqual(deriveSeed(1, 2, 3), deriveSeed(1, 3, 2))
        XCTAssertNotEqual(deriveSeed(1, 2), deriveSeed(1, 2, 0))
        XCTAssertEqual(deriveSeed(5, 1, 2), deriveSeed(5, 1, 2))
    }
}

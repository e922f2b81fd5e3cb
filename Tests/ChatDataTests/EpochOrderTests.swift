import Seeds
import XCTest
@testable import ChatData

final class EpochOrderTests: XCTestCase {
    func testSplitMix64ReferenceValues() {
        // Outputs of the reference splitmix64.c (Vigna) for seed 1234567.
        var rng = SplitMix64(seed: 1_234_567)
        XCTAssertEqual((0..<5).map { _ in rng.next() },
                       [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                        4_593_380_528_125_082_431, 16_408_922_859_458_223_821])
    }

    func testBoundedDrawsStayInRange() {
        var rng = SplitMix64(seed: 7)
        for bound in [1, 2, 3, 7, 1000, 1 << 40] as [UInt64] {
            for _ in 0..<200 { XCTAssertLessThan(rng.next(below: bound), bound) }
        }
        XCTAssertEqual(rng.next(below: 0), 0)
    }

    func testOrderIsAPermutation() {
        for count in [0, 1, 2, 10, 1000] {
            let order = epochOrder(count: count, seed: 42, epoch: 3)
            XCTAssertEqual(order.sorted(), Array(0..<count))
        }
    }

    func testDeterministicAndDifferentAcrossEpochsAndSeeds() {
        let a = epochOrder(count: 500, seed: 1, epoch: 0)
        XCTAssertEqual(a, epochOrder(count: 500, seed: 1, epoch: 0))
        XCTAssertNotEqual(a, epochOrder(count: 500, seed: 1, epoch: 1))
        XCTAssertNotEqual(a, epochOrder(count: 500, seed: 2, epoch: 0))
        XCTAssertNotEqual(a, Array(0..<500))
        // Epoch e of seed s must not equal epoch e+1 of a neighbouring seed (no trivial seed+epoch mixing).
        XCTAssertNotEqual(epochOrder(count: 500, seed: 2, epoch: 0), epochOrder(count: 500, seed: 1, epoch: 1))
    }

    func testFisherYatesIsRoughlyUniform() {
        // 6000 shuffles of 3 items: each of the 6 permutations should appear ~1000 times.
        var counts: [[Int]: Int] = [:]
        for epoch in 0..<6000 { counts[epochOrder(count: 3, seed: 99, epoch: epoch), default: 0] += 1 }
        XCTAssertEqual(counts.count, 6)
        for (_, n) in counts { XCTAssertTrue((850...1150).contains(n), "\(counts)") }
    }

    func testFNV1aReference() {
        // Published FNV-1a 64 test vectors.
        XCTAssertEqual(fnv1a64(""), 0xCBF2_9CE4_8422_2325)
        XCTAssertEqual(fnv1a64("a"), 0xAF63_DC4C_8601_EC8C)
        XCTAssertEqual(fnv1a64("foobar"), 0x8594_4171_F739_67E8)
    }
}

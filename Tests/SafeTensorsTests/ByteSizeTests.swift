import SafeTensors
import XCTest

final class ByteSizeTests: XCTestCase {
    func testDecimalAndBinaryUnits() throws {
        XCTAssertEqual(try parseByteSize("5GB"), 5_000_000_000)  // HF default shard size
        XCTAssertEqual(try parseByteSize("500MB"), 500_000_000)
        XCTAssertEqual(try parseByteSize("2GiB"), 2_147_483_648)
        XCTAssertEqual(try parseByteSize("1000"), 1000)
        XCTAssertEqual(try parseByteSize("64KB"), 64_000)
        XCTAssertEqual(try parseByteSize("3KiB"), 3072)
        XCTAssertEqual(try parseByteSize("1MiB"), 1_048_576)
        XCTAssertEqual(try parseByteSize("2TB"), 2_000_000_000_000)
        XCTAssertEqual(try parseByteSize("1TiB"), 1_099_511_627_776)
        XCTAssertEqual(try parseByteSize("12B"), 12)
    }

    func testCaseSpacesAndFractions() throws {
        XCTAssertEqual(try parseByteSize(" 10 gb "), 10_000_000_000)
        XCTAssertEqual(try parseByteSize("1.5GB"), 1_500_000_000)
        XCTAssertEqual(try parseByteSize("0.5GiB"), 536_870_912)
        XCTAssertEqual(try parseByteSize("2.0005KB"), 2000)  // truncated to whole bytes, as int() does
    }

    func testRejectsNonsense() {
        for text in ["", "GB", "5XB", "-1GB", "0", "0MB", "1.2.3GB", "5 G B", "99999999999999999999", "9999999999TB", "five"] {
            assertSafeTensorsError(try parseByteSize(text), mentions: ["'\(text)'"]) {
                if case .invalidByteSize(text, _) = $0 { return true } else { return false }
            }
        }
    }
}

import XCTest
@testable import ChatData

final class TrimTests: XCTestCase {
    /// Python's str.isspace() set, written out from the Python docs / golden README (not from the code).
    let pythonSpaces: [UInt32] = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
                                  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
                                  0x2028, 0x2029, 0x202F, 0x205F, 0x3000]

    func testTableHasTheDocumentedCodePoints() {
        XCTAssertEqual(pythonSpaces.count, 29)
        for value in 0...0x3100 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            XCTAssertEqual(isPythonSpace(scalar), pythonSpaces.contains(UInt32(value)), "U+\(String(value, radix: 16))")
        }
    }

    func testStripsEveryPythonSpaceAtBothEnds() {
        for value in pythonSpaces {
            let s = String(Unicode.Scalar(value)!)
            XCTAssertEqual(pythonStrip(s + "a b" + s + s), "a b", "U+\(String(value, radix: 16))")
        }
    }

    func testKeepsNonPythonSpacesAndInterior() {
        // U+200B ZERO WIDTH SPACE, U+FEFF BOM and U+180E MONGOLIAN VOWEL SEPARATOR are not isspace().
        for value: UInt32 in [0x200B, 0xFEFF, 0x180E] {
            let s = String(Unicode.Scalar(value)!)
            XCTAssertEqual(pythonStrip(s + "x" + s), s + "x" + s)
        }
        XCTAssertEqual(pythonStrip("  a \n\t b  "), "a \n\t b")
        XCTAssertEqual(pythonStrip(""), "")
        XCTAssertEqual(pythonStrip(" \n\t\u{3000}\u{1F}"), "")
    }

    func testCRLFAndCombiningMarksAreHandledPerScalar() {
        // "\r\n" is one Character in Swift but two scalars; both are stripped.
        XCTAssertEqual(pythonStrip("\r\nx\r\n"), "x")
        // A combining mark after trailing text is not whitespace and stays.
        XCTAssertEqual(pythonStrip("e\u{301} "), "e\u{301}")
    }
}

import Foundation
import SafeTensors
import XCTest

/// A scratch folder per test case, removed afterwards.
final class ScratchDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    /// Writes raw bytes and returns the path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// A safetensors file from header text: 8-byte little-endian length (the header's own length unless
    /// `declaredLength` overrides it), the header, then `dataBytes` bytes of data (0, 1, 2, …).
    @discardableResult
    func safetensors(_ name: String, header: String, dataBytes: Int, declaredLength: UInt64? = nil) throws -> String {
        let h = Array(header.utf8)
        var bytes = withUnsafeBytes(of: (declaredLength ?? UInt64(h.count)).littleEndian) { Array($0) }
        bytes += h
        bytes += (0..<dataBytes).map { UInt8(truncatingIfNeeded: $0) }
        return try write(name, bytes)
    }

    func contents(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }

    func listing() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }
}

/// Asserts that `body` throws a ``SafeTensorsError`` for which `matches` is true, and that its message
/// names every string in `mentions` (the file path, the tensor…).
func assertSafeTensorsError<T>(
    _ body: @autoclosure () throws -> T, mentions: [String] = [],
    file: StaticString = #filePath, line: UInt = #line,
    _ matches: (SafeTensorsError) -> Bool
) {
    do {
        _ = try body()
        XCTFail("expected an error, but the call succeeded", file: file, line: line)
    } catch let error as SafeTensorsError {
        XCTAssertTrue(matches(error), "unexpected error case: \(error)", file: file, line: line)
        let message = error.errorDescription ?? ""
        for m in mentions {
            XCTAssertTrue(message.contains(m), "message does not mention '\(m)': \(message)", file: file, line: line)
        }
    } catch {
        XCTFail("expected SafeTensorsError, got \(error)", file: file, line: line)
    }
}

import Foundation
import Rulebook
@testable import RulebookCompiler
import Testing

/// Support for `Scripts/measure-swift-compile.sh`: with `RULEBOOK_MEASURE_OUT=DIR` and
/// `RULEBOOK_MEASURE_COUNTS=100,1000,10000` the test writes the Swift emitted for that many synthetic
/// records to `DIR/<count>/`. It always checks, on a smaller set, that the emitted data decodes back to
/// the records and measures emitting and decoding.
@Suite struct EmitterMeasurementTests {
    /// The JSON-lines payload of an emitted `RulebookData.swift`, as the compiler would read the literal.
    static func embeddedPayload(_ dataFile: String) throws -> String {
        let lines = dataFile.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.hasPrefix("private let rulebookEmbeddedRecords = ") })
        let opener = lines[start].dropFirst("private let rulebookEmbeddedRecords = ".count)
        let hashes = opener.prefix { $0 == "#" }
        #expect(opener == hashes + "\"\"\"")
        let end = try #require(lines[(start + 1)...].firstIndex { $0 == "\"\"\"" + hashes })
        return lines[(start + 1)..<end].joined(separator: "\n")
    }

    @Test func emittedDataDecodesBackToTheRecords() throws {
        let records = SyntheticRecords.make(count: 2000)
        let clock = ContinuousClock()
        var files: [GeneratedFile] = []
        let emitTime = clock.measure { files = SwiftEmitter.emit(records, accessLevel: .public) }
        let data = try #require(files.first { $0.path == "RulebookData.swift" })
        let payload = try Self.embeddedPayload(data.contents)
        var decoded: [CodeRecord] = []
        let decodeTime = try clock.measure { decoded = try EmbeddedRuleData.decodeRecords(jsonLines: payload) }
        let expected = JSONEmitter.canonicalOrder(records).map { records[$0] }
        #expect(decoded == expected)
        print("emit 2000 records: \(emitTime), decode (debug build): \(decodeTime), "
            + "data file \(data.contents.utf8.count / 1024) KiB")

        if let folder = ProcessInfo.processInfo.environment["RULEBOOK_MEASURE_OUT"] {
            let counts = (ProcessInfo.processInfo.environment["RULEBOOK_MEASURE_COUNTS"] ?? "100,1000,10000")
                .split(separator: ",").compactMap { Int($0) }
            for count in counts {
                let directory = URL(fileURLWithPath: folder).appendingPathComponent("\(count)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                let synthetic = SyntheticRecords.make(count: count)
                for file in SwiftEmitter.emit(synthetic, accessLevel: .public) {
                    try Data(file.contents.utf8).write(to: directory.appendingPathComponent(file.path))
                }
                try Data(JSONEmitter.bundle(synthetic).utf8).write(to: directory.appendingPathComponent("bundle.json"))
            }
        }
    }
}

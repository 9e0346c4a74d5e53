import Foundation
import Rulebook
@testable import RulebookCompiler
import Testing

/// Support for `Scripts/measure-swift-compile.sh`: with `RULEBOOK_MEASURE_OUT=DIR` and
/// `RULEBOOK_MEASURE_COUNTS=100,1000,10000` the test writes the Swift emitted for that many records to
/// `DIR/<count>/` (every file: the main file and the shards): the records of `seeds/` compiled by the real pipeline, repeated under new codes and paths
/// (`RULEBOOK_MEASURE_RECORDS=synthetic` uses `SyntheticRecords` instead; `RULEBOOK_MEASURE_SHARDS=1` writes
/// one data file, the shape before sharding). It always checks, on a smaller
/// set, that the emitted data decodes back to the records.
@Suite struct EmitterMeasurementTests {
    static let seedsFolder = EmitterFixtures.fixturesFolder
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("seeds")

    /// The records of the seed documents.
    static func seedRecords() throws -> [CodeRecord] {
        let names = try FileManager.default.contentsOfDirectory(atPath: seedsFolder.path).sorted()
        return names.filter { $0.hasSuffix(".md") || $0.hasSuffix(".txt") }.compactMap { name in
            Pipeline.compile(fileAt: seedsFolder.appendingPathComponent(name), displayPath: "seeds/" + name).record
        }
    }

    /// `count` records made from `seeds` in turn, each with its own code and document path.
    static func seedLike(_ seeds: [CodeRecord], count: Int) -> [CodeRecord] {
        (0..<count).map { number in
            var record = seeds[number % seeds.count]
            let path = "corpus/\(String(format: "%05d", number))-" + (record.source.path.split(separator: "/").last ?? "")
            record.code = record.system == .cpt ? String(10000 + number) : "J" + String(format: "%05d", number)
            func move(_ location: inout Rulebook.SourceLocation) { location.path = path }
            move(&record.source)
            for index in record.modifiers.indices { move(&record.modifiers[index].source) }
            for index in record.payers.indices { move(&record.payers[index].source) }
            for index in record.policyUpdates.indices { move(&record.policyUpdates[index].source) }
            for index in record.examples.indices { move(&record.examples[index].source) }
            for index in record.sections.indices { move(&record.sections[index].source) }
            return record
        }
    }

    /// The JSON-lines payload of an emitted data file (`RulebookData.swift`, `RulebookData-007.swift`), as the
    /// compiler would read the literal.
    static func embeddedPayload(_ dataFile: String, name: String = "rulebookEmbeddedRecords") throws -> String {
        // `    let rulebookEmbeddedRecords007: String = #"""`: the name ends with the shard's number.
        let lines = dataFile.split(separator: "\n", omittingEmptySubsequences: false)
        let declaration = try Regex("^    let \(name)[0-9]{3}: String = ")
        let start = try #require(lines.firstIndex { $0.prefixMatch(of: declaration) != nil })
        let opener = try #require(lines[start].split(separator: " = ", maxSplits: 1).last)
        let hashes = opener.prefix { $0 == "#" }
        #expect(opener == hashes + "\"\"\"")
        let end = try #require(lines[(start + 1)...].firstIndex { $0 == "\"\"\"" + hashes })
        return lines[(start + 1)..<end].joined(separator: "\n")
    }

    @Test func emittedDataDecodesBackToTheRecords() throws {
        let seeds = try Self.seedRecords()
        try #require(seeds.count >= 10, "the seed documents should compile")
        let records = Self.seedLike(seeds, count: 500) + SyntheticRecords.make(count: 500)
        let clock = ContinuousClock()
        var files: [GeneratedFile] = []
        let emitTime = clock.measure { files = SwiftEmitter.emit(records, accessLevel: .public) }
        // 1,000 documents: 16 shards (EmbeddedShards.shardCount), each decoding to its part of the records.
        #expect(files.map(\.path) == SwiftEmitter.fileNames(shardCount: 16))
        let data = files.filter { $0.path != SwiftEmitter.mainFileName }
        let payloads = try data.map { try Self.embeddedPayload($0.contents) }
        var decoded: [CodeRecord] = []
        let decodeTime = try clock.measure {
            decoded = try payloads.flatMap { try EmbeddedRuleData.decodeRecords(jsonLines: $0) }
        }
        let expected = JSONEmitter.canonicalOrder(records).map { records[$0] }
        #expect(decoded == SwiftEmitter.shards(records, count: 16).flatMap { $0 })
        #expect(Set(decoded) == Set(expected) && decoded.count == expected.count)
        print("emit 1000 records: \(emitTime), decode (debug build): \(decodeTime), "
            + "data files \(data.reduce(0) { $0 + $1.contents.utf8.count } / 1024) KiB in \(data.count) shards")

        if let folder = ProcessInfo.processInfo.environment["RULEBOOK_MEASURE_OUT"] {
            let counts = (ProcessInfo.processInfo.environment["RULEBOOK_MEASURE_COUNTS"] ?? "100,1000,10000")
                .split(separator: ",").compactMap { Int($0) }
            for count in counts {
                let directory = URL(fileURLWithPath: folder).appendingPathComponent("\(count)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                let synthetic = ProcessInfo.processInfo.environment["RULEBOOK_MEASURE_RECORDS"] == "synthetic"
                    ? SyntheticRecords.make(count: count) : Self.seedLike(seeds, count: count)
                // RULEBOOK_MEASURE_SHARDS=N: N data files instead of EmbeddedShards.shardCount(documents: count).
                let shards = ProcessInfo.processInfo.environment["RULEBOOK_MEASURE_SHARDS"].flatMap { Int($0) }
                    ?? EmbeddedShards.shardCount(documents: count)
                for file in SwiftEmitter.emit(synthetic, accessLevel: .public, sourcePaths: synthetic.map(\.source.path),
                                              shardCount: shards) {
                    try Data(file.contents.utf8).write(to: directory.appendingPathComponent(file.path))
                }
                try Data(JSONEmitter.bundle(synthetic).utf8).write(to: directory.appendingPathComponent("bundle.json"))
            }
        }
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import Rulebook
@testable import RulebookCompiler

/// The splice path of an incremental run (`Generator.splice`): one record replaced in a Swift shard file
/// gives the bytes the emitter writes for the new records, and runs that splice leave the output folder
/// and report the diagnostics exactly as a full run does — or fall back to the usual path.
@Suite(.serialized) struct SpliceTests {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-splice-\(UUID().uuidString)")

    /// For each record of a shard, replaced by an edited copy (other modifiers, text needing a longer raw
    /// string delimiter, an empty table): the spliced file equals the emitter's file for the new records.
    @Test func splicedShardEqualsTheEmittedShard() throws {
        let seeds = try EmitterMeasurementTests.seedRecords()
        let records = EmitterMeasurementTests.seedLike(seeds, count: 40)
        let count = 2
        let shards = SwiftEmitter.shards(records, count: count)
        var checked = 0
        for (number, members) in shards.enumerated() where !members.isEmpty {
            let header = SwiftEmitter.headerLines(sourcePaths: members.map(\.source.path))
            let old = Array(SwiftEmitter.shardFile(number: number, count: count, records: members, access: "public", header: header).utf8)
            for position in members.indices {
                var edited = members[position]
                switch position % 4 {
                case 0:
                    edited.modifiers = Array(edited.modifiers.dropFirst())
                case 1:
                    edited.summary = "\"#\"## a summary that needs ### delimiters \"\"\"#"
                    edited.title += " \"\"\"##"
                case 2:
                    edited.modifiers = []
                    edited.payers = []
                default:
                    edited.sections.append(SectionText(heading: ["Notes"], text: "A longer section.\n\"#\" and ä ü \u{1F600}",
                                                       source: edited.source))
                }
                var newMembers = members
                newMembers[position] = edited
                let expected = SwiftEmitter.shardFile(number: number, count: count, records: newMembers, access: "public", header: header)
                let line = JSONEmitter.bundleAndDataLine(edited).line
                let spliced = try #require(SwiftEmitter.splicedShard(old, number: number, record: edited, line: line),
                                           "shard \(number), record \(position)")
                #expect(String(decoding: spliced, as: UTF8.self) == expected, "shard \(number), record \(position)")
                // Spliced twice (a second record of the same shard in the same run).
                if position > 0 {
                    var twice = newMembers
                    var other = members[0]
                    other.title += " again"
                    twice[0] = other
                    let second = try #require(SwiftEmitter.splicedShard(spliced, number: number, record: other,
                                                                          line: JSONEmitter.bundleAndDataLine(other).line))
                    #expect(String(decoding: second, as: UTF8.self)
                            == SwiftEmitter.shardFile(number: number, count: count, records: twice, access: "public", header: header))
                }
                checked += 1
            }
            // A record of another code, a file of another shard, or a damaged file: nil, never a wrong file.
            var stranger = members[0]
            stranger.code = "99999X"
            #expect(SwiftEmitter.splicedShard(old, number: number, record: stranger, line: JSONEmitter.bundleAndDataLine(stranger).line) == nil)
            #expect(SwiftEmitter.splicedShard(old, number: number + 1, record: members[0], line: JSONEmitter.bundleAndDataLine(members[0]).line) == nil)
            #expect(SwiftEmitter.splicedShard(Array(old.prefix(old.count / 2)), number: number, record: members[0],
                                              line: JSONEmitter.bundleAndDataLine(members[0]).line) == nil)
        }
        #expect(checked == records.count)
    }

    func generate(_ corpus: URL, output: String, incremental: Bool = true, check: Bool = false) -> (outcome: GenerateOutcome, files: [String: Data]) {
        var options = GenerateOptions()
        options.inputs = [corpus.path]
        options.output = work.appendingPathComponent(output).path
        options.incremental = incremental
        options.cacheDirectory = work.appendingPathComponent("cache").path
        options.check = check
        let outcome = Generator.run(options)
        return (outcome, GeneratedCorpus.snapshot(URL(fileURLWithPath: options.output)))
    }

    /// The incremental run into "out" against a full run into a fresh folder.
    func expectSameAsFull(_ corpus: URL, _ step: String, strategy: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let incremental = generate(corpus, output: "out")
        let fresh = "full-\(UUID().uuidString)"
        let full = generate(corpus, output: fresh, incremental: false)
        defer { try? FileManager.default.removeItem(at: work.appendingPathComponent(fresh)) }
        #expect(incremental.outcome.strategy == strategy, "\(step): strategy", sourceLocation: sourceLocation)
        #expect(incremental.files == full.files,
                "\(step): differs in \(full.files.keys.filter { full.files[$0] != incremental.files[$0] }.sorted().prefix(5))",
                sourceLocation: sourceLocation)
        #expect(incremental.outcome.diagnostics == full.outcome.diagnostics, "\(step): diagnostics", sourceLocation: sourceLocation)
        #expect(incremental.outcome.summary == full.outcome.summary, "\(step): summary", sourceLocation: sourceLocation)
        // The next run finds everything as recorded (the stamp's result was updated), and --check agrees.
        let again = generate(corpus, output: "out", check: true)
        #expect(again.outcome.staleFiles.isEmpty && again.outcome.diagnostics == full.outcome.diagnostics,
                "\(step): --check after it", sourceLocation: sourceLocation)
    }

    @Test func spliceRunsMatchFullRuns() throws {
        let corpus = try GeneratedCorpus.write(count: 150, seed: 11)
        defer {
            try? FileManager.default.removeItem(at: corpus)
            try? FileManager.default.removeItem(at: work)
        }
        // The seeds give warnings (an unknown modifier, notes) and carry claim examples of their own codes.
        let seeds = RulebookProcess.packageRoot.appendingPathComponent("seeds")
        for seed in try FileManager.default.contentsOfDirectory(at: seeds, includingPropertiesForKeys: nil) {
            try FileManager.default.copyItem(at: seed, to: corpus.appendingPathComponent("zz-" + seed.lastPathComponent))
        }
        // A document whose path needs escaping in JSON and in Swift comments.
        let odd = corpus.appendingPathComponent("odd \"name\" ä\\b.md")
        try FileManager.default.copyItem(at: try GeneratedCorpus.documents(corpus)[3], to: odd)
        try FileManager.default.removeItem(at: try GeneratedCorpus.documents(corpus)[3])
        Thread.sleep(forTimeInterval: 2.2)  // documents changed less than two seconds before a run are read again
        let documents = try GeneratedCorpus.documents(corpus)
        _ = generate(corpus, output: "out")

        func edit(_ url: URL, _ change: (String) -> String) throws {
            try change(try String(contentsOf: url, encoding: .utf8)).write(to: url, atomically: true, encoding: .utf8)
        }
        // One paragraph appended.
        try edit(documents[10]) { $0 + "\nA paragraph appended about billing.\n" }
        expectSameAsFull(corpus, "appended paragraph", strategy: "splice")
        // A table row removed from one document, text with raw-string delimiters added to another, the
        // odd-named one edited: three records in one run (some in the same shard).
        try edit(documents[20]) { text in
            var lines = text.components(separatedBy: "\n")
            if let row = lines.firstIndex(where: { $0.hasPrefix("| ") && $0.contains("|") && !$0.contains("Modifier") && !$0.contains("---") }) {
                lines.remove(at: row)
            }
            return lines.joined(separator: "\n")
        }
        try edit(documents[21]) { $0 + "\n\"#Quoted\"## \"\"\"# text that needs a longer raw delimiter.\n" }
        try edit(odd) { $0 + "\nMore text.\n" }
        expectSameAsFull(corpus, "three edits", strategy: "splice")
        // A seed's diagnostics change: another unknown modifier row in its table.
        let seed = try #require(documents.first { $0.lastPathComponent.hasPrefix("zz-001_") })
        try edit(seed) { $0.replacingOccurrences(of: "| RT |", with: "| Q9 | Odd modifier | Never |\n| RT |") }
        expectSameAsFull(corpus, "seed with diagnostics", strategy: "splice")
        // Saved again with the same bytes: nothing to write.
        try edit(documents[30]) { $0 }
        expectSameAsFull(corpus, "same bytes", strategy: "unchanged")
        // A changed title changes the index: the usual delta path.
        // (A Markdown document whose first line is its `# CPT …: title` heading, not front matter.)
        let headed = documents[40...].filter { document in
            document.pathExtension == "md" && !document.lastPathComponent.hasPrefix("zz-")
                && ((try? String(contentsOf: document, encoding: .utf8))?.hasPrefix("# ") ?? false)
        }
        let titled = try #require(headed.first)
        try edit(titled) { text in
            guard let range = text.range(of: "\n") else { return text }
            return String(text[..<range.lowerBound]) + " (revised)" + text[range.lowerBound...]
        }
        expectSameAsFull(corpus, "title changed", strategy: "delta")
        // The same title with "é" written as "e" and a combining accent: equal as Swift strings, other bytes
        // in index.json — not a splice (which keeps the index), and the output is a full run's.
        try edit(titled) { text in
            guard let range = text.range(of: "\n") else { return text }
            return String(text[..<range.lowerBound]) + " Révisé" + text[range.lowerBound...]
        }
        expectSameAsFull(corpus, "accented title", strategy: "delta")
        try edit(titled) { text in
            String(decoding: Array(text.utf8).split(separator: 0xC3, omittingEmptySubsequences: false).enumerated()
                .map { $0.offset == 0 ? Array($0.element) : [0x65, 0xCC, 0x81] + $0.element.dropFirst() }
                .joined(), as: UTF8.self)
        }
        #expect(try String(contentsOf: titled, encoding: .utf8).utf8.contains(0xCC), "decomposed accents written")
        expectSameAsFull(corpus, "decomposed accents", strategy: "delta")
        // A tampered output: the stamp no longer vouches for the folder, so no splice.
        try edit(documents[50]) { $0 + "\nAnother paragraph.\n" }
        let bundles = try FileManager.default.contentsOfDirectory(at: work.appendingPathComponent("out/JSON"), includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent.hasPrefix("cpt-") }.sorted { $0.path < $1.path }
        try Data("{}\n".utf8).write(to: bundles[0])
        expectSameAsFull(corpus, "tampered output", strategy: "general")
    }

    /// A splice killed after renaming its files but before the manifest (and the build stamp) were
    /// replaced: the folder holds the new bundle and shard under the old manifest and stamp. The next run
    /// notices (the outputs' identities differ from the stamp's) and repairs the folder as a full run would.
    @Test func spliceKilledBeforeTheManifest() throws {
        let corpus = try GeneratedCorpus.write(count: 80, seed: 5)
        defer {
            try? FileManager.default.removeItem(at: corpus)
            try? FileManager.default.removeItem(at: work)
        }
        Thread.sleep(forTimeInterval: 2.2)
        _ = generate(corpus, output: "out")
        let manifest = work.appendingPathComponent("out/" + OutputWriter.manifestName)
        let cache = work.appendingPathComponent("cache")
        let stamps = try FileManager.default.contentsOfDirectory(at: cache, includingPropertiesForKeys: nil)
        #expect(stamps.count == 1)
        let oldManifest = try Data(contentsOf: manifest)
        let oldStamp = try Data(contentsOf: stamps[0])
        let document = try GeneratedCorpus.documents(corpus)[7]
        try (String(contentsOf: document, encoding: .utf8) + "\nA late paragraph.\n").write(to: document, atomically: true, encoding: .utf8)
        let spliced = generate(corpus, output: "out")
        #expect(spliced.outcome.strategy == "splice")
        #expect(spliced.outcome.report?.written.count == 2)
        // The state of a kill between the renames and the manifest.
        try oldManifest.write(to: manifest)
        try oldStamp.write(to: stamps[0])
        // (The delta path verifies every output but the ones it rewrites: the half-written ones.)
        expectSameAsFull(corpus, "after a killed splice", strategy: "delta")
    }
}

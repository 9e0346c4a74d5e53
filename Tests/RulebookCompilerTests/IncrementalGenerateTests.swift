import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RulebookCompiler

/// A corpus written by `Scripts/make-corpus.py` (the benchmark's generator) into a fresh temporary folder.
enum GeneratedCorpus {
    static func write(count: Int, seed: Int = 7) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-corpus-\(UUID().uuidString)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", RulebookProcess.packageRoot.appendingPathComponent("Scripts/make-corpus.py").path,
                             "--count", String(count), "--seed", String(seed), "--out", folder.path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CorpusError() }
        return folder
    }
    struct CorpusError: Error {}

    /// Every file below `folder` (hidden ones too), relative path → bytes.
    static func snapshot(_ folder: URL) -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder.path)
        while let relative = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let url = folder.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[relative] = try? Data(contentsOf: url)
            }
        }
        return files
    }

    static func documents(_ folder: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }
}

/// Incremental runs (documents reused from the output folder's manifest) give the same output folder,
/// byte for byte, and the same diagnostics as a full run, after edits, additions, deletions, renames and
/// a config change; a corrupt build stamp or an edited manifest only means a full run.
@Suite(.serialized) struct IncrementalGenerateTests {
    struct Run {
        var outcome: GenerateOutcome
        var files: [String: Data]
    }

    let work = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-incr-\(UUID().uuidString)")

    func generate(_ corpus: URL, output: String, incremental: Bool, config: String? = nil, check: Bool = false) -> Run {
        var options = GenerateOptions()
        options.inputs = [corpus.path]
        options.output = work.appendingPathComponent(output).path
        options.incremental = incremental
        options.cacheDirectory = work.appendingPathComponent("cache").path
        options.configPath = config
        options.check = check
        options.jobs = 2
        if incremental { options.bundlesOnDemandFrom = 50 }  // also exercises bundles produced on demand
        let outcome = Generator.run(options)
        return Run(outcome: outcome, files: GeneratedCorpus.snapshot(URL(fileURLWithPath: options.output)))
    }

    /// Full run into a fresh folder vs the incremental run into the long-lived one.
    /// `duplicates`: documents involved in a duplicate code (always compiled again).
    func expectSame(_ corpus: URL, step: String, config: String? = nil, duplicates: Int = 0, strategy: String? = nil,
                    expectReused: (Int) -> Bool) {
        let fresh = "full-\(UUID().uuidString)"
        let full = generate(corpus, output: fresh, incremental: false, config: config)
        let incremental = generate(corpus, output: "incremental", incremental: true, config: config)
        #expect(!full.files.isEmpty, "\(step): the full run wrote nothing")
        #expect(full.files == incremental.files, "\(step): output differs: \(Set(full.files.keys).symmetricDifference(incremental.files.keys).sorted().prefix(5)), changed \(full.files.keys.filter { full.files[$0] != incremental.files[$0] }.sorted().prefix(5))")
        #expect(full.outcome.diagnostics == incremental.outcome.diagnostics, "\(step): diagnostics differ")
        // The incremental run compiled (and reports) only the documents that changed.
        #expect(Set(incremental.outcome.records.map(\.source.path)).isSubset(of: full.outcome.records.map(\.source.path)),
                "\(step): records differ")
        #expect(incremental.outcome.records.allSatisfy { full.outcome.records.contains($0) }, "\(step): records differ")
        #expect(full.outcome.summary == incremental.outcome.summary)
        #expect(expectReused(incremental.outcome.reusedDocuments), "\(step): reused \(incremental.outcome.reusedDocuments) documents")
        // (A "delta" step is spliced when the build stamp vouches for the whole output folder: see SpliceTests.)
        if let strategy {
            #expect(incremental.outcome.strategy == strategy || (strategy == "delta" && incremental.outcome.strategy == "splice"),
                    "\(step): strategy \(incremental.outcome.strategy)")
        }
        // --check against the incremental folder passes, and reuses every document.
        let check = generate(corpus, output: "incremental", incremental: true, config: config, check: true)
        #expect(check.outcome.staleFiles.isEmpty, "\(step): --check after the incremental run: \(check.outcome.staleFiles.prefix(5))")
        // (Documents involved in a duplicate are compiled again, unless the build stamp answers: then nothing is.)
        #expect(check.outcome.reusedDocuments == check.outcome.documentCount - (check.outcome.answeredByBuildStamp ? 0 : duplicates),
                "\(step): --check compiled documents again")
        try? FileManager.default.removeItem(at: work.appendingPathComponent(fresh))
    }

    /// A run that finds every input and output exactly as the build stamp recorded them answers from the
    /// stamp (nothing else read) with the recorded diagnostics and counts; any difference in an output,
    /// an output folder or the configuration sends it the usual way.
    @Test func unchangedFolderIsAnsweredFromTheBuildStamp() throws {
        let corpus = try GeneratedCorpus.write(count: 40)
        defer {
            try? FileManager.default.removeItem(at: corpus)
            try? FileManager.default.removeItem(at: work)
        }
        // The seeds give warnings (an unknown modifier, notes): diagnostics must come back from the stamp.
        for seed in try FileManager.default.contentsOfDirectory(at: RulebookProcess.packageRoot.appendingPathComponent("seeds"),
                                                                 includingPropertiesForKeys: nil) {
            try FileManager.default.copyItem(at: seed, to: corpus.appendingPathComponent("zz-" + seed.lastPathComponent))
        }
        // Documents changed less than two seconds before a run are always read again (coarse file times).
        Thread.sleep(forTimeInterval: 2.2)
        let first = generate(corpus, output: "out", incremental: true)
        #expect(!first.outcome.answeredByBuildStamp)
        #expect(first.outcome.diagnostics.contains { $0.severity == .warning })
        let second = generate(corpus, output: "out", incremental: true)
        #expect(second.outcome.answeredByBuildStamp)
        #expect(second.outcome.strategy == "unchanged")
        #expect(second.files == first.files)
        #expect(second.outcome.diagnostics == first.outcome.diagnostics)
        #expect(second.outcome.summary == first.outcome.summary)
        #expect(second.outcome.report?.unchanged.count == first.files.count - 1)  // every output but the manifest
        let check = generate(corpus, output: "out", incremental: true, check: true)
        #expect(check.outcome.answeredByBuildStamp && check.outcome.staleFiles.isEmpty)

        // An output edited with its size and modification time kept: its status-change time differs.
        let bundle = try #require(first.files.keys.filter { $0.hasPrefix("JSON/cpt-") }.sorted().first)
        let url = work.appendingPathComponent("out/" + bundle)
        var info = stat()
        #expect(stat(url.path, &info) == 0)
        var bytes = [UInt8](try Data(contentsOf: url))
        let letter = try #require(bytes.lastIndex(of: UInt8(ascii: "e")))
        bytes[letter] = UInt8(ascii: "x")
        try Data(bytes).write(to: url)
        var times = [info.st_atim, info.st_mtim]
        #expect(utimensat(AT_FDCWD, url.path, &times, 0) == 0)
        let tampered = generate(corpus, output: "out", incremental: true, check: true)
        #expect(!tampered.outcome.answeredByBuildStamp)
        #expect(tampered.outcome.staleFiles == ["stale: " + bundle])
        let repaired = generate(corpus, output: "out", incremental: true)
        #expect(!repaired.outcome.answeredByBuildStamp)
        #expect(repaired.files == first.files)
        #expect(generate(corpus, output: "out", incremental: true).outcome.answeredByBuildStamp)

        // A file added to an output folder (say a leftover temporary file): the folder's identity changed.
        let stray = work.appendingPathComponent("out/Swift/.rulebook-tmp-99-1")
        try Data("half".utf8).write(to: stray)
        let afterStray = generate(corpus, output: "out", incremental: true)
        #expect(!afterStray.outcome.answeredByBuildStamp)
        #expect(!FileManager.default.fileExists(atPath: stray.path))  // the usual path removes leftovers
        #expect(afterStray.files == first.files)

        // Another configuration (access level): the salt differs.
        var options = GenerateOptions()
        options.inputs = [corpus.path]
        options.output = work.appendingPathComponent("out").path
        options.cacheDirectory = work.appendingPathComponent("cache").path
        options.accessLevel = .internal
        let internalRun = Generator.run(options)
        #expect(!internalRun.answeredByBuildStamp)
        #expect(internalRun.strategy != "unchanged")
    }

    @Test func incrementalRunsMatchFullRuns() throws {
        let corpus = try GeneratedCorpus.write(count: 120)
        defer {
            try? FileManager.default.removeItem(at: corpus)
            try? FileManager.default.removeItem(at: work)
        }
        var documents = try GeneratedCorpus.documents(corpus)
        #expect(documents.count == 120)

        // First run: nothing cached.
        expectSame(corpus, step: "first run") { $0 == 0 }
        // No change: everything reused.
        expectSame(corpus, step: "no change", strategy: "unchanged") { $0 == 120 }

        // Outputs changed behind the generator's back (same size, other size, deleted) are restored,
        // although their documents are unchanged and their bundles are not produced unless needed.
        let bundles = try FileManager.default.contentsOfDirectory(at: work.appendingPathComponent("incremental/JSON"),
                                                                   includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent.hasPrefix("cpt-") || $0.lastPathComponent.hasPrefix("hcpcs-") }
            .sorted { $0.path < $1.path }
        #expect(bundles.count >= 100)
        Thread.sleep(forTimeInterval: 0.05)  // a later modification time than the manifest's
        var sameSize = [UInt8](try Data(contentsOf: bundles[0]))
        let quote = try #require(sameSize.lastIndex(of: UInt8(ascii: "e")))
        sameSize[quote] = UInt8(ascii: "x")
        try Data(sameSize).write(to: bundles[0])
        try Data("{}\n".utf8).write(to: bundles[1])
        try FileManager.default.removeItem(at: bundles[2])
        expectSame(corpus, step: "tampered outputs", strategy: "general") { $0 == 120 }

        // Edit one document (append a paragraph) and break another one's table.
        let edited = documents[10]
        try (String(contentsOf: edited, encoding: .utf8) + "\nAn appended paragraph about billing.\n").write(to: edited, atomically: true, encoding: .utf8)
        let broken = documents[20]
        let brokenText = try String(contentsOf: broken, encoding: .utf8)
        try brokenText.replacingOccurrences(of: "|", with: " ").write(to: broken, atomically: true, encoding: .utf8)
        expectSame(corpus, step: "two edits", strategy: "delta") { $0 == 118 }

        // Same size, modification time set back: still noticed (the status-change time and the content
        // hash), although an unchanged document is not even read.
        let sneaky = documents[15]
        var info = stat()
        #expect(stat(sneaky.path, &info) == 0)
        var sneakyText = try String(contentsOf: sneaky, encoding: .utf8)
        let lastLetter = try #require(sneakyText.lastIndex(where: { $0 == "e" }))
        sneakyText.replaceSubrange(lastLetter...lastLetter, with: "a")
        try sneakyText.write(to: sneaky, atomically: false, encoding: .utf8)
        var times = [info.st_atim, info.st_mtim]
        #expect(utimensat(AT_FDCWD, sneaky.path, &times, 0) == 0)
        expectSame(corpus, step: "same size and time", strategy: "delta") { $0 == 119 }

        // Add a document that duplicates another's code (cross-document diagnostics), and a new one.
        let duplicate = corpus.appendingPathComponent("zz_duplicate.md")
        try FileManager.default.copyItem(at: documents[30], to: duplicate)
        let extra = try GeneratedCorpus.write(count: 130)
        defer { try? FileManager.default.removeItem(at: extra) }
        let newcomer = try GeneratedCorpus.documents(extra)[125]
        try FileManager.default.copyItem(at: newcomer, to: corpus.appendingPathComponent(newcomer.lastPathComponent))
        expectSame(corpus, step: "additions", duplicates: 2, strategy: "general") { $0 == 119 }

        // Delete one, rename another (its provenance path changes, so it is compiled again).
        try FileManager.default.removeItem(at: documents[40])
        let renamed = corpus.appendingPathComponent("renamed-" + documents[50].lastPathComponent)
        try FileManager.default.moveItem(at: documents[50], to: renamed)
        documents = try GeneratedCorpus.documents(corpus)
        expectSame(corpus, step: "delete and rename", duplicates: 2) { $0 == 118 }

        // A config with an extra payer name: extraction changes, nothing is reused.
        let config = work.appendingPathComponent("rulebook.json")
        try #"{"knownPayers": {"Acme Health": "acme"}, "knownModifiers": ["ZZ"]}"#.write(to: config, atomically: true, encoding: .utf8)
        expectSame(corpus, step: "config change", config: config.path, duplicates: 2) { $0 == 0 }
        // (Documents in a duplicate are compiled again, unless the build stamp answers for them all: a run
        // that finds only file identities changed, documents read again with their recorded bytes.)
        expectSame(corpus, step: "config, no change", config: config.path, duplicates: 2) { $0 >= documents.count - 2 }

        // A corrupt build stamp (another compiler wrote the folder) means a full run, and is replaced.
        let stamps = try FileManager.default.contentsOfDirectory(at: work.appendingPathComponent("cache"), includingPropertiesForKeys: nil)
        #expect(stamps.count == 1)
        for file in stamps {
            var bytes = [UInt8](try Data(contentsOf: file))
            bytes[30] ^= 0x01  // in the line naming the executable
            try Data(bytes).write(to: file)
        }
        expectSame(corpus, step: "corrupt stamp", config: config.path, duplicates: 2) { $0 == 0 }
        expectSame(corpus, step: "after corrupt stamp", config: config.path, duplicates: 2) { $0 >= documents.count - 2 }

        // A manifest edited by hand (a document's hash) is not trusted: a full run.
        let manifestURL = work.appendingPathComponent("incremental/" + OutputWriter.manifestName)
        let manifestText = try String(contentsOf: manifestURL, encoding: .utf8)
        let editedManifest = try #require(writerManifestWithFirstHashChanged(manifestText))
        try editedManifest.write(to: manifestURL, atomically: true, encoding: .utf8)
        expectSame(corpus, step: "edited manifest", config: config.path, duplicates: 2) { $0 == 0 }
    }

    /// A document's claim example that names another document's code is checked again when that other
    /// record changes, although the document itself is unchanged; a document whose code changes moves
    /// between Swift shards.
    @Test func examplesNamingOtherCodesAndMovedCodes() throws {
        defer { try? FileManager.default.removeItem(at: work) }
        let corpus = work.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        let seeds = RulebookProcess.packageRoot.appendingPathComponent("seeds")
        let knee = corpus.appendingPathComponent("knee.md")
        let arthroscopy = corpus.appendingPathComponent("arthroscopy.txt")
        var kneeText = try String(contentsOf: seeds.appendingPathComponent("001_cpt-27447-total-knee-arthroplasty.md"), encoding: .utf8)
        kneeText = kneeText.replacingOccurrences(of: "| 27447-RT | medicare | ok |", with: "| 27447-RT | medicare | ok |\n| 29881-RT | medicare | ok |")
        try kneeText.write(to: knee, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: seeds.appendingPathComponent("002_cpt-29881-knee-arthroscopy-meniscectomy.txt"), to: arthroscopy)
        for name in ["003_cpt-99213-office-visit-established-patient.txt", "004_cpt-64483-transforaminal-epidural-injection-lumbar.md"] {
            try FileManager.default.copyItem(at: seeds.appendingPathComponent(name), to: corpus.appendingPathComponent(name))
        }
        func run() -> Run {
            var options = GenerateOptions()
            options.inputs = [corpus.path]
            options.output = work.appendingPathComponent("out").path
            options.cacheDirectory = work.appendingPathComponent("cache").path
            options.swiftShards = 4
            let outcome = Generator.run(options)
            return Run(outcome: outcome, files: GeneratedCorpus.snapshot(URL(fileURLWithPath: options.output)))
        }
        func full() -> Run {
            var options = GenerateOptions()
            options.inputs = [corpus.path]
            options.output = work.appendingPathComponent("full-\(UUID().uuidString)").path
            options.incremental = false
            options.swiftShards = 4
            let outcome = Generator.run(options)
            defer { try? FileManager.default.removeItem(atPath: options.output) }
            return Run(outcome: outcome, files: GeneratedCorpus.snapshot(URL(fileURLWithPath: options.output)))
        }
        _ = run()
        let before = run()
        #expect(before.outcome.reusedDocuments == 4)
        #expect(before.outcome.diagnostics == full().outcome.diagnostics)
        let manifest = try #require(Manifest.decode([UInt8](try Data(contentsOf: work.appendingPathComponent("out/" + OutputWriter.manifestName)))))
        #expect(manifest.documents.first { $0.key.hasSuffix("knee.md") }?.value.exampleKeys == ["CPT 29881"])

        // The other record changes (its RT row goes) but keeps its code: a delta run; knee.md is unchanged,
        // yet its example is checked again and its result changes, as in a full run.
        let arthroscopyText = try String(contentsOf: arthroscopy, encoding: .utf8)
        try arthroscopyText.replacingOccurrences(of: "| RT | Right side | Right knee |\n", with: "")
            .write(to: arthroscopy, atomically: true, encoding: .utf8)
        let changed = run()
        let changedFull = full()
        #expect(changed.outcome.strategy == "delta")
        #expect(changed.outcome.diagnostics == changedFull.outcome.diagnostics)
        #expect(changed.outcome.diagnostics != before.outcome.diagnostics, "the example's result did not change")
        #expect(changed.files == changedFull.files, "\(changed.files.keys.filter { changed.files[$0] != changedFull.files[$0] }.sorted())")
        try arthroscopyText.write(to: arthroscopy, atomically: true, encoding: .utf8)
        let restored = run()
        #expect(restored.outcome.strategy == "delta")
        #expect(restored.files == before.files)

        // The other record disappears: the example now names an unknown code (a failed example at knee.md).
        try FileManager.default.removeItem(at: arthroscopy)
        let gone = run()
        let expected = full()
        #expect(gone.outcome.reusedDocuments == 3)
        #expect(gone.outcome.diagnostics == expected.outcome.diagnostics)
        #expect(gone.outcome.diagnostics != before.outcome.diagnostics, "the example's result did not change")
        #expect(gone.files == expected.files)

        // A document's code changes: its record moves to (probably) another shard; files equal a full run.
        let visit = corpus.appendingPathComponent("003_cpt-99213-office-visit-established-patient.txt")
        try (try String(contentsOf: visit, encoding: .utf8)).replacingOccurrences(of: "99213", with: "99214")
            .write(to: visit, atomically: true, encoding: .utf8)
        let moved = run()
        let movedFull = full()
        #expect(moved.outcome.reusedDocuments == 2)
        #expect(moved.files == movedFull.files, "\(moved.files.keys.filter { moved.files[$0] != movedFull.files[$0] }.sorted())")
        #expect(moved.outcome.diagnostics == movedFull.outcome.diagnostics)
    }

    /// A first run takes each document's identity from `fstat` on the file it opened (not from a `stat`
    /// before): the next run trusts those identities as it trusts a later run's.
    @Test func firstRunIdentitiesLetTheNextRunSkipReading() throws {
        let corpus = try GeneratedCorpus.write(count: 20, seed: 6)
        defer {
            try? FileManager.default.removeItem(at: corpus)
            try? FileManager.default.removeItem(at: work)
        }
        Thread.sleep(forTimeInterval: 2.2)  // the documents are older than the coarse-time margin
        let fresh = generate(corpus, output: "out", incremental: true)
        #expect(fresh.outcome.reusedDocuments == 0)
        let next = generate(corpus, output: "out", incremental: true)
        #expect(next.outcome.reusedDocuments == 20)
        #expect(next.outcome.unreadDocuments == 20, "the first run's identities were not trusted")
        #expect(next.files == fresh.files)
    }

    /// Documents whose file identity is the one the build stamp recorded are not read again, unless
    /// they changed less than two seconds before that run started (coarse file times).
    @Test func unchangedDocumentsAreNotRead() throws {
        let corpus = try GeneratedCorpus.write(count: 30, seed: 5)
        defer {
            try? FileManager.default.removeItem(at: corpus)
            try? FileManager.default.removeItem(at: work)
        }
        let fresh = generate(corpus, output: "out", incremental: true)
        #expect(fresh.outcome.reusedDocuments == 0)
        let tooRecent = generate(corpus, output: "out", incremental: true)
        #expect(tooRecent.outcome.reusedDocuments == 30)
        #expect(tooRecent.outcome.unreadDocuments == 0, "documents written just before the run were trusted")
        Thread.sleep(forTimeInterval: 2.2)
        _ = generate(corpus, output: "out", incremental: true)  // records identities older than 2 s
        let trusted = generate(corpus, output: "out", incremental: true)
        #expect(trusted.outcome.reusedDocuments == 30)
        #expect(trusted.outcome.unreadDocuments == 30)
        #expect(trusted.files == fresh.files)
        // A changed document is read (its identity changed), the others are not.
        let document = try #require(try GeneratedCorpus.documents(corpus).first)
        try (try String(contentsOf: document, encoding: .utf8) + "\nMore text.\n").write(to: document, atomically: true, encoding: .utf8)
        let edited = generate(corpus, output: "out", incremental: true)
        #expect(edited.outcome.reusedDocuments == 29)
        #expect(edited.outcome.unreadDocuments == 29)

        // Nothing changed, but an output was edited behind the generator's back: --check names it, and a
        // run restores it.
        let bundle = try #require(try FileManager.default.contentsOfDirectory(at: work.appendingPathComponent("out/JSON"), includingPropertiesForKeys: nil)
            .first { $0.lastPathComponent.hasPrefix("cpt-") || $0.lastPathComponent.hasPrefix("hcpcs-") })
        let original = try Data(contentsOf: bundle)
        try Data("{}\n".utf8).write(to: bundle)
        let check = generate(corpus, output: "out", incremental: true, check: true)
        #expect(check.outcome.staleFiles == ["stale: JSON/\(bundle.lastPathComponent)"])
        let repaired = generate(corpus, output: "out", incremental: true)
        #expect(try Data(contentsOf: bundle) == original)
        #expect(repaired.outcome.report?.written == ["JSON/\(bundle.lastPathComponent)"])
        #expect(generate(corpus, output: "out", incremental: true, check: true).outcome.staleFiles.isEmpty)
    }

    /// The build stamp reads back what it wrote: identities with huge inodes, paths with spaces and
    /// non-ASCII letters; another manifest hash, or a damaged line, and it is not used.
    @Test func buildStampRoundTrips() throws {
        defer { try? FileManager.default.removeItem(at: work) }
        let url = work.appendingPathComponent("stamp/out.stamp")
        var inputs = BuildStamp.Inputs(startedReading: 1_700_000_000_123_456_789, files: [:])
        inputs.files["docs/a b.md"] = (BuildStamp.FileIdentity(size: 4096, modified: 1_600_000_000_000_000_001, changed: 1_600_000_000_000_000_002,
                                                                inode: UInt64.max - 3), "0123456789abcdef")
        inputs.files["docs/é/ü.txt"] = (BuildStamp.FileIdentity(size: 0, modified: 5, changed: 6, inode: 7), "fedcba9876543210")
        BuildStamp.save(url, manifestHash: "00ff", inputs: inputs)
        let loaded = try #require(BuildStamp.load(url, manifestHash: "00ff"))
        #expect(loaded.startedReading == inputs.startedReading)
        #expect(loaded.files.count == 2)
        for (path, entry) in inputs.files {
            #expect(loaded.files[path]?.identity == entry.identity)
            #expect(loaded.files[path]?.hash == entry.hash)
        }
        #expect(loaded.hash(of: "docs/é/ü.txt", identity: BuildStamp.FileIdentity(size: 0, modified: 5, changed: 6, inode: 7)) == "fedcba9876543210")
        #expect(loaded.hash(of: "docs/é/ü.txt", identity: BuildStamp.FileIdentity(size: 0, modified: 5, changed: 6, inode: 8)) == nil)
        #expect(BuildStamp.load(url, manifestHash: "00fe") == nil)
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[bytes.count - 3] = 0x0A  // "…ü.txt" becomes "…ü.t", then a line "t" that is no entry
        try Data(bytes).write(to: url)
        #expect(BuildStamp.load(url, manifestHash: "00ff") == nil)

        // With outputs and a run's result (the shortcut's record), diagnostics with quotes, line breaks
        // and bidi controls included.
        var withResult = inputs
        withResult.outputs = ["JSON/x.json": BuildStamp.FileIdentity(size: 10, modified: 11, changed: 12, inode: 13),
                              "Swift/RulebookData.swift": BuildStamp.FileIdentity(size: 20, modified: 21, changed: 22, inode: 23)]
        let result = BuildStamp.Result(
            salt: "abc123", documentCount: 3, codeCount: 2, modifierCount: 5, payerNoteCount: 4,
            folders: ["": BuildStamp.FileIdentity(size: 1, modified: 2, changed: 3, inode: 4),
                      "JSON": BuildStamp.FileIdentity(size: 5, modified: 6, changed: 7, inode: 8)],
            manifest: BuildStamp.FileIdentity(size: 9, modified: 10, changed: 11, inode: 12),
            diagnostics: [Diagnostic(path: "a \"b\"\n", line: 3, column: 1, severity: .warning, id: "modifier.unknown",
                                     message: "é ü \u{202E} line\nbreak"),
                          Diagnostic(path: "z.md", line: 0, column: 0, severity: .error, id: "file.unreadable", message: "cannot read")])
        withResult.result = result
        BuildStamp.save(url, manifestHash: "00ff", inputs: withResult)
        let reloaded = try #require(BuildStamp.load(url))
        #expect(reloaded.manifestHash == "00ff")
        #expect(reloaded.inputs.result == result)
        #expect(reloaded.inputs.outputs == withResult.outputs)
        #expect(reloaded.inputs.order == ["docs/a b.md", "docs/é/ü.txt"])
        // A result cut short (no `end`) is no stamp at all.
        var cut = [UInt8](try Data(contentsOf: url))
        cut.removeLast(4)
        try Data(cut).write(to: url)
        #expect(BuildStamp.load(url) == nil)
    }

    /// The manifest text with the first document hash's last digit changed.
    func writerManifestWithFirstHashChanged(_ text: String) -> String? {
        guard let range = text.range(of: "\"hash\":\"") else { return nil }
        var characters = Array(text)
        let digit = text.distance(from: text.startIndex, to: range.upperBound) + 15
        characters[digit] = characters[digit] == "0" ? "1" : "0"
        return String(characters)
    }

    /// The manifest's document entries survive encoding and decoding; broken entries are dropped.
    /// The line-by-line reader of a manifest's files and sizes reads what the JSON parser reads.
    @Test func manifestRestReadLineByLine() throws {
        var files: [String: String] = [:], sizes: [String: Int] = [:]
        for index in 0..<300 {
            files["JSON/cpt-\(10_000 + index).json"] = String(format: "%016x", index * 7919)
            sizes["JSON/cpt-\(10_000 + index).json"] = index * 13
        }
        files["Swift/RulebookRules.swift"] = "00ff00ff00ff00ff"
        sizes["Swift/RulebookRules.swift"] = 0
        let manifest = Manifest(files: files, sizes: sizes,
                                documents: ["docs/a.md": Manifest.Document(hash: "0123456789abcdef")], salt: "1090d887779523a3")
        let bytes = manifest.encoded()
        let split = try #require(Manifest.splitDocumentLines(bytes))
        let fast = try #require(Manifest.fastRest(split.rest))
        let general = try #require(JSONValueParser.parse(split.rest).flatMap(Manifest.rest(of:)))
        #expect(fast.files == general.files && fast.fileOrder == general.fileOrder && fast.sizes == general.sizes)
        #expect(fast.salt == general.salt && fast.version == general.version && fast.inputs == general.inputs)
        #expect(fast.fileOrder.count == 301)
        #expect(Manifest.decode(bytes) == manifest)
        // Anything else (here an escaped character in a path) is left to the JSON parser.
        var odd = files
        odd["JSON/a\"b.json"] = "1"
        let oddBytes = Manifest(files: odd, documents: ["docs/a.md": Manifest.Document(hash: "00")]).encoded()
        #expect(Manifest.fastRest(try #require(Manifest.splitDocumentLines(oddBytes)).rest) == nil)
        #expect(Manifest.decode(oddBytes)?.files == odd)
    }

    @Test func manifestDocumentsRoundTrip() throws {
        let corpus = try GeneratedCorpus.write(count: 40, seed: 3)
        defer { try? FileManager.default.removeItem(at: corpus) }
        var documents: [String: Manifest.Document] = [:]
        for url in try GeneratedCorpus.documents(corpus) {
            let bytes = [UInt8](try Data(contentsOf: url))
            let result = Pipeline.compile(bytes: bytes, path: url.lastPathComponent)
            let record = try #require(result.record)
            documents[url.lastPathComponent] = Manifest.Document(
                hash: ContentHash.hex(bytes), record: Manifest.RecordSummary(record, file: JSONEmitter.bundleFileName(for: record)),
                emitted: true, diagnostics: result.diagnostics,
                modifierDiagnostics: [Diagnostic(path: "a \"b\"\n", line: 3, column: 1, severity: .warning, id: "modifier.unknown", message: "é ü \u{202E}")],
                exampleKeys: ["CPT 27365"])
        }
        documents["none.md"] = Manifest.Document(hash: "0123456789abcdef", diagnostics: [
            Diagnostic(path: "none.md", line: 0, column: 0, severity: .error, id: "document.no-code", message: "no code")])
        let manifest = Manifest(files: ["JSON/a.json": "00"], sizes: ["JSON/a.json": 2], documents: documents, salt: "s")
        let decoded = try #require(Manifest.decode(manifest.encoded()))
        #expect(decoded == manifest)
        #expect(decoded.encoded() == manifest.encoded())
        // An entry with a wrong type is dropped, the rest kept.
        let text = String(decoding: manifest.encoded(), as: UTF8.self)
            .replacingOccurrences(of: "\"hash\":\"0123456789abcdef\"", with: "\"hash\":7")
        let partial = try #require(Manifest.decode(Array(text.utf8)))
        #expect(partial.documents["none.md"] == nil)
        #expect(partial.documents.count == documents.count - 1)
        // The same manifest written as one generic JSON text (not one document per line) reads the same.
        let generic = try #require(JSONValueParser.parse(manifest.encoded()))
        var regenerated = CanonicalJSONWriter()
        func write(_ node: JSONNode) {
            switch node {
            case .object(let members):
                regenerated.beginObject()
                for (key, value) in members { regenerated.dynamicKey(key); write(value) }
                regenerated.endObject()
            case .array(let elements):
                regenerated.beginArray()
                elements.forEach(write)
                regenerated.endArray()
            case .string(let text): regenerated.string(text)
            case .integer(let number): regenerated.integer(number)
            case .bool(let flag): regenerated.bool(flag)
            case .null: regenerated.null()
            }
        }
        write(generic)
        regenerated.finishDocument()
        #expect(regenerated.bytes != manifest.encoded())
        #expect(Manifest.decode(regenerated.bytes) == manifest)
        // A line that is not JSON makes the whole text unreadable, as for any JSON.
        var broken = String(decoding: manifest.encoded(), as: UTF8.self)
        broken = broken.replacingOccurrences(of: "\"hash\":\"", with: "\"hash\":\"\u{1}")
        #expect(Manifest.decode(Array(broken.utf8)) == nil)
    }

}

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Rulebook
import Testing
@testable import RulebookCompiler

/// Second read of the incremental `rulebook generate`: scenarios the other incremental tests do not
/// cover. Each one brings a long-lived output folder through a history (edits, deletions, shard or
/// config changes, lost build stamps, hand edits, leftover temporary files…) and compares it, byte for
/// byte and hidden files included, and its diagnostics, with a full run (`incremental = false`) of the
/// same inputs into a fresh folder.
@Suite(.serialized) struct IncrementalReviewTests {
    struct Run {
        var outcome: GenerateOutcome
        var files: [String: Data]
    }

    /// A temporary folder with `docs/` (inputs), long-lived outputs and build-stamp folders.
    final class Workspace {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-review-\(UUID().uuidString)")
        var docs: URL { root.appendingPathComponent("docs") }

        init() throws {
            try FileManager.default.createDirectory(at: root.appendingPathComponent("docs"), withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(at: root) }

        struct Settings {
            var shards: Int? = nil
            var access: AccessLevel? = nil
            var config: String? = nil
            var cache = "cache"
            var bundlesOnDemandFrom = 2000
        }

        func options(output: String, _ settings: Settings, incremental: Bool, check: Bool = false) -> GenerateOptions {
            var options = GenerateOptions()
            options.inputs = [docs.path]
            options.output = output.hasPrefix("/") ? output : root.appendingPathComponent(output).path
            options.incremental = incremental
            options.check = check
            options.cacheDirectory = root.appendingPathComponent(settings.cache).path
            options.swiftShards = settings.shards
            options.accessLevel = settings.access
            options.configPath = settings.config
            options.jobs = 2
            options.bundlesOnDemandFrom = settings.bundlesOnDemandFrom
            return options
        }

        /// An incremental run into the long-lived folder `output`.
        @discardableResult
        func run(_ settings: Settings = Settings(), output: String = "out", check: Bool = false) -> Run {
            let options = options(output: output, settings, incremental: true, check: check)
            let outcome = Generator.run(options)
            // Through a symbolic link to the folder too (the enumerator does not follow it).
            return Run(outcome: outcome, files: GeneratedCorpus.snapshot(URL(fileURLWithPath: options.output).resolvingSymlinksInPath()))
        }

        /// A full run into a fresh folder (removed afterwards).
        func full(_ settings: Settings = Settings()) -> Run {
            let output = "full-\(UUID().uuidString)"
            let options = options(output: output, settings, incremental: false)
            let outcome = Generator.run(options)
            defer { try? FileManager.default.removeItem(atPath: options.output) }
            return Run(outcome: outcome, files: GeneratedCorpus.snapshot(URL(fileURLWithPath: options.output)))
        }

        func copySeed(_ name: String, as target: String? = nil) throws {
            try FileManager.default.copyItem(at: RulebookProcess.packageRoot.appendingPathComponent("seeds/" + name),
                                             to: docs.appendingPathComponent(target ?? name))
        }

        func write(_ text: String, to name: String) throws {
            try text.write(to: docs.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }

        func text(_ name: String) throws -> String { try String(contentsOf: docs.appendingPathComponent(name), encoding: .utf8) }
    }

    /// Which files differ between two snapshots (for messages).
    static func difference(_ a: [String: Data], _ b: [String: Data]) -> String {
        let onlyA = Set(a.keys).subtracting(b.keys).sorted()
        let onlyB = Set(b.keys).subtracting(a.keys).sorted()
        let changed = a.keys.filter { b[$0] != nil && a[$0] != b[$0] }.sorted()
        return "only incremental: \(onlyA.prefix(6)), only full: \(onlyB.prefix(6)), different bytes: \(changed.prefix(6))"
    }

    /// The incremental run `incremental` against a full run with the same settings: same files, same
    /// diagnostics, same summary.
    @discardableResult
    static func expectSame(_ step: String, _ incremental: Run, _ workspace: Workspace,
                           _ settings: Workspace.Settings = Workspace.Settings()) -> Bool {
        let full = workspace.full(settings)
        #expect(!full.files.isEmpty, "\(step): the full run wrote nothing")
        let sameFiles = full.files == incremental.files
        if !sameFiles, let dump = ProcessInfo.processInfo.environment["REVIEW_DUMP"] {
            // Debugging aid: the differing files of both runs, side by side.
            let folder = URL(fileURLWithPath: dump).appendingPathComponent(step.filter { $0.isLetter || $0.isNumber })
            for path in Set(full.files.keys).union(incremental.files.keys) where full.files[path] != incremental.files[path] {
                let name = path.replacingOccurrences(of: "/", with: "_")
                try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try? full.files[path]?.write(to: folder.appendingPathComponent(name + ".full"))
                try? incremental.files[path]?.write(to: folder.appendingPathComponent(name + ".incremental"))
            }
        }
        #expect(sameFiles, "\(step): output folder differs from a full run: \(difference(incremental.files, full.files))")
        let sameDiagnostics = full.outcome.diagnostics == incremental.outcome.diagnostics
        #expect(sameDiagnostics, "\(step): diagnostics differ: incremental \(incremental.outcome.diagnostics.map(\.formatted)) full \(full.outcome.diagnostics.map(\.formatted))")
        #expect(full.outcome.summary == incremental.outcome.summary, "\(step): \(incremental.outcome.summary) vs \(full.outcome.summary)")
        #expect(full.outcome.exitCode == incremental.outcome.exitCode, "\(step): exit codes differ")
        return sameFiles && sameDiagnostics
    }

    /// `--check` against the long-lived folder right after an incremental run reports nothing.
    static func expectCheckClean(_ step: String, _ workspace: Workspace, _ settings: Workspace.Settings = Workspace.Settings(),
                                 output: String = "out") {
        let check = workspace.run(settings, output: output, check: true)
        #expect(check.outcome.staleFiles.isEmpty, "\(step): --check after the run: \(check.outcome.staleFiles.prefix(6))")
    }

    static let fiveSeeds = ["001_cpt-27447-total-knee-arthroplasty.md", "002_cpt-29881-knee-arthroscopy-meniscectomy.txt",
                            "003_cpt-99213-office-visit-established-patient.txt",
                            "004_cpt-64483-transforaminal-epidural-injection-lumbar.md", "005_cpt-93000-electrocardiogram-complete.txt"]

    /// Shard of each document's record under `count` shards, from a full run's records.
    static func shardsByDocument(_ workspace: Workspace, count: Int) -> [String: Int] {
        var result: [String: Int] = [:]
        for record in workspace.full(.init(shards: count)).outcome.records {
            result[URL(fileURLWithPath: record.source.path).lastPathComponent] = EmbeddedShards.shard(system: record.system, code: record.code, count: count)
        }
        return result
    }

    // MARK: - Swift shards and index known by the previous manifest's hash

    /// The build stamp is gone (a rebuilt compiler, another machine, a fresh clone of a committed
    /// output folder), and a document is deleted whose record was alone in its Swift shard: the shard
    /// is now empty and must be written empty.
    /// failed before the fix of bug A (review of 2026-11-29): Generator.emit treats a shard/index with no members now and no members in the
    /// (discarded) previous document state as clean and reuses the untrusted previous manifest's hash (Generator.swift:139-140, 430, 444).
    @Test func lostStampAndDeletionEmptyingAShard() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds { try workspace.copySeed(name) }
        let settings = Workspace.Settings(shards: 8)
        workspace.run(settings)
        let shards = Self.shardsByDocument(workspace, count: 8)
        let alone = try #require(shards.first { entry in shards.values.filter { $0 == entry.value }.count == 1 }?.key,
                                 "no document alone in its shard: \(shards)")
        try FileManager.default.removeItem(at: workspace.docs.appendingPathComponent(alone))
        var lost = settings
        lost.cache = "other-cache"  // no build stamp for this folder there
        let after = workspace.run(lost)
        Self.expectSame("stamp lost, \(alone) deleted (shard \(shards[alone]!) emptied)", after, workspace, lost)
    }

    /// `--swift-shards` changes from one run to the next (the salt changes, no document is reused): every
    /// file must be the one a full run writes with the new count.
    /// failed before the fix of bug A (review of 2026-11-29): Generator.emit treats a shard/index with no members now and no members in the
    /// (discarded) previous document state as clean and reuses the untrusted previous manifest's hash (Generator.swift:139-140, 430, 444).
    @Test func swiftShardCountChanges() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds.prefix(2) { try workspace.copySeed(name) }
        for count in [8, 5, 3, 2, 6, 1, 4] {
            let settings = Workspace.Settings(shards: count)
            let run = workspace.run(settings)
            Self.expectSame("--swift-shards \(count)", run, workspace, settings)
            Self.expectCheckClean("--swift-shards \(count)", workspace, settings)
        }
    }

    /// After a shard count change, later incremental runs with nothing changed must settle: the
    /// manifest must record the bytes actually written, so `--check` passes.
    /// failed before the fix of bug A (review of 2026-11-29): Generator.emit treats a shard/index with no members now and no members in the
    /// (discarded) previous document state as clean and reuses the untrusted previous manifest's hash (Generator.swift:139-140, 430, 444).
    @Test func shardCountChangeSettles() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds.prefix(2) { try workspace.copySeed(name) }
        workspace.run(.init(shards: 8))
        let settings = Workspace.Settings(shards: 2)
        for attempt in 1...3 {
            let run = workspace.run(settings)
            Self.expectSame("shards 8 -> 2, run \(attempt)", run, workspace, settings)
            Self.expectCheckClean("shards 8 -> 2, run \(attempt)", workspace, settings)
        }
    }

    /// The access level changes (the salt changes): empty shards too must carry the new access level.
    @Test func accessLevelChangesWithEmptyShards() throws {
        let workspace = try Workspace()
        try workspace.copySeed(Self.fiveSeeds[0])
        for access in [AccessLevel.public, .internal, .package, .public] {
            let settings = Workspace.Settings(shards: 4, access: access)
            let run = workspace.run(settings)
            Self.expectSame("access \(access.rawValue)", run, workspace, settings)
        }
    }

    /// A config change (salt changes) together with every document losing its record: the index must
    /// be the empty index, not the previous one.
    /// failed before the fix of bug A (review of 2026-11-29): Generator.emit treats a shard/index with no members now and no members in the
    /// (discarded) previous document state as clean and reuses the untrusted previous manifest's hash (Generator.swift:139-140, 430, 444).
    @Test func configChangeAndNoRecordLeft() throws {
        let workspace = try Workspace()
        try workspace.copySeed(Self.fiveSeeds[0], as: "a.md")
        try workspace.copySeed(Self.fiveSeeds[1], as: "b.txt")
        workspace.run()
        let noCode = try String(contentsOf: RulebookProcess.packageRoot.appendingPathComponent("Tests/Fixtures/documents/no-code.md"), encoding: .utf8)
        try workspace.write(noCode, to: "a.md")
        try workspace.write(noCode + "\nAnother paragraph.\n", to: "b.txt")
        let config = workspace.root.appendingPathComponent("rulebook.json")
        try #"{"knownModifiers": ["ZZ"]}"#.write(to: config, atomically: true, encoding: .utf8)
        let settings = Workspace.Settings(config: config.path)
        let run = workspace.run(settings)
        Self.expectSame("config changed, no record left", run, workspace, settings)
    }

    /// Same as above with the build stamp lost instead of a config change.
    /// failed before the fix of bug A (review of 2026-11-29): Generator.emit treats a shard/index with no members now and no members in the
    /// (discarded) previous document state as clean and reuses the untrusted previous manifest's hash (Generator.swift:139-140, 430, 444).
    @Test func lostStampAndNoRecordLeft() throws {
        let workspace = try Workspace()
        try workspace.copySeed(Self.fiveSeeds[0], as: "a.md")
        workspace.run()
        let noCode = try String(contentsOf: RulebookProcess.packageRoot.appendingPathComponent("Tests/Fixtures/documents/no-code.md"), encoding: .utf8)
        try workspace.write(noCode, to: "a.md")
        let settings = Workspace.Settings(cache: "other-cache")
        let run = workspace.run(settings)
        Self.expectSame("stamp lost, no record left", run, workspace, settings)
    }

    // MARK: - Crash leftovers and hand edits

    /// A killed run left a temporary file; the next run, with nothing changed, must remove it (issue 3:
    /// "leftover temporary files of a killed run are removed by the next run").
    /// failed before the fix of bug B (review of 2026-11-29): the no-change fast path (Generator.swift:169-189) returns without the writer's
    /// temporary-file cleanup (OutputWriter.swift:208).
    @Test func leftoverTemporaryFileWithNothingChanged() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds.prefix(3) { try workspace.copySeed(name) }
        workspace.run()
        workspace.run()
        let leftover = workspace.root.appendingPathComponent("out/JSON/\(OutputWriter.temporaryPrefix)999999-1")
        try Data("{\"half\": ".utf8).write(to: leftover)
        let run = workspace.run()
        #expect(run.outcome.reusedDocuments == 3)
        #expect(!FileManager.default.fileExists(atPath: leftover.path), "the killed run's temporary file is still there")
        Self.expectSame("leftover temporary file, nothing changed", run, workspace)
    }

    /// An output edited by hand (same size), then the manifest's modification time moves past it (a
    /// tool rewriting it with the same bytes, `touch`, a checkout): the edited output must still be
    /// repaired by a run and reported by `--check`.
    /// failed before the fix of bug C (review of 2026-11-29): outputs older than the manifest file are trusted by hash and size without being
    /// read (OutputWriter.swift:407 in holdsExactly, :802 and :835 in existing).
    @Test func sameSizeOutputEditThenManifestTouched() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds.prefix(3) { try workspace.copySeed(name) }
        workspace.run()
        let bundle = try #require(try FileManager.default.contentsOfDirectory(at: workspace.root.appendingPathComponent("out/JSON"),
                                                                                includingPropertiesForKeys: nil)
            .first { $0.lastPathComponent.hasPrefix("cpt-") })
        var bytes = [UInt8](try Data(contentsOf: bundle))
        let letter = try #require(bytes.lastIndex(of: UInt8(ascii: "e")))
        bytes[letter] = UInt8(ascii: "x")
        try Data(bytes).write(to: bundle)
        Thread.sleep(forTimeInterval: 0.05)
        let manifest = workspace.root.appendingPathComponent("out/" + OutputWriter.manifestName)
        #expect(utimensat(AT_FDCWD, manifest.path, nil, 0) == 0)  // touch: same bytes, newer time
        let check = workspace.run(check: true)
        #expect(check.outcome.staleFiles == ["stale: JSON/\(bundle.lastPathComponent)"], "--check: \(check.outcome.staleFiles)")
        let run = workspace.run()
        Self.expectSame("same-size output edit, manifest touched", run, workspace)
    }

    /// As above, but the manifest is edited by hand (a document hash changed, so nothing is reused):
    /// the outputs the run produces are compared with the folder by the manifest's hashes and time.
    /// failed before the fix of bug C (review of 2026-11-29): outputs older than the manifest file are trusted by hash and size without being
    /// read (OutputWriter.swift:407 in holdsExactly, :802 and :835 in existing).
    @Test func sameSizeOutputEditThenManifestEdited() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds.prefix(3) { try workspace.copySeed(name) }
        workspace.run()
        let bundle = try #require(try FileManager.default.contentsOfDirectory(at: workspace.root.appendingPathComponent("out/JSON"),
                                                                                includingPropertiesForKeys: nil)
            .first { $0.lastPathComponent.hasPrefix("cpt-") })
        var bytes = [UInt8](try Data(contentsOf: bundle))
        let letter = try #require(bytes.lastIndex(of: UInt8(ascii: "e")))
        bytes[letter] = UInt8(ascii: "x")
        try Data(bytes).write(to: bundle)
        Thread.sleep(forTimeInterval: 0.05)
        let manifestURL = workspace.root.appendingPathComponent("out/" + OutputWriter.manifestName)
        var text = try String(contentsOf: manifestURL, encoding: .utf8)
        let hashKey = try #require(text.range(of: "\"hash\":\""))
        let digit = text.index(hashKey.upperBound, offsetBy: 3)
        text.replaceSubrange(digit...digit, with: text[digit] == "0" ? "1" : "0")
        try text.write(to: manifestURL, atomically: true, encoding: .utf8)
        let run = workspace.run()
        #expect(run.outcome.reusedDocuments == 0)
        Self.expectSame("same-size output edit, manifest edited", run, workspace)
    }

    /// A manifest edited by hand in a field the generator always writes empty (`inputs`, e.g. left by an
    /// older version): `--check` must report the manifest as stale (a full run writes another one), and
    /// a run must rewrite it.
    @Test func manifestWithForeignInputsEntry() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds.prefix(2) { try workspace.copySeed(name) }
        workspace.run()
        let manifestURL = workspace.root.appendingPathComponent("out/" + OutputWriter.manifestName)
        let text = try String(contentsOf: manifestURL, encoding: .utf8)
        #expect(text.contains("\"inputs\": {},"))
        try text.replacingOccurrences(of: "\"inputs\": {},", with: "\"inputs\": {\"seeds/x.md\": \"0123456789abcdef\"},")
            .write(to: manifestURL, atomically: true, encoding: .utf8)
        let check = workspace.run(check: true)
        #expect(check.outcome.staleFiles == ["stale: \(OutputWriter.manifestName)"], "--check: \(check.outcome.staleFiles)")
        Self.expectSame("manifest with an inputs entry", workspace.run(), workspace)
    }

    /// A manifest from an older format version (`"version": 1`) with otherwise the same content.
    @Test func manifestOfAnOlderVersion() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds.prefix(2) { try workspace.copySeed(name) }
        workspace.run()
        let manifestURL = workspace.root.appendingPathComponent("out/" + OutputWriter.manifestName)
        let text = try String(contentsOf: manifestURL, encoding: .utf8)
        try text.replacingOccurrences(of: "\"version\": 2", with: "\"version\": 1").write(to: manifestURL, atomically: true, encoding: .utf8)
        let check = workspace.run(check: true)
        #expect(check.outcome.staleFiles == ["stale: \(OutputWriter.manifestName)"], "--check: \(check.outcome.staleFiles)")
        Self.expectSame("manifest of version 1", workspace.run(), workspace)
    }

    /// An output deleted by hand and its folder replaced by a file; outputs of another run left in the
    /// folder; and a foreign file the generator does not own: it must survive every run.
    @Test func foreignFilesAndDeletedFolders() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds.prefix(3) { try workspace.copySeed(name) }
        workspace.run()
        let foreign = workspace.root.appendingPathComponent("out/JSON/notes.txt")
        try Data("mine\n".utf8).write(to: foreign)
        try FileManager.default.removeItem(at: workspace.root.appendingPathComponent("out/Swift"))
        let run = workspace.run()
        #expect(run.outcome.reusedDocuments == 3)
        var files = run.files
        #expect(files.removeValue(forKey: "JSON/notes.txt") == Data("mine\n".utf8))
        Self.expectSame("Swift folder deleted, foreign file", Run(outcome: run.outcome, files: files), workspace)
        try FileManager.default.removeItem(at: foreign)
    }

    // MARK: - Reused records, duplicates, examples

    /// Reused records are read back from their bundles when a shard holding them is produced again:
    /// hostile text (quotes, backslashes, bidi controls) must come back exactly, diagnostics too.
    @Test func hostileRecordsReusedInARegeneratedShard() throws {
        let workspace = try Workspace()
        try FileManager.default.copyItem(at: RulebookProcess.packageRoot.appendingPathComponent("Tests/Fixtures/documents/hostile.md"),
                                         to: workspace.docs.appendingPathComponent("hostile.md"))
        for name in ["each-payer-form.md", "unknown-payer.md", "invalid-modifier.md", "missing-cells.md"] {
            try FileManager.default.copyItem(at: RulebookProcess.packageRoot.appendingPathComponent("Tests/Fixtures/documents/" + name),
                                             to: workspace.docs.appendingPathComponent(name))
        }
        try workspace.copySeed(Self.fiveSeeds[0])
        let settings = Workspace.Settings(shards: 1)
        workspace.run(settings)
        let reused = workspace.run(settings)
        Self.expectSame("hostile, no change", reused, workspace, settings)
        try workspace.write(try workspace.text(Self.fiveSeeds[0]) + "\nAn appended paragraph.\n", to: Self.fiveSeeds[0])
        let edited = workspace.run(settings)
        #expect(edited.outcome.reusedDocuments == 5)
        Self.expectSame("hostile reused, one seed edited (single shard rebuilt)", edited, workspace, settings)
        Self.expectCheckClean("hostile", workspace, settings)
    }

    /// A reused document's bundle is damaged by hand (same size, newer time) and another document in
    /// the same shard changes: the shard is produced again from the reused records, and the damaged
    /// bundle must not leak into it.
    @Test func damagedBundleOfAReusedDocumentInARegeneratedShard() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds.prefix(3) { try workspace.copySeed(name) }
        let settings = Workspace.Settings(shards: 1)
        workspace.run(settings)
        let bundle = workspace.root.appendingPathComponent("out/JSON/cpt-29881.json")
        var bytes = [UInt8](try Data(contentsOf: bundle))
        let letter = try #require(bytes.lastIndex(of: UInt8(ascii: "e")))
        bytes[letter] = UInt8(ascii: "x")
        Thread.sleep(forTimeInterval: 0.05)
        try Data(bytes).write(to: bundle)
        try workspace.write(try workspace.text(Self.fiveSeeds[0]) + "\nMore.\n", to: Self.fiveSeeds[0])
        let run = workspace.run(settings)
        #expect(run.outcome.reusedDocuments == 2)
        Self.expectSame("damaged bundle, other document edited", run, workspace, settings)
        // Deleted instead of damaged.
        try FileManager.default.removeItem(at: bundle)
        try workspace.write(try workspace.text(Self.fiveSeeds[0]) + "\nEven more.\n", to: Self.fiveSeeds[0])
        Self.expectSame("deleted bundle, other document edited", workspace.run(settings), workspace, settings)
    }

    /// Duplicates appearing and disappearing, the winner changing sides, a code changing into another
    /// document's code and back.
    @Test func duplicateHistories() throws {
        let workspace = try Workspace()
        try workspace.copySeed(Self.fiveSeeds[0], as: "b.md")
        try workspace.copySeed(Self.fiveSeeds[1], as: "c.txt")
        try workspace.copySeed(Self.fiveSeeds[2], as: "d.txt")
        let settings = Workspace.Settings(shards: 3)
        Self.expectSame("start", workspace.run(settings), workspace, settings)
        // A copy of b sorts before it: it wins, b loses.
        try workspace.write(try workspace.text("b.md") + "\nExtra words.\n", to: "a.md")
        Self.expectSame("earlier duplicate added", workspace.run(settings), workspace, settings)
        Self.expectSame("no change with duplicate", workspace.run(settings), workspace, settings)
        try FileManager.default.removeItem(at: workspace.docs.appendingPathComponent("a.md"))
        Self.expectSame("earlier duplicate removed", workspace.run(settings), workspace, settings)
        // d's code becomes c's code, then goes back.
        let d = try workspace.text("d.txt")
        try workspace.write(d.replacingOccurrences(of: "99213", with: "29881"), to: "d.txt")
        Self.expectSame("d takes c's code", workspace.run(settings), workspace, settings)
        Self.expectSame("no change", workspace.run(settings), workspace, settings)
        try workspace.write(d, to: "d.txt")
        Self.expectSame("d's code back", workspace.run(settings), workspace, settings)
        // c deleted while d holds its code.
        try workspace.write(d.replacingOccurrences(of: "99213", with: "29881"), to: "d.txt")
        workspace.run(settings)
        try FileManager.default.removeItem(at: workspace.docs.appendingPathComponent("c.txt"))
        Self.expectSame("c deleted, d alone with the code", workspace.run(settings), workspace, settings)
        Self.expectCheckClean("duplicates", workspace, settings)
    }

    /// A claim example names a code whose defining document changes: a duplicate appears earlier in
    /// input order with other content (and wins), the winner is edited, then deleted.
    @Test func examplesNamingACodeWhoseWinnerChanges() throws {
        let workspace = try Workspace()
        let seeds = RulebookProcess.packageRoot.appendingPathComponent("seeds")
        var kneeText = try String(contentsOf: seeds.appendingPathComponent(Self.fiveSeeds[0]), encoding: .utf8)
        kneeText = kneeText.replacingOccurrences(of: "| 27447-RT | medicare | ok |", with: "| 27447-RT | medicare | ok |\n| 29881-RT | medicare | ok |\n| 29881-XX | medicare | ok |")
        try workspace.write(kneeText, to: "m-knee.md")
        try workspace.copySeed(Self.fiveSeeds[1], as: "n-arthroscopy.txt")
        Self.expectSame("start", workspace.run(), workspace)
        Self.expectSame("no change", workspace.run(), workspace)
        // An earlier document with the same code but no modifier table rows: it wins.
        let arthroscopy = try workspace.text("n-arthroscopy.txt")
        let stripped = arthroscopy.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("| RT") && !$0.hasPrefix("| LT") && !$0.hasPrefix("| 59") }.joined(separator: "\n")
        try workspace.write(stripped, to: "a-arthroscopy.txt")
        Self.expectSame("earlier duplicate with fewer modifiers", workspace.run(), workspace)
        try workspace.write(stripped + "\nMore.\n", to: "a-arthroscopy.txt")
        Self.expectSame("winner edited", workspace.run(), workspace)
        try FileManager.default.removeItem(at: workspace.docs.appendingPathComponent("a-arthroscopy.txt"))
        Self.expectSame("winner deleted", workspace.run(), workspace)
        try FileManager.default.removeItem(at: workspace.docs.appendingPathComponent("n-arthroscopy.txt"))
        Self.expectSame("named code gone", workspace.run(), workspace)
    }

    // MARK: - Inputs

    /// An input that is a symbolic link: its target edited in place with size and times restored, then
    /// the link pointed at another file of the same size and times.
    @Test func symlinkedInputs() throws {
        let workspace = try Workspace()
        let store = workspace.docs.appendingPathComponent("store")
        try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
        try workspace.copySeed(Self.fiveSeeds[2], as: "store/one.data")
        let one = try workspace.text("store/one.data")
        try one.replacingOccurrences(of: "99213", with: "99214").write(to: store.appendingPathComponent("two.data"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: workspace.docs.appendingPathComponent("visit.txt").path, withDestinationPath: "store/one.data")
        try workspace.copySeed(Self.fiveSeeds[0])
        Thread.sleep(forTimeInterval: 2.1)  // old enough for the build stamp to trust file identities
        workspace.run()
        workspace.run()
        Self.expectSame("symlink, no change", workspace.run(), workspace)
        // Same-size edit of the target, times put back.
        var info = stat()
        #expect(stat(store.appendingPathComponent("one.data").path, &info) == 0)
        try one.replacingOccurrences(of: "99213", with: "99215").write(to: store.appendingPathComponent("one.data"), atomically: false, encoding: .utf8)
        var times = [info.st_atim, info.st_mtim]
        #expect(utimensat(AT_FDCWD, store.appendingPathComponent("one.data").path, &times, 0) == 0)
        Self.expectSame("target edited in place, same size and time", workspace.run(), workspace)
        // The link now points at another file with the same size and times.
        #expect(stat(store.appendingPathComponent("one.data").path, &info) == 0)
        times = [info.st_atim, info.st_mtim]
        #expect(utimensat(AT_FDCWD, store.appendingPathComponent("two.data").path, &times, 0) == 0)
        try FileManager.default.removeItem(at: workspace.docs.appendingPathComponent("visit.txt"))
        try FileManager.default.createSymbolicLink(atPath: workspace.docs.appendingPathComponent("visit.txt").path, withDestinationPath: "store/two.data")
        Self.expectSame("link retargeted", workspace.run(), workspace)
        // Dangling link (unreadable input), then back.
        try FileManager.default.removeItem(at: workspace.docs.appendingPathComponent("visit.txt"))
        try FileManager.default.createSymbolicLink(atPath: workspace.docs.appendingPathComponent("visit.txt").path, withDestinationPath: "store/missing.data")
        Self.expectSame("dangling link", workspace.run(), workspace)
        Self.expectSame("dangling link, no change", workspace.run(), workspace)
        try FileManager.default.removeItem(at: workspace.docs.appendingPathComponent("visit.txt"))
        try FileManager.default.createSymbolicLink(atPath: workspace.docs.appendingPathComponent("visit.txt").path, withDestinationPath: "store/one.data")
        Self.expectSame("link restored", workspace.run(), workspace)
    }

    /// A document replaced by a FIFO (reported and skipped), then by a folder holding a document, then
    /// restored with its old bytes.
    @Test func documentReplacedBySpecialFiles() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds.prefix(3) { try workspace.copySeed(name) }
        let target = workspace.docs.appendingPathComponent(Self.fiveSeeds[1])
        let original = try Data(contentsOf: target)
        Self.expectSame("start", workspace.run(), workspace)
        try FileManager.default.removeItem(at: target)
        #expect(mkfifo(target.path, 0o644) == 0)
        Self.expectSame("FIFO in place of a document", workspace.run(), workspace)
        Self.expectSame("FIFO, no change", workspace.run(), workspace)
        try FileManager.default.removeItem(at: target)
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try original.write(to: target.appendingPathComponent("inner.txt"))
        Self.expectSame("folder in place of a document", workspace.run(), workspace)
        try FileManager.default.removeItem(at: target)
        try original.write(to: target)
        Self.expectSame("document restored", workspace.run(), workspace)
        Self.expectCheckClean("special files", workspace)
    }

    /// Unusual file names: quotes, backslashes, spaces, non-ASCII, and two names that are not valid
    /// UTF-8 and are shown with the same U+FFFD display path.
    @Test func unusualFileNames() throws {
        let workspace = try Workspace()
        try workspace.copySeed(Self.fiveSeeds[0], as: "a \"quoted\" \\ name.md")
        try workspace.copySeed(Self.fiveSeeds[1], as: "ünïcödé ‮.txt")
        for (byte, seed) in [(UInt8(0xFF), Self.fiveSeeds[2]), (UInt8(0xFE), Self.fiveSeeds[3])] {
            var path = Array(workspace.docs.path.utf8) + Array("/x".utf8)
            path.append(byte)
            path += Array(".md".utf8)
            let data = try Data(contentsOf: RulebookProcess.packageRoot.appendingPathComponent("seeds/" + seed))
            let fd = FSCalls.withCPath(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
            try #require(fd >= 0)
            _ = data.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            close(fd)
        }
        Self.expectSame("start", workspace.run(), workspace)
        Self.expectSame("no change", workspace.run(), workspace)
        try workspace.write(try workspace.text("a \"quoted\" \\ name.md") + "\nMore.\n", to: "a \"quoted\" \\ name.md")
        Self.expectSame("quoted name edited", workspace.run(), workspace)
        Thread.sleep(forTimeInterval: 2.1)
        workspace.run()
        Self.expectSame("identities trusted", workspace.run(), workspace)
    }

    /// Codes whose bundle file names collide (`G0283` and `g0283` both want `hcpcs-g0283.json`, and a
    /// code `G0283-2` wants the suffixed name): names shift as documents come and go.
    @Test func collidingBundleNames() throws {
        let workspace = try Workspace()
        let seed = "009_hcpcs-G0283-electrical-stimulation-unattended.md"
        let text = try String(contentsOf: RulebookProcess.packageRoot.appendingPathComponent("seeds/" + seed), encoding: .utf8)
        try workspace.write(text, to: "b.md")
        try workspace.write(text.replacingOccurrences(of: "G0283", with: "g0283"), to: "c.md")
        try workspace.write(text.replacingOccurrences(of: "G0283", with: "G0283-2"), to: "d.md")
        let settings = Workspace.Settings(shards: 2)
        Self.expectSame("start", workspace.run(settings), workspace, settings)
        try FileManager.default.removeItem(at: workspace.docs.appendingPathComponent("b.md"))
        Self.expectSame("first of the colliding names removed", workspace.run(settings), workspace, settings)
        try workspace.write(text, to: "a.md")
        Self.expectSame("it comes back under another path", workspace.run(settings), workspace, settings)
        try workspace.write(text.replacingOccurrences(of: "G0283", with: "G0283-3"), to: "c.md")
        Self.expectSame("the lower-case one changes code", workspace.run(settings), workspace, settings)
        Self.expectCheckClean("colliding names", workspace, settings)
    }

    /// Two documents whose names differ only in Unicode normalisation (NFC `café` and NFD `café`): two
    /// files on Linux, but equal as Swift strings (the manifest's and the stamp's keys).
    @Test func namesEqualUnderUnicodeNormalisation() throws {
        let workspace = try Workspace()
        try workspace.copySeed(Self.fiveSeeds[0], as: "caf\u{E9}.md")
        try workspace.copySeed(Self.fiveSeeds[1], as: "cafe\u{301}.md")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.docs.path).count == 2)
        Self.expectSame("start", workspace.run(), workspace)
        Self.expectSame("no change", workspace.run(), workspace)
        Thread.sleep(forTimeInterval: 2.1)
        workspace.run()
        Self.expectSame("identities old enough to be trusted", workspace.run(), workspace)
        try workspace.write(try workspace.text("cafe\u{301}.md") + "\nMore.\n", to: "cafe\u{301}.md")
        Self.expectSame("the NFD one edited", workspace.run(), workspace)
    }

    /// One folder given twice, and a folder inside another given as a second input.
    @Test func overlappingInputFolders() throws {
        let workspace = try Workspace()
        try FileManager.default.createDirectory(at: workspace.docs.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try workspace.copySeed(Self.fiveSeeds[0])
        try workspace.copySeed(Self.fiveSeeds[1], as: "sub/" + Self.fiveSeeds[1])
        func run(incremental: Bool) -> Run {
            var options = workspace.options(output: incremental ? "out" : "full-\(UUID().uuidString)", .init(), incremental: incremental)
            options.inputs = [workspace.docs.path, workspace.docs.appendingPathComponent("sub").path, workspace.docs.path]
            let outcome = Generator.run(options)
            defer { if !incremental { try? FileManager.default.removeItem(atPath: options.output) } }
            return Run(outcome: outcome, files: GeneratedCorpus.snapshot(URL(fileURLWithPath: options.output)))
        }
        for step in ["start", "no change", "edited"] {
            if step == "edited" {
                try workspace.write(try workspace.text("sub/" + Self.fiveSeeds[1]) + "\nMore.\n", to: "sub/" + Self.fiveSeeds[1])
            }
            let incremental = run(incremental: true)
            let full = run(incremental: false)
            #expect(full.files == incremental.files, "\(step): \(Self.difference(incremental.files, full.files))")
            #expect(full.outcome.diagnostics == incremental.outcome.diagnostics, "\(step): diagnostics differ")
        }
    }

    /// Two output folders fed from the same inputs, and the same folder reached through a symbolic link,
    /// with edits in between.
    @Test func twoOutputFoldersAndALinkedOne() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds.prefix(3) { try workspace.copySeed(name) }
        try FileManager.default.createSymbolicLink(atPath: workspace.root.appendingPathComponent("linked").path,
                                                   withDestinationPath: workspace.root.appendingPathComponent("out").path)
        workspace.run()
        workspace.run(output: "other")
        let original = try workspace.text(Self.fiveSeeds[0])
        try workspace.write(original.replacingOccurrences(of: "27447", with: "27446"), to: Self.fiveSeeds[0])
        Self.expectSame("edit, via link", workspace.run(output: "linked"), workspace)
        try workspace.write(original, to: Self.fiveSeeds[0])
        Self.expectSame("edit reverted, other folder", workspace.run(output: "other"), workspace)
        Self.expectSame("edit reverted, real path", workspace.run(output: "out"), workspace)
        Self.expectSame("no change, via link", workspace.run(output: "linked"), workspace)
        Self.expectCheckClean("linked", workspace, output: "other")
    }

    /// Bundles produced on demand (the large-run mode) against the in-memory mode, over a history.
    @Test func bundlesOnDemandOverAHistory() throws {
        let workspace = try Workspace()
        for name in Self.fiveSeeds { try workspace.copySeed(name) }
        let onDemand = Workspace.Settings(shards: 2, bundlesOnDemandFrom: 1)
        Self.expectSame("start", workspace.run(onDemand), workspace, onDemand)
        try workspace.write(try workspace.text(Self.fiveSeeds[3]) + "\nMore.\n", to: Self.fiveSeeds[3])
        try FileManager.default.removeItem(at: workspace.docs.appendingPathComponent(Self.fiveSeeds[4]))
        Self.expectSame("edit and delete", workspace.run(onDemand), workspace, onDemand)
        try workspace.copySeed(Self.fiveSeeds[4], as: "zz-" + Self.fiveSeeds[0])
        Self.expectSame("duplicate added", workspace.run(onDemand), workspace, onDemand)
    }

    // MARK: - Killed runs (the real executable)

    /// `rulebook generate` killed at varying moments while documents change; after each kill an
    /// incremental run of the same executable must leave what a full run (`RULEBOOK_NO_CACHE=1`) leaves.
    @Test func killedRunsThenIncremental() throws {
        let executable = RulebookProcess.executable
        try #require(FileManager.default.isExecutableFile(atPath: executable.path), "build the rulebook executable first")
        let workspace = try Workspace()
        let corpus = try GeneratedCorpus.write(count: 60, seed: 11)
        defer { try? FileManager.default.removeItem(at: corpus) }
        for url in try GeneratedCorpus.documents(corpus) {
            try FileManager.default.copyItem(at: url, to: workspace.docs.appendingPathComponent(url.lastPathComponent))
        }
        let documents = try GeneratedCorpus.documents(workspace.docs)
        func launch(output: String, noCache: Bool) throws -> Process {
            let process = Process()
            process.executableURL = executable
            process.arguments = ["generate", "--input", workspace.docs.path, "--output", workspace.root.appendingPathComponent(output).path,
                                 "--swift-shards", "4", "--quiet"]
            var environment = ProcessInfo.processInfo.environment
            environment["RULEBOOK_CACHE_DIR"] = workspace.root.appendingPathComponent("cache").path
            if noCache { environment["RULEBOOK_NO_CACHE"] = "1" }
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        try launch(output: "out", noCache: false).waitUntilExit()
        var generator = SystemRandomNumberGenerator()
        for round in 0..<12 {
            // Change something: an edit, a revert, a code change.
            let document = documents[round % documents.count]
            let text = try String(contentsOf: document, encoding: .utf8)
            if round % 3 == 2 {
                try text.replacingOccurrences(of: "CPT ", with: "CPT 1", options: [], range: text.range(of: "CPT ")).write(to: document, atomically: true, encoding: .utf8)
            } else {
                try (text + "\nRound \(round).\n").write(to: document, atomically: true, encoding: .utf8)
            }
            let process = try launch(output: "out", noCache: false)
            usleep(UInt32.random(in: 5_000...120_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if round % 2 == 1 { try text.write(to: document, atomically: true, encoding: .utf8) }  // revert after the kill
            try launch(output: "out", noCache: false).waitUntilExit()
            let fullName = "full-\(round)"
            try launch(output: fullName, noCache: true).waitUntilExit()
            let incremental = GeneratedCorpus.snapshot(workspace.root.appendingPathComponent("out"))
            let full = GeneratedCorpus.snapshot(workspace.root.appendingPathComponent(fullName))
            #expect(!full.isEmpty)
            #expect(incremental == full, "round \(round): \(Self.difference(incremental, full))")
            try? FileManager.default.removeItem(at: workspace.root.appendingPathComponent(fullName))
        }
    }
}

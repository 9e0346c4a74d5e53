import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import RulebookCompiler

/// Generated files with contents that depend on `generation`, so two generations differ in every byte.
private func generation(_ number: Int, paths: [String]) -> [GeneratedFile] {
    paths.map { path in
        // Sizes vary (some files are large) so that a torn write would be visible as a size change.
        let repeatCount = 1 + (path.utf8.reduce(0) { $0 &+ Int($1) } % 40) * 50
        let line = "{\"generation\": \(number), \"path\": \"\(path)\"}\n"
        return GeneratedFile(path: path, contents: String(repeating: line, count: repeatCount))
    }
}

private func modificationTime(_ path: String) -> timespec {
    var info = stat()
    #expect(stat(path, &info) == 0)
    return info.st_mtim
}

private func setOldModificationTime(_ path: String) {
    var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
    #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
}

private func temporaryFiles(in folder: DriverIOTempFolder) -> [String] {
    folder.listing().filter { $0.split(separator: "/").last!.hasPrefix(OutputWriter.temporaryPrefix) }
}

@Suite struct OutputWriterTests {
    @Test func contentHashIsXXH64() {
        // Reference XXH64 (seed 0) values, from the `xxhash` Python package: every length class (< 4,
        // 4–7, 8–31, ≥ 32 with a tail of 1–31 bytes).
        #expect(ContentHash.hex(Array("".utf8)) == "ef46db3751d8e999")
        #expect(ContentHash.hex(Array("a".utf8)) == "d24ec4f1a98c6e5b")
        #expect(ContentHash.hex("abc") == "44bc2cf5ad770999")
        #expect(ContentHash.hex("foobar") == "a2aa05ed9085aaf9")
        #expect(ContentHash.hex("0123456789abcdefghijklmnopqrstuvwxyz") == "69196c1b3af0bff9")
        #expect(ContentHash.hex(Array(repeating: Array(0...255), count: 3).flatMap { $0.map(UInt8.init) } + Array("tail!".utf8)) == "26bbff34e506daff")
        #expect(ContentHash.hex("foobar") == ContentHash.hex(Array("foobar".utf8)[...]))
        // FNV-1a 64-bit (bundle file names): published vectors.
        #expect(ContentHash.fnv1a("") == "cbf29ce484222325")
        #expect(ContentHash.fnv1a("a") == "af63dc4c8601ec8c")
        #expect(ContentHash.fnv1a("foobar") == "85944171f73967e8")
    }

    /// The byte order of every listing: `utf8Precedes` agrees with comparing the UTF-8 bytes one by one.
    @Test func utf8OrderMatchesByteComparison() {
        let samples = ["", "a", "b", "ab", "a/b", "a.b", "Z", "é", "e\u{301}", "ß", "😀", "a\u{0}", "JSON/cpt-1.json",
                       "JSON/cpt-10.json", "JSON/CPT-1.json", "İ", "ı", "seeds/000.txt", "seeds/000.md", "aaaaaaaaaaaaaaaaaaaaaaaaa1",
                       "aaaaaaaaaaaaaaaaaaaaaaaaa", "\u{7F}", "\u{80}"]
        for a in samples {
            for b in samples {
                #expect(a.utf8Precedes(b) == a.utf8.lexicographicallyPrecedes(b.utf8), "\(a.debugDescription) vs \(b.debugDescription)")
            }
        }
    }

    @Test func manifestEncodingIsDeterministicAndRoundTrips() throws {
        var files: [String: String] = [:]
        for path in ["b/x.json", "a.json", "é.json", "Z.json"] { files[path] = ContentHash.hex(path) }
        let inputs = ["seeds/\"quoted\"\\.md": "1", "seeds/line\nbreak.md": "2", "seeds/\u{1}.md": "3"]
        let one = Manifest(files: files, inputs: inputs)
        var reordered: [String: String] = [:]
        for (key, value) in files.reversed() { reordered[key] = value }
        let two = Manifest(files: reordered, inputs: inputs)
        #expect(one.encoded() == two.encoded())
        let decoded = try #require(Manifest.decode(one.encoded()))
        #expect(decoded == one)
        let text = String(decoding: one.encoded(), as: UTF8.self)
        // Keys in byte order: "Z" < "a" < "b" < "é".
        let order = ["\"Z.json\"", "\"a.json\"", "\"b/x.json\"", "\"é.json\""].map { text.range(of: $0)!.lowerBound }
        #expect(order == order.sorted())
        #expect(text.hasSuffix("\"version\": 2\n}\n"))
        #expect(Manifest.decode(Array("not json".utf8)) == nil)
    }

    @Test func writeCreatesFilesFoldersAndManifest() throws {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        let out = temp.url.appendingPathComponent("Generated/nested")  // created, with its parents
        let writer = OutputWriter(outputDirectory: out, displayPath: "Generated")
        let files = generation(1, paths: ["JSON/cpt-27365.json", "JSON/index.json", "Swift/Rules.swift"])
        let report = try writer.write(files: files, inputHashes: ["seeds/a.md": "abc"])
        #expect(report.written == ["JSON/cpt-27365.json", "JSON/index.json", "Swift/Rules.swift"])
        #expect(report.unchanged.isEmpty && report.removed.isEmpty && report.manifestWritten)
        for file in files { #expect(temp.read("Generated/nested/" + file.path) == file.contents) }
        let manifest = try #require(writer.readManifest())
        #expect(manifest.files == Dictionary(uniqueKeysWithValues: files.map { ($0.path, ContentHash.hex($0.contents)) }))
        #expect(manifest.inputs == ["seeds/a.md": "abc"])
        #expect(temporaryFiles(in: temp).isEmpty)
        #expect(try writer.plan(files: files).isUpToDate)
        #expect(try writer.check(files: files) == [])
        // Same again: nothing written, nothing touched (the manifest is identical too).
        let again = try writer.write(files: files, inputHashes: ["seeds/a.md": "abc"])
        #expect(again.written.isEmpty && !again.manifestWritten && again.unchanged.count == 3)
        // Only the input hashes changed: the manifest alone is rewritten.
        let inputsOnly = try writer.write(files: files, inputHashes: ["seeds/a.md": "def"])
        #expect(inputsOnly.written.isEmpty && inputsOnly.manifestWritten)
        #expect(writer.readManifest()?.inputs == ["seeds/a.md": "def"])
    }

    /// `RULEBOOK_FSYNC=1` (`durable`): the same files and manifest, written through the flushing path.
    @Test func durableWritesGiveTheSameFolder() throws {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        let files = generation(1, paths: ["JSON/a.json", "JSON/b.json", "Swift/Rules.swift"])
        var durable = OutputWriter(outputDirectory: temp.url.appendingPathComponent("durable"))
        durable.durable = true
        var plain = OutputWriter(outputDirectory: temp.url.appendingPathComponent("plain"))
        plain.durable = false
        for writer in [durable, plain] {
            try writer.write(files: files)
            try writer.write(files: generation(2, paths: ["JSON/a.json", "Swift/Rules.swift"]))
        }
        #expect(temp.listing().filter { $0.hasPrefix("durable/") }.map { String($0.dropFirst(8)) }
                == temp.listing().filter { $0.hasPrefix("plain/") }.map { String($0.dropFirst(6)) })
        for path in ["JSON/a.json", "Swift/Rules.swift", OutputWriter.manifestName] {
            #expect(temp.read("durable/" + path) == temp.read("plain/" + path))
        }
        #expect(temp.read("durable/JSON/a.json") == generation(2, paths: ["JSON/a.json"])[0].contents)
        #expect(temporaryFiles(in: temp).isEmpty)
    }

    @Test func unchangedFilesKeepTheirModificationTime() throws {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        let writer = OutputWriter(outputDirectory: temp.url)
        let first = [GeneratedFile(path: "JSON/same.json", contents: "{}\n"),
                     GeneratedFile(path: "JSON/changes.json", contents: "[1]\n")]
        try writer.write(files: first)
        setOldModificationTime(temp.path + "/JSON/same.json")
        setOldModificationTime(temp.path + "/JSON/changes.json")
        let second = [first[0], GeneratedFile(path: "JSON/changes.json", contents: "[2]\n")]
        let report = try writer.write(files: second)
        #expect(report.written == ["JSON/changes.json"])
        #expect(report.unchanged == ["JSON/same.json"])
        #expect(modificationTime(temp.path + "/JSON/same.json").tv_sec == 1_000_000_000)
        #expect(modificationTime(temp.path + "/JSON/changes.json").tv_sec != 1_000_000_000)
        #expect(temp.read("JSON/changes.json") == "[2]\n")
    }

    @Test func removesOnlyFilesTheManifestNamesAndUserFilesSurvive() throws {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("README.md", "the user's own file")
        temp.write("JSON/notes.txt", "also the user's")
        let writer = OutputWriter(outputDirectory: temp.url)
        try writer.write(files: generation(1, paths: ["JSON/a.json", "JSON/b.json", "Old/gone.json", "Swift/A.swift"]))
        let report = try writer.write(files: generation(1, paths: ["JSON/a.json", "Swift/A.swift"]))
        #expect(report.removed == ["JSON/b.json", "Old/gone.json"])
        #expect(temp.read("README.md") == "the user's own file")
        #expect(temp.read("JSON/notes.txt") == "also the user's")
        #expect(temp.read("JSON/b.json") == nil)
        // The folder that only held a removed file is gone; folders with other files stay.
        #expect(temp.listing() == [OutputWriter.manifestName, "JSON", "JSON/a.json", "JSON/notes.txt", "README.md",
                                   "Swift", "Swift/A.swift"])
        #expect(Set(writer.readManifest()?.files.keys ?? [:].keys) == ["JSON/a.json", "Swift/A.swift"])
    }

    @Test func hostileManifestCannotMakeTheWriterDeleteOutside() throws {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("victim.txt", "keep me")
        temp.write("out/.hidden-user-file", "keep me too")
        let absoluteVictim = temp.path + "/victim.txt"
        let manifest = Manifest(files: ["../victim.txt": "", absoluteVictim: "", "a/../../victim.txt": "",
                                        ".hidden-user-file": "", "ok.json": ""])
        let bytes = manifest.encoded()
        _ = FileManager.default.createFile(atPath: temp.path + "/out/" + OutputWriter.manifestName, contents: Data(bytes))
        temp.write("out/ok.json", "listed, so ours")
        let writer = OutputWriter(outputDirectory: temp.url.appendingPathComponent("out"))
        let report = try writer.write(files: [GeneratedFile(path: "new.json", contents: "1")])
        #expect(report.removed == ["ok.json"])
        #expect(temp.read("victim.txt") == "keep me")
        #expect(temp.read("out/.hidden-user-file") == "keep me too")
    }

    @Test func checkListsStaleMissingAndExtraAndWritesNothing() throws {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        let writer = OutputWriter(outputDirectory: temp.url)
        try writer.write(files: generation(1, paths: ["JSON/a.json", "JSON/b.json", "JSON/c.json"]))
        temp.write("JSON/b.json", "edited by hand")
        try FileManager.default.removeItem(atPath: temp.path + "/JSON/a.json")
        let before = temp.listing().map { ($0, temp.read($0)) }
        let wanted = generation(1, paths: ["JSON/a.json", "JSON/b.json", "JSON/d.json"])
        let lines = try writer.check(files: wanted)
        #expect(lines == [".rulebook-manifest.json", "JSON/a.json", "JSON/b.json", "JSON/c.json", "JSON/d.json"]
            .enumerated().map { ["stale", "missing", "stale", "extra", "missing"][$0.offset] + ": " + $0.element })
        let plan = try writer.plan(files: wanted)
        #expect(plan.stale == ["JSON/b.json"] && plan.missing == ["JSON/a.json", "JSON/d.json"])
        #expect(plan.extra == ["JSON/c.json"] && plan.unchanged.isEmpty && !plan.isUpToDate)
        #expect(temp.listing().map { ($0, temp.read($0)) }.elementsEqual(before) { $0 == $1 })
        try writer.write(files: wanted)
        #expect(try writer.check(files: wanted) == [])
        // A folder that does not exist: everything missing, and still nothing written.
        let absent = OutputWriter(outputDirectory: temp.url.appendingPathComponent("nothing-here"))
        #expect(try absent.check(files: wanted) == ["missing: .rulebook-manifest.json", "missing: JSON/a.json",
                                                    "missing: JSON/b.json", "missing: JSON/d.json"])
        #expect(!FileManager.default.fileExists(atPath: temp.path + "/nothing-here"))
    }

    @Test(arguments: ["../x", "/etc/x", "a/../../x", "a/./b", "a//b", "a/", "", "x\0y", "a\\b",
                      ".rulebook-manifest.json", "JSON/.rulebook-tmp-1-1", "CON.json", "json/lpt1", "a/b.", "a:b",
                      String(repeating: "n", count: 256)])
    func unsafeOutputPathsAreRejected(path: String) throws {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        let out = temp.url.appendingPathComponent("out")
        let writer = OutputWriter(outputDirectory: out)
        let files = [GeneratedFile(path: "fine.json", contents: "1"), GeneratedFile(path: path, contents: "2")]
        do {
            try writer.write(files: files)
            Issue.record("\(path.debugDescription) was accepted")
        } catch {
            #expect(error.kind == .invalidPath)
            #expect(error.description.hasPrefix("invalid output path"))
        }
        #expect(throws: OutputError.self) { try writer.plan(files: files) }
        #expect(temp.listing() == [])  // not even the output folder was created
    }

    @Test func collidingPathsAreRejected() {
        let writer = OutputWriter(outputDirectory: URL(fileURLWithPath: "/nonexistent-rulebook-out"))
        for pair in [("a.json", "a.json"), ("JSON/A.json", "JSON/a.json"), ("x", "x/y.json")] {
            let files = [GeneratedFile(path: pair.0, contents: "1"), GeneratedFile(path: pair.1, contents: "2")]
            #expect(throws: OutputError.self) { try writer.write(files: files) }
        }
    }

    @Test func symbolicLinksInsideTheOutputFolderAreNotFollowed() throws {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.mkdir("elsewhere")
        temp.write("secret.txt", "do not overwrite")
        temp.mkdir("out")
        temp.link("out/JSON", to: temp.path + "/elsewhere")
        temp.link("out/leak.json", to: temp.path + "/secret.txt")
        let writer = OutputWriter(outputDirectory: temp.url.appendingPathComponent("out"), displayPath: "out")
        do {
            try writer.write(files: [GeneratedFile(path: "JSON/x.json", contents: "1")])
            Issue.record("wrote through a symbolic link")
        } catch {
            #expect(error.kind == .unsafePath)
            #expect(error.description == "cannot write out/JSON/x.json: out/JSON is a symbolic link; refusing to write through it")
        }
        #expect(throws: OutputError.self) { try writer.write(files: [GeneratedFile(path: "leak.json", contents: "1")]) }
        #expect(throws: OutputError.self) { try writer.check(files: [GeneratedFile(path: "leak.json", contents: "1")]) }
        #expect(temp.listing().filter { $0.hasPrefix("elsewhere/") }.isEmpty)
        #expect(temp.read("secret.txt") == "do not overwrite")
        #expect(temporaryFiles(in: temp).isEmpty)
    }

    /// Root ignores permission bits, so "read-only" is made honest with a regular file standing where
    /// a folder is needed: the run fails before any target is replaced.
    @Test func blockedOutputLeavesExistingOutputsIntact() throws {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        let writer = OutputWriter(outputDirectory: temp.url, displayPath: "Generated")
        let old = generation(1, paths: ["A/a.json", "B/b.json"])
        try writer.write(files: old)
        temp.write("Z", "a regular file where the folder Z/ is needed")
        let new = generation(2, paths: ["A/a.json", "B/b.json", "Z/z.json"])
        do {
            try writer.write(files: new)
            Issue.record("write succeeded")
        } catch {
            #expect(error.description == "cannot write Generated/Z/z.json: Generated/Z is not a folder")
            #expect(error.diagnostic.id == DiagnosticID.outputWriteFailed.rawValue)
            #expect(error.diagnostic.severity == .error)
        }
        for file in old { #expect(temp.read(file.path) == file.contents) }
        #expect(temporaryFiles(in: temp).isEmpty)
        #expect(writer.readManifest()?.files.keys.sorted() == ["A/a.json", "B/b.json"])

        // A folder where a file is wanted: refused before anything changes, shown as stale by check.
        try FileManager.default.removeItem(atPath: temp.path + "/Z")
        temp.mkdir("Z/z.json")
        #expect(try writer.check(files: new).contains("stale: Z/z.json"))
        do {
            try writer.write(files: new)
            Issue.record("write succeeded")
        } catch {
            #expect(error.description == "cannot write Generated/Z/z.json: a folder or special file is in the way")
        }
        for file in old { #expect(temp.read(file.path) == file.contents) }
        #expect(temporaryFiles(in: temp).isEmpty)
    }

    @Test(.enabled(if: getuid() != 0, "root ignores permission bits")) func readOnlyFolderAsNonRoot() throws {
        let temp = DriverIOTempFolder()
        defer { chmod(temp.path + "/A", 0o755); temp.remove() }
        let writer = OutputWriter(outputDirectory: temp.url, displayPath: "Generated")
        try writer.write(files: generation(1, paths: ["A/a.json"]))
        chmod(temp.path + "/A", 0o555)
        #expect(throws: OutputError.self) { try writer.write(files: generation(2, paths: ["A/a.json"])) }
        #expect(temp.read("A/a.json") == generation(1, paths: ["A/a.json"])[0].contents)
    }

    /// A real full and a real read-only file system: a small tmpfs, mounted when the tests run as root
    /// and `mount` works (it does on the project's machines); skipped otherwise.
    @Test(.enabled(if: DriverIOMount.available, "needs root and mount(8)")) func fullAndReadOnlyFileSystems() throws {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        let mountPoint = temp.path + "/mnt"
        temp.mkdir("mnt")
        try #require(DriverIOMount.run(["-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint]))
        defer { _ = DriverIOMount.run([mountPoint], tool: "/bin/umount") }
        let writer = OutputWriter(outputDirectory: URL(fileURLWithPath: mountPoint + "/Generated"), displayPath: "Generated")
        let old = [GeneratedFile(path: "JSON/a.json", contents: "old a"), GeneratedFile(path: "JSON/b.json", contents: "old b")]
        try writer.write(files: old)

        // Full: the new files do not fit.
        let big = String(repeating: "x", count: 200 * 1024)
        let tooBig = [GeneratedFile(path: "JSON/a.json", contents: "new a"), GeneratedFile(path: "JSON/b.json", contents: big),
                      GeneratedFile(path: "JSON/c.json", contents: big)]
        do {
            try writer.write(files: tooBig)
            Issue.record("write to a full file system succeeded")
        } catch {
            #expect(error.kind == .io)
            #expect(error.description.hasSuffix(": No space left on device"))
            #expect(error.description.hasPrefix("cannot write Generated/JSON/"))
        }
        for file in old { #expect(FileManager.default.contents(atPath: mountPoint + "/Generated/" + file.path) == Data(file.contents.utf8)) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint + "/Generated/JSON").sorted() == ["a.json", "b.json"])

        // Read-only: even root cannot write.
        try #require(DriverIOMount.run(["-o", "remount,ro", mountPoint]))
        do {
            try writer.write(files: [GeneratedFile(path: "JSON/a.json", contents: "new a")])
            Issue.record("write to a read-only file system succeeded")
        } catch {
            #expect(error.description == "cannot write Generated/JSON/a.json: Read-only file system")
        }
        #expect(try writer.check(files: old) == [])
        try #require(DriverIOMount.run(["-o", "remount,rw", mountPoint]))
    }

    /// Issue 7: an interrupted run leaves every target complete (old or new), and the next run repairs.
    @Test(arguments: [0, 1, 57, 260])
    func interruptedWriteLeavesOldOrNewAndNextRunRepairs(renamesBeforeFailure: Int) throws {
        let temp = DriverIOTempFolder("interrupted\(renamesBeforeFailure)")
        defer { temp.remove() }
        let kept = (0..<200).map { "JSON/code-\($0).json" } + (0..<40).map { "Swift/Part\($0).swift" }
        let dropped = (0..<20).map { "Old/dropped-\($0).json" }
        let added = (0..<30).map { "JSON/new-\($0).json" }
        let old = generation(1, paths: kept + dropped)
        let new = generation(2, paths: kept + added)
        let oldByPath = Dictionary(uniqueKeysWithValues: old.map { ($0.path, $0.contents) })
        let newByPath = Dictionary(uniqueKeysWithValues: new.map { ($0.path, $0.contents) })

        for simulation in [OutputWriter.FailurePoint.afterRenames(renamesBeforeFailure),
                           .abandonAfterRenames(renamesBeforeFailure)] {
            try? FileManager.default.removeItem(atPath: temp.path + "/out")
            let out = temp.url.appendingPathComponent("out")
            try OutputWriter(outputDirectory: out).write(files: old)
            var failing = OutputWriter(outputDirectory: out)
            failing.failurePoint = simulation
            #expect(throws: OutputError.self) { try failing.write(files: new) }

            // Every file is complete: old bytes or new bytes, never a mix or a truncation.
            var newCount = 0
            for path in Set(kept + dropped + added) {
                let onDisk = FileManager.default.contents(atPath: out.path + "/" + path).map { String(decoding: $0, as: UTF8.self) }
                if let onDisk {
                    #expect(onDisk == oldByPath[path] || onDisk == newByPath[path], "torn file \(path)")
                    if onDisk == newByPath[path] { newCount += 1 }
                } else {
                    #expect(oldByPath[path] == nil, "old file \(path) lost")
                }
            }
            #expect(newCount == min(renamesBeforeFailure, new.count))
            let leftovers = FileManager.default.enumerator(atPath: out.path)!.compactMap { $0 as? String }
                .filter { $0.split(separator: "/").last!.hasPrefix(OutputWriter.temporaryPrefix) }
            if case .abandonAfterRenames = simulation, renamesBeforeFailure < new.count {
                #expect(!leftovers.isEmpty)  // the simulated kill left temporary files behind
            } else {
                #expect(leftovers.isEmpty)
            }

            // A later run that no longer wants the new files still removes the ones the broken run
            // created (the intent manifest named them), cleans the temporary files and restores `old`.
            let writer = OutputWriter(outputDirectory: out)
            try writer.write(files: old)
            #expect(try writer.check(files: old) == [])
            let all = FileManager.default.enumerator(atPath: out.path)!.compactMap { $0 as? String }
            let regular = all.filter { path in
                var isFolder: ObjCBool = false
                return FileManager.default.fileExists(atPath: out.path + "/" + path, isDirectory: &isFolder) && !isFolder.boolValue
            }
            #expect(Set(regular) == Set(old.map(\.path) + [OutputWriter.manifestName]))
            // And the wanted new generation is reached in one more run.
            try writer.write(files: new)
            #expect(try writer.check(files: new) == [])
            for file in new { #expect(FileManager.default.contents(atPath: out.path + "/" + file.path) == Data(file.contents.utf8)) }
        }
    }

    /// 2,000 documents by default (CI time on a shared disk); `RULEBOOK_DRIVERIO_FILES=10000` for the
    /// full-size measurement. Prints the timings.
    @Test func manyFilesCollectWriteCheck() throws {
        let count = Int(ProcessInfo.processInfo.environment["RULEBOOK_DRIVERIO_FILES"] ?? "") ?? 2_000
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        let perFolder = 200
        for index in 0..<count {
            if index % perFolder == 0 { temp.mkdir("seeds/group\(index / perFolder)") }
            driverIOCreateRawName(temp.path + "/seeds/group\(index / perFolder)", Array("\(index)_doc.md".utf8),
                                  contents: "CPT \(index)")
        }
        let clock = ContinuousClock()
        var files: [InputFile] = []
        var diagnostics: [Diagnostic] = []
        let collect = clock.measure { (files, diagnostics) = InputCollector.collect(inputs: [temp.path + "/seeds"]) }
        #expect(files.count == count && diagnostics.isEmpty)
        #expect(Set(files.map(\.displayPath)).count == count)
        #expect(collect < .seconds(5))  // debug build on a shared 2-core machine; release: 25-60 ms for 10,000
        let generated = files.enumerated().map { index, file in
            GeneratedFile(path: "JSON/cpt-\(10_000 + index).json",
                          contents: "{\"schemaVersion\": 1, \"source\": \"\(file.relativePath)\"}\n")
        }
        let writer = OutputWriter(outputDirectory: temp.url.appendingPathComponent("Generated"))
        var first = OutputWriter.WriteReport(), second = OutputWriter.WriteReport()
        var lines: [String] = ["?"]
        let write = try clock.measure { first = try writer.write(files: generated) }
        let noop = try clock.measure { second = try writer.write(files: generated) }
        let check = try clock.measure { lines = try writer.check(files: generated) }
        print("\(count) files (debug build): collect \(collect), first write \(write), unchanged write \(noop), check \(check)")
        #expect(first.written.count == count)
        #expect(second.written.isEmpty && second.unchanged.count == count && !second.manifestWritten)
        #expect(lines.isEmpty)
    }
}

/// Mounting a small tmpfs for the full/read-only file system test.
enum DriverIOMount {
    static let available: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/bin/mount") else { return false }
        let probe = NSTemporaryDirectory() + "/rulebook-driverio-mount-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard run(["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe]) else { return false }
        return run([probe], tool: "/bin/umount")
    }()

    static func run(_ arguments: [String], tool: String = "/bin/mount") -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

/// The byte-level shortcut for plain output paths decides exactly as the full check.
@Suite struct OutputPathShortcutTests {
    @Test func plainPathShortcutAgreesWithTheFullCheck() {
        let pieces = ["a", "Z", "0", "9", "-", "_", ".", "/", "CON", "con", "Nul", "COM1", "lpt9", "COM", "json", "x.json", "..", "AUX."]
        var generator = SystemRandomNumberGenerator()
        var plainSeen = 0
        for _ in 0..<20000 {
            let path = (0..<Int.random(in: 0...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let full = try? OutputWriter.checkedComponents(of: path)
            if let plain = OutputWriter.plainComponents(of: path) {
                plainSeen += 1
                #expect(full == plain, "\(path.debugDescription)")
            } else {
                // Only paths the full check rejects (or non-plain ones, which these never are) miss the shortcut.
                #expect(full == nil, "\(path.debugDescription) is valid but missed the shortcut")
            }
        }
        #expect(plainSeen > 1000)
    }
}

import Foundation
import Rulebook
import Testing
@testable import RulebookCompiler
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hostile input folders and hostile codes through the real `rulebook generate`: diagnostics, no crash,
/// the rest compiled, and nothing written outside the output folder.
@Suite(.serialized) struct ReliabilityEndToEndTests {
    static func seed(_ prefix: String) throws -> Data {
        let names = try FileManager.default.contentsOfDirectory(atPath: Repository.url("seeds").path)
        let name = try #require(names.first { $0.hasPrefix(prefix) })
        return try Data(contentsOf: Repository.url("seeds/\(name)"))
    }

    /// Creates a file whose name is raw bytes (not necessarily UTF-8) in `folder`.
    static func createFile(named name: [UInt8], in folder: URL, contents: Data) throws {
        let path = Array(folder.path.utf8) + [UInt8(ascii: "/")] + name + [0]
        let fd = path.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        }
        #expect(fd >= 0)
        defer { close(fd) }
        let written = contents.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        #expect(written == contents.count)
    }

    static func symlink(_ name: String, to target: String, in folder: URL) {
        #expect(Glibc.symlink(target, folder.appendingPathComponent(name).path) == 0)
    }

    /// Paths of the output folder, with a check that each is a plain relative path under JSON/ or Swift/.
    static func expectSafeLayout(_ files: [String: Data], sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        for path in files.keys where path != OutputWriter.manifestName {
            let components = path.split(separator: "/", omittingEmptySubsequences: false)
            #expect(components.first == "JSON" || components.first == "Swift", "unexpected output \(path)", sourceLocation: sourceLocation)
            #expect(components.allSatisfy { !$0.isEmpty && !$0.hasPrefix(".") && !$0.contains("\\") },
                    "unsafe output path \(path)", sourceLocation: sourceLocation)
        }
    }

    @Test func symlinkLoopsUnreadableEntriesAndNonUTF8NamesGiveDiagnosticsAndTheRestCompiles() throws {
        let root = try Reliability.scratchFolder("hostile-folder")
        defer { try? FileManager.default.removeItem(at: root) }
        let docs = root.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Self.seed("001_").write(to: docs.appendingPathComponent("good.md"))                  // CPT 27447
        try Self.seed("002_").write(to: docs.appendingPathComponent("sub/also-good.txt"))        // CPT 29881
        try Self.createFile(named: Array("bad-".utf8) + [0xFF, 0xFE] + Array("-name.md".utf8), in: docs,
                            contents: try Self.seed("004_"))                                     // CPT 64483
        Self.symlink("loop", to: ".", in: docs)                       // a folder loop
        Self.symlink("sub/back", to: "..", in: docs)                  // another, one level down
        Self.symlink("ping.md", to: "pong.md", in: docs)              // a loop of links
        Self.symlink("pong.md", to: "ping.md", in: docs)
        Self.symlink("gone.md", to: "nowhere.md", in: docs)           // dangling
        Self.symlink("outside.md", to: "/etc/hostname", in: docs)     // leaves the input folder
        #expect(mkfifo(docs.appendingPathComponent("fifo.md").path, 0o644) == 0) // would block a naive reader
        try Data([0xEF, 0xBB, 0xBF]).write(to: docs.appendingPathComponent("bom-only.md"))
        try Data([0x43, 0x50, 0x54, 0x20, 0xC3, 0x28]).write(to: docs.appendingPathComponent("invalid-utf8.md"))

        let run = try Reliability.rulebook(["generate", "--input", "docs", "--output", "out", "--jobs", "2"], in: root)
        #expect(run.status == 1, "errors were reported, so exit 1\n\(run.stderr)")
        let lines = run.stderr.split(separator: "\n").map(String.init)
        func expectDiagnostic(_ path: String, _ fragment: String) {
            #expect(lines.contains { $0.hasPrefix(path) && $0.contains(fragment) }, "no '\(fragment)' for \(path) in:\n\(run.stderr)")
        }
        expectDiagnostic("docs/ping.md", "symbolic link loop")
        expectDiagnostic("docs/gone.md", "broken symbolic link")
        expectDiagnostic("docs/fifo.md", "not a regular file")
        expectDiagnostic("docs/outside.md", "outside the input folder")
        expectDiagnostic("docs/bom-only.md", "[file.empty]")
        expectDiagnostic("docs/invalid-utf8.md", "[file.invalid-utf8]")
        expectDiagnostic("docs/bad-\u{FFFD}\u{FFFD}-name.md", "file name is not valid UTF-8")
        #expect(lines.last?.hasPrefix("compiled ") == true)
        #expect(lines.last?.contains("3 codes") == true, "the three good documents compiled: \(lines.last ?? "")")

        let out = try Reliability.snapshot(root.appendingPathComponent("out"))
        Self.expectSafeLayout(out)
        let bundles = out.keys.filter { $0.hasPrefix("JSON/") && $0.hasSuffix(".json") && !$0.hasSuffix("index.json")
            && !$0.hasSuffix("schema.json") }.sorted()
        #expect(bundles == ["JSON/cpt-27447.json", "JSON/cpt-29881.json", "JSON/cpt-64483.json"])
        // Nothing was written into the input folder or next to the output folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() == ["docs", "out"])
    }

    /// Codes that would make file names leave OUT: the extractor rejects them with `code.invalid`,
    /// and the generated files stay plain names under OUT/JSON and OUT/Swift.
    @Test func codesShapedLikePathsCannotWriteOutsideTheOutputFolder() throws {
        let root = try Reliability.scratchFolder("path-safety")
        defer { try? FileManager.default.removeItem(at: root) }
        let docs = root.appendingPathComponent("area/docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        let hostileCodes = ["../../x", "/etc/passwd", "..", "CON", "COM1", "LPT1.", "NUL", "a/b/c", "x\\..\\y", ".hidden",
                            "27365/../../../x", "\u{202E}27365"]
        for (index, code) in hostileCodes.enumerated() {
            let text = "---\ncode: \(code)\nsystem: CPT\ntitle: Hostile \(index)\n---\n\n# Hostile\n\nText.\n"
            try Data(text.utf8).write(to: docs.appendingPathComponent("hostile-\(index).md"))
        }
        try Data("# CPT ../../etc/x: Title line with a path\n\nText.\n".utf8).write(to: docs.appendingPathComponent("title.md"))
        try Self.seed("000_").write(to: docs.appendingPathComponent("good.txt")) // CPT 27365

        let area = root.appendingPathComponent("area")
        let run = try Reliability.rulebook(["generate", "--input", "docs", "--output", "out"], in: area)
        #expect(run.status == 1)
        for index in hostileCodes.indices {
            #expect(run.stderr.contains("docs/hostile-\(index).md:") && run.stderr.contains("[code.invalid]"),
                    "hostile code \(hostileCodes[index].debugDescription) not rejected:\n\(run.stderr)")
        }
        #expect(run.stderr.contains("docs/title.md:1:1: error:"))
        let out = try Reliability.snapshot(area.appendingPathComponent("out"))
        Self.expectSafeLayout(out)
        #expect(out.keys.filter { $0.hasPrefix("JSON/cpt-") }.sorted() == ["JSON/cpt-27365.json"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: area.path).sorted() == ["docs", "out"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["area"])
    }

    /// Defence in depth: even a record whose code was never validated (built directly, bypassing the
    /// extractor) cannot make the generator write outside OUT — the bundle name is sanitised or the writer
    /// refuses the path, and nothing outside OUT changes.
    @Test(arguments: ["../../escaped", "/tmp/absolute", "CON", "..", "a/../../b", "x\u{0}y"])
    func unvalidatedCodesCannotEscape(code: String) throws {
        let root = try Reliability.scratchFolder("escape")
        defer { try? FileManager.default.removeItem(at: root) }
        let outURL = root.appendingPathComponent("a/b/out")
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        let record = CodeRecord(system: .cpt, code: code, title: "t", source: Rulebook.SourceLocation(path: "x.md", line: 1))
        let files = Generator.emit([record], accessLevel: .public)
        let writer = OutputWriter(outputDirectory: outURL, displayPath: "out")
        do {
            try writer.write(files: files)
            let written = try Reliability.snapshot(outURL)
            Self.expectSafeLayout(written)
            #expect(!written.isEmpty)
        } catch {
            #expect((error as? OutputError)?.kind == .invalidPath, "\(error)")
        }
        // Nothing appeared anywhere under the scratch root except inside OUT.
        let everything = try Reliability.snapshot(root).keys
        #expect(everything.allSatisfy { $0.hasPrefix("a/b/out/") }, "\(everything.sorted())")
    }
}

import Foundation
import Testing
@testable import RulebookCompiler
#if canImport(Glibc)
import Glibc
#endif

/// An output folder that cannot be written (a file in its place, a folder the user may not write, a full
/// or read-only file system): `generate` reports a clear `output.write-failed` error, exits 1, and leaves
/// the previous outputs exactly as they were.
@Suite(.serialized) struct ReliabilityOutputFailureTests {
    static func tool(_ path: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A scratch folder with `docs/` holding the first `count` seed documents.
    static func project(_ name: String, documents count: Int) throws -> URL {
        let root = try Reliability.scratchFolder(name)
        let seeds = try FileManager.default.contentsOfDirectory(atPath: Repository.url("seeds").path).sorted()
        let docs = root.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        for name in seeds.prefix(count) {
            try FileManager.default.copyItem(at: Repository.url("seeds/\(name)"), to: docs.appendingPathComponent(name))
        }
        return root
    }

    static func addDocuments(to root: URL, count: Int) throws {
        let template = try String(contentsOf: Repository.url("seeds/001_cpt-27447-total-knee-arthroplasty.md"), encoding: .utf8)
        for index in 0..<count {
            let code = String(format: "%05d", 40000 + index)
            try Data(template.replacingOccurrences(of: "27447", with: code).utf8)
                .write(to: root.appendingPathComponent("docs/extra-\(code).md"))
        }
    }

    static func expectWriteFailure(_ run: Reliability.Run, mentioning fragment: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(run.status == 1, sourceLocation: sourceLocation)
        let line = run.stderr.split(separator: "\n").first { $0.contains("[output.write-failed]") }
        #expect(line != nil, "no output.write-failed error in:\n\(run.stderr)", sourceLocation: sourceLocation)
        #expect(line?.contains(fragment) == true, "'\(fragment)' missing from: \(line ?? "")", sourceLocation: sourceLocation)
    }

    @Test func aFileWhereTheOutputFolderShouldBe() throws {
        let root = try Self.project("output-is-file", documents: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        try Data("not a folder\n".utf8).write(to: root.appendingPathComponent("out"))
        let run = try Reliability.rulebook(["generate", "--input", "docs", "--output", "out"], in: root)
        Self.expectWriteFailure(run, mentioning: "out")
        #expect(try Data(contentsOf: root.appendingPathComponent("out")) == Data("not a folder\n".utf8))
    }

    @Test func aFileWhereASubfolderShouldBeLeavesTheOtherOutputsIntact() throws {
        let root = try Self.project("json-is-file", documents: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        let first = try Reliability.rulebook(["generate", "--input", "docs", "--output", "out"], in: root)
        #expect(first.status == 0, "\(first.stderr)")
        let out = root.appendingPathComponent("out")
        let before = try Reliability.snapshot(out)
        // Replace OUT/JSON by a file, change the documents, and run again.
        try FileManager.default.removeItem(at: out.appendingPathComponent("JSON"))
        try Data("in the way\n".utf8).write(to: out.appendingPathComponent("JSON"))
        try Self.addDocuments(to: root, count: 2)
        let run = try Reliability.rulebook(["generate", "--input", "docs", "--output", "out"], in: root)
        Self.expectWriteFailure(run, mentioning: "out/JSON")
        var expected = before.filter { !$0.key.hasPrefix("JSON/") }
        expected["JSON"] = Data("in the way\n".utf8)
        #expect(try Reliability.snapshot(out) == expected)
    }

    /// Root ignores file permissions, so the run is made as `nobody` (setpriv) when the tests run as root.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                   "needs root (to switch to nobody with setpriv); a non-root user is covered by chmod alone"))
    func aFolderTheUserMayNotWrite() throws {
        let root = try Self.project("read-only-folder", documents: 3)
        defer { try? FileManager.default.removeItem(at: root) }
        let first = try Reliability.rulebook(["generate", "--input", "docs", "--output", "out"], in: root)
        #expect(first.status == 0)
        let out = root.appendingPathComponent("out")
        let before = try Reliability.snapshot(out)
        try Self.addDocuments(to: root, count: 3)
        _ = Self.tool("/bin/chmod", ["-R", "a+rX", root.path])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", RulebookProcess.executable.path,
                             "generate", "--input", "docs", "--output", "out"]
        process.currentDirectoryURL = root
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        Self.expectWriteFailure(Reliability.Run(status: process.terminationStatus, stdout: "", stderr: stderr),
                                mentioning: "Permission denied")
        #expect(try Reliability.snapshot(out) == before)
    }

    static let canMount: Bool = {
        guard getuid() == 0 else { return false }
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-mount-probe-\(getpid())")
        try? FileManager.default.createDirectory(at: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: probe) }
        guard tool("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe.path]) == 0 else { return false }
        return tool("/bin/umount", [probe.path]) == 0
    }()

    /// A small tmpfs: full (no free inodes, then no free bytes), then remounted read-only.
    @Test(.enabled(if: canMount, "needs permission to mount a tmpfs (root with CAP_SYS_ADMIN)"))
    func aFullAndThenReadOnlyFileSystem() throws {
        let root = try Self.project("full-disk", documents: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // Few inodes: the first, small output fits; a larger corpus cannot be staged.
        #expect(Self.tool("/bin/mount", ["-t", "tmpfs", "-o", "size=2m,nr_inodes=32", "tmpfs", out.path]) == 0)
        defer { _ = Self.tool("/bin/umount", ["-l", out.path]) }
        let first = try Reliability.rulebook(["generate", "--input", "docs", "--output", "out"], in: root)
        #expect(first.status == 0, "\(first.stderr)")
        let before = try Reliability.snapshot(out)
        #expect(before.count >= 3)

        try Self.addDocuments(to: root, count: 40)
        let full = try Reliability.rulebook(["generate", "--input", "docs", "--output", "out"], in: root)
        Self.expectWriteFailure(full, mentioning: "No space left on device")
        #expect(try Reliability.snapshot(out) == before, "a failed run must leave the previous outputs")
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: out.path).filter { $0.contains(".rulebook-tmp-") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")

        // Bytes rather than inodes: a document large enough to overflow 2 MB once emitted.
        try FileManager.default.removeItem(at: root.appendingPathComponent("docs"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("docs"), withIntermediateDirectories: true)
        let big = "# CPT 27365: Big\n\n## Notes\n\n" + String(repeating: "A line of notes that will be kept as section text.\n\n", count: 60_000)
        try Data(big.utf8).write(to: root.appendingPathComponent("docs/big.md"))
        let bytes = try Reliability.rulebook(["generate", "--input", "docs", "--output", "out"], in: root)
        var current = before
        if bytes.status == 0 {
            // The emitted files fitted after all: then OUT must be exactly the new output.
            let check = try Reliability.rulebook(["generate", "--input", "docs", "--output", "out", "--check"], in: root)
            #expect(check.status == 0, "\(check.stderr)")
            current = try Reliability.snapshot(out)
        } else {
            Self.expectWriteFailure(bytes, mentioning: "No space left on device")
            #expect(try Reliability.snapshot(out) == before)
        }

        // Read-only.
        try Self.addDocuments(to: root, count: 1)
        #expect(Self.tool("/bin/mount", ["-o", "remount,ro", out.path]) == 0)
        let readOnly = try Reliability.rulebook(["generate", "--input", "docs", "--output", "out"], in: root)
        Self.expectWriteFailure(readOnly, mentioning: "Read-only file system")
        #expect(try Reliability.snapshot(out) == current)
    }
}

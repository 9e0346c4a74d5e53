import Foundation
import Testing
@testable import RulebookCompiler

/// Helpers of the reliability tests: the real `rulebook` process with a chosen environment and
/// working folder, folder snapshots, scratch folders.
enum Reliability {
    typealias Run = RulebookProcess.Output

    /// Runs `.build/debug/rulebook` with exactly `environment` (plus PATH) in `directory`.
    static func rulebook(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> Run {
        // A minimal environment, so only what a test sets (locale, time zone) differs between runs.
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        env.merge(environment) { $1 }
        return try RulebookProcess.run(arguments, in: directory, environment: env)
    }

    /// Every regular file under `folder` (relative path → bytes), symlinks not followed.
    static func snapshot(_ folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        guard let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return files
        }
        let base = folder.standardizedFileURL.path
        for case let url as URL in enumerator {
            guard try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(base.count + 1))
            files[relative] = try Data(contentsOf: url)
        }
        return files
    }

    static func scratchFolder(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The seed documents and the edge-case fixtures (errors included): relative path → bytes, sorted.
    static func corpus() throws -> [(String, Data)] {
        var files: [(String, Data)] = []
        for folder in ["seeds", "Tests/Fixtures/documents"] {
            let root = Repository.url(folder)
            for (path, data) in try snapshot(root) {
                files.append(("\(folder.replacingOccurrences(of: "/", with: "-"))/\(path)", data))
            }
        }
        return files.sorted { $0.0 < $1.0 }
    }

    /// Writes `files` under `folder`, in the given order (so creation order and directory order follow it).
    static func write(_ files: [(String, Data)], under folder: URL) throws {
        for (path, data) in files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
    }

    static var installedLocales: String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/locale")
        process.arguments = ["-a"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).lowercased()
    }

    static let turkishLocaleInstalled = installedLocales.contains("tr_tr.utf8")
}

/// Two runs give byte-identical outputs (every file, the manifest included, and the diagnostics) whatever
/// the locale, time zone, file creation order and thread count.
@Suite(.serialized) struct ReliabilityDeterminismTests {
    /// The corpus written twice: `forward/docs` in sorted order and `reverse/docs` in reverse order.
    static func twoFolders() throws -> (root: URL, forward: URL, reverse: URL) {
        let root = try Reliability.scratchFolder("determinism")
        let files = try Reliability.corpus()
        #expect(files.count >= 25)
        let forward = root.appendingPathComponent("forward"), reverse = root.appendingPathComponent("reverse")
        try Reliability.write(files, under: forward.appendingPathComponent("docs"))
        try Reliability.write(files.reversed(), under: reverse.appendingPathComponent("docs"))
        return (root, forward, reverse)
    }

    /// `generate --input docs --output NAME` in `folder`; returns the output snapshot and the run.
    static func generate(in folder: URL, output: String, jobs: Int, environment: [String: String])
        throws -> (files: [String: Data], run: Reliability.Run) {
        let run = try Reliability.rulebook(["generate", "--input", "docs", "--output", output, "--jobs", "\(jobs)"],
                                           in: folder, environment: environment)
        #expect(run.status == 1, "the corpus holds error fixtures: exit 1 expected\n\(run.stderr)")
        #expect(run.stderr.contains("compiled "))
        return (try Reliability.snapshot(folder.appendingPathComponent(output)), run)
    }

    static func expectIdentical(_ a: (files: [String: Data], run: Reliability.Run),
                                _ b: (files: [String: Data], run: Reliability.Run), _ what: String) {
        #expect(a.files.keys.sorted() == b.files.keys.sorted(), "\(what): different file sets")
        let differing = a.files.keys.filter { a.files[$0] != b.files[$0] }.sorted()
        #expect(differing.isEmpty, "\(what): files differ: \(differing.prefix(10))")
        #expect(a.run.stderr == b.run.stderr, "\(what): diagnostics differ")
        #expect(a.run.status == b.run.status)
    }

    @Test func timeZonesCreationOrdersAndThreadCounts() throws {
        let (root, forward, reverse) = try Self.twoFolders()
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try Self.generate(in: forward, output: "out-base", jobs: 1, environment: ["LC_ALL": "C", "TZ": "UTC"])
        #expect(base.files.count >= 3)
        #expect(base.files.keys.contains(OutputWriter.manifestName))
        let kiritimati = try Self.generate(in: forward, output: "out-tz", jobs: 2,
                                           environment: ["LC_ALL": "C", "TZ": "Pacific/Kiritimati"])
        Self.expectIdentical(base, kiritimati, "TZ=UTC --jobs 1 vs TZ=Pacific/Kiritimati --jobs 2")
        let reversed = try Self.generate(in: reverse, output: "out-base", jobs: 8, environment: ["LC_ALL": "C", "TZ": "UTC"])
        Self.expectIdentical(base, reversed, "files created in sorted vs reverse order, --jobs 1 vs --jobs 8")
        // A second run over an up-to-date folder rewrites nothing and changes nothing.
        let again = try Self.generate(in: reverse, output: "out-base", jobs: 2, environment: ["TZ": "America/St_Johns"])
        Self.expectIdentical(reversed, again, "rerun over its own output")
    }

    @Test(.enabled(if: Reliability.turkishLocaleInstalled,
                   "tr_TR.UTF-8 is not installed (apt-get install -y locales; localedef -i tr_TR -f UTF-8 tr_TR.UTF-8)"))
    func turkishLocale() throws {
        let (root, forward, _) = try Self.twoFolders()
        defer { try? FileManager.default.removeItem(at: root) }
        let c = try Self.generate(in: forward, output: "out-c", jobs: 2, environment: ["LC_ALL": "C"])
        let turkish = try Self.generate(in: forward, output: "out-tr", jobs: 2,
                                        environment: ["LC_ALL": "tr_TR.UTF-8", "LANG": "tr_TR.UTF-8"])
        // Turkish maps I↔ı and İ↔i: any locale-dependent case mapping would change `hcpcs-…`, payer slugs or titles.
        Self.expectIdentical(c, turkish, "LC_ALL=C vs LC_ALL=tr_TR.UTF-8")
    }
}

import Foundation
import Rulebook

/// The records one side of `rulebook diff` names, and the diagnostics compiling it gave.
public struct RuleSet: Sendable {
    public var records: [CodeRecord]
    public var diagnostics: [Diagnostic]
    /// How the side was named: `seeds`, `Generated/JSON`, `HEAD~1:seeds`.
    public var label: String

    public init(records: [CodeRecord], diagnostics: [Diagnostic] = [], label: String) {
        self.records = records
        self.diagnostics = diagnostics
        self.label = label
    }
}

/// Reads a side of a diff: a folder of documents, a folder of JSON bundles, one document or bundle, or the
/// documents under some paths at a git revision.
public enum RuleSetLoader {
    /// A folder of bundles (any `*.json` other than the index and the schema), else a folder of documents
    /// (`.md`, `.markdown`, `.txt`, recursively), or one file of either kind.
    public static func load(path: String) throws(UsageError) -> RuleSet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw UsageError("'\(path)' does not exist (give a folder of documents or of JSON bundles)")
        }
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            let bundles = RuleBook.bundleFileNames(names)
            if !bundles.isEmpty {
                var records: [CodeRecord] = []
                for name in bundles {
                    let file = (path as NSString).appendingPathComponent(name)
                    records += try bundle(at: file).codes
                }
                return RuleSet(records: records, label: path)
            }
            let (files, collectDiagnostics) = InputCollector.collect(inputs: [path])
            guard !files.isEmpty else {
                throw UsageError("'\(path)' holds no documents (.md, .markdown, .txt) and no JSON bundles")
            }
            var set = compile(files.map { ($0, $0.displayPath) }, label: path)
            set.diagnostics = collectDiagnostics + set.diagnostics
            return set
        }
        if path.lowercased().hasSuffix(".json") {
            return RuleSet(records: try bundle(at: path).codes, label: path)
        }
        let (files, collectDiagnostics) = InputCollector.collect(inputs: [path])
        var set = compile(files.map { ($0, $0.displayPath) }, label: path)
        set.diagnostics = collectDiagnostics + set.diagnostics
        return set
    }

    static func bundle(at path: String) throws(UsageError) -> RuleBundle {
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try RuleBook.decodeBundle(data, path: path)
        } catch let error as RuleBookLoadError {
            throw UsageError(error.description)
        } catch {
            throw UsageError("cannot read bundle '\(path)': \(error.localizedDescription)")
        }
    }

    /// Compiles documents, naming each by `displayPath` in provenance and diagnostics; cross-document
    /// validation as in `generate` (a code defined twice keeps its first definition).
    static func compile(_ files: [(file: InputFile, displayPath: String)], label: String) -> RuleSet {
        var records: [CodeRecord] = []
        var diagnostics: [Diagnostic] = []
        for (file, displayPath) in files {
            switch Result(catching: { () throws(InputReadError) -> [UInt8] in try file.read() }) {
            case .success(let bytes):
                let result = Pipeline.compile(bytes: bytes, path: displayPath)
                if let record = result.record { records.append(record) }
                diagnostics += result.diagnostics
            case .failure(let error):
                var diagnostic = error.diagnostic
                diagnostic.path = displayPath
                diagnostics.append(diagnostic)
            }
        }
        let (kept, validation) = CrossDocumentValidator.validate(records)
        return RuleSet(records: kept, diagnostics: diagnostics + validation.filter { $0.id == DiagnosticID.codeDuplicate.rawValue },
                       label: label)
    }

    // MARK: git

    /// The documents under `paths` (relative to the current folder) at `revision`, extracted with
    /// `git archive` into a temporary folder and compiled; paths are shown as `REV:path`.
    public static func load(gitRevision revision: String, paths: [String]) throws(UsageError) -> RuleSet {
        guard !revision.isEmpty, !revision.hasPrefix("-") else { throw UsageError("--git needs a revision, e.g. HEAD or main") }
        let top = try git(["rev-parse", "--show-toplevel"]).trimmingCharacters(in: .newlines)
        let prefix = try git(["rev-parse", "--show-prefix"]).trimmingCharacters(in: .newlines)
        _ = try git(["rev-parse", "--verify", "--quiet", revision + "^{commit}"],
                    failure: "'\(revision)' is not a commit in this repository")
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-diff-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temporary) }
        do {
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        } catch {
            throw UsageError("cannot create a temporary folder: \(error.localizedDescription)")
        }
        let archive = temporary.appendingPathComponent("archive.tar").path
        let extracted = temporary.appendingPathComponent("tree").path
        try? FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        let repoPaths = paths.map { normalise(prefix + $0) }
        _ = try git(["-C", top, "archive", "--format=tar", "-o", archive, revision, "--"] + repoPaths,
                    failure: "cannot read \(paths.joined(separator: ", ")) at \(revision)")
        _ = try run("/usr/bin/env", ["tar", "-x", "-f", archive, "-C", extracted], failure: "cannot unpack the archive of \(revision)")
        var files: [(InputFile, String)] = []
        var diagnostics: [Diagnostic] = []
        for (shown, repoPath) in zip(paths, repoPaths) {
            let local = (extracted as NSString).appendingPathComponent(repoPath)
            let (found, collected) = InputCollector.collect(inputs: [local])
            diagnostics += collected.filter { $0.severity == .error }
            for file in found {
                let relative = file.displayPath.hasPrefix(local + "/") ? String(file.displayPath.dropFirst(local.count + 1)) : file.relativePath
                let base = normalise(shown)
                files.append((file, "\(revision):" + (base.isEmpty ? relative : base + "/" + relative)))
            }
            if found.isEmpty && !FileManager.default.fileExists(atPath: local) {
                throw UsageError("'\(shown)' does not exist at \(revision)")
            }
        }
        var set = compile(files, label: "\(revision):" + paths.joined(separator: ","))
        set.diagnostics = diagnostics + set.diagnostics
        return set
    }

    /// `./a//b/` → `a/b`.
    static func normalise(_ path: String) -> String {
        path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }

    static func git(_ arguments: [String], failure: String? = nil) throws(UsageError) -> String {
        try run("/usr/bin/env", ["git"] + arguments, failure: failure)
    }

    /// Runs a command; its stdout, or a usage error with `failure` (or its stderr) when it exits non-zero.
    static func run(_ executable: String, _ arguments: [String], failure: String?) throws(UsageError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw UsageError("cannot run \(arguments.first ?? executable): \(error.localizedDescription)")
        }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let detail = String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let message = failure ?? "\(arguments.prefix(2).joined(separator: " ")) failed"
            throw UsageError(detail.isEmpty ? message : "\(message) (\(detail.split(separator: "\n").first ?? ""))")
        }
        return String(decoding: output, as: UTF8.self)
    }
}

import Foundation
import Testing
import Rulebook
@testable import RulebookCompiler

/// Reference tests: what the compiler makes of the seed documents is compared byte for byte with
/// committed files, printing a diff on mismatch. `RULEBOOK_UPDATE_REFERENCES=1 swift test` rewrites them.
enum Reference {
    static var updating: Bool { ProcessInfo.processInfo.environment["RULEBOOK_UPDATE_REFERENCES"] == "1" }

    /// Compares `actual` with the committed file; on mismatch, a unified diff.
    static func compare(_ actual: String, withFileAt relative: String) throws -> String? {
        let url = Repository.url(relative)
        if updating {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: url)
            return nil
        }
        let expected = (try? Data(contentsOf: url)).map { String(decoding: $0, as: UTF8.self) }
        guard expected != actual else { return nil }
        return diff(expected ?? "", actual, label: relative)
    }

    static func diff(_ expected: String, _ actual: String, label: String) -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-ref-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("expected"), b = folder.appendingPathComponent("actual")
        try? Data(expected.utf8).write(to: a)
        try? Data(actual.utf8).write(to: b)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/diff")
        process.arguments = ["-u", "--label", "\(label) (committed)", "--label", "\(label) (now)", a.path, b.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try? process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self)
    }

    static let seeds: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Repository.url("seeds").path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { "seeds/" + $0 }
    }()
}

/// Every seed document against its committed expected `rulebook extract` JSON.
@Test(arguments: Reference.seeds)
func seedExtractMatchesReference(_ path: String) throws {
    let result = Pipeline.compile(bytes: try Repository.bytes(path), path: path)
    let json = JSONEmitter.extractResult(result.record.map { [$0] } ?? [], diagnostics: result.diagnostics)
    let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    if let diff = try Reference.compare(json, withFileAt: "Tests/Fixtures/expected/\(name).json") {
        Issue.record("\(path): extract output differs from Tests/Fixtures/expected/\(name).json\n\(diff)")
    }
    #expect(!result.diagnostics.contains { $0.severity == .error }, "seed documents compile without errors")
}

@Test func seedsAreMany() {
    #expect(Reference.seeds.count >= 13)
    #expect(Reference.seeds.contains { $0.hasSuffix(".md") } && Reference.seeds.contains { $0.hasSuffix(".txt") })
}

/// `rulebook generate` on seeds/ (the real process) against the committed Generated/ folder, file by file.
@Test func generatedFolderMatchesReference() throws {
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-gen-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: output) }
    let result = try RulebookProcess.run(["generate", "--output", output.path])
    #expect(result.status == 0, "\(result.stderr)")
    let enumerator = FileManager.default.enumerator(atPath: output.path)
    var produced: [String] = []
    while let relative = enumerator?.nextObject() as? String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: output.appendingPathComponent(relative).path, isDirectory: &isDirectory), !isDirectory.boolValue {
            produced.append(relative)
        }
    }
    #expect(produced.contains("JSON/cpt-27365.json") && produced.contains("Swift/RulebookData.swift"))
    for relative in produced.sorted() {
        let contents = String(decoding: try Data(contentsOf: output.appendingPathComponent(relative)), as: UTF8.self)
        if let diff = try Reference.compare(contents, withFileAt: "Generated/" + relative) {
            Issue.record("Generated/\(relative) is not what generate writes now\n\(diff)")
        }
    }
}

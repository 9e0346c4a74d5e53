import Foundation
import Rulebook
import Testing
@testable import RulebookCompiler

/// Tests/Fixtures/documents/hostile.md (quotes, `"""`, `\`, `\(`, `#"`, `*/`, `/*`, bidi controls) through the
/// whole `generate`: no raw bidirectional control in any generated Swift file, and the JSON bundle decodes
/// to exactly the record the extractor built (every string byte for byte).
@Suite struct ReliabilityHostileContentTests {
    static let bidiControls: Set<UInt32> = Set(0x202A...0x202E).union(0x2066...0x2069)

    static func generateHostile() throws -> (record: CodeRecord, files: [String: Data], root: URL) {
        let root = try Reliability.scratchFolder("hostile")
        let docs = root.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        let bytes = try Repository.bytes("Tests/Fixtures/documents/hostile.md")
        try Data(bytes).write(to: docs.appendingPathComponent("hostile.md"))
        let record = try #require(Pipeline.compile(bytes: bytes, path: "docs/hostile.md").record)
        let run = try Reliability.rulebook(["generate", "--input", "docs", "--output", "out"], in: root)
        #expect(run.status == 0 || run.status == 1, "\(run.stderr)")
        return (record, try Reliability.snapshot(root.appendingPathComponent("out")), root)
    }

    /// The record extracted from the fixture carries every hostile fragment (so the tests below are not vacuous).
    @Test func theRecordReallyHoldsTheHostileCharacters() throws {
        let bytes = try Repository.bytes("Tests/Fixtures/documents/hostile.md")
        let record = try #require(Pipeline.compile(bytes: bytes, path: "docs/hostile.md").record)
        let text = ([record.title, record.summary] + record.payers.map(\.notes) + record.modifiers.flatMap { [$0.description, $0.whenToUse] })
            .joined(separator: "\n")
        for fragment in ["\"", "\"\"\"", "\\", "\\(", "#\"", "\"#", "*/", "/*", "\u{202E}", "\u{2066}", "\u{2069}"] {
            #expect(text.contains(fragment), "the hostile record lacks \(fragment.debugDescription)")
        }
    }

    @Test func noRawBidiControlInGeneratedSwift() throws {
        let (record, files, root) = try Self.generateHostile()
        defer { try? FileManager.default.removeItem(at: root) }
        // The record does carry bidi controls (so the check below is not vacuous).
        let allText = [record.title, record.summary] + record.payers.map(\.notes) + record.modifiers.map(\.whenToUse)
        #expect(allText.contains { $0.unicodeScalars.contains { Self.bidiControls.contains($0.value) } })
        let swiftFiles = files.filter { $0.key.hasPrefix("Swift/") && $0.key.hasSuffix(".swift") }
        #expect(!swiftFiles.isEmpty)
        for (path, data) in swiftFiles {
            let text = String(decoding: data, as: UTF8.self)
            let raw = text.unicodeScalars.filter { Self.bidiControls.contains($0.value) }
            #expect(raw.isEmpty, "\(path) holds raw bidi controls \(raw.map { String($0.value, radix: 16) })")
        }
    }

    @Test func theJSONBundleRoundTripsTheExactText() throws {
        let (record, files, root) = try Self.generateHostile()
        defer { try? FileManager.default.removeItem(at: root) }
        let name = JSONEmitter.bundleFileName(for: record)
        let data = try #require(files["JSON/\(name)"])
        let bundle = try JSONDecoder().decode(RuleBundle.self, from: data)
        #expect(bundle.codes == [record])
        let title = try #require(bundle.codes.first?.title)
        #expect(title.contains("\"\"\"") && title.contains("\\(") && title.contains("\u{202E}"))
    }
}

import Foundation
import Rulebook
import Testing
@testable import RulebookCompiler

/// Pathological documents (the cases of Scripts/pathological.sh, generated here at modest sizes):
/// each one finishes and gives either a record or an explaining error diagnostic, and what it
/// yields is what the input says. No wall-clock assertions: the linear-time figures come from
/// Scripts/pathological.sh (release build, N and 10N).
@Suite struct ReliabilityPathologicalTests {
    static let title = "CPT 27365: Excision of tumor\n\n"

    /// Compiles `bytes` as a `.md` and as a `.txt` file and checks the invariants the fuzz target checks.
    static func compileBoth(_ bytes: [UInt8], sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [Pipeline.Result] {
        ["pathological.md", "pathological.txt"].map { path in
            let result = Pipeline.compile(bytes: bytes, path: path)
            checkInvariants(result, bytes: bytes, sourceLocation: sourceLocation)
            return result
        }
    }

    static func checkInvariants(_ result: Pipeline.Result, bytes: [UInt8], sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let lineCount = bytes.reduce(1) { $0 + ($1 == 0x0A || $1 == 0x0D ? 1 : 0) }
        if result.document == nil {
            #expect(result.diagnostics.contains { $0.severity == .error }, "a rejected document must say why",
                    sourceLocation: sourceLocation)
        }
        if result.record == nil {
            #expect(result.diagnostics.contains { $0.severity == .error }, "a document without a record must say why",
                    sourceLocation: sourceLocation)
        }
        for diagnostic in result.diagnostics {
            #expect(diagnostic.line >= 0 && diagnostic.line <= lineCount + 1, "diagnostic outside the document: \(diagnostic.formatted)",
                    sourceLocation: sourceLocation)
        }
    }

    /// Deepest list/nesting level in a block tree (a top-level list is 1).
    static func listDepth(_ blocks: [Block]) -> Int {
        var deepest = 0
        for block in blocks {
            if case .list(_, let items) = block.kind {
                for item in items { deepest = max(deepest, 1 + listDepth(item.blocks)) }
            }
        }
        return deepest
    }

    static func allTables(_ result: Pipeline.Result) -> [Table] {
        tables(in: result.document?.blocks ?? []).map(\.table)
    }

    @Test func oneHundredThousandTableRowsAreAllRead() throws {
        let rows = 20_000
        var text = Self.title + "## Modifiers\n\n| Modifier | Description | When to use |\n|---|:-:|--:|\n"
        for index in 0..<rows { text += "| \(String(format: "%02d", index % 100)) | description of row \(index) | use it when \(index) |\n" }
        for result in Self.compileBoth(Array(text.utf8)) {
            let table = try #require(Self.allTables(result).first)
            #expect(table.rows.count == rows)
            let record = try #require(result.record)
            #expect(record.modifiers.count == 100) // 00…99, each first row kept
            #expect(result.diagnostics.filter { $0.id == DiagnosticID.modifierDuplicate.rawValue }.count == rows - 100)
        }
    }

    @Test func payerTableRowsForTheSamePayersMerge() throws {
        let rows = 5_000
        let payers = ["Aetna", "Cigna", "Medicare", "UnitedHealthcare", "Humana"]
        var text = Self.title + "## Payer Considerations\n\n| Payer | Prior authorization | Notes |\n|---|---|---|\n"
        for index in 0..<rows { text += "| \(payers[index % 5]) | Required | Note \(index): submit records. |\n" }
        for result in Self.compileBoth(Array(text.utf8)) {
            let record = try #require(result.record)
            #expect(record.payers.count == 5)
            #expect(record.payers.allSatisfy { $0.priorAuthorization == .required })
            let aetna = try #require(record.payers.first { $0.payer == "aetna" })
            #expect(aetna.notes.contains("Note 0: submit records.") && aetna.notes.contains("Note \(rows - 5): submit records."))
        }
    }

    /// Merging many statements for one payer stays linear (Scripts/pathological.sh `payer-rows`: 100,000 rows took
    /// minutes before) and still drops repeated notes, also once the merged notes are longer than 4 KB.
    @Test func repeatedPayerNotesAreKeptOnce() throws {
        var text = Self.title + "## Payer Considerations\n\n| Payer | Prior authorization | Notes |\n|---|---|---|\n"
        for index in 0..<4_000 {
            text += index % 2 == 0 ? "| Aetna | Required | Repeated note. |\n" : "| Aetna | Required | Distinct note \(index). |\n"
        }
        for result in Self.compileBoth(Array(text.utf8)) {
            let notes = try #require(result.record?.payers.first { $0.payer == "aetna" }).notes
            #expect(notes.utf8.count > 4096)
            #expect(notes.components(separatedBy: "Repeated note.").count == 2)
            #expect(notes.components(separatedBy: "Distinct note ").count == 2_001)
            #expect(notes.hasPrefix("Repeated note. Distinct note 1. Distinct note 3."))
        }
    }

    @Test func aTableTenThousandColumnsWide() throws {
        let columns = 10_000
        let header = "| Modifier | Description |" + (2..<columns).map { " c\($0) |" }.joined()
        let delimiter = "|" + String(repeating: "---|", count: columns)
        let row = "| 25 | Significant service |" + (2..<columns).map { " v\($0) |" }.joined()
        let text = Self.title + "## Modifiers\n\n\(header)\n\(delimiter)\n\(row)\n\(row)\n"
        for result in Self.compileBoth(Array(text.utf8)) {
            let table = try #require(Self.allTables(result).first)
            #expect(table.header.count == columns)
            #expect(table.rows.count == 2 && table.rows.allSatisfy { $0.cells.count == columns })
            #expect(table.rows[0].cells[columns - 1].text == "v\(columns - 1)")
            #expect(try #require(result.record).modifiers.map(\.code) == ["25"])
        }
    }

    @Test func aLongSingleLine() throws {
        let unit = "Prior authorization **required** for *this* `code` & [link](http://x) text_with_underscores | "
        let text = String(repeating: unit, count: 20_000) // ~2 MB, no line break
        for result in Self.compileBoth(Array(text.utf8)) {
            let document = try #require(result.document)
            #expect(!document.blocks.isEmpty)
            #expect(result.diagnostics.contains { $0.id == DiagnosticID.codeMissing.rawValue })
        }
    }

    @Test func oneHundredThousandPipesInOneLine() throws {
        let pipes = String(repeating: "|", count: 100_000)
        for result in Self.compileBoth(Array((Self.title + pipes + "\n").utf8)) {
            #expect(result.record?.code == "27365")
        }
        // Under a two-column header the line is a row of 99,999 empty cells: two kept, the rest dropped with a warning.
        let table = Self.title + "| Modifier | Description |\n|---|---|\n" + pipes + "\n"
        for result in Self.compileBoth(Array(table.utf8)) {
            let rows = Self.allTables(result).first?.rows ?? []
            #expect(rows.count == 1 && rows.first?.sourceCellCount == 99_999 && rows.first?.cells.count == 2)
            #expect(result.diagnostics.contains { $0.id == DiagnosticID.tableExtraCells.rawValue })
        }
    }

    @Test(arguments: ["- ", "* ", "1. ", "> "])
    func fiftyThousandNestedMarkersStopAtTheNestingLimit(marker: String) throws {
        let text = Self.title + String(repeating: marker, count: 50_000) + "x\n"
        let results = Self.compileBoth(Array(text.utf8))
        let markdown = try #require(results[0].document)
        #expect(markdown.dialect == .markdown || marker == "> ")
        if marker != "> " {
            #expect(Self.listDepth(markdown.blocks) == MarkdownBlockParser.maximumNesting)
        }
        // Whatever the dialect, the markers beyond the limit are kept as text.
        let text0 = MarkdownBlockParser.plainLines(markdown.blocks).map(\.text).joined()
        #expect(text0.hasSuffix("x"))
        for result in results { #expect(result.record?.code == "27365") }
    }

    @Test func indentedNestingStopsAtTheNestingLimit() throws {
        var text = Self.title
        for level in 0..<300 { text += String(repeating: "  ", count: level) + "- item \(level)\n" }
        let result = Self.compileBoth(Array(text.utf8))[0]
        let document = try #require(result.document)
        #expect(Self.listDepth(document.blocks) == MarkdownBlockParser.maximumNesting)
        let allText = MarkdownBlockParser.plainLines(document.blocks).map(\.text).joined(separator: "\n")
        #expect(allText.contains("item 0") && allText.contains("item 299"))
    }

    @Test func aMillionLoneDashLinesAtAModestSize() throws {
        let text = String(repeating: "-\n", count: 100_000)
        for result in Self.compileBoth(Array(text.utf8)) {
            #expect(result.document != nil)
            #expect(result.diagnostics.contains { $0.id == DiagnosticID.codeMissing.rawValue })
        }
    }

    @Test func cmarkGFMPathologicalTableInput() throws {
        let text = String(repeating: "aaa\rbbb\n-\u{0B}\n", count: 20_000)
        for result in Self.compileBoth(Array(text.utf8)) {
            #expect(result.document != nil)
            #expect(result.diagnostics.contains { $0.id == DiagnosticID.codeMissing.rawValue })
        }
    }

    @Test func nulBytesReadAsReplacementCharacters() throws {
        var bytes = Array(Self.title.utf8)
        for _ in 0..<50_000 { bytes += [0x61, 0x00] }
        bytes += [0x0A] + [UInt8](repeating: 0, count: 50_000)
        for result in Self.compileBoth(bytes) {
            #expect(result.record?.code == "27365")
            let text = MarkdownBlockParser.plainLines(try #require(result.document).blocks).map(\.text).joined()
            #expect(text.contains("a\u{FFFD}a\u{FFFD}"))
            #expect(!text.utf8.contains(0))
        }
    }

    /// Every position of a real document, three ways: a byte replaced by 0xFF, a lone lead byte inserted,
    /// a sequence cut short. Each gives the invalid-UTF-8 error naming an offset at or just before the damage.
    @Test func invalidUTF8AtEveryPosition() throws {
        let original = try Repository.bytes("Tests/Fixtures/documents/hostile.md")
        #expect(original.count > 200)
        func expectRejected(_ bytes: [UInt8], damageAt position: Int, _ how: String) {
            let result = Pipeline.compile(bytes: bytes, path: "damaged.md")
            let diagnostic = result.diagnostics.first { $0.id == DiagnosticID.fileInvalidUTF8.rawValue }
            guard let diagnostic, result.document == nil else {
                Issue.record("\(how) at \(position): not rejected")
                return
            }
            let offset = diagnostic.message.components(separatedBy: "byte offset ").last.flatMap { Int($0.prefix { $0.isNumber }) }
            guard let offset, offset <= position, offset >= position - 3 else {
                Issue.record("\(how) at \(position): reported \(diagnostic.message)")
                return
            }
        }
        for position in 0..<original.count {
            var replaced = original
            replaced[position] = 0xFF
            expectRejected(replaced, damageAt: position, "0xFF")
            if original[position] & 0xC0 != 0x80 { // (0xC3 before a continuation byte could be valid)
                var inserted = original
                inserted.insert(0xC3, at: position)
                expectRejected(inserted, damageAt: position, "lone 0xC3")
            }
            var truncated = Array(original[..<position])
            truncated += [0xE2, 0x80]
            expectRejected(truncated, damageAt: position, "cut E2 80")
        }
    }

    @Test func emptyFileAndBOMOnlyFileAreErrors() throws {
        for bytes: [UInt8] in [[], [0xEF, 0xBB, 0xBF], [0xEF, 0xBB, 0xBF, 0x0A, 0x20, 0x0A]] {
            for result in Self.compileBoth(bytes) {
                #expect(result.document == nil && result.record == nil)
                #expect(result.diagnostics.map(\.id) == [DiagnosticID.fileEmpty.rawValue])
            }
        }
    }

    @Test(arguments: [
        ("emphasis openers", "*a **a _a __a "), ("emphasis closers", "a* a** a_ a__ "), ("mixed emphasis", "*a_ "),
        ("link openers", "[a]("), ("backticks", "`a``b"), ("entities", "&amp"), ("autolinks", "<a:"), ("brackets", "["),
    ])
    func inlineDelimiterFloods(name: String, unit: String) throws {
        let text = Self.title + String(repeating: unit, count: 100_000 / unit.utf8.count)
        for result in Self.compileBoth(Array(text.utf8)) {
            #expect(result.record?.code == "27365", "\(name)")
            let lines = MarkdownBlockParser.plainLines(try #require(result.document).blocks)
            #expect(lines.count >= 2, "\(name): the flood is kept as text")
        }
    }

    @Test func manyNoteLinesUnderOnePayerHeading() throws {
        let lines = 5_000
        let text = Self.title + "## Payer Considerations\n\n### Aetna\n\n"
            + String(repeating: "Prior authorization is required for this service.\n\n", count: lines)
        let record = try #require(Self.compileBoth(Array(text.utf8))[0].record)
        let aetna = try #require(record.payers.first)
        #expect(aetna.priorAuthorization == .required)
        #expect(aetna.notes.components(separatedBy: "Prior authorization is required").count == lines + 1)
    }
}

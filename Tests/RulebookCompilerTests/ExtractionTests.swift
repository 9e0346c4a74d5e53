import Foundation
import Testing
import Rulebook
@testable import RulebookCompiler

/// Compiles a document on disk (path relative to the repository).
func compile(_ relative: String) throws -> Pipeline.Result {
    Pipeline.compile(bytes: try Repository.bytes(relative), path: relative)
}

@Test func seedTruncatedRowIsAWarningAndTheModifierIsKept() throws {
    let result = try compile("seeds/000_9b8beb7daa9829c1.txt")
    let record = try #require(result.record)
    #expect(record.system == .cpt && record.code == "27365")
    #expect(record.title == "Excision of Tumor, Femur or Knee")
    #expect(record.modifiers.map(\.code) == ["26", "50"])
    #expect(record.modifiers[1].description == "" && record.modifiers[1].whenToUse == "")
    #expect(record.modifiers[1].source == SourceLocation(path: "seeds/000_9b8beb7daa9829c1.txt", line: 19, section: ["Coding Specifications"]))
    let warning = try #require(result.diagnostics.first { $0.id == "table.missing-cells" })
    #expect(warning.severity == .warning && warning.line == 19)
    #expect(!result.diagnostics.contains { $0.severity == .error })
    #expect(record.serviceType == "Surgical tumor excision (orthopedic oncology)")
    #expect(record.sitesOfService == ["Hospital operating room", "ambulatory surgical center for orthopedic procedures"])
    // Payers named only in the summary are listed with unknown values.
    #expect(record.payers.map(\.payer) == ["aetna", "bcbs", "cigna", "unitedhealthcare", "medicare"])
    #expect(record.payers.allSatisfy { $0.priorAuthorization == .unknown && $0.coverage == .unknown })
    #expect(record.payers[2].name == "Cigna Health")
    // Nothing is lost: the clinical context is kept as section text.
    #expect(record.sections.contains { $0.heading == ["Clinical Context"] && $0.text.hasPrefix("A 48-year-old patient") })
}

/// The same payer facts from each payer-note form, in both dialects.
@Test(arguments: ["Tests/Fixtures/documents/each-payer-form.md", "Tests/Fixtures/documents/each-payer-form.txt"])
func everyPayerNoteForm(_ path: String) throws {
    let result = try compile(path)
    let record = try #require(result.record)
    #expect(!result.diagnostics.contains { $0.severity != .note })
    let byID = Dictionary(uniqueKeysWithValues: record.payers.map { ($0.payer, $0) })
    let expected: [(String, PriorAuthorization, Coverage)] = [
        ("aetna", .required, .covered),                       // (a) table
        ("cigna", .notRequired, .notCovered),                 // (a) table
        ("humana", .conditional, .covered),                   // (c) `Humana: …`
        ("medicaid", .unknown, .unknown),                     // (c) data not available
        ("bcbs", .notRequired, .conditional),                 // (c) `**BCBS:**` / dash form
        ("unitedhealthcare", .required, .notCovered),         // (b) heading per payer
    ]
    for (id, priorAuthorization, coverage) in expected {
        let note = try #require(byID[id], "\(id) missing")
        #expect(note.priorAuthorization == priorAuthorization, "\(id) prior authorization")
        #expect(note.coverage == coverage, "\(id) coverage")
    }
    #expect(byID["medicare"]?.priorAuthorization == .notRequired)
}

@Test func diagnosticsForBadDocuments() throws {
    func ids(_ path: String) throws -> [String] { try compile(path).diagnostics.map { "\($0.severity.rawValue) \($0.id) \($0.line)" } }
    #expect(try ids("Tests/Fixtures/documents/empty.txt") == ["error file.empty 1"])
    #expect(try ids("Tests/Fixtures/documents/bom-only.txt") == ["error file.empty 1"])
    let utf8 = try compile("Tests/Fixtures/documents/invalid-utf8-at-54.md")
    #expect(utf8.record == nil)
    #expect(utf8.diagnostics.count == 1 && utf8.diagnostics[0].id == "file.invalid-utf8" && utf8.diagnostics[0].message.contains("offset 54"))
    #expect(try ids("Tests/Fixtures/documents/no-code.md") == ["error code.missing 1"])
    #expect(try ids("Tests/Fixtures/documents/invalid-modifier.md") == ["error modifier.invalid 12", "error modifier.invalid 14"])
    #expect(try compile("Tests/Fixtures/documents/invalid-modifier.md").record?.modifiers.map(\.code) == ["RT", "LT", "50"])
    #expect(try ids("Tests/Fixtures/documents/duplicate-modifier.md") == ["warning modifier.duplicate 14"])
    #expect(try ids("Tests/Fixtures/documents/unknown-payer.md") == ["note payer.unknown 17"])
    #expect(try compile("Tests/Fixtures/documents/unknown-payer.md").record?.payers.contains { $0.payer == "acme-health-plan" && $0.priorAuthorization == .required } == true)
    #expect(try ids("Tests/Fixtures/documents/missing-cells.md") == ["warning table.missing-cells 12", "warning table.missing-cells 14",
                                                                    "warning table.missing-cells 21", "warning table.missing-cells 22"])
    #expect(try ids("Tests/Fixtures/documents/conflict.md") == ["error payer.conflict 22"])
}

@Test func invalidCodeInTitle() {
    let result = Pipeline.compile(bytes: Array("# CPT G0283: Wrong system\n\nText.\n".utf8), path: "x.md")
    #expect(result.record == nil)
    #expect(result.diagnostics.map(\.id) == ["code.invalid"])
}

@Test func crlfAndBOMReadLikeLF() throws {
    let result = try compile("Tests/Fixtures/documents/crlf-bom.txt")
    let record = try #require(result.record)
    #expect(record.code == "73721")
    #expect(!record.title.contains("\r") && !record.summary.contains("\r"))
    #expect(result.document?.dialect ?? .scrapedText == .scrapedText)
}

@Test func frontMatterAndMarkdownInlineSyntax() {
    let text = """
    ---
    code: G0283
    system: HCPCS
    title: Electrical stimulation
    effective: 2025-01-01
    ---

    ## Summary

    Stimulation with **bold**, _emphasis_, `code` and a [link](https://example.com) and \\*escaped\\*.

    - **Service type:**\tTherapy
    * Typical site of service:   Clinic, physician office or home

    ## Coding Specifications

    | Mod | Description | Notes |
    |:--|--|--:|
    | `GP` | **Physical** therapy | Use \\| always |

    ## Payer Notes

    ### Aetna

    Prior authorization is required. Covered when medically necessary.

    ## Policy Updates

    - 2024-10-01 – Aetna: clinical policy bulletin revised.
    - March 15, 2025: CMS updated the LCD.
    """
    let result = Pipeline.compile(bytes: Array(text.utf8), path: "g.md")
    let record = result.record!
    #expect(record.system == .hcpcs && record.code == "G0283" && record.title == "Electrical stimulation")
    #expect(record.effective == "2025-01-01")
    #expect(record.summary == "Stimulation with bold, emphasis, code and a link and *escaped*.")
    #expect(record.serviceType == "Therapy")
    #expect(record.sitesOfService == ["Clinic", "physician office", "home"])
    #expect(record.modifiers == [Modifier(code: "GP", description: "Physical therapy", whenToUse: "Use | always",
                                          source: SourceLocation(path: "g.md", line: 19, section: ["Coding Specifications"]))])
    #expect(record.payers.first?.payer == "aetna" && record.payers.first?.priorAuthorization == .required && record.payers.first?.coverage == .covered)
    #expect(record.payers.first?.source.section == ["Payer Notes", "Aetna"])
    #expect(record.policyUpdates.map { "\($0.date) \($0.payer ?? "-") \($0.text)" } == [
        "2024-10-01 aetna clinical policy bulletin revised.", "2025-03-15 - CMS updated the LCD."])
    #expect(result.diagnostics.isEmpty)
}

@Test func labelledLinesInsideParagraphsAndLists() {
    let text = """
    CPT 99213: Office visit

    Billing Code Overview
    The visit is billed per encounter.
    Service type:  Evaluation and management
    More text follows here.
    - Typical site of service: Office
    """
    let record = Pipeline.compile(bytes: Array(text.utf8), path: "v.txt").record!
    #expect(record.serviceType == "Evaluation and management")
    #expect(record.sitesOfService == ["Office"])
}

@Test func dialectIsChosenByContent() {
    // Markdown content in a .txt file, scraped content in a .md file.
    #expect(parse("# CPT 27365: X\n\n## Summary\n\nText.\n", path: "a.txt").document?.dialect == .markdown)
    #expect(parse("CPT 27365: X\nBilling Code Overview\nText here.\n-\nService type: Surgery\n", path: "a.md").document?.dialect == .scrapedText)
}

@Test func nothingCrashesOnOddBytes() {
    let inputs: [[UInt8]] = [[], [0xEF, 0xBB, 0xBF], [0], Array("|\n|\n|".utf8), Array("-\n-\n-\n".utf8), [0x0D, 0x0D, 0x0A],
                             Array("aaa\rbbb\n-\u{0B}\n".utf8), Array(repeating: 0x7C, count: 1000), Array(repeating: 0x2A, count: 1000),
                             Array(repeating: 0x5B, count: 1000), Array("* * *\n- - -\n> > >\n```\n".utf8), [0xC3], [0xF4, 0x90, 0x80, 0x80]]
    for bytes in inputs {
        let result = Pipeline.compile(bytes: bytes, path: "odd.md")
        #expect(result.record != nil || !result.diagnostics.isEmpty)
    }
}

/// 50,000 nested list markers or block-quote markers once overflowed the stack (recursive parser).
@Test func deepNestingDoesNotExhaustTheStack() {
    for marker in ["- ", "> ", "1. ", "* > "] {
        let text = "# CPT 27365: Deep\n\n" + String(repeating: marker, count: 50_000) + "x\n"
        let result = Pipeline.compile(bytes: Array(text.utf8), path: "deep.md")
        #expect(result.record?.code == "27365")
    }
}

/// A `Payer – text` line or `Payer: text` bullet naming another payer under a payer's heading is that
/// payer's own statement, not part of the heading's note (found by the benchmark corpus check).
@Test func otherPayersUnderAPayerHeadingKeepTheirOwnStatements() throws {
    let text = """
    # CPT 58525: Laparoscopic procedure

    ## Payer Notes

    ### Blue Cross Blue Shield

    Prior authorization is not required.

    - Cigna – Prior authorization is required.
    - **Humana:** Prior authorization may be required when performed inpatient.
    """
    let record = try #require(Pipeline.compile(bytes: Array(text.utf8), path: "p.md").record)
    let byID = Dictionary(uniqueKeysWithValues: record.payers.map { ($0.payer, $0.priorAuthorization) })
    #expect(byID == ["bcbs": .notRequired, "cigna": .required, "humana": .conditional])
}

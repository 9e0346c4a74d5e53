import Foundation
import Rulebook
@testable import RulebookCompiler
import Testing

/// Hand-built records for the emitter reference tests, and a generator of synthetic records.
enum EmitterFixtures {
    /// Every string a document could use to break out of a literal, a comment or a path.
    static let hostileText = "Quote \" triple \"\"\" backslash \\ interpolation \\(1 + 1) raw #\" \"# \"## "
        + "comment */ /* nul \u{0} newline \n cr \r tab \t bell \u{7} del \u{7F} c1 \u{85} "
        + "bidi \u{202E}evil\u{202C} isolate \u{2066}x\u{2069} lrm \u{200E} alm \u{061C} ls \u{2028} "
        + "bom \u{FEFF} zwj 👩\u{200D}💻 accent é e\u{301} end \\"

    static let typical = CodeRecord(
        system: .cpt, code: "27365", title: "Excision of Tumor, Femur or Knee",
        summary: "CPT code 27365 denotes surgical excision of a tumor from the femur or knee (peri‑knee region).",
        serviceType: "Surgical tumor excision (orthopedic oncology)",
        sitesOfService: ["Hospital operating room", "Ambulatory surgical center"],
        effective: "2025-01-01",
        source: SourceLocation(path: "seeds/cpt-27365.md", line: 2, section: ["Summary & Overview"]),
        modifiers: [
            Modifier(code: "26", description: "Professional component",
                     whenToUse: "Use when billing only the surgeon’s professional component.",
                     source: SourceLocation(path: "seeds/cpt-27365.md", line: 17,
                                            section: ["Clinical & Coding Specifications", "Coding Specifications"])),
            Modifier(code: "LT", description: "Left side", whenToUse: "Procedure on the left knee.",
                     source: SourceLocation(path: "seeds/cpt-27365.md", line: 18,
                                            section: ["Clinical & Coding Specifications", "Coding Specifications"])),
        ],
        payers: [
            PayerNote(payer: "aetna", name: "Aetna", priorAuthorization: .required, coverage: .covered,
                      notes: "Prior authorization required for elective excision; submit imaging.",
                      source: SourceLocation(path: "seeds/cpt-27365.md", line: 30, section: ["Payer Rules"])),
            PayerNote(payer: "medicare", name: "Medicare", priorAuthorization: .notRequired, coverage: .conditional,
                      notes: "Covered when medically necessary (LCD L12345).",
                      source: SourceLocation(path: "seeds/cpt-27365.md", line: 31, section: ["Payer Rules"])),
        ],
        policyUpdates: [
            PolicyUpdate(date: "2025-01-01", payer: "aetna", text: "Imaging now required with the request.",
                         source: SourceLocation(path: "seeds/cpt-27365.md", line: 40, section: ["Policy Updates"])),
            PolicyUpdate(date: "2024-07", text: "Site-of-service review added.",
                         source: SourceLocation(path: "seeds/cpt-27365.md", line: 41, section: ["Policy Updates"])),
        ],
        examples: [
            ClaimExample(claim: "27365-LT", payer: "aetna", expected: "ok",
                         source: SourceLocation(path: "seeds/cpt-27365.md", line: 50, section: ["Examples"])),
        ],
        sections: [
            SectionText(heading: ["Clinical & Coding Specifications", "Clinical Context"],
                        text: "A 48-year-old patient presents with progressive distal femur pain.\nImaging shows a lesion.",
                        source: SourceLocation(path: "seeds/cpt-27365.md", line: 12,
                                               section: ["Clinical & Coding Specifications", "Clinical Context"])),
        ])

    static let minimal = CodeRecord(
        system: .hcpcs, code: "J1234", title: "Injection, minimal",
        source: SourceLocation(path: "seeds/j1234.txt", line: 1))

    static let hostilePath = "seeds/hostile \"doc\"\n*/ #\" \u{202E}.md"

    static let hostile = CodeRecord(
        system: .hcpcs, code: "../Evil\"Code\\(x)#\"", title: "Title " + hostileText,
        summary: "Summary " + hostileText, serviceType: "Service " + hostileText,
        sitesOfService: ["Site " + hostileText, "\"\"\"", "\"#", "#\"", "\\", ""],
        effective: "2025-02-30 \"#",
        source: SourceLocation(path: hostilePath, line: 3, section: ["Heading " + hostileText, "*/"]),
        modifiers: [
            Modifier(code: "5\"", description: "Modifier " + hostileText, whenToUse: "When " + hostileText,
                     source: SourceLocation(path: hostilePath, line: 9, section: ["Mods \u{2067}"])),
            Modifier(code: "X\u{202E}", description: "", whenToUse: "",
                     source: SourceLocation(path: hostilePath, line: 10, section: [])),
        ],
        payers: [
            PayerNote(payer: "evil\"payer", name: "Name " + hostileText, priorAuthorization: .conditional,
                      coverage: .notCovered, notes: "Notes " + hostileText,
                      source: SourceLocation(path: hostilePath, line: 20, section: ["Payers", hostileText])),
        ],
        policyUpdates: [
            PolicyUpdate(date: "2025 \u{0}", payer: "p\"\\", text: "Update " + hostileText,
                         source: SourceLocation(path: hostilePath, line: 30, section: [])),
        ],
        examples: [
            ClaimExample(claim: "\"#-\\(x)", payer: "\u{2066}", expected: "error \"#",
                         source: SourceLocation(path: hostilePath, line: 40, section: [])),
        ],
        sections: [
            SectionText(heading: [hostileText], text: hostileText,
                        source: SourceLocation(path: hostilePath, line: 50, section: [hostileText])),
        ])

    /// The fixed set of the reference tests (and of the compiled `HostileRulesFixture` target).
    static let records = [typical, minimal, hostile]

    static let diagnostics = [
        Diagnostic(path: "seeds/cpt-27365.md", line: 17, column: 3, severity: .warning, id: "modifier.unknown",
                   message: "modifier \"ZZ\" is not a known modifier"),
        Diagnostic(path: hostilePath, line: 0, column: 0, severity: .error, id: "table.missing-cells",
                   message: "hostile " + hostileText),
    ]

    // MARK: Files

    static let fixturesFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/emitters")

    /// Compares `actual` with the committed file `relativePath` under `Tests/Fixtures/emitters/`,
    /// recording an issue with a line diff on mismatch; `RULEBOOK_UPDATE_REFERENCES=1` rewrites the file.
    static func expectMatchesReference(_ actual: String, _ relativePath: String,
                                       sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let url = fixturesFolder.appendingPathComponent(relativePath)
        if ProcessInfo.processInfo.environment["RULEBOOK_UPDATE_REFERENCES"] == "1" {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            let existing = try? Data(contentsOf: url)
            if existing != Data(actual.utf8) { try Data(actual.utf8).write(to: url) }
            return
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            Issue.record("missing reference file \(url.path); run with RULEBOOK_UPDATE_REFERENCES=1",
                         sourceLocation: sourceLocation)
            return
        }
        let expected = String(decoding: data, as: UTF8.self)
        if expected != actual || data != Data(actual.utf8) {
            let message = "\(relativePath) differs from the emitted text (RULEBOOK_UPDATE_REFERENCES=1 rewrites it):\n"
                + lineDiff(expected: expected, actual: actual)
            Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
        }
    }

    /// A short line diff: `-` expected, `+` actual, for the first differing lines.
    static func lineDiff(expected: String, actual: String, limit: Int = 20) -> String {
        let old = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let new = actual.split(separator: "\n", omittingEmptySubsequences: false)
        var output: [String] = []
        var shown = 0
        for index in 0..<max(old.count, new.count) where shown < limit {
            let left = index < old.count ? String(old[index]) : nil
            let right = index < new.count ? String(new[index]) : nil
            if left != right {
                output.append("@@ line \(index + 1)")
                if let left { output.append("- " + left.debugDescription) }
                if let right { output.append("+ " + right.debugDescription) }
                shown += 1
            }
        }
        if old.count != new.count { output.append("(expected \(old.count) lines, got \(new.count))") }
        return output.joined(separator: "\n")
    }
}

/// Deterministic synthetic records shaped like the seed documents (about 7 KB of pretty JSON, 5 KB compact, each: a little larger than the seeds).
enum SyntheticRecords {
    private static let words = [
        "tumor", "excision", "femur", "knee", "payer", "prior", "authorization", "documentation", "surgical",
        "ambulatory", "center", "review", "clinical", "imaging", "coverage", "medically", "necessary", "policy",
        "procedure", "physician’s", "component", "bilateral", "modifier", "claim", "submission", "oncology",
    ]
    private static let payers = [("aetna", "Aetna"), ("bcbs", "Blue Cross Blue Shield"), ("cigna", "Cigna Health"),
                                 ("unitedhealthcare", "UnitedHealthcare"), ("medicare", "Medicare")]
    private static let modifierCodes = ["22", "26", "50", "51", "59", "LT", "RT", "TC", "XS", "KX"]

    /// A linear congruential generator, so records are the same on every run.
    private struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        mutating func sentence(_ count: Int) -> String {
            var parts: [String] = []
            for _ in 0..<count { parts.append(SyntheticRecords.words[next(SyntheticRecords.words.count)]) }
            return parts.joined(separator: " ").capitalizedFirst + "."
        }
        mutating func text(sentences: Int) -> String {
            (0..<sentences).map { _ in sentence(8 + next(10)) }.joined(separator: " ")
        }
    }

    static func make(count: Int) -> [CodeRecord] {
        (0..<count).map { record(number: $0) }
    }

    static func record(number: Int) -> CodeRecord {
        var random = Generator(state: UInt64(number) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        let isHCPCS = number % 5 == 4
        let code = isHCPCS ? "J" + String(format: "%05d", number) : String(10000 + number)
        let path = "corpus/\(String(format: "%05d", number)).md"
        func at(_ line: Int, _ section: [String]) -> Rulebook.SourceLocation {
            Rulebook.SourceLocation(path: path, line: line, section: section)
        }
        let modifiers = (0..<(3 + random.next(4))).map { index in
            Modifier(code: modifierCodes[(number + index * 3) % modifierCodes.count],
                     description: random.sentence(3), whenToUse: random.text(sentences: 1),
                     source: at(20 + index, ["Clinical & Coding Specifications", "Coding Specifications"]))
        }
        let payerNotes = payers.enumerated().map { index, payer in
            PayerNote(payer: payer.0, name: payer.1,
                      priorAuthorization: PriorAuthorization.allCases[random.next(4)],
                      coverage: Coverage.allCases[random.next(4)], notes: random.text(sentences: 1),
                      source: at(40 + index, ["Payer Rules"]))
        }
        return CodeRecord(
            system: isHCPCS ? .hcpcs : .cpt, code: code, title: random.sentence(5),
            summary: random.text(sentences: 4), serviceType: random.sentence(4),
            sitesOfService: ["Hospital outpatient", "Ambulatory surgical center"],
            effective: number % 3 == 0 ? "2025-01-01" : nil, source: at(2, ["Summary & Overview"]),
            modifiers: modifiers, payers: payerNotes,
            policyUpdates: [PolicyUpdate(date: "2025-01-01", payer: "aetna", text: random.text(sentences: 1),
                                         source: at(60, ["Policy Updates"]))],
            examples: [ClaimExample(claim: "\(code)-LT", payer: "aetna", expected: "ok", source: at(70, ["Examples"]))],
            sections: [SectionText(heading: ["Clinical & Coding Specifications", "Clinical Context"],
                                   text: random.text(sentences: 5), source: at(12, ["Clinical Context"]))])
    }
}

private extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

@Suite struct EmitterFixtureTests {
    @Test func syntheticRecordsAreDeterministicAndUnique() {
        let first = SyntheticRecords.make(count: 300)
        #expect(first == SyntheticRecords.make(count: 300))
        let keys = Set(first.map { RuleBook.Key($0.system, $0.code) })
        #expect(keys.count == 300)
        let size = JSONEmitter.bundle(first).utf8.count / 300
        #expect((3000...8000).contains(size), "synthetic records should be seed-sized, got \(size) bytes")
    }

    @Test func hostileTextHasEveryDangerousPiece() {
        for piece in ["\"\"\"", "\\(", "#\"", "\"#", "*/", "/*", "\u{0}", "\n", "\t", "\u{202E}", "\u{2066}"] {
            #expect(EmitterFixtures.hostileText.contains(piece), "missing \(piece.debugDescription)")
        }
        #expect(EmitterFixtures.hostile.modifiers.contains { $0.code.contains("\"") })
    }
}

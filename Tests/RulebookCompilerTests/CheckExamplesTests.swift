import Testing
import Rulebook
import Foundation
@testable import RulebookCompiler

/// `ExampleChecker` on hand-built records whose examples are written as a document would.
@Suite struct CheckExamplesTests {
    static func example(_ claim: String, _ payer: String, _ expected: String, line: Int) -> ClaimExample {
        ClaimExample(claim: claim, payer: payer, expected: expected, source: CheckFixture.at(line, "Claim Examples"))
    }

    static func check(_ examples: [ClaimExample], effective: String? = nil) -> [Diagnostic] {
        let record = CheckFixture.record(effective: effective, examples: examples)
        return ExampleChecker.check(record, in: RuleBook(records: [record]))
    }

    @Test func passingExamplesGiveNoDiagnostics() {
        let diagnostics = Self.check([
            Self.example("27365-50-LT", "aetna", "error modifier.exclusive, warning payer.prior-auth-required", line: 40),
            Self.example("27365-LT", "", "ok", line: 41),
            Self.example("`27365-RT`", "-", "`ok`", line: 42),
            // Info findings may be left out, or listed.
            Self.example("27365", "cigna", "ok", line: 43),
            Self.example("27365", "Cigna", "info payer.prior-auth-unknown", line: 44),
            Self.example("27365-22", "medicare", "error payer.not-covered; warning modifier.unlisted", line: 45),
            Self.example("99999", "", "error code.unknown", line: 46),
            Self.example("27365-50-50", "", "error: modifier.duplicate", line: 47),
        ])
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.formatted))")
    }

    @Test func theEffectiveDateIsIgnored() {
        // Examples have no date of service, so rules effective in the future still apply.
        #expect(Self.check([Self.example("27365", "aetna", "warning payer.prior-auth-required", line: 40)],
                           effective: "2099-01-01").isEmpty)
    }

    @Test func missingFindingFailsAtTheRow() throws {
        let diagnostics = Self.check([Self.example("27365-50", "aetna", "error modifier.exclusive, warning payer.prior-auth-required", line: 52)])
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostics.count == 1)
        #expect(diagnostic.id == "example.failed")
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.path == "seeds/27365.md")
        #expect(diagnostic.line == 52)
        #expect(diagnostic.message.contains("claim example '27365-50' for payer aetna"))
        #expect(diagnostic.message.contains("expected error modifier.exclusive, warning payer.prior-auth-required"))
        #expect(diagnostic.message.contains("found warning payer.prior-auth-required"))
        #expect(diagnostic.message.contains("missing: error modifier.exclusive"))
        #expect(!diagnostic.message.contains("not expected"))
    }

    @Test func unlistedErrorOrWarningFails() throws {
        let okButWarning = Self.check([Self.example("27365", "aetna", "ok", line: 60)])
        #expect(okButWarning.map(\.id) == ["example.failed"])
        #expect(okButWarning.first?.message.contains("expected ok but found warning payer.prior-auth-required") == true)
        #expect(okButWarning.first?.message.contains("not expected: warning payer.prior-auth-required") == true)

        let extraError = Self.check([Self.example("27365-50-RT-ZZ", "", "error modifier.exclusive", line: 61)])
        #expect(extraError.map(\.id) == ["example.failed"])
        #expect(extraError.first?.message.contains("not expected: error modifier.invalid") == true)

        // A listed info finding that does not occur fails too.
        let missingInfo = Self.check([Self.example("27365", "", "info payer.prior-auth-unknown", line: 62)])
        #expect(missingInfo.map(\.id) == ["example.failed"])
        #expect(missingInfo.first?.message.contains("found no findings") == true)
    }

    @Test(arguments: [
        ("27365-5$", "ok", "is not a claim"),
        ("", "ok", "is not a claim"),
        ("27365", "", "is empty"),
        ("27365", "fine", "is not 'severity id'"),
        ("27365", "fatal code.unknown", "'fatal' is not a severity"),
        ("27365", "error modifier.exclusiv", "'modifier.exclusiv' is not a finding id"),
        ("27365", "warning modifier.exclusive", "modifier.exclusive is reported as error, not warning"),
        ("27365", "error modifier.exclusive extra", "is not 'severity id'"),
    ])
    func unreadableRowsAreInvalid(claim: String, expected: String, message: String) throws {
        let diagnostics = Self.check([Self.example(claim, "aetna", expected, line: 70)])
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostics.count == 1)
        #expect(diagnostic.id == "example.invalid")
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.line == 70)
        #expect(diagnostic.message.contains(message), "\(diagnostic.message)")
    }

    @Test func examplesSeeTheWholeBook() {
        var other = CheckFixture.record()
        other.code = "27366"
        other.payers = []
        let record = CheckFixture.record(examples: [Self.example("27366-50", "aetna", "info payer.prior-auth-unknown", line: 80)])
        #expect(ExampleChecker.check(record, in: RuleBook(records: [record, other])).isEmpty)
        #expect(ExampleChecker.check(record, in: RuleBook(records: [record])).map(\.id) == ["example.failed"])
    }

    @Test func parsesExpectedResults() throws {
        #expect(try ExampleChecker.parseExpected("OK").get().isEmpty)
        let two = try ExampleChecker.parseExpected("error modifier.exclusive,  warning payer.prior-auth-required").get()
        #expect(two == [ExampleChecker.Expectation(severity: .error, id: "modifier.exclusive"),
                        ExampleChecker.Expectation(severity: .warning, id: "payer.prior-auth-required")])
    }
}

@Suite struct CheckJSONQuotingTests {
    @Test func findingsJSONRoundTripsHostileText() throws {
        let text = "a \"quoted\" \\ path\nline\ttab \u{1} é"
        let finding = Finding(severity: .error, id: "x.y", message: text,
                              source: SourceLocation(path: text, line: 3, section: [text]))
        let json = CheckCommand.json([finding])
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let first = (object?["findings"] as? [[String: Any]])?.first
        #expect(first?["message"] as? String == text)
        #expect((first?["source"] as? [String: Any])?["path"] as? String == text)
        #expect(json.contains("\\u0001"))
    }
}

import Testing
import Foundation
import Rulebook
@testable import RulebookCompiler

/// Every finding, on rules compiled from the real documents in `seeds/` through `Pipeline`.
/// Inputs are chosen from what the documents say (e.g. CPT 27447's table lists RT, LT and 50);
/// expected provenance is read from the compiled record, so the test checks the engine points at
/// the document line the rule came from.
@Suite struct CheckSeedRulesTests {
    static let compiled: (book: RuleBook, diagnostics: [Diagnostic]) = {
        let folder = RulebookProcess.packageRoot.appendingPathComponent("seeds")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
        var records: [CodeRecord] = []
        var diagnostics: [Diagnostic] = []
        for name in names where name.hasSuffix(".md") || name.hasSuffix(".txt") {
            let result = Pipeline.compile(fileAt: folder.appendingPathComponent(name), displayPath: "seeds/" + name)
            if let record = result.record { records.append(record) }
            diagnostics += result.diagnostics
        }
        return (RuleBook(records: records), diagnostics)
    }()
    var book: RuleBook { Self.compiled.book }

    func record(_ system: CodeSystem, _ code: String) throws -> CodeRecord {
        try #require(book.code(system, code), "seeds describe \(system.rawValue) \(code)")
    }

    func evaluate(_ code: String, _ modifiers: [String] = [], payer: String? = nil, date: String? = nil) -> [Finding] {
        book.evaluate(ClaimLine(code: code, modifiers: modifiers, payer: payer, dateOfService: date))
    }

    func ids(_ findings: [Finding]) -> [String] { findings.map(\.id) }

    @Test func seedsCompileWithoutErrors() {
        #expect(book.codes.count >= 15)
        #expect(Self.compiled.diagnostics.filter { $0.severity == .error }.isEmpty,
                "\(Self.compiled.diagnostics.filter { $0.severity == .error }.map(\.formatted))")
    }

    @Test func unknownCode() {
        #expect(ids(evaluate("99999")) == ["code.unknown"])
        // J1745 is an HCPCS code: as CPT it is unknown.
        #expect(ids(book.evaluate(ClaimLine(system: .cpt, code: "J1745"))) == ["code.unknown"])
        #expect(evaluate("J1745").isEmpty)
    }

    @Test func listedModifiersAreClean() throws {
        let record = try record(.cpt, "27447")
        for row in record.modifiers where row.code != "50" {
            #expect(evaluate("27447", [row.code]).isEmpty, "\(row.code)")
        }
    }

    @Test func unlistedModifierPointsAtTheModifierTable() throws {
        let record = try record(.cpt, "27447")
        #expect(!record.modifiers.contains { $0.code == "59" })
        let findings = evaluate("27447", ["59"])
        #expect(ids(findings) == ["modifier.unlisted"])
        #expect(findings.first?.severity == .warning)
        #expect(findings.first?.source == record.modifiers.first?.source)
    }

    @Test func invalidModifier() throws {
        let findings = evaluate("27447", ["RT", "ZZ"])
        #expect(ids(findings) == ["modifier.invalid"])
        #expect(findings.first?.source == (try record(.cpt, "27447")).source)
    }

    @Test func tooManyModifiers() {
        // Five modifiers CPT 27447's table lists, none exclusive with another.
        #expect(ids(evaluate("27447", ["RT", "22", "62", "80", "78"])) == ["modifier.too-many"])
        #expect(evaluate("27447", ["RT", "22", "62", "80"]).isEmpty)
    }

    @Test func exclusiveModifiersFromTheDocuments() throws {
        let knee = try record(.cpt, "27447")
        let fifty = try #require(knee.modifiers.first { $0.code == "50" })
        for side in ["LT", "RT"] {
            let findings = evaluate("27447", ["50", side])
            #expect(ids(findings) == ["modifier.exclusive"], "\(side)")
            #expect(findings.first?.source == fifty.source)
        }
        #expect(ids(evaluate("70553", ["26", "TC"])) == ["modifier.exclusive"])
        #expect(ids(evaluate("29881", ["59", "XS"])) == ["modifier.exclusive"])
        #expect(ids(evaluate("93000", ["XU", "59"])) == ["modifier.exclusive"])
        // XE and XP are not in 29881's table: exclusive with 59, and unlisted.
        for x in ["XE", "XP"] {
            #expect(ids(evaluate("29881", ["59", x])) == ["modifier.exclusive", "modifier.unlisted"], "\(x)")
        }
    }

    @Test func duplicateModifier() throws {
        let findings = evaluate("J1745", ["JZ", "JZ"])
        #expect(ids(findings) == ["modifier.duplicate"])
        #expect(findings.first?.source == (try record(.hcpcs, "J1745")).modifiers.first { $0.code == "JZ" }?.source)
    }

    @Test func priorAuthorizationRequiredConditionalUnknown() throws {
        let knee = try record(.cpt, "27447")
        let aetna = try #require(knee.payers.first { $0.payer == "aetna" })
        #expect(aetna.priorAuthorization == .required)
        let required = evaluate("27447", ["RT"], payer: "aetna")
        #expect(ids(required) == ["payer.prior-auth-required"])
        #expect(required.first?.severity == .warning)
        #expect(required.first?.message.hasPrefix("prior authorization required") == true)
        #expect(required.first?.source == aetna.source)

        let bcbs = try #require(knee.payers.first { $0.payer == "bcbs" })
        #expect(bcbs.priorAuthorization == .conditional)
        let conditional = evaluate("27447", ["RT"], payer: "bcbs")
        #expect(ids(conditional) == ["payer.prior-auth-conditional"])
        #expect(conditional.first?.source == bcbs.source)

        let arthroscopy = try record(.cpt, "29881")
        let humana = try #require(arthroscopy.payers.first { $0.payer == "humana" })
        #expect(humana.priorAuthorization == .unknown)
        let unknown = evaluate("29881", ["RT"], payer: "humana")
        #expect(ids(unknown) == ["payer.prior-auth-unknown"])
        #expect(unknown.first?.source == humana.source)

        // No note at all for the payer: the documents do not say.
        #expect(!knee.payers.contains { $0.payer == "humana" })
        let silent = evaluate("27447", ["RT"], payer: "humana")
        #expect(ids(silent) == ["payer.prior-auth-unknown"])
        #expect(silent.first?.source == knee.source)
    }

    @Test func coverageNotCoveredAndConditional() throws {
        let infliximab = try record(.hcpcs, "J1745")
        let uhc = try #require(infliximab.payers.first { $0.payer == "unitedhealthcare" })
        #expect(uhc.coverage == .notCovered)
        let notCovered = evaluate("J1745", ["JZ"], payer: "unitedhealthcare")
        #expect(ids(notCovered) == ["payer.not-covered", "payer.prior-auth-required"])
        #expect(notCovered.allSatisfy { $0.source == uhc.source })

        let arthroscopy = try record(.cpt, "29881")
        #expect(arthroscopy.payers.first { $0.payer == "aetna" }?.coverage == .conditional)
        #expect(ids(evaluate("29881", ["RT"], payer: "aetna")) == ["payer.prior-auth-required", "payer.coverage-conditional"])
    }

    @Test func ruleNotEffectiveBeforeItsDate() throws {
        let decompression = try record(.cpt, "0275T")
        let effective = try #require(decompression.effective)
        #expect(effective == "2027-01-01")
        let before = evaluate("0275T", ["59"], payer: "aetna", date: "2026-12-31")
        #expect(ids(before) == ["rule.not-effective"])
        #expect(before.first?.source == decompression.source)
        let after = evaluate("0275T", ["59"], payer: "aetna", date: "2027-01-01")
        #expect(ids(after) == ["payer.not-covered", "modifier.unlisted", "payer.prior-auth-unknown"])
    }

    @Test func theDocumentsOwnExamplesPass() {
        let withExamples = book.codes.filter { !$0.examples.isEmpty }
        #expect(withExamples.count >= 5)
        for record in withExamples {
            let diagnostics = ExampleChecker.check(record, in: book)
            #expect(diagnostics.isEmpty, "\(diagnostics.map(\.formatted))")
        }
    }

    @Test func aChangedRuleMakesAnExampleFail() throws {
        // Turn Aetna's prior authorization for 27447 off: its examples expecting the warning fail.
        var knee = try record(.cpt, "27447")
        let aetna = try #require(knee.payers.firstIndex { $0.payer == "aetna" })
        knee.payers[aetna].priorAuthorization = .notRequired
        let diagnostics = ExampleChecker.check(knee, in: RuleBook(records: [knee]))
        #expect(!diagnostics.isEmpty)
        #expect(diagnostics.allSatisfy { $0.id == "example.failed" && $0.path == knee.source.path })
        #expect(diagnostics.allSatisfy { $0.message.contains("missing: warning payer.prior-auth-required") })
    }
}

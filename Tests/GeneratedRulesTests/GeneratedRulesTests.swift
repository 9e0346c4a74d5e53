import Foundation
import Testing
import Rulebook
import GeneratedRules

/// The committed Generated/Swift, compiled into this target, used as a consumer would.
@Test func generatedRulesLookUpCodes() throws {
    let book = RuleBook.generated
    #expect(book.codes.count == 15)
    let knee = try #require(book.code(.cpt, "27365"))
    #expect(knee.title == "Excision of Tumor, Femur or Knee")
    #expect(knee.modifiers.map(\.code) == ["26", "50"])
    #expect(knee.modifiers[1].source == SourceLocation(path: "seeds/000_9b8beb7daa9829c1.txt", line: 19, section: ["Coding Specifications"]))
    #expect(book.code(.hcpcs, "g0283")?.effective == "2025-01-01")
    #expect(book.code(.cpt, "99999") == nil)
    // Typed constants give the same records.
    #expect(GeneratedCodes.cpt27365 == knee)
    #expect(GeneratedCodes.hcpcsG0283.code == "G0283")
}

@Test func generatedRulesAgreeWithTheCommittedJSONBundles() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let fromJSON = try RuleBook(bundlesAt: root.appendingPathComponent("Generated/JSON"))
    #expect(fromJSON.codes == RuleBook.generated.codes)
}

@Test func generatedRulesEvaluateClaims() {
    let findings = RuleBook.generated.evaluate(ClaimLine(code: "27447", modifiers: ["50", "LT"], payer: "aetna"))
    #expect(findings.map(\.id).contains("modifier.exclusive"))
    #expect(findings.map(\.id).contains("payer.prior-auth-required"))
}

import Testing
import Rulebook
@testable import RulebookCompiler

// Each prior-authorization and coverage rule, in precedence order.

@Test(arguments: [
    ("Prior authorization is required for all elective cases.", PriorAuthorization.required),
    ("Aetna requires prior authorization before surgery.", .required),
    ("Prior authorization is not required.", .notRequired),
    ("Medicare does not require prior authorization for this code.", .notRequired),
    ("No prior authorization is needed for office visits.", .notRequired),
    ("Prior authorization may be required when performed inpatient.", .conditional),
    ("The plan may require prior authorization for repeat procedures.", .conditional),
    ("Prior authorization requirements vary by plan.", .conditional),
    ("Prior authorization depending on the member's benefit plan.", .conditional),
    ("Requirements vary by plan.", .conditional),
    ("Data not available.", .unknown),
    ("Prior authorization: data not available.", .unknown),
    ("Covered when medically necessary.", .unknown),
    ("", .unknown),
    // Negation wins over conditional and required in one clause.
    ("Prior authorization may be required but is not required for Medicare Advantage members", .notRequired),
    // The first clause that mentions prior authorization decides.
    ("Coverage varies. Prior authorization is required.", .required),
])
func priorAuthorizationFromText(_ text: String, _ expected: PriorAuthorization) {
    #expect(StatementClassifier.priorAuthorization(text: text) == expected, "\(text)")
}

@Test(arguments: [
    ("Yes", PriorAuthorization.required), ("yes", .required), ("Required", .required), ("Yes – for inpatient", .required),
    ("No", .notRequired), ("Not required", .notRequired),
    ("Varies", .conditional), ("Varies by plan", .conditional),
    ("Data not available", .unknown), ("N/A", .unknown), ("", .unknown), ("—", .unknown),
    ("Required for hospital outpatient setting", .required),
])
func priorAuthorizationFromCell(_ cell: String, _ expected: PriorAuthorization) {
    #expect(StatementClassifier.priorAuthorization(cell: cell) == expected, "\(cell)")
}

@Test(arguments: [
    ("Covered when medically necessary.", Coverage.covered),
    ("This service is covered for members with a qualifying diagnosis.", .covered),
    ("Not covered.", .notCovered),
    ("Considered experimental and investigational.", .notCovered),
    ("The procedure is considered not medically necessary.", .notCovered),
    ("Covered only for patients with documented failure of conservative therapy.", .conditional),
    ("Coverage with evidence development under NCD 150.13.", .conditional),
    ("Prior authorization is required.", .unknown),
    ("Data not available.", .unknown),
])
func coverageFromText(_ text: String, _ expected: Coverage) {
    #expect(StatementClassifier.coverage(text: text) == expected, "\(text)")
}

@Test(arguments: [
    ("Covered", Coverage.covered), ("Not covered", .notCovered), ("Covered only for diabetic patients", .conditional),
    ("", .unknown), ("Data not available", .unknown), ("N/A", .unknown),
])
func coverageFromCell(_ cell: String, _ expected: Coverage) {
    #expect(StatementClassifier.coverage(cell: cell) == expected, "\(cell)")
}

@Test func payerNamesNormalise() {
    let directory = PayerDirectory()
    let cases: [(String, String?)] = [
        ("Aetna", "aetna"), ("Blue Cross Blue Shield", "bcbs"), ("BCBS", "bcbs"), ("Blue Cross", "bcbs"), ("Anthem", "bcbs"),
        ("Anthem Blue Cross", "bcbs"), ("Cigna", "cigna"), ("Cigna Health", "cigna"), ("Cigna Healthcare", "cigna"),
        ("UnitedHealthcare", "unitedhealthcare"), ("United Healthcare", "unitedhealthcare"), ("UHC", "unitedhealthcare"),
        ("Medicare", "medicare"), ("CMS", "medicare"), ("Medicaid", "medicaid"), ("Humana", "humana"),
        ("**Aetna**", "aetna"), ("Kaiser Permanente", nil),
    ]
    for (name, id) in cases { #expect(directory.knownID(name) == id, "\(name)") }
    #expect(PayerDirectory.slug("Kaiser Permanente") == "kaiser-permanente")
    #expect(PayerDirectory(extra: ["Kaiser Permanente": "kaiser"]).knownID("kaiser permanente") == "kaiser")
}

@Test func titleLinesAndCodeForms() {
    #expect(TitleLine.parse("CPT 27365: Excision of Tumor, Femur or Knee")?.title == "Excision of Tumor, Femur or Knee")
    #expect(TitleLine.parse("HCPCS G0283 – Electrical stimulation")?.code == "G0283")
    #expect(TitleLine.parse("CPT code 27365 denotes surgical excision") != nil) // parse is lenient; callers check isTitle
    #expect(!LineClassifier.isTitle(ArraySlice("CPT code 27365 denotes surgical excision of a tumor.".utf8)))
    #expect(TitleLine.isValid("27365", system: .cpt))
    #expect(TitleLine.isValid("0275T", system: .cpt))
    #expect(TitleLine.isValid("3008F", system: .cpt))
    #expect(!TitleLine.isValid("G0283", system: .cpt))
    #expect(TitleLine.isValid("G0283", system: .hcpcs))
    #expect(!TitleLine.isValid("27365", system: .hcpcs))
}

@Test func datesReadAsISO() {
    #expect(DateText.iso("2025-01-01") == "2025-01-01")
    #expect(DateText.iso("January 1, 2025") == "2025-01-01")
    #expect(DateText.iso("01/15/2025") == "2025-01-15")
    #expect(DateText.iso("2025-02-30") == nil)
    #expect(DateText.leading("March 2024: revised")?.iso == "2024-03")
    #expect(DateText.leading("Aetna updated") == nil)
}

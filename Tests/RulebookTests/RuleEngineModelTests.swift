import Testing
import Foundation
@testable import Rulebook

@Suite struct RuleEngineClaimLineTests {
    @Test func systemDefaultsFromTheCode() {
        #expect(ClaimLine(code: "27365").system == .cpt)
        #expect(ClaimLine(code: "0001U").system == .cpt)
        #expect(ClaimLine(code: "J1885").system == .hcpcs)
        #expect(ClaimLine.defaultSystem(for: "g0008") == .hcpcs)
    }

    @Test func parsesWrittenClaims() throws {
        let line = try #require(ClaimLine.parse("27365-50-lt", payer: "aetna"))
        #expect(line.system == .cpt)
        #expect(line.code == "27365")
        #expect(line.modifiers == ["50", "LT"])
        #expect(line.payer == "aetna")
        #expect(line.claimText == "27365-50-LT")
        #expect(ClaimLine.parse("J1885")?.system == .hcpcs)
        #expect(ClaimLine.parse("99213 25")?.modifiers == ["25"])
        #expect(ClaimLine.parse("J1885", system: .cpt)?.system == .cpt)
        // A one- or three-character modifier is read; the engine calls it invalid.
        #expect(ClaimLine.parse("J1745-JW-Z")?.modifiers == ["JW", "Z"])
        #expect(ClaimLine.parse("27365-505")?.modifiers == ["505"])
    }

    @Test(arguments: ["", "-", "27365-5$", "2736!", "27", "27365-LONGMODIFIER", "27365/50"])
    func rejectsUnreadableClaims(text: String) {
        #expect(ClaimLine.parse(text) == nil)
    }

    @Test func validatesDatesOfService() {
        #expect(ClaimLine.isValidDate("2026-03-01"))
        #expect(ClaimLine.isValidDate("2024-02-29"))
        #expect(!ClaimLine.isValidDate("2025-02-29"))
        #expect(!ClaimLine.isValidDate("2026-13-01"))
        #expect(!ClaimLine.isValidDate("2026-3-1"))
        #expect(!ClaimLine.isValidDate("2026-03"))
        #expect(!ClaimLine.isValidDate("tomorrow"))
        #expect(ISODay.parse("2026-03") == 20260301)
        #expect(ISODay.parse("2026") == 20260101)
        #expect(ISODay.parse("1900-02-29") == nil)
    }

    @Test func roundTripsThroughJSON() throws {
        let line = ClaimLine(system: .hcpcs, code: "J1885", modifiers: ["JW"], payer: "medicare", units: 2,
                             siteOfService: "11", dateOfService: "2026-03-01")
        let data = try JSONEncoder().encode(line)
        #expect(try JSONDecoder().decode(ClaimLine.self, from: data) == line)
    }
}

@Suite struct RuleEngineCatalogTests {
    @Test func knowsTheCommonModifiers() {
        #expect(ModifierCatalog.known.count >= 120)
        let required = ["22", "23", "24", "25", "26", "27", "32", "33", "47", "50", "51", "52", "53", "54", "55", "56",
                        "57", "58", "59", "62", "63", "66", "73", "74", "76", "77", "78", "79", "80", "81", "82", "90",
                        "91", "92", "93", "95", "96", "97", "99", "P1", "P2", "P3", "P4", "P5", "P6",
                        "LT", "RT", "TC", "XE", "XS", "XP", "XU", "GP", "GO", "GN", "KX", "CQ", "CO", "JW", "JZ", "QW",
                        "GA", "GY", "GZ", "GX", "GC", "GE", "NU", "RR", "UE", "KH", "KI", "KJ", "QM", "QN",
                        "E1", "E2", "E3", "E4", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "FA",
                        "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "TA", "AS", "AA", "QK", "QX", "QY", "QZ"]
        for modifier in required {
            #expect(ModifierCatalog.known.contains(modifier), "\(modifier)")
        }
        for modifier in ModifierCatalog.known {
            #expect(modifier.count == 2 && modifier == modifier.uppercased(), "\(modifier)")
        }
        #expect(!ModifierCatalog.known.contains("ZZ"))
        #expect(!ModifierCatalog.known.contains("00"))
    }

    @Test func describesModifiers() {
        #expect(ModifierCatalog.description(of: "50") == "Bilateral procedure")
        #expect(ModifierCatalog.description(of: "lt") == "Left side")
        #expect(ModifierCatalog.description(of: "ZZ") == nil)
        #expect(ModifierCatalog.descriptions.values.allSatisfy { !$0.isEmpty })
    }

    @Test func exclusionsAreCitedData() {
        for exclusion in ModifierCatalog.exclusions {
            #expect(exclusion.citation.contains("CMS"))
            #expect(!exclusion.reason.isEmpty)
            #expect(ModifierCatalog.known.contains(exclusion.anchor))
            for other in exclusion.excludes { #expect(ModifierCatalog.known.contains(other)) }
        }
        #expect(ModifierCatalog.exclusion(between: "LT", and: "50")?.anchor == "50")
        #expect(ModifierCatalog.exclusion(between: "tc", and: "26")?.anchor == "26")
        #expect(ModifierCatalog.exclusion(between: "XU", and: "59")?.anchor == "59")
        #expect(ModifierCatalog.exclusion(between: "LT", and: "RT") == nil)
        #expect(ModifierCatalog.exclusion(between: "XE", and: "XS") == nil)
    }
}

@Suite struct RuleEngineAmbulanceModifierTests {
    @Test func ambulanceOriginDestinationPairsAreKnown() {
        for modifier in ["RH", "HR", "RJ", "JR", "NH", "SH", "RX", "HN"] {
            #expect(ModifierCatalog.known.contains(modifier), "\(modifier)")
        }
        #expect(ModifierCatalog.description(of: "RH") == "Ambulance: residence to hospital")
        // X is a destination only; a pair that is another modifier keeps that description.
        #expect(!ModifierCatalog.known.contains("XH"))
        #expect(ModifierCatalog.description(of: "RR") == "Rental")
        #expect(ModifierCatalog.known.contains("LL"))
    }
}

import Testing
@testable import Rulebook

/// A record shaped like a real document's (CPT 27365 with a modifier table and payer notes),
/// built by hand so each finding can be provoked on purpose.
enum EngineFixture {
    static let path = "seeds/27365.md"
    static func at(_ line: Int, _ section: String...) -> Rulebook.SourceLocation {
        Rulebook.SourceLocation(path: path, line: line, section: section)
    }

    static func record(effective: String? = nil) -> CodeRecord {
        CodeRecord(
            system: .cpt, code: "27365", title: "Excision of Tumor, Femur or Knee", effective: effective,
            source: at(1),
            modifiers: [
                Modifier(code: "26", description: "Professional component", whenToUse: "", source: at(19, "Coding Specifications")),
                Modifier(code: "50", description: "Bilateral procedure", whenToUse: "", source: at(20, "Coding Specifications")),
                Modifier(code: "59", description: "Distinct procedural service", whenToUse: "", source: at(21, "Coding Specifications")),
                Modifier(code: "LT", description: "Left side", whenToUse: "", source: at(22, "Coding Specifications")),
                Modifier(code: "RT", description: "Right side", whenToUse: "", source: at(23, "Coding Specifications")),
                Modifier(code: "TC", description: "Technical component", whenToUse: "", source: at(24, "Coding Specifications")),
                Modifier(code: "XS", description: "Separate structure", whenToUse: "", source: at(25, "Coding Specifications")),
            ],
            payers: [
                PayerNote(payer: "aetna", name: "Aetna", priorAuthorization: .required, coverage: .covered,
                          notes: "Precertification for inpatient stays.", source: at(30, "Payer Policies")),
                PayerNote(payer: "bcbs", name: "Blue Cross Blue Shield", priorAuthorization: .conditional,
                          coverage: .conditional, notes: "Varies by plan.", source: at(31, "Payer Policies")),
                PayerNote(payer: "cigna", name: "Cigna Health", priorAuthorization: .unknown, coverage: .covered,
                          notes: "", source: at(32, "Payer Policies")),
                PayerNote(payer: "medicare", name: "Medicare", priorAuthorization: .notRequired, coverage: .notCovered,
                          notes: "Not a covered benefit in this example.", source: at(33, "Payer Policies")),
                PayerNote(payer: "unitedhealthcare", name: "UnitedHealthcare", priorAuthorization: .notRequired,
                          coverage: .covered, notes: "", source: at(34, "Payer Policies")),
            ])
    }

    static func book(effective: String? = nil) -> RuleBook { RuleBook(records: [record(effective: effective)]) }

    static func line(_ modifiers: [String] = [], payer: String? = nil, date: String? = nil) -> ClaimLine {
        ClaimLine(system: .cpt, code: "27365", modifiers: modifiers, payer: payer, dateOfService: date)
    }
}

private func ids(_ findings: [Finding]) -> [String] { findings.map(\.id) }

@Suite struct RuleEngineFindingTests {
    let book = EngineFixture.book()

    @Test func cleanLineHasNoFindings() {
        #expect(book.evaluate(EngineFixture.line(["LT"])).isEmpty)
        #expect(book.evaluate(EngineFixture.line([], payer: "unitedhealthcare")).isEmpty)
    }

    @Test func unknownCodeIsAnErrorWithoutSource() {
        let findings = book.evaluate(ClaimLine(system: .cpt, code: "99999"))
        #expect(findings.count == 1)
        #expect(findings[0].id == "code.unknown")
        #expect(findings[0].severity == .error)
        #expect(findings[0].source == nil)
        #expect(findings[0].message.contains("CPT 99999"))
        // The same code in the other system is another code.
        #expect(ids(book.evaluate(ClaimLine(system: .hcpcs, code: "27365"))) == ["code.unknown"])
    }

    @Test func unknownCodeStillGetsCatalogModifierChecks() {
        let findings = book.evaluate(ClaimLine(system: .cpt, code: "99999", modifiers: ["ZZ", "50", "LT"]))
        #expect(Set(ids(findings)) == ["code.unknown", "modifier.invalid", "modifier.exclusive"])
        // No record: no document-based finding.
        #expect(!ids(findings).contains("modifier.unlisted"))
    }

    @Test func unlistedModifierIsAWarningAtTheModifierTable() {
        let findings = book.evaluate(EngineFixture.line(["22"]))
        #expect(findings.count == 1)
        let finding = findings[0]
        #expect(finding.id == "modifier.unlisted")
        #expect(finding.severity == .warning)
        #expect(finding.message.contains("22"))
        #expect(finding.message.contains("Increased procedural services"))
        #expect(finding.source == EngineFixture.at(19, "Coding Specifications"))
    }

    @Test func recordWithoutModifierTableMakesEveryModifierUnlisted() {
        var record = EngineFixture.record()
        record.modifiers = []
        let findings = RuleBook(records: [record]).evaluate(EngineFixture.line(["LT"]))
        #expect(ids(findings) == ["modifier.unlisted"])
        #expect(findings[0].source == record.source)
        #expect(findings[0].message.contains("lists no modifiers"))
    }

    @Test func invalidModifierIsAnError() {
        let findings = book.evaluate(EngineFixture.line(["ZZ"]))
        #expect(ids(findings) == ["modifier.invalid"])
        #expect(findings[0].severity == .error)
        #expect(findings[0].message.contains("'ZZ'"))
        #expect(findings[0].source == EngineFixture.at(1))
        for modifier in ["Z", "505", "5"] {
            #expect(ids(book.evaluate(EngineFixture.line(["LT", modifier]))) == ["modifier.invalid"], "\(modifier)")
        }
    }

    @Test func modifierListedByTheDocumentIsAcceptedEvenIfNotInTheCatalog() {
        var record = EngineFixture.record()
        record.modifiers.append(Modifier(code: "ZQ", description: "Payer-specific", whenToUse: "",
                                         source: EngineFixture.at(26, "Coding Specifications")))
        #expect(!ModifierCatalog.known.contains("ZQ"))
        #expect(RuleBook(records: [record]).evaluate(EngineFixture.line(["ZQ"])).isEmpty)
    }

    @Test func moreThanFourModifiersIsAnError() {
        let four = book.evaluate(EngineFixture.line(["26", "59", "LT", "XS"]))
        #expect(!ids(four).contains("modifier.too-many"))
        let five = book.evaluate(EngineFixture.line(["26", "LT", "22", "51", "76"]))
        #expect(ids(five).filter { $0 == "modifier.too-many" }.count == 1)
        let finding = five.first { $0.id == "modifier.too-many" }
        #expect(finding?.severity == .error)
        #expect(finding?.message.contains("5 modifiers") == true)
    }

    /// The pairs issue 5 names, written out here (not read from the catalog).
    @Test(arguments: [("50", "LT"), ("50", "RT"), ("26", "TC"), ("59", "XE"), ("59", "XS"), ("59", "XP"), ("59", "XU")])
    func mutuallyExclusiveModifiersAreAnError(pair: (String, String)) {
        for modifiers in [[pair.0, pair.1], [pair.1, pair.0]] {
            let findings = book.evaluate(EngineFixture.line(modifiers)).filter { $0.id == "modifier.exclusive" }
            #expect(findings.count == 1, "\(modifiers)")
            #expect(findings.first?.severity == .error)
            #expect(findings.first?.message.contains("modifiers \(pair.0) and \(pair.1)") == true)
            #expect(findings.first?.message.contains("CMS") == true, "the finding cites its source")
        }
    }

    @Test func exclusiveFindingPointsAtTheDocumentRow() {
        let findings = book.evaluate(EngineFixture.line(["50", "LT"]))
        #expect(ids(findings) == ["modifier.exclusive"])
        #expect(findings[0].source == EngineFixture.at(20, "Coding Specifications"))
    }

    @Test func compatibleModifiersAreNotExclusive() {
        #expect(book.evaluate(EngineFixture.line(["26", "LT"])).isEmpty)
        #expect(book.evaluate(EngineFixture.line(["59", "LT"])).isEmpty)
        #expect(!ids(book.evaluate(EngineFixture.line(["XE", "XS"]))).contains("modifier.exclusive"))
    }

    @Test func duplicateModifierIsAnErrorReportedOnce() {
        let findings = book.evaluate(EngineFixture.line(["50", "50", "50"]))
        #expect(ids(findings) == ["modifier.duplicate"])
        #expect(findings[0].message.contains("3 times"))
        #expect(findings[0].source == EngineFixture.at(20, "Coding Specifications"))
        // A repeated exclusive partner does not repeat the exclusive finding.
        for modifiers in [["50", "LT", "LT"], ["LT", "50", "LT"], ["50", "50", "LT"], ["LT", "50", "50", "LT"]] {
            let mixed = book.evaluate(EngineFixture.line(modifiers))
            #expect(ids(mixed).filter { $0 == "modifier.exclusive" }.count == 1, "\(modifiers)")
            #expect(ids(mixed).filter { $0 == "modifier.duplicate" }.count == modifiers.count - 2, "\(modifiers)")
        }
    }

    @Test func modifiersAreCaseAndSpaceInsensitive() {
        #expect(book.evaluate(EngineFixture.line(["lt"])).isEmpty)
        #expect(ids(book.evaluate(EngineFixture.line([" 50", "rt "]))) == ["modifier.exclusive"])
        #expect(book.evaluate(ClaimLine(system: .cpt, code: "27365")).isEmpty)
        #expect(RuleBook(records: [EngineFixture.record()]).code(.cpt, "27365") != nil)
    }
}

@Suite struct RuleEnginePayerTests {
    let book = EngineFixture.book()

    @Test func priorAuthorizationRequiredIsAWarningAtThePayerNote() {
        let findings = book.evaluate(EngineFixture.line(payer: "aetna"))
        #expect(ids(findings) == ["payer.prior-auth-required"])
        #expect(findings[0].severity == .warning)
        #expect(findings[0].message.hasPrefix("prior authorization required"))
        #expect(findings[0].source == EngineFixture.at(30, "Payer Policies"))
    }

    @Test func payerIsMatchedByIdOrNameInAnyCase() {
        #expect(ids(book.evaluate(EngineFixture.line(payer: "AETNA"))) == ["payer.prior-auth-required"])
        #expect(ids(book.evaluate(EngineFixture.line(payer: "Cigna Health"))) == ["payer.prior-auth-unknown"])
        #expect(ids(book.evaluate(EngineFixture.line(payer: "United Healthcare"))).isEmpty)
        #expect(ids(book.evaluate(EngineFixture.line(payer: "blue cross blue shield")))
                == ["payer.coverage-conditional", "payer.prior-auth-conditional"])
        // An unknown payer is not matched by accident.
        #expect(book.evaluate(EngineFixture.line(payer: "United")).first?.message.contains("no note for this payer") == true)
    }

    @Test func conditionalPriorAuthorizationAndCoverageAreInfo() {
        let findings = book.evaluate(EngineFixture.line(payer: "bcbs"))
        #expect(ids(findings) == ["payer.coverage-conditional", "payer.prior-auth-conditional"])
        #expect(findings.allSatisfy { $0.severity == .info })
        #expect(findings.allSatisfy { $0.source == EngineFixture.at(31, "Payer Policies") })
        #expect(findings.allSatisfy { $0.message.contains("Varies by plan.") })
    }

    @Test func unknownPriorAuthorizationIsInfo() {
        let findings = book.evaluate(EngineFixture.line(payer: "cigna"))
        #expect(ids(findings) == ["payer.prior-auth-unknown"])
        #expect(findings[0].severity == .info)
        #expect(findings[0].message.contains("do not say"))
        #expect(findings[0].source == EngineFixture.at(32, "Payer Policies"))
    }

    @Test func payerWithoutANoteIsUnknownAtTheRecord() {
        let findings = book.evaluate(EngineFixture.line(payer: "humana"))
        #expect(ids(findings) == ["payer.prior-auth-unknown"])
        #expect(findings[0].message.contains("humana"))
        #expect(findings[0].source == EngineFixture.at(1))
    }

    @Test func notCoveredIsAnError() {
        let findings = book.evaluate(EngineFixture.line(payer: "medicare"))
        #expect(ids(findings) == ["payer.not-covered"])
        #expect(findings[0].severity == .error)
        #expect(findings[0].message.contains("not covered by Medicare"))
        #expect(findings[0].source == EngineFixture.at(33, "Payer Policies"))
    }

    @Test func noPayerNoPayerFindings() {
        #expect(book.evaluate(EngineFixture.line(["LT"], payer: nil)).isEmpty)
        #expect(book.evaluate(EngineFixture.line(["LT"], payer: "")).isEmpty)
    }
}

@Suite struct RuleEngineEffectiveDateTests {
    let book = EngineFixture.book(effective: "2026-01-01")

    @Test func ruleNotYetEffectiveSkipsDocumentChecks() {
        let findings = book.evaluate(EngineFixture.line(["22", "ZZ"], payer: "aetna", date: "2025-12-31"))
        // Catalog checks still run; the document's (unlisted modifier, payer notes) do not.
        #expect(ids(findings) == ["modifier.invalid", "rule.not-effective"])
        let notEffective = findings[1]
        #expect(notEffective.severity == .info)
        #expect(notEffective.message.contains("2026-01-01"))
        #expect(notEffective.message.contains("2025-12-31"))
        #expect(notEffective.source == EngineFixture.at(1))
    }

    @Test func ruleAppliesFromItsEffectiveDate() {
        for date in ["2026-01-01", "2026-06-30", nil] as [String?] {
            let findings = book.evaluate(EngineFixture.line(["22"], payer: "aetna", date: date))
            #expect(ids(findings) == ["modifier.unlisted", "payer.prior-auth-required"], "\(date ?? "no date")")
        }
    }

    @Test func monthOnlyEffectiveDateCountsFromTheFirst() {
        let book = EngineFixture.book(effective: "2026-03")
        #expect(ids(book.evaluate(EngineFixture.line(date: "2026-02-28"))) == ["rule.not-effective"])
        #expect(book.evaluate(EngineFixture.line(date: "2026-03-01")).isEmpty)
    }
}

@Suite struct RuleEngineOrderAndFormatTests {
    @Test func findingsAreSortedBySeverityThenId() {
        let book = EngineFixture.book()
        let findings = book.evaluate(EngineFixture.line(["22", "ZZ", "50", "LT", "LT"], payer: "bcbs"))
        #expect(ids(findings) == ["modifier.duplicate", "modifier.exclusive", "modifier.invalid", "modifier.too-many",
                                  "modifier.unlisted", "payer.coverage-conditional", "payer.prior-auth-conditional"])
        #expect(findings == findings.sorted())
        #expect(findings.map(\.severity) == [.error, .error, .error, .error, .warning, .info, .info])
    }

    @Test func formattedLineNamesTheDocumentLineAndSection() {
        let finding = Finding(.payerPriorAuthRequired, message: "prior authorization required",
                              source: Rulebook.SourceLocation(path: "seeds/a.md", line: 19, section: ["Billing", "Coding Specifications"]))
        #expect(finding.formatted == "warning: prior authorization required [payer.prior-auth-required] (seeds/a.md:19, Coding Specifications)")
        let bare = Finding(.codeUnknown, message: "CPT 1 is unknown", source: nil)
        #expect(bare.formatted == "error: CPT 1 is unknown [code.unknown]")
    }

    @Test func findingIdsHaveTheContractSeverities() {
        let expected: [String: Finding.Severity] = [
            "code.unknown": .error, "modifier.unlisted": .warning, "modifier.invalid": .error,
            "modifier.too-many": .error, "modifier.exclusive": .error, "modifier.duplicate": .error,
            "payer.prior-auth-required": .warning, "payer.prior-auth-conditional": .info,
            "payer.prior-auth-unknown": .info, "payer.not-covered": .error, "payer.coverage-conditional": .info,
            "rule.not-effective": .info,
        ]
        #expect(Set(FindingID.allCases.map(\.rawValue)) == Set(expected.keys))
        for id in FindingID.allCases { #expect(id.severity == expected[id.rawValue], "\(id.rawValue)") }
    }
}

@Suite struct RuleEnginePrecompiledTests {
    /// `RuleEngine` precomputes; it must say exactly what `RuleBook.evaluate` says.
    @Test func givesTheSameFindingsAsTheBook() {
        var hcpcs = EngineFixture.record(effective: "2026-01-01")
        hcpcs.system = .hcpcs
        hcpcs.code = "J1885"
        var long = EngineFixture.record()
        long.code = "ABCDEFGHIJ"   // too long to pack: found through the book's index
        var duplicate = EngineFixture.record()
        duplicate.title = "second record of the same code"
        duplicate.modifiers = []
        let book = RuleBook(records: [EngineFixture.record(), hcpcs, long, duplicate])
        let engine = RuleEngine(book)
        let lines: [ClaimLine] = [
            EngineFixture.line(), EngineFixture.line(["LT"], payer: "aetna"), EngineFixture.line(["50", "lt", "ZZ"]),
            EngineFixture.line(["22", "22", "26", "TC", "59"], payer: "bcbs"), EngineFixture.line(payer: "Medicare"),
            EngineFixture.line(["L"], payer: "humana"), EngineFixture.line(["LTX", "LTX"]),
            ClaimLine(system: .hcpcs, code: "j1885", modifiers: ["RT"], payer: "aetna", dateOfService: "2025-06-01"),
            ClaimLine(system: .hcpcs, code: "J1885", modifiers: ["22"], payer: "aetna", dateOfService: "2026-06-01"),
            ClaimLine(system: .cpt, code: "J1885"), ClaimLine(system: .cpt, code: "abcdefghij", modifiers: ["RT", "50"]),
            ClaimLine(system: .cpt, code: "99999", modifiers: ["XE", "59", "XS"]), ClaimLine(system: .cpt, code: ""),
        ]
        for line in lines {
            let expected = book.evaluate(line)
            #expect(engine.evaluate(line) == expected, "\(line.claimText)")
        }
        // Spot checks that the lines above exercise what they claim to.
        #expect(engine.evaluate(lines[2]).map(\.id) == ["modifier.exclusive", "modifier.invalid"])
        #expect(engine.evaluate(lines[7]).map(\.id) == ["rule.not-effective"])
        #expect(engine.evaluate(lines[10]).map(\.id) == ["modifier.exclusive"])
        #expect(engine.evaluate(lines[11]).map(\.id) == ["code.unknown", "modifier.exclusive", "modifier.exclusive"])
    }
}

@Suite struct RuleEngineInvariantTests {
    /// Deterministic pseudo-random lines (a fixed LCG): every result is sorted, uses contract ids
    /// with their severities, reports each exclusive pair and each duplicate once, and `RuleEngine`
    /// agrees with `RuleBook.evaluate`.
    @Test func invariantsHoldOnManyLines() {
        let book = RuleBook(records: [EngineFixture.record(effective: "2026-01-01")])
        let engine = RuleEngine(book)
        let modifierPool = ["50", "LT", "RT", "26", "TC", "59", "XE", "XS", "XP", "XU", "22", "ZZ", "lt", "5", "ABC"]
        let payerPool: [String?] = [nil, "aetna", "bcbs", "cigna", "medicare", "humana", "UnitedHealthcare"]
        let datePool: [String?] = [nil, "2025-12-31", "2026-01-01"]
        var state: UInt64 = 0x9E3779B97F4A7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        let validIDs = Dictionary(uniqueKeysWithValues: FindingID.allCases.map { ($0.rawValue, $0.severity) })
        for _ in 0..<2000 {
            let modifiers = (0..<next(7)).map { _ in modifierPool[next(modifierPool.count)] }
            let line = ClaimLine(system: .cpt, code: next(10) == 0 ? "99999" : "27365", modifiers: modifiers,
                                 payer: payerPool[next(payerPool.count)], dateOfService: datePool[next(datePool.count)])
            let findings = book.evaluate(line)
            #expect(findings == findings.sorted(), "\(line)")
            #expect(engine.evaluate(line) == findings, "\(line)")
            for finding in findings { #expect(validIDs[finding.id] == finding.severity, "\(finding.id)") }
            #expect(Set(findings.map(\.message)).count == findings.count, "no finding twice: \(line)")
            let distinct = Set(modifiers.map { $0.uppercased() })
            let expectedDuplicates = distinct.filter { m in modifiers.filter { $0.uppercased() == m }.count > 1 }.count
            #expect(findings.filter { $0.id == "modifier.duplicate" }.count == expectedDuplicates, "\(line)")
            #expect(findings.contains { $0.id == "modifier.too-many" } == (modifiers.count > 4), "\(line)")
            let pairs = ModifierCatalog.exclusions.flatMap { e in e.excludes.map { (e.anchor, $0) } }
            let expectedExclusive = pairs.filter { distinct.contains($0.0) && distinct.contains($0.1) }.count
            #expect(findings.filter { $0.id == "modifier.exclusive" }.count == expectedExclusive, "\(line)")
        }
    }
}

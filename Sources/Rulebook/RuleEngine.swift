/// The rule engine: checks one claim line against the compiled rules.
///
/// Cost per line: one dictionary lookup for the code, then scans of the line's (at most a few)
/// modifiers against the record's modifier rows and the payer's note. A record lists a handful of
/// modifiers and payers, so a linear scan of two-character strings is cheaper than hashing them;
/// hashing is used only for the catalog (`ModifierCatalog.known`, exclusions). No text is formatted
/// unless a finding is made.
extension RuleBook {
    /// The findings for `line`, sorted by severity (error, warning, info), then id, then message.
    ///
    /// - `code.unknown` when no document describes the code (catalog checks on the modifiers still run);
    /// - `rule.not-effective` when the record's `effective` date is after `dateOfService`: the
    ///   document-based checks (`modifier.unlisted`, `payer.*`) are then skipped;
    /// - modifiers: `modifier.too-many`, `modifier.duplicate`, `modifier.exclusive`, `modifier.invalid`,
    ///   `modifier.unlisted`;
    /// - payer (when `line.payer` is set): `payer.prior-auth-required|conditional|unknown`,
    ///   `payer.not-covered`, `payer.coverage-conditional`.
    public func evaluate(_ line: ClaimLine) -> [Finding] {
        var findings: [Finding] = []
        let record = code(line.system, line.code)
        if record == nil {
            findings.append(Finding(.codeUnknown,
                                    message: "\(line.system.rawValue) \(line.code) is not described by any document in the rules",
                                    source: nil))
        }

        // Document-based checks apply only from the record's effective date.
        var applies = record != nil
        if let record, let effective = record.effective, let dateOfService = line.dateOfService,
           let effectiveDay = ISODay.parse(effective), let serviceDay = ISODay.parse(dateOfService),
           effectiveDay > serviceDay {
            applies = false
            findings.append(Finding(.ruleNotEffective,
                                    message: "the rules for \(record.displayName) take effect on \(effective), after the date of service \(dateOfService); checks against its document were skipped",
                                    source: record.source))
        }

        let modifiers = RuleEngineSupport.normalized(line.modifiers)
        if !modifiers.isEmpty {
            RuleEngineSupport.checkModifiers(modifiers, record: record, documentApplies: applies,
                                             line: line, into: &findings)
        }
        if applies, let record, let payer = line.payer, !payer.isEmpty {
            RuleEngineSupport.checkPayer(payer, record: record, into: &findings)
        }
        if findings.count > 1 { findings.sort() }
        return findings
    }
}

enum RuleEngineSupport {
    /// Upper-cases and trims modifiers only when needed (the common case allocates nothing).
    @inline(__always)
    static func normalized(_ modifiers: [String]) -> [String] {
        for modifier in modifiers where !isNormalized(modifier) {
            return modifiers.map { $0.trimmingASCIISpaces().uppercased() }
        }
        return modifiers
    }

    @inline(__always)
    static func isNormalized(_ modifier: String) -> Bool {
        for byte in modifier.utf8 {
            if (97...122).contains(byte) || byte == 32 || byte == 9 { return false }
        }
        return true
    }

    static func checkModifiers(_ modifiers: [String], record: CodeRecord?, documentApplies: Bool,
                               line: ClaimLine, into findings: inout [Finding]) {
        let count = modifiers.count
        if count > ClaimLine.maximumModifiers {
            findings.append(Finding(.modifierTooMany,
                                    message: "\(count) modifiers on one line; a CMS-1500 claim line carries at most \(ClaimLine.maximumModifiers)",
                                    source: record?.source))
        }
        for index in 0..<count {
            let modifier = modifiers[index]
            // Repeats of an earlier modifier are reported once, at its first occurrence.
            var seenBefore = false
            for earlier in 0..<index where modifiers[earlier] == modifier {
                seenBefore = true
                break
            }
            if seenBefore { continue }
            var repeats = 0
            for later in (index + 1)..<count where modifiers[later] == modifier { repeats += 1 }
            let row = record.flatMap { Self.row(for: modifier, in: $0) }
            if repeats > 0 {
                findings.append(Finding(.modifierDuplicate,
                                        message: "modifier \(modifier) appears \(repeats + 1) times on the line; report it once",
                                        source: row?.source ?? record?.source))
            }
            // Mutually exclusive pairs, each reported once (at the earlier modifier).
            if let partners = ModifierCatalog.exclusionIndex[modifier] {
                for later in (index + 1)..<count {
                    let other = modifiers[later]
                    guard other != modifier else { continue }
                    var alreadyReported = false
                    for between in (index + 1)..<later where modifiers[between] == other {
                        alreadyReported = true
                        break
                    }
                    if alreadyReported { continue }
                    for partner in partners where partner.partner == other {
                        let exclusion = ModifierCatalog.exclusions[partner.exclusion]
                        let otherRow = record.flatMap { Self.row(for: other, in: $0) }
                        let excluded = modifier == exclusion.anchor ? other : modifier
                        findings.append(Finding(.modifierExclusive,
                                                message: "modifiers \(exclusion.anchor) and \(excluded) cannot be reported together on one line: \(exclusion.reason) (\(exclusion.citation))",
                                                source: row?.source ?? otherRow?.source ?? record?.source))
                    }
                }
            }
            if row != nil { continue }
            if !ModifierCatalog.known.contains(modifier) {
                findings.append(Finding(.modifierInvalid,
                                        message: "'\(modifier)' is not a valid CPT or HCPCS modifier",
                                        source: record?.source))
            } else if documentApplies, let record {
                let description = ModifierCatalog.descriptions[modifier].map { " (\($0))" } ?? ""
                let message: String
                let source: SourceLocation
                if let firstRow = record.modifiers.first {
                    message = "modifier \(modifier)\(description) is not listed for \(record.displayName) in its document"
                    source = firstRow.source
                } else {
                    message = "modifier \(modifier)\(description) is not listed for \(record.displayName): its document lists no modifiers"
                    source = record.source
                }
                findings.append(Finding(.modifierUnlisted, message: message, source: source))
            }
        }
    }

    /// The record's row for a modifier: a linear scan (records list a handful).
    @inline(__always)
    static func row(for modifier: String, in record: CodeRecord) -> Modifier? {
        for row in record.modifiers where row.code == modifier { return row }
        return nil
    }

    static func checkPayer(_ payer: String, record: CodeRecord, into findings: inout [Finding]) {
        let wanted = payer.trimmingASCIISpaces().lowercased()
        var note: PayerNote?
        for candidate in record.payers where candidate.payer == wanted || candidate.name.lowercased() == wanted {
            note = candidate
            break
        }
        guard let note else {
            findings.append(Finding(.payerPriorAuthUnknown,
                                    message: "the documents do not say whether \(payer) requires prior authorization for \(record.displayName) (no note for this payer)",
                                    source: record.source))
            return
        }
        let name = note.name.isEmpty ? note.payer : note.name
        let detail = note.notes.isEmpty ? "" : ": " + abbreviated(note.notes)
        switch note.priorAuthorization {
        case .required:
            findings.append(Finding(.payerPriorAuthRequired,
                                    message: "prior authorization required by \(name) for \(record.displayName)",
                                    source: note.source))
        case .conditional:
            findings.append(Finding(.payerPriorAuthConditional,
                                    message: "prior authorization required by \(name) for \(record.displayName) under some conditions\(detail)",
                                    source: note.source))
        case .unknown:
            findings.append(Finding(.payerPriorAuthUnknown,
                                    message: "the documents do not say whether \(name) requires prior authorization for \(record.displayName)",
                                    source: note.source))
        case .notRequired:
            break
        }
        switch note.coverage {
        case .notCovered:
            findings.append(Finding(.payerNotCovered,
                                    message: "\(record.displayName) is not covered by \(name)\(detail)",
                                    source: note.source))
        case .conditional:
            findings.append(Finding(.payerCoverageConditional,
                                    message: "\(name) covers \(record.displayName) only under conditions\(detail)",
                                    source: note.source))
        case .covered, .unknown:
            break
        }
    }

    /// Notes in a message: one line, at most 160 characters.
    static func abbreviated(_ text: String) -> String {
        let flat = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
        guard flat.count > 160 else { return flat }
        return String(flat.prefix(159)) + "…"
    }
}

extension String {
    /// Drops leading and trailing spaces and tabs (Foundation-free).
    func trimmingASCIISpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}

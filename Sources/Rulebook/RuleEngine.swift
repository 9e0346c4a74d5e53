/// The rule engine: checks one claim line against the compiled rules.
///
/// Two entry points share the same checks:
/// - `RuleBook.evaluate(_:)`: looks the code up in the book and checks the line; nothing to set up.
/// - `RuleEngine(book).evaluate(_:)`: the same findings, with everything that depends only on the
///   rules computed once: codes and modifiers packed into integers, effective dates parsed. Use it
///   to check many lines (a claim-scrubbing service, a benchmark).
///
/// Per line the work is one lookup for the code, then scans of the line's few modifiers against the
/// record's modifier rows (compared as packed two-byte integers) and of the payer notes for the
/// payer. No text is formatted unless a finding is made.
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
        RuleEngineSupport.evaluate(line, rules: rules(line.system, line.code))
    }
}

/// A `RuleBook` prepared for checking many claim lines: `RuleEngine(book).evaluate(line)` gives the
/// same findings as `book.evaluate(line)`, faster (see `RuleIndex`).
public struct RuleEngine: Sendable {
    public let book: RuleBook
    let index: RuleIndex

    public init(_ book: RuleBook) {
        self.book = book
        self.index = RuleIndex(book.codes)
    }

    /// The findings for `line`; see `RuleBook.evaluate(_:)`.
    public func evaluate(_ line: ClaimLine) -> [Finding] { index.evaluate(line) }
}

/// Every record with what the checks need computed once (modifier rows packed into integers, the
/// effective date parsed), found by a code packed into an integer: hashing one `UInt64` instead of
/// upper-casing and hashing a string, and no copy of the record per line.
struct RuleIndex: Sendable {
    /// Packed code (≤ 7 ASCII bytes, upper-cased) with the system in the low byte → its rules.
    private let packed: [UInt64: RecordRules]
    /// Codes that do not pack (longer, or not ASCII), keyed as `RuleBook` keys them.
    private let other: [RuleBook.Key: RecordRules]

    /// `records` in `RuleBook.codes` order: the first record of a code wins, as in `RuleBook`.
    init(_ records: [CodeRecord]) {
        var packed: [UInt64: RecordRules] = [:]
        var other: [RuleBook.Key: RecordRules] = [:]
        packed.reserveCapacity(records.count)
        for record in records {
            if let key = RuleIndex.matchingKey(record.system, record.code) {
                if packed[key] == nil { packed[key] = RecordRules(record, precompute: true) }
            } else if other[RuleBook.Key(record.system, record.code)] == nil {
                other[RuleBook.Key(record.system, record.code)] = RecordRules(record, precompute: true)
            }
        }
        self.packed = packed
        self.other = other
    }

    func rules(_ system: CodeSystem, _ code: String) -> RecordRules? {
        if let key = RuleIndex.matchingKey(system, code) { return packed[key] }
        return other.isEmpty ? nil : other[RuleBook.Key(system, code)]
    }

    func evaluate(_ line: ClaimLine) -> [Finding] {
        RuleEngineSupport.evaluate(line, rules: rules(line.system, line.code))
    }

    /// `key(system, code)`, else the key of the upper-cased code when that packs (`ß1` → `SS1`): codes
    /// match as `RuleBook.Key` matches them (without case), so lookups and the engine agree.
    @inline(__always)
    static func matchingKey(_ system: CodeSystem, _ code: String) -> UInt64? {
        if let key = key(system, code) { return key }
        return key(system, code.uppercased())
    }

    /// `system` + `code` as one integer: the code's bytes, upper-cased, left-aligned, and the system in
    /// the low byte. Nil when the code is empty, longer than 7 bytes or not ASCII.
    @inline(__always)
    static func key(_ system: CodeSystem, _ code: String) -> UInt64? {
        var packed: UInt64 = 0
        var count = 0
        for var byte in code.utf8 {
            guard count < 7, byte != 0, byte < 128 else { return nil }
            if byte >= 97, byte <= 122 { byte -= 32 }
            packed = packed << 8 | UInt64(byte)
            count += 1
        }
        guard count > 0 else { return nil }
        let systemByte: UInt64
        switch system {
        case .cpt: systemByte = 1
        case .hcpcs: systemByte = 2
        }
        return packed << (8 * UInt64(8 - count)) | systemByte
    }
}

/// A record and what the checks need from it. A class so that the checks read the record's fields
/// in place: a struct this size passed along would be copied, retaining every field.
final class RecordRules: Sendable {
    let record: CodeRecord
    /// `packedModifier` of each modifier row's code, parallel to `record.modifiers`; nil when not
    /// precomputed (then computed while scanning).
    let rowKeys: [UInt16]?
    /// `ISODay.parse(record.effective)`.
    let effectiveDay: Int?

    init(_ record: CodeRecord, precompute: Bool) {
        self.record = record
        rowKeys = precompute ? record.modifiers.map { RuleEngineSupport.packedModifier($0.code) } : nil
        effectiveDay = record.effective.flatMap(ISODay.parse)
    }
}

/// The checks behind `RuleBook.evaluate` and `RuleEngine.evaluate`. They read the record in place:
/// rows and payer notes are found by index and copied (with their text) only when a finding is made.
enum RuleEngineSupport {
    /// The findings for `line` against `rules` (nil: no document describes the code).
    static func evaluate(_ line: ClaimLine, rules: RecordRules?) -> [Finding] {
        var findings: [Finding] = []
        let modifiers = normalized(line.modifiers)
        guard let rules else {
            findings.append(Finding(.codeUnknown,
                                    message: "\(line.system.rawValue) \(line.code) is not described by any document in the rules",
                                    source: nil))
            if !modifiers.isEmpty {
                checkModifiers(modifiers, rules: nil, documentApplies: false, into: &findings)
                findings.sort()
            }
            return findings
        }
        // Document-based checks apply only from the record's effective date.
        var applies = true
        if let effectiveDay = rules.effectiveDay, let dateOfService = line.dateOfService,
           let serviceDay = ISODay.parse(dateOfService), effectiveDay > serviceDay {
            applies = false
            findings.append(Finding(.ruleNotEffective,
                                    message: "the rules for \(rules.record.displayName) take effect on \(rules.record.effective ?? ""), after the date of service \(dateOfService); checks against its document were skipped",
                                    source: rules.record.source))
        }
        if !modifiers.isEmpty {
            checkModifiers(modifiers, rules: rules, documentApplies: applies, into: &findings)
        }
        if applies, let payer = line.payer, !payer.isEmpty {
            checkPayer(payer, rules: rules, into: &findings)
        }
        if findings.count > 1 { findings.sort() }
        return findings
    }

    /// A two-character modifier as an integer (`"LT"` → 0x4C54); 0 for any other length.
    @inline(__always)
    static func packedModifier(_ modifier: String) -> UInt16 {
        var packed: UInt16 = 0
        var count = 0
        for byte in modifier.utf8 {
            count += 1
            guard count <= 2 else { return 0 }
            packed = packed << 8 | UInt16(byte)
        }
        return count == 2 ? packed : 0
    }

    /// Upper-cases and trims modifiers only when needed (the common case allocates nothing).
    @inline(__always)
    static func normalized(_ modifiers: [String]) -> [String] {
        for modifier in modifiers where !isNormalized(modifier) {
            return modifiers.map { $0.trimmingASCIISpaces().uppercased() }
        }
        return modifiers
    }

    /// No lower-case letter, space or tab.
    @inline(__always)
    static func isNormalized(_ modifier: String) -> Bool {
        for byte in modifier.utf8 where (97...122).contains(byte) || byte == 32 || byte == 9 { return false }
        return true
    }

    /// The index of the record's row for a modifier: a linear scan (records list a handful, and
    /// comparing packed integers is cheaper than hashing). `rowKeys`: the rows' packed codes, if known.
    @inline(__always)
    static func rowIndex(of modifier: String, key: UInt16, in rows: [Modifier], rowKeys: [UInt16]?) -> Int? {
        guard key != 0 else {
            for index in rows.indices where rows[index].code == modifier { return index }
            return nil
        }
        if let rowKeys {
            for index in rowKeys.indices where rowKeys[index] == key { return index }
        } else {
            for index in rows.indices where packedModifier(rows[index].code) == key { return index }
        }
        return nil
    }

    /// `rules` nil: the code is unknown; only the catalog checks apply.
    static func checkModifiers(_ modifiers: [String], rules: RecordRules?, documentApplies: Bool,
                               into findings: inout [Finding]) {
        let count = modifiers.count
        let rows = rules?.record.modifiers ?? []
        let rowKeys = rules == nil ? [] : rules?.rowKeys
        if count > ClaimLine.maximumModifiers {
            findings.append(Finding(.modifierTooMany,
                                    message: "\(count) modifiers on one line; a CMS-1500 claim line carries at most \(ClaimLine.maximumModifiers)",
                                    source: rules?.record.source))
        }
        withUnsafeTemporaryAllocation(of: UInt16.self, capacity: count) { keys in
            for index in 0..<count { keys[index] = packedModifier(modifiers[index]) }
            /// Whether the modifiers at two positions are the same (packed unless not two characters).
            func same(_ a: Int, _ b: Int) -> Bool {
                keys[a] != 0 || keys[b] != 0 ? keys[a] == keys[b] : modifiers[a] == modifiers[b]
            }
            for index in 0..<count {
                // Repeats of an earlier modifier are reported once, at its first occurrence.
                var seenBefore = false
                for earlier in 0..<index where same(earlier, index) {
                    seenBefore = true
                    break
                }
                if seenBefore { continue }
                let modifier = modifiers[index]
                let row = rowIndex(of: modifier, key: keys[index], in: rows, rowKeys: rowKeys)
                var repeats = 0
                for later in (index + 1)..<count where same(later, index) { repeats += 1 }
                if repeats > 0 {
                    findings.append(Finding(.modifierDuplicate,
                                            message: "modifier \(modifier) appears \(repeats + 1) times on the line; report it once",
                                            source: row.map { rows[$0].source } ?? rules?.record.source))
                }
                // Mutually exclusive pairs, each reported once (at the earlier modifier of the pair).
                if index + 1 < count, ModifierCatalog.takesPartInExclusions(keys[index]) {
                    for later in (index + 1)..<count where !same(later, index) {
                        // Only the first occurrence of the partner: a pair is reported once however
                        // often either modifier repeats (`LT 50 LT`).
                        var reportedAlready = false
                        for earlier in 0..<later where same(earlier, later) {
                            reportedAlready = true
                            break
                        }
                        if reportedAlready { continue }
                        for pair in ModifierCatalog.exclusionPairs
                        where (pair.anchor == keys[index] && pair.excluded == keys[later])
                            || (pair.anchor == keys[later] && pair.excluded == keys[index]) {
                            let other = modifiers[later]
                            let source = row.map { rows[$0].source }
                                ?? rowIndex(of: other, key: keys[later], in: rows, rowKeys: rowKeys).map { rows[$0].source } ?? rules?.record.source
                            findings.append(Finding(.modifierExclusive, message: pair.message, source: source))
                        }
                    }
                }
                if row != nil { continue }
                if !ModifierCatalog.known.contains(modifier) {
                    findings.append(Finding(.modifierInvalid,
                                            message: "'\(modifier)' is not a valid CPT or HCPCS modifier",
                                            source: rules?.record.source))
                } else if documentApplies, let record = rules?.record {
                    let description = ModifierCatalog.descriptions[modifier].map { " (\($0))" } ?? ""
                    if let firstRow = rows.first {
                        findings.append(Finding(.modifierUnlisted,
                                                message: "modifier \(modifier)\(description) is not listed for \(record.displayName) in its document",
                                                source: firstRow.source))
                    } else {
                        findings.append(Finding(.modifierUnlisted,
                                                message: "modifier \(modifier)\(description) is not listed for \(record.displayName): its document lists no modifiers",
                                                source: record.source))
                    }
                }
            }
        }
    }

    static func checkPayer(_ payer: String, rules: RecordRules, into findings: inout [Finding]) {
        let notes = rules.record.payers
        var found: Int?
        for index in notes.indices where notes[index].payer == payer {
            found = index
            break
        }
        if found == nil {
            // Slow path: another spelling of the id or the name (`Aetna`, `United Healthcare`,
            // `Blue Cross Blue Shield`): letters and digits compared without case.
            let wanted = slug(payer)
            for index in notes.indices where slug(notes[index].payer) == wanted || slug(notes[index].name) == wanted {
                found = index
                break
            }
        }
        guard let found else {
            let record = rules.record
            findings.append(Finding(.payerPriorAuthUnknown,
                                    message: "the documents do not say whether \(payer) requires prior authorization for \(record.displayName) (no note for this payer)",
                                    source: record.source))
            return
        }
        let priorAuthorization = notes[found].priorAuthorization
        let coverage = notes[found].coverage
        if priorAuthorization == .notRequired && (coverage == .covered || coverage == .unknown) { return }
        let note = notes[found]
        let record = rules.record
        let name = note.name.isEmpty ? note.payer : note.name
        let detail = note.notes.isEmpty ? "" : ": " + abbreviated(note.notes)
        switch priorAuthorization {
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
        switch coverage {
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

    /// Letters and digits only, lower-cased: `United Healthcare` → `unitedhealthcare`.
    static func slug(_ text: String) -> String {
        String(text.lowercased().unicodeScalars.filter { $0.properties.isAlphabetic || ("0"..."9").contains($0) })
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

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
        guard let record = code(line.system, line.code) else { return RuleEngineSupport.evaluateUnknown(line) }
        return RuleEngineSupport.evaluate(line, record: record, compiled: nil)
    }
}

/// A `RuleBook` prepared for checking many claim lines: `RuleEngine(book).evaluate(line)` gives the
/// same findings as `book.evaluate(line)`, faster.
public struct RuleEngine: Sendable {
    public let book: RuleBook
    /// Packed code (≤ 7 ASCII bytes, upper-cased) with the system in the low byte → offset in `book.codes`.
    private let index: [UInt64: Int]
    /// Parallel to `book.codes`.
    private let compiled: [CompiledRecord]

    public init(_ book: RuleBook) {
        self.book = book
        var index: [UInt64: Int] = [:]
        index.reserveCapacity(book.codes.count)
        var compiled: [CompiledRecord] = []
        compiled.reserveCapacity(book.codes.count)
        for (offset, record) in book.codes.enumerated() {
            compiled.append(CompiledRecord(record))
            // Records whose code does not pack are found through the book's own index.
            // The first record of a code wins, as in `RuleBook`'s own index (same order, same upper-casing).
            if let key = RuleEngine.key(record.system, record.code), index[key] == nil {
                index[key] = offset
            }
        }
        self.index = index
        self.compiled = compiled
    }

    /// The findings for `line`; see `RuleBook.evaluate(_:)`.
    public func evaluate(_ line: ClaimLine) -> [Finding] {
        if let key = RuleEngine.key(line.system, line.code) {
            guard let offset = index[key] else { return RuleEngineSupport.evaluateUnknown(line) }
            // Borrow the record in place (an array subscript would copy it and retain all its fields).
            return book.codes.withUnsafeBufferPointer { records in
                compiled.withUnsafeBufferPointer { compiled in
                    RuleEngineSupport.evaluate(line, record: records[offset], compiled: compiled[offset])
                }
            }
        }
        return book.evaluate(line)
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

/// What the checks need from a record, computed once by `RuleEngine`.
struct CompiledRecord: Sendable {
    /// `packedModifier` of each modifier row's code, parallel to `record.modifiers`.
    var rowKeys: [UInt16]
    /// `ISODay.parse(record.effective)`.
    var effectiveDay: Int?

    init(_ record: CodeRecord) {
        rowKeys = record.modifiers.map { RuleEngineSupport.packedModifier($0.code) }
        effectiveDay = record.effective.flatMap(ISODay.parse)
    }
}

/// The checks behind `RuleBook.evaluate` and `RuleEngine.evaluate`. They read the record in place:
/// rows and payer notes are found by index and copied (with their text) only when a finding is made.
enum RuleEngineSupport {
    /// `compiled` is the record's precomputed form when there is one (`RuleEngine`).
    static func evaluate(_ line: ClaimLine, record: CodeRecord, compiled: CompiledRecord?) -> [Finding] {
        var findings: [Finding] = []
        // Document-based checks apply only from the record's effective date.
        var applies = true
        if let dateOfService = line.dateOfService, record.effective != nil,
           let effectiveDay = compiled.map({ $0.effectiveDay }) ?? record.effective.flatMap(ISODay.parse),
           let serviceDay = ISODay.parse(dateOfService), effectiveDay > serviceDay {
            applies = false
            findings.append(Finding(.ruleNotEffective,
                                    message: "the rules for \(record.displayName) take effect on \(record.effective ?? ""), after the date of service \(dateOfService); checks against its document were skipped",
                                    source: record.source))
        }
        let modifiers = normalized(line.modifiers)
        if !modifiers.isEmpty {
            checkModifiers(modifiers, record: record, hasRecord: true, rowKeys: compiled?.rowKeys,
                           documentApplies: applies, into: &findings)
        }
        if applies, let payer = line.payer, !payer.isEmpty {
            checkPayer(payer, record: record, into: &findings)
        }
        if findings.count > 1 { findings.sort() }
        return findings
    }

    /// A line whose code no document describes: `code.unknown`, and the catalog checks on its modifiers.
    static func evaluateUnknown(_ line: ClaimLine) -> [Finding] {
        var findings = [Finding(.codeUnknown,
                                message: "\(line.system.rawValue) \(line.code) is not described by any document in the rules",
                                source: nil)]
        let modifiers = normalized(line.modifiers)
        if !modifiers.isEmpty {
            checkModifiers(modifiers, record: noRecord, hasRecord: false, rowKeys: [], documentApplies: false,
                           into: &findings)
            findings.sort()
        }
        return findings
    }

    /// Stands for "no record" in `checkModifiers` (which then uses neither its rows nor its source).
    static let noRecord = CodeRecord(system: .cpt, code: "", title: "", source: SourceLocation(path: "", line: 0))

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

    /// `record` is borrowed, not copied; when `hasRecord` is false it is `noRecord` and ignored.
    static func checkModifiers(_ modifiers: [String], record: CodeRecord, hasRecord: Bool, rowKeys: [UInt16]?,
                               documentApplies: Bool, into findings: inout [Finding]) {
        let count = modifiers.count
        let rows = record.modifiers
        if count > ClaimLine.maximumModifiers {
            findings.append(Finding(.modifierTooMany,
                                    message: "\(count) modifiers on one line; a CMS-1500 claim line carries at most \(ClaimLine.maximumModifiers)",
                                    source: (hasRecord ? record.source : nil)))
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
                                            source: row.map { rows[$0].source } ?? (hasRecord ? record.source : nil)))
                }
                // Mutually exclusive pairs, each reported once (at the earlier modifier of the pair).
                if index + 1 < count, ModifierCatalog.takesPartInExclusions(keys[index]) {
                    for later in (index + 1)..<count where !same(later, index) {
                        var reportedAlready = false
                        for between in (index + 1)..<later where same(between, later) {
                            reportedAlready = true
                            break
                        }
                        if reportedAlready { continue }
                        for pair in ModifierCatalog.exclusionPairs
                        where (pair.anchor == keys[index] && pair.excluded == keys[later])
                            || (pair.anchor == keys[later] && pair.excluded == keys[index]) {
                            let other = modifiers[later]
                            let source = row.map { rows[$0].source }
                                ?? rowIndex(of: other, key: keys[later], in: rows, rowKeys: rowKeys).map { rows[$0].source } ?? (hasRecord ? record.source : nil)
                            findings.append(Finding(.modifierExclusive, message: pair.message, source: source))
                        }
                    }
                }
                if row != nil { continue }
                if !ModifierCatalog.known.contains(modifier) {
                    findings.append(Finding(.modifierInvalid,
                                            message: "'\(modifier)' is not a valid CPT or HCPCS modifier",
                                            source: (hasRecord ? record.source : nil)))
                } else if documentApplies && hasRecord {
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

    static func checkPayer(_ payer: String, record: CodeRecord, into findings: inout [Finding]) {
        let notes = record.payers
        var found: Int?
        for index in notes.indices where notes[index].payer == payer {
            found = index
            break
        }
        if found == nil {
            // Slow path: another spelling (`Aetna`, ` aetna `) or the payer's name.
            let wanted = payer.trimmingASCIISpaces().lowercased()
            for index in notes.indices where notes[index].payer == wanted || notes[index].name.lowercased() == wanted {
                found = index
                break
            }
        }
        guard let found else {
            findings.append(Finding(.payerPriorAuthUnknown,
                                    message: "the documents do not say whether \(payer) requires prior authorization for \(record.displayName) (no note for this payer)",
                                    source: record.source))
            return
        }
        let priorAuthorization = notes[found].priorAuthorization
        let coverage = notes[found].coverage
        if priorAuthorization == .notRequired && (coverage == .covered || coverage == .unknown) { return }
        let note = notes[found]
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

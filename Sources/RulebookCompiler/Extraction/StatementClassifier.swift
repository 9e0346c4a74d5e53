import Rulebook

/// The rules that turn what a document says about prior authorization and coverage into values.
/// Kept in one place, in precedence order, each rule tested (StatementClassifierTests).
///
/// Prior authorization, decided from the clause that mentions it (or a table cell):
/// negations win over conditionals, which win over "required"; no statement is `unknown`.
/// Coverage likewise: not covered > conditional > covered.
///
/// Matching works on lower-cased UTF-8 bytes: it runs for every payer note of every document.
public enum StatementClassifier {
    // MARK: Prior authorization

    /// Words that make a clause about prior authorization.
    static let priorAuthorizationTopics = phraseSet(["prior auth", "preauthorization", "pre-authorization", "preauthorisation",
                                                   "prior authorisation", "precertification", "pre-certification", "prior approval",
                                                   "preapproval", "pre-approval", "authorization", "authorisation"])
    static let priorAuthorizationNegations = phraseSet(["not required", "no prior auth", "does not require", "doesn't require",
                                                      "do not require", "don't require", "not needed", "not necessary",
                                                      "without prior auth", "no authorization", "no authorisation", "not subject to",
                                                      "is waived", "are waived", "no pa ", "no pa.", "no precertification",
                                                      "no preauthorization", "not require"])
    static let priorAuthorizationConditionals = phraseSet(["may be required", "may require", "might require", "may need",
                                                         "can be required", "could be required", "varies", "vary", "variable",
                                                         "depending on", "depends on", "dependent on", "case-by-case",
                                                         "case by case", "some plans", "certain plans", "plan-specific",
                                                         "plan specific", "conditional"])
    static let priorAuthorizationRequirements = phraseSet(["required", "requires", "require", "must obtain", "must be obtained",
                                                         "must be approved", "mandatory", "needed", "is necessary"])
    static let unknownStatements = phraseSet(["data not available", "not available", "n/a", "unknown", "not specified",
                                            "no data", "not stated", "unclear"])
    /// A payer note that only says its requirements vary is about authorization requirements.
    static let varyingRequirements = phraseSet(["requirements vary", "requirements may vary", "vary by plan", "varies by plan"])

    /// A table cell of a Prior Authorization column.
    public static func priorAuthorization(cell: String) -> PriorAuthorization {
        let bytes = normalizedBytes(cell)
        switch String(decoding: bytes, as: UTF8.self) {
        case "yes", "y", "required", "req", "req.", "yes (required)", "always", "true": return .required
        case "no", "n", "not required", "none", "false", "no pa": return .notRequired
        case "varies", "conditional", "sometimes", "depends", "maybe", "may be required", "varies by plan", "case-by-case": return .conditional
        case "", "-", "—", "–", "n/a", "na", "unknown", "data not available", "not available", "tbd", "?": return .unknown
        default: break
        }
        if hasPrefix(bytes, "yes") { return .required }
        if hasPrefix(bytes, "no ") || hasPrefix(bytes, "no,") || hasPrefix(bytes, "no;") || hasPrefix(bytes, "no.") { return .notRequired }
        if hasPrefix(bytes, "varies") { return .conditional }
        return priorAuthorization(clause: bytes[...], requireTopic: false)
    }

    /// Free text (a paragraph, a bullet, a note): the first clause that mentions prior authorization decides.
    public static func priorAuthorization(text: String) -> PriorAuthorization {
        let bytes = normalizedBytes(text)
        for clause in clauses(of: bytes) {
            let value = priorAuthorization(clause: clause, requireTopic: true)
            if value != .unknown { return value }
        }
        if containsAny(bytes[...], varyingRequirements) { return .conditional }
        return .unknown
    }

    /// `(priorAuthorization(text: text), coverage(text: text))`, normalising and splitting the text once.
    static func classify(text: String) -> (priorAuthorization: PriorAuthorization, coverage: Coverage) {
        let bytes = normalizedBytes(text)
        let parts = clauses(of: bytes)
        var priorAuthorization = PriorAuthorization.unknown
        for clause in parts {
            let value = self.priorAuthorization(clause: clause, requireTopic: true)
            if value != .unknown { priorAuthorization = value; break }
        }
        if priorAuthorization == .unknown && containsAny(bytes[...], varyingRequirements) { priorAuthorization = .conditional }
        var coverage = Coverage.unknown
        for clause in parts {
            let value = self.coverage(clause: clause, requireTopic: true)
            if value != .unknown { coverage = value; break }
        }
        return (priorAuthorization, coverage)
    }

    static func priorAuthorization(clause: ArraySlice<UInt8>, requireTopic: Bool) -> PriorAuthorization {
        if requireTopic && !containsAny(clause, priorAuthorizationTopics) { return .unknown }
        if containsAny(clause, priorAuthorizationNegations) { return .notRequired }
        if containsAnyWord(clause, priorAuthorizationConditionals) { return .conditional }
        if containsAny(clause, unknownStatements) { return .unknown }
        if containsAnyWord(clause, priorAuthorizationRequirements) { return .required }
        return .unknown
    }

    // MARK: Coverage

    static let coverageTopics = phraseSet(["cover", "medically necessary", "medical necessity", "experimental", "investigational",
                                         "reimburs", "payable", "non-covered", "noncovered", "excluded", "exclusion"])
    static let coverageNegations = phraseSet(["not covered", "non-covered", "noncovered", "not a covered", "does not cover",
                                            "do not cover", "doesn't cover", "don't cover", "no coverage", "not medically necessary",
                                            "experimental and investigational", "experimental or investigational",
                                            "experimental/investigational", "investigational", "experimental", "not payable",
                                            "not reimbursable", "is excluded", "are excluded", "excluded from coverage"])
    static let coverageConditionals = phraseSet(["covered only", "only covered", "coverage with evidence development",
                                               "may be covered", "might be covered", "limited coverage", "covered in limited",
                                               "coverage varies", "coverage may vary", "varies", "vary", "depending on",
                                               "depends on", "case-by-case", "case by case", "conditional", "under certain",
                                               "only when", "only if", "only for", "restricted to"])
    static let coverageAffirmations = phraseSet(["covered", "coverage is provided", "provides coverage", "covers", "payable",
                                               "reimbursable", "medically necessary", "eligible for coverage", "is a covered"])

    public static func coverage(cell: String) -> Coverage {
        let bytes = normalizedBytes(cell)
        switch String(decoding: bytes, as: UTF8.self) {
        case "yes", "y", "covered", "covered when medically necessary", "true": return .covered
        case "no", "n", "not covered", "non-covered", "noncovered", "excluded", "false": return .notCovered
        case "varies", "conditional", "limited", "sometimes", "depends", "covered with conditions": return .conditional
        case "", "-", "—", "–", "n/a", "na", "unknown", "data not available", "not available", "tbd", "?": return .unknown
        default: return coverage(clause: bytes[...], requireTopic: false)
        }
    }

    public static func coverage(text: String) -> Coverage {
        for clause in clauses(of: normalizedBytes(text)) {
            let value = coverage(clause: clause, requireTopic: true)
            if value != .unknown { return value }
        }
        return .unknown
    }

    static func coverage(clause: ArraySlice<UInt8>, requireTopic: Bool) -> Coverage {
        if requireTopic && !containsAny(clause, coverageTopics) { return .unknown }
        if containsAny(clause, coverageNegations) { return .notCovered }
        if containsAnyWord(clause, coverageConditionals) { return .conditional }
        if containsAny(clause, unknownStatements) { return .unknown }
        if containsAnyWord(clause, coverageAffirmations) { return .covered }
        return .unknown
    }

    // MARK: Text helpers

    /// Lower-cased (ASCII), curly apostrophes straightened, white space collapsed, `*`/`_` trimmed.
    public static func normalized(_ text: String) -> String { String(decoding: normalizedBytes(text), as: UTF8.self) }

    static func normalizedBytes(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { normalizedBytes($0) }
    }

    /// `normalizedBytes` of UTF-8 bytes (valid UTF-8: an E2 lead byte is always followed by two continuation bytes).
    static func normalizedBytes(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let count = input.count
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { output, initialized in
            var written = 0
            var pendingSpace = false
            var index = 0
            while index < count {
                var value = input[index]
                index += 1
                if value == 0xE2, index + 1 < count, input[index] == 0x80, input[index + 1] == 0x99 {
                    value = 0x27 // ’ (E2 80 99) reads as an apostrophe.
                    index += 2
                }
                if value == 0x20 || value == 0x09 || value == 0x0A || value == 0x0D {
                    pendingSpace = written != 0
                    continue
                }
                if pendingSpace { output[written] = 0x20; written += 1; pendingSpace = false }
                output[written] = value &- 0x41 < 26 ? value | 0x20 : value
                written += 1
            }
            // Trim `*`, `_` and spaces at both ends.
            var start = 0, end = written
            while start < end && (output[start] == ASCII.star || output[start] == ASCII.underscore || output[start] == 0x20) { start += 1 }
            while end > start && (output[end - 1] == ASCII.star || output[end - 1] == ASCII.underscore || output[end - 1] == 0x20) { end -= 1 }
            if start > 0 {
                for offset in 0..<(end - start) { output[offset] = output[start + offset] }
            }
            initialized = end - start
        }
    }

    static func phrases(_ list: [String]) -> [[UInt8]] { list.map { Array($0.utf8) } }

    static func phraseSet(_ list: [String]) -> PhraseSet { PhraseSet(list) }

    static func hasPrefix(_ bytes: [UInt8], _ prefix: StaticString) -> Bool { bytes[...].hasPrefix(prefix) }

    /// Clauses: sentences and `;`-separated parts (`e.g.`, `i.e.`, `vs.`, `etc.` do not end a sentence).
    static func clauses(of text: [UInt8]) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var start = 0
        var index = 0
        while index < text.count {
            let byte = text[index]
            var ends = byte == 0x3B || byte == 0x21 || byte == 0x3F
            if byte == ASCII.dot && (index + 1 == text.count || text[index + 1] == 0x20) && !isAbbreviationEnd(text, index) { ends = true }
            if ends {
                if index > start { result.append(text[start..<index]) }
                start = index + 1
            }
            index += 1
        }
        if start < text.count { result.append(text[start...]) }
        return result
    }

    private static let abbreviations = phrases(["e.g", "i.e", "vs", "etc", "approx", "incl", "no", "dr", "st"])

    private static func isAbbreviationEnd(_ text: [UInt8], _ index: Int) -> Bool {
        var start = index
        while start > 0 && text[start - 1] != 0x20 { start -= 1 }
        let word = text[start..<index]
        return abbreviations.contains { $0.elementsEqual(word) }
    }

    static func containsAny(_ text: ArraySlice<UInt8>, _ needles: PhraseSet) -> Bool {
        needles.occurs(in: text, wholeWord: false)
    }

    static func containsAnyWord(_ text: ArraySlice<UInt8>, _ needles: PhraseSet) -> Bool {
        needles.occurs(in: text, wholeWord: true)
    }

    /// Whether `needle` occurs in `text` (at word boundaries when `wholeWord`: "required" does not match "unrequired").
    static func find(_ needle: [UInt8], in text: ArraySlice<UInt8>, wholeWord: Bool) -> Bool {
        guard let first = needle.first, needle.count <= text.count else { return needle.isEmpty }
        var index = text.startIndex
        let last = text.endIndex - needle.count
        while index <= last {
            if text[index] == first {
                var matched = true
                for offset in 1..<needle.count where text[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched {
                    if !wholeWord { return true }
                    let beforeOK = index == text.startIndex || !ASCII.isLetter(text[index - 1])
                    let after = index + needle.count
                    let afterOK = after == text.endIndex || !ASCII.isLetter(text[after])
                    if beforeOK && afterOK { return true }
                }
            }
            index += 1
        }
        return false
    }

    /// Whether `phrase` occurs in `text` at word boundaries.
    static func containsWord(_ text: String, _ phrase: String) -> Bool {
        find(Array(phrase.utf8), in: normalizedBytes(text)[...], wholeWord: true)
    }
}

/// A fixed list of byte phrases, indexed by first byte: "does any phrase occur in this text" in one pass
/// over the text (instead of one pass per phrase).
struct PhraseSet: Sendable {
    let list: [[UInt8]]
    /// All phrases' bytes, grouped by first byte.
    private let storage: [UInt8]
    /// `bucketStart[b]..<bucketStart[b + 1]`: the entries of phrases starting with byte `b`.
    private let bucketStart: [Int]
    /// (offset in `storage`, length) per phrase, grouped by first byte.
    private let entries: [(offset: Int, length: Int)]
    private let hasEmpty: Bool

    init(_ phrases: [String]) {
        list = phrases.map { Array($0.utf8) }
        hasEmpty = list.contains { $0.isEmpty }
        var storage: [UInt8] = []
        var entries: [(offset: Int, length: Int)] = []
        var bucketStart = [Int](repeating: 0, count: 257)
        for byte in 0..<256 {
            bucketStart[byte] = entries.count
            for phrase in list where phrase.first == UInt8(byte) {
                entries.append((storage.count, phrase.count))
                storage.append(contentsOf: phrase)
            }
        }
        bucketStart[256] = entries.count
        self.storage = storage
        self.entries = entries
        self.bucketStart = bucketStart
    }

    /// Whether any phrase occurs in `text` (at word boundaries when `wholeWord`: "required" does not match "unrequired").
    func occurs(in text: ArraySlice<UInt8>, wholeWord: Bool) -> Bool {
        if hasEmpty { return true }
        return text.withUnsafeBufferPointer { buffer in
            storage.withUnsafeBufferPointer { storage in
                bucketStart.withUnsafeBufferPointer { bucketStart in
                    entries.withUnsafeBufferPointer { entries in
                        let count = buffer.count
                        var index = 0
                        while index < count {
                            let byte = Int(buffer[index])
                            var entry = bucketStart[byte]
                            let end = bucketStart[byte + 1]
                            while entry < end {
                                let (offset, length) = entries[entry]
                                entry += 1
                                guard index + length <= count else { continue }
                                var matched = true
                                var k = 1
                                while k < length {
                                    if buffer[index + k] != storage[offset + k] { matched = false; break }
                                    k += 1
                                }
                                guard matched else { continue }
                                if !wholeWord { return true }
                                let beforeOK = index == 0 || !ASCII.isLetter(buffer[index - 1])
                                let after = index + length
                                let afterOK = after == count || !ASCII.isLetter(buffer[after])
                                if beforeOK && afterOK { return true }
                            }
                            index += 1
                        }
                        return false
                    }
                }
            }
        }
    }
}

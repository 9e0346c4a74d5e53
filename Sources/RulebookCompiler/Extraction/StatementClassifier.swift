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
        if let value = priorAuthorizationCells[String(decoding: bytes, as: UTF8.self)] { return value }
        if hasPrefix(bytes, "yes") { return .required }
        if hasPrefix(bytes, "no ") || hasPrefix(bytes, "no,") || hasPrefix(bytes, "no;") || hasPrefix(bytes, "no.") { return .notRequired }
        if hasPrefix(bytes, "varies") { return .conditional }
        return priorAuthorization(clause: bytes[...], requireTopic: false)
    }

    /// Whole cells of a Prior Authorization column (one lookup instead of comparing with each in turn).
    private static let priorAuthorizationCells = cellValues([
        (PriorAuthorization.required, ["yes", "y", "required", "req", "req.", "yes (required)", "always", "true"]),
        (.notRequired, ["no", "n", "not required", "none", "false", "no pa"]),
        (.conditional, ["varies", "conditional", "sometimes", "depends", "maybe", "may be required", "varies by plan", "case-by-case"]),
        (.unknown, unknownCells),
    ])

    private static let unknownCells = ["", "-", "—", "–", "n/a", "na", "unknown", "data not available", "not available", "tbd", "?"]

    private static func cellValues<Value>(_ groups: [(Value, [String])]) -> [String: Value] {
        var values: [String: Value] = [:]
        for (value, cells) in groups { for cell in cells { values[cell] = value } }
        return values
    }

    /// Free text (a paragraph, a bullet, a note): the first clause that mentions prior authorization decides.
    public static func priorAuthorization(text: String) -> PriorAuthorization {
        classify(text: text).priorAuthorization
    }

    /// `(priorAuthorization(text: text), coverage(text: text))`, normalising the text once and reading each clause
    /// once (every phrase set of both questions is matched in the same pass).
    static func classify(text: String) -> (priorAuthorization: PriorAuthorization, coverage: Coverage) {
        var text = text
        return text.withUTF8 { input in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(input.count, 1)) { output in
                let (start, end) = normalize(input, into: output.baseAddress!)
                return classify(normalized: UnsafeBufferPointer(rebasing: output[start..<end]))
            }
        }
    }

    /// `classify(text:)` of normalised bytes.
    private static func classify(normalized buffer: UnsafeBufferPointer<UInt8>) -> (priorAuthorization: PriorAuthorization, coverage: Coverage) {
        do {
            var priorAuthorization = PriorAuthorization.unknown
            var coverage = Coverage.unknown
            var varying = false
            forEachClause(of: buffer) { clause in
                // Most clauses name neither topic: one pass over them with the topic phrases alone.
                let topics = topicMatcher.matches(in: clause)
                if priorAuthorization == .unknown { varying = varying || topics & ClauseBit.varying != 0 }
                let wanted = (priorAuthorization == .unknown ? topics & ClauseBit.priorAuthorizationTopic : 0)
                    | (coverage == .unknown ? topics & ClauseBit.coverageTopic : 0)
                if wanted != 0 {
                    let found = clauseMatcher.matches(in: clause)
                    if priorAuthorization == .unknown { priorAuthorization = self.priorAuthorization(found: found, requireTopic: true) }
                    if coverage == .unknown { coverage = self.coverage(found: found, requireTopic: true) }
                }
                return priorAuthorization == .unknown || coverage == .unknown
            }
            // The varying phrases hold no clause separator: one occurs in the text exactly when it occurs in a clause
            // (and while no clause decided, every clause was read).
            if priorAuthorization == .unknown && varying { priorAuthorization = .conditional }
            return (priorAuthorization, coverage)
        }
    }

    static func priorAuthorization(clause: ArraySlice<UInt8>, requireTopic: Bool) -> PriorAuthorization {
        priorAuthorization(found: clause.withUnsafeBufferPointer { clauseMatcher.matches(in: $0) }, requireTopic: requireTopic)
    }

    /// The decision from the phrase sets found in a clause (`clauseMatcher`): negations win over conditionals,
    /// which win over "required".
    private static func priorAuthorization(found: UInt32, requireTopic: Bool) -> PriorAuthorization {
        if requireTopic && found & ClauseBit.priorAuthorizationTopic == 0 { return .unknown }
        if found & ClauseBit.priorAuthorizationNegation != 0 { return .notRequired }
        if found & ClauseBit.priorAuthorizationConditional != 0 { return .conditional }
        if found & ClauseBit.unknown != 0 { return .unknown }
        if found & ClauseBit.priorAuthorizationRequirement != 0 { return .required }
        return .unknown
    }

    /// Bits of `clauseMatcher`'s sets.
    private enum ClauseBit {
        static let priorAuthorizationTopic: UInt32 = 1 << 0
        static let priorAuthorizationNegation: UInt32 = 1 << 1
        static let priorAuthorizationConditional: UInt32 = 1 << 2
        static let unknown: UInt32 = 1 << 3
        static let priorAuthorizationRequirement: UInt32 = 1 << 4
        static let varying: UInt32 = 1 << 5
        static let coverageTopic: UInt32 = 1 << 6
        static let coverageNegation: UInt32 = 1 << 7
        static let coverageConditional: UInt32 = 1 << 8
        static let coverageAffirmation: UInt32 = 1 << 9
    }

    /// The topics of both questions and the varying phrases, at their `ClauseBit` bits.
    private static let topicMatcher = PhraseMatcher([
        (priorAuthorizationTopics.phrases, false), ([], false), ([], false), ([], false), ([], false),
        (varyingRequirements.phrases, false), (coverageTopics.phrases, false),
    ])

    /// Every phrase set of both questions, in the order of `ClauseBit` (conditionals and requirements as whole words).
    private static let clauseMatcher = PhraseMatcher([
        (priorAuthorizationTopics.phrases, false), (priorAuthorizationNegations.phrases, false),
        (priorAuthorizationConditionals.phrases, true), (unknownStatements.phrases, false),
        (priorAuthorizationRequirements.phrases, true), (varyingRequirements.phrases, false),
        (coverageTopics.phrases, false), (coverageNegations.phrases, false),
        (coverageConditionals.phrases, true), (coverageAffirmations.phrases, true),
    ])

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
        if let value = coverageCells[String(decoding: bytes, as: UTF8.self)] { return value }
        return coverage(clause: bytes[...], requireTopic: false)
    }

    /// Whole cells of a Coverage column.
    private static let coverageCells = cellValues([
        (Coverage.covered, ["yes", "y", "covered", "covered when medically necessary", "true"]),
        (.notCovered, ["no", "n", "not covered", "non-covered", "noncovered", "excluded", "false"]),
        (.conditional, ["varies", "conditional", "limited", "sometimes", "depends", "covered with conditions"]),
        (.unknown, unknownCells),
    ])

    public static func coverage(text: String) -> Coverage {
        classify(text: text).coverage
    }

    static func coverage(clause: ArraySlice<UInt8>, requireTopic: Bool) -> Coverage {
        coverage(found: clause.withUnsafeBufferPointer { clauseMatcher.matches(in: $0) }, requireTopic: requireTopic)
    }

    private static func coverage(found: UInt32, requireTopic: Bool) -> Coverage {
        if requireTopic && found & ClauseBit.coverageTopic == 0 { return .unknown }
        if found & ClauseBit.coverageNegation != 0 { return .notCovered }
        if found & ClauseBit.coverageConditional != 0 { return .conditional }
        if found & ClauseBit.unknown != 0 { return .unknown }
        if found & ClauseBit.coverageAffirmation != 0 { return .covered }
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
            let (start, end) = normalize(input, into: output.baseAddress!)
            if start > 0 {
                for offset in 0..<(end - start) { output[offset] = output[start + offset] }
            }
            initialized = end - start
        }
    }

    /// Writes the normalised form of `input` to `output` (room for `input.count` bytes): the result is
    /// `output[start..<end]`.
    @inline(__always)
    static func normalize(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> (start: Int, end: Int) {
        let count = input.count
        var written = 0
        var pendingSpace = false
        var index = 0
        let base = input.baseAddress
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080, low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        @inline(__always) func zeroBytes(_ word: UInt64) -> UInt64 { ~(((word & low) &+ low) | word | low) } // 0x80 where a byte is 0
        while index < count {
            // Eight ASCII bytes without tab, CR, LF or two spaces in a row, after a written byte: lower-cased as they are
            // (a space among them is the one space a run collapses to; a final space stays pending).
            if written > 0 && !pendingSpace && index + 8 <= count, let base {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                let spaces = zeroBytes(word ^ (ones &* 0x20))
                if word & high == 0 && spaces & (spaces << 8) == 0
                    && zeroBytes(word ^ (ones &* 0x09)) | zeroBytes(word ^ (ones &* 0x0A)) | zeroBytes(word ^ (ones &* 0x0D)) == 0 {
                    let atLeastA = (word &+ ones &* (0x80 - 0x41)) & high
                    let atLeastBracket = (word &+ ones &* (0x80 - 0x5B)) & high
                    let lowered = word | ((atLeastA & ~atLeastBracket) >> 2)
                    UnsafeMutableRawPointer(output + written).storeBytes(of: lowered.littleEndian, as: UInt64.self)
                    written += 8
                    index += 8
                    if spaces >> 63 != 0 { written -= 1; pendingSpace = true }
                    continue
                }
            }
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
        return (start, end)
    }

    static func phrases(_ list: [String]) -> [[UInt8]] { list.map { Array($0.utf8) } }

    static func phraseSet(_ list: [String]) -> PhraseSet { PhraseSet(list) }

    static func hasPrefix(_ bytes: [UInt8], _ prefix: StaticString) -> Bool { bytes[...].hasPrefix(prefix) }

    /// Clauses: sentences and `;`-separated parts (`e.g.`, `i.e.`, `vs.`, `etc.` do not end a sentence).
    static func clauses(of text: [UInt8]) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        text.withUnsafeBufferPointer { buffer in
            forEachClause(of: buffer) { clause in
                let start = clause.baseAddress! - buffer.baseAddress!
                result.append(text[start..<(start + clause.count)])
                return true
            }
        }
        return result
    }

    /// Calls `body` with each clause (never empty) in order, until it returns false.
    static func forEachClause(of text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) {
        let count = text.count
        var start = 0
        var index = 0
        let ones: UInt64 = 0x0101_0101_0101_0101, low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        @inline(__always) func zeroBytes(_ word: UInt64) -> UInt64 { ~(((word & low) &+ low) | word | low) }
        while index < count {
            // Skip eight bytes at a time while none of them can end a clause (`;`, `!`, `?`, `.`).
            if index + 8 <= count, let base = text.baseAddress {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                let found = zeroBytes(word ^ (ones &* 0x3B)) | zeroBytes(word ^ (ones &* 0x21)) | zeroBytes(word ^ (ones &* 0x3F))
                    | zeroBytes(word ^ (ones &* 0x2E))
                if found == 0 {
                    index += 8
                    continue
                }
                index += found.trailingZeroBitCount >> 3
            }
            let byte = text[index]
            var ends = byte == 0x3B || byte == 0x21 || byte == 0x3F
            if byte == ASCII.dot && (index + 1 == count || text[index + 1] == 0x20) && !isAbbreviationEnd(text, index) { ends = true }
            if ends {
                if index > start, !body(UnsafeBufferPointer(rebasing: text[start..<index])) { return }
                start = index + 1
            }
            index += 1
        }
        if start < count { _ = body(UnsafeBufferPointer(rebasing: text[start..<count])) }
    }

    private static let abbreviations = phrases(["e.g", "i.e", "vs", "etc", "approx", "incl", "no", "dr", "st"])

    private static func isAbbreviationEnd(_ text: UnsafeBufferPointer<UInt8>, _ index: Int) -> Bool {
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

/// A fixed list of byte phrases: "does any phrase occur in this text" in one pass over the text.
struct PhraseSet: Sendable {
    let phrases: [String]
    let list: [[UInt8]]
    private let plain: PhraseMatcher
    private let words: PhraseMatcher

    init(_ phrases: [String]) {
        self.phrases = phrases
        list = phrases.map { Array($0.utf8) }
        plain = PhraseMatcher([(phrases, false)])
        words = PhraseMatcher([(phrases, true)])
    }

    /// Whether any phrase occurs in `text` (at word boundaries when `wholeWord`: "required" does not match "unrequired").
    func occurs(in text: ArraySlice<UInt8>, wholeWord: Bool) -> Bool {
        text.withUnsafeBufferPointer { occurs(in: $0, wholeWord: wholeWord) }
    }

    func occurs(in text: UnsafeBufferPointer<UInt8>, wholeWord: Bool) -> Bool {
        (wholeWord ? words : plain).matches(in: text, stopAt: 1) != 0
    }
}

/// Several phrase sets matched in one pass over a text: bit `i` of the result is set when a phrase of set `i`
/// occurs (at word boundaries for a whole-word set). Phrases are indexed by a hash of their first bytes (as many as
/// the shortest phrase has, two to four), so most positions look at no phrase at all.
/// The tables live in one allocation read through pointers (no reference counting in the scan); matchers are
/// built once, as static constants.
final class PhraseMatcher: @unchecked Sendable {
    private struct Entry {
        /// The phrase's first (up to) eight bytes as a little-endian word, and the mask of those bytes.
        var head: UInt64
        var headMask: UInt64
        var offset: Int32
        var length: Int32
        var bit: UInt32
        var wholeWord: Bool
    }

    /// All phrases' bytes, grouped by bucket.
    private let storage: UnsafeMutablePointer<UInt8>
    /// `bucketStart[h]..<bucketStart[h + 1]`: the entries of phrases of two or more bytes whose first two bytes hash to `h`.
    private let bucketStart: UnsafeMutablePointer<Int32>
    /// `singleStart[b]..<singleStart[b + 1]`: the entries of one-byte phrases `b`.
    private let singleStart: UnsafeMutablePointer<Int32>
    private let entries: UnsafeMutablePointer<Entry>
    private let entryCount: Int
    private let hasSingles: Bool
    /// How many leading bytes index a phrase (2...4: the shortest phrase of two or more bytes, at most 4).
    private let keyLength: Int
    /// The mask of the first `keyLength` bytes of a little-endian word.
    private let keyMask: UInt32
    /// Bits of the sets that hold an empty phrase (which occurs in any text).
    private let alwaysBits: UInt32
    private static let bucketCount = 1024

    /// The bucket of a phrase or a text position from its first `keyLength` bytes (`key`, little-endian, masked).
    @inline(__always) private static func bucket(_ key: UInt32) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B1) >> 22)
    }

    /// The first `length` (≤ 4) bytes at `pointer`, little-endian.
    @inline(__always) private static func key(_ pointer: UnsafePointer<UInt8>, _ length: Int) -> UInt32 {
        var key: UInt32 = 0
        for offset in 0..<length { key |= UInt32(pointer[offset]) << UInt32(8 * offset) }
        return key
    }

    init(_ sets: [(phrases: [String], wholeWord: Bool)]) {
        precondition(sets.count <= 32)
        var always: UInt32 = 0
        var all: [(bytes: [UInt8], bit: UInt32, wholeWord: Bool)] = []
        for (index, set) in sets.enumerated() {
            for phrase in set.phrases {
                let bytes = Array(phrase.utf8)
                if bytes.isEmpty { always |= 1 << UInt32(index) } else { all.append((bytes, 1 << UInt32(index), set.wholeWord)) }
            }
        }
        var storage: [UInt8] = []
        var entries: [Entry] = []
        func add(_ phrase: (bytes: [UInt8], bit: UInt32, wholeWord: Bool)) {
            var head: UInt64 = 0, headMask: UInt64 = 0
            for (index, byte) in phrase.bytes.prefix(8).enumerated() {
                head |= UInt64(byte) << UInt64(8 * index)
                headMask |= 0xFF << UInt64(8 * index)
            }
            entries.append(Entry(head: head, headMask: headMask, offset: Int32(storage.count), length: Int32(phrase.bytes.count),
                                 bit: phrase.bit, wholeWord: phrase.wholeWord))
            storage.append(contentsOf: phrase.bytes)
        }
        // Grouped by bucket (phrases of two or more bytes), then by byte (one-byte phrases), in list order within a group.
        let keyLength = min(4, all.lazy.map(\.bytes.count).filter { $0 >= 2 }.min() ?? 2)
        self.keyLength = keyLength
        keyMask = keyLength == 4 ? .max : (1 << UInt32(8 * keyLength)) - 1
        let groups = all.map { phrase in
            phrase.bytes.count >= 2 ? phrase.bytes.withUnsafeBufferPointer { Self.bucket(Self.key($0.baseAddress!, keyLength)) }
                : Self.bucketCount + Int(phrase.bytes[0])
        }
        var starts = [Int](repeating: 0, count: Self.bucketCount + 257)
        for group in groups { starts[group + 1] += 1 }
        for group in 0..<(Self.bucketCount + 256) { starts[group + 1] += starts[group] }
        // Counting sort, stable: each phrase goes to the next free place of its group.
        var next = starts
        var order = [Int](repeating: 0, count: all.count)
        for (index, group) in groups.enumerated() {
            order[next[group]] = index
            next[group] += 1
        }
        for index in order { add(all[index]) }

        self.storage = .allocate(capacity: max(storage.count, 1))
        self.storage.initialize(from: storage, count: storage.count)
        self.entries = .allocate(capacity: max(entries.count, 1))
        self.entries.initialize(from: entries, count: entries.count)
        entryCount = entries.count
        bucketStart = .allocate(capacity: Self.bucketCount + 1)
        for group in 0...Self.bucketCount { bucketStart[group] = Int32(starts[group]) }
        singleStart = .allocate(capacity: 257)
        for byte in 0...256 { singleStart[byte] = Int32(starts[Self.bucketCount + byte]) }
        hasSingles = starts[Self.bucketCount] != starts[Self.bucketCount + 256]
        alwaysBits = always
    }

    deinit {
        storage.deallocate()
        entries.deallocate()
        bucketStart.deallocate()
        singleStart.deallocate()
    }

    /// The bits of the sets with a phrase in `text`; the scan stops early once every bit of `stopAt` is found.
    func matches(in text: UnsafeBufferPointer<UInt8>, stopAt: UInt32 = .max) -> UInt32 {
        var found = alwaysBits
        if found & stopAt == stopAt { return found }
        let count = text.count
        guard count > 0, let base = text.baseAddress else { return found }
        let storage = self.storage, entries = self.entries, bucketStart = self.bucketStart

        @inline(__always) func check(_ entry: UnsafeMutablePointer<Entry>, at index: Int) -> Bool {
            let length = Int(entry.pointee.length)
            guard index + length <= count, found & entry.pointee.bit == 0 else { return false }
            var k = 0
            if index + 8 <= count {
                // One load compares the first eight bytes (the text is read little-endian, as `head`).
                let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                guard word & entry.pointee.headMask == entry.pointee.head else { return false }
                k = min(8, length)
            }
            let phrase = storage + Int(entry.pointee.offset)
            while k < length && base[index + k] == phrase[k] { k += 1 }
            guard k == length else { return false }
            if entry.pointee.wholeWord {
                let beforeOK = index == 0 || !ASCII.isLetter(base[index - 1])
                let after = index + length
                let afterOK = after == count || !ASCII.isLetter(base[after])
                guard beforeOK && afterOK else { return false }
            }
            found |= entry.pointee.bit
            return found & stopAt == stopAt
        }

        let keyLength = self.keyLength, keyMask = self.keyMask
        var index = 0
        // Positions with four bytes ahead: one load gives the key.
        while index + 4 <= count {
            let key = UInt32(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt32.self)) & keyMask
            let bucket = Self.bucket(key)
            var entry = Int(bucketStart[bucket])
            let end = Int(bucketStart[bucket + 1])
            while entry < end {
                if check(entries + entry, at: index) { return found }
                entry += 1
            }
            index += 1
        }
        while index + keyLength <= count {
            let bucket = Self.bucket(Self.key(base + index, keyLength))
            var entry = Int(bucketStart[bucket])
            let end = Int(bucketStart[bucket + 1])
            while entry < end {
                if check(entries + entry, at: index) { return found }
                entry += 1
            }
            index += 1
        }
        if hasSingles {
            for index in 0..<count {
                let byte = Int(base[index])
                for entry in Int(singleStart[byte])..<Int(singleStart[byte + 1]) where check(entries + entry, at: index) {
                    return found
                }
            }
        }
        return found
    }
}

import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif

// Runtime support for generated Swift: decoding the rule data that `rulebook generate` embeds.
//
// Generated code keeps its records as JSON text in one string literal (one record per line), because
// the Swift compiler digests a long string literal in well under a second while it needs minutes, or
// runs out of memory, for the same records written as nested initialiser calls. The text is decoded
// once, on first use, by the small reader below: it reads exactly the JSON that `JSONDecoder` accepts
// for the model types, several times faster than `JSONDecoder`, so that 10,000 codes load in a few
// tens of milliseconds.

/// Decodes the records embedded in generated Swift sources.
public enum EmbeddedRuleData {
    /// The records in `payload`: JSON objects in the `CodeRecord` shape separated by whitespace
    /// (the generator writes one per line). Stops the program with a message naming the problem when the
    /// text is not such data; generated code is produced by `rulebook generate` and not edited by hand.
    /// - Parameter format: `RulebookFormatVersion1.self`; ties generated code to this runtime's format.
    public static func records(jsonLines payload: String, format: RulebookFormatVersion1.Type) -> [CodeRecord] {
        do {
            return try decodeRecords(jsonLines: payload)
        } catch {
            fatalError("Rulebook: the generated rule data cannot be read (\(error.message)); "
                + "run `rulebook generate` again instead of editing generated files")
        }
    }

    /// The records in `payload` (see ``records(jsonLines:format:)``), or an error naming the byte offset.
    /// Large payloads are split at line breaks and decoded on several threads.
    public static func decodeRecords(jsonLines payload: String) throws(RuleBookLoadError) -> [CodeRecord] {
        var text = payload
        let outcome: Result<[CodeRecord], JSONReader.Failure> = text.withUTF8 { bytes in
            let chunks = chunkBoundaries(bytes, parts: bytes.count < 1 << 20 ? 1 : min(8, activeProcessorCount()))
            if chunks.count == 1 { return decodeChunk(bytes, 0..<bytes.count) }
            var results = [Result<[CodeRecord], JSONReader.Failure>](repeating: .success([]), count: chunks.count)
            results.withUnsafeMutableBufferPointer { slots in
                // Each thread reads the shared, immutable text and writes only its own slot.
                let shared = UncheckedSendable((slots, bytes))
                DispatchQueue.concurrentPerform(iterations: chunks.count) { part in
                    shared.value.0[part] = decodeChunk(shared.value.1, chunks[part])
                }
            }
            var records: [CodeRecord] = []
            for result in results {
                switch result {
                case .success(let part): records += part
                case .failure(let failure): return .failure(failure)
                }
            }
            return .success(records)
        }
        switch outcome {
        case .success(let records): return records
        case .failure(let failure):
            throw RuleBookLoadError(path: "<embedded rule data>", message: failure.description)
        }
    }

    private static func activeProcessorCount() -> Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// `parts` ranges covering `bytes`, each ending after a line feed (or at the end).
    private static func chunkBoundaries(_ bytes: UnsafeBufferPointer<UInt8>, parts: Int) -> [Range<Int>] {
        guard parts > 1 else { return [0..<bytes.count] }
        var ranges: [Range<Int>] = []
        var start = 0
        for part in 1..<parts {
            var cut = max(start, bytes.count * part / parts)
            while cut < bytes.count, bytes[cut] != 0x0A { cut += 1 }
            if cut < bytes.count { cut += 1 }
            if cut > start {
                ranges.append(start..<cut)
                start = cut
            }
        }
        if start < bytes.count || ranges.isEmpty { ranges.append(start..<bytes.count) }
        return ranges
    }

    private static func decodeChunk(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>)
        -> Result<[CodeRecord], JSONReader.Failure> {
        var reader = JSONReader(UnsafeBufferPointer(rebasing: bytes[range]))
        var records: [CodeRecord] = []
        do {
            reader.skipWhitespace()
            while !reader.atEnd {
                records.append(try reader.codeRecord())
                reader.skipWhitespace()
            }
            return .success(records)
        } catch {
            return .failure(JSONReader.Failure(offset: range.lowerBound + error.offset, message: error.message))
        }
    }

    /// A rule bundle (`{"schemaVersion": 1, "codes": [...]}`) from JSON text; accepts what `JSONDecoder`
    /// accepts for `RuleBundle`, faster.
    public static func decodeBundle(json: String) throws(RuleBookLoadError) -> RuleBundle {
        var text = json
        do {
            return try text.withUTF8 { bytes in
                var reader = JSONReader(bytes)
                reader.skipWhitespace()
                let bundle = try reader.ruleBundle()
                reader.skipWhitespace()
                guard reader.atEnd else { throw reader.failure("unexpected text after the bundle") }
                return bundle
            }
        } catch let error as JSONReader.Failure {
            throw RuleBookLoadError(path: "<bundle>", message: error.description)
        } catch {
            throw RuleBookLoadError(path: "<bundle>", message: "\(error)")
        }
    }
}

/// The records embedded in generated Swift, decoded one by one when first asked for.
///
/// Generated code holds the records as JSON lines plus a small index (system, code, byte range of each
/// line), in one or more shards (one per data file, see ``EmbeddedShards``). Creating the store reads only
/// the indexes — milliseconds for 10,000 codes — and a record is decoded (about ten microseconds) the first
/// time it is used, then kept. ``allRecords()`` decodes the rest at once, on several threads. Thread-safe.
///
/// Positions (``keys``, ``record(at:)``, ``allRecords()``): with one shard, the order of its data; with
/// several, sorted by system and code (UTF-8 byte order), records with equal system and code in shard
/// order — for generated code, whose shards are each sorted, the same order as one shard of all records.
public final class EmbeddedRuleStore: @unchecked Sendable {
    /// The text of one generated data file: the records as JSON lines and their index.
    public struct Shard: Sendable {
        let payload: String
        let index: String

        /// - Parameters:
        ///   - payload: the records, one JSON object per line.
        ///   - index: one line per record, `["CPT","27365",offset,length]`, offsets in UTF-8 bytes of `payload`.
        ///   - format: `RulebookFormatVersion1.self`; ties generated code to this runtime's format.
        public init(jsonLines payload: String, index: String, format: RulebookFormatVersion1.Type) {
            self.payload = payload
            self.index = index
        }
    }

    /// System and code of each record, by position.
    public let keys: [(system: CodeSystem, code: String)]
    private let payloads: [String]
    /// By position: the shard holding the record and the byte range of its line there.
    private let shardOfPosition: [Int32]
    private let ranges: [Range<Int>]
    /// The position of each shard's first record in shard order (`flat = firstFlat[shard] + local`).
    private let firstFlat: [Int]
    /// Flat (shard order) → position; nil when they are the same (one shard).
    private let positionOfFlat: [Int]?
    private let lock = NSLock()
    private var cache: [CodeRecord?]
    private var everything: [CodeRecord]?

    /// One shard. Stops the program when the index does not fit the payload (generated files edited by hand).
    public convenience init(jsonLines payload: String, index: String, format: RulebookFormatVersion1.Type) {
        self.init(shards: [Shard(jsonLines: payload, index: index, format: format)], format: format)
    }

    /// The records of several shards (in any order; see the type's note on positions). Reads every index.
    /// Stops the program when an index does not fit its payload (generated files edited by hand).
    public init(shards: [Shard], format: RulebookFormatVersion1.Type) {
        var flatKeys: [(system: CodeSystem, code: String)] = []
        var flatRanges: [Range<Int>] = []
        var flatShards: [Int32] = []
        var firstFlat: [Int] = []
        var reader: JSONReader?
        for (number, shard) in shards.enumerated() {
            let keys: [(system: CodeSystem, code: String)], ranges: [Range<Int>]
            do {
                (keys, ranges) = try Self.readIndex(shard.index, payloadCount: shard.payload.utf8.count, reusing: &reader)
            } catch {
                fatalError("Rulebook: the generated rule index\(shards.count > 1 ? " of shard \(number)" : "") cannot be read "
                    + "(\(error.message)); run `rulebook generate` again instead of editing generated files")
            }
            firstFlat.append(flatKeys.count)
            if shards.count == 1 {
                flatKeys = keys
                flatRanges = ranges
                flatShards = Array(repeating: 0, count: keys.count)
            } else {
                flatKeys += keys
                flatRanges += ranges
                flatShards += repeatElement(Int32(number), count: keys.count)
            }
        }
        payloads = shards.map(\.payload)
        self.firstFlat = firstFlat
        if shards.count <= 1 {
            keys = flatKeys
            ranges = flatRanges
            shardOfPosition = flatShards
            positionOfFlat = nil
        } else {
            let order = Self.sortedOrder(flatKeys)
            keys = order.map { flatKeys[$0] }
            ranges = order.map { flatRanges[$0] }
            shardOfPosition = order.map { flatShards[$0] }
            var positionOfFlat = [Int](repeating: 0, count: order.count)
            for (position, flat) in order.enumerated() { positionOfFlat[flat] = position }
            self.positionOfFlat = positionOfFlat
        }
        cache = Array(repeating: nil, count: keys.count)
    }

    /// Flat positions sorted by system, code (byte order), flat position. Codes compare first by a packed
    /// prefix (system, then the code's first 7 bytes), so most comparisons are one integer comparison.
    static func sortedOrder(_ keys: [(system: CodeSystem, code: String)]) -> [Int] {
        let systems = CodeSystem.allCases.sorted { $0.rawValue.utf8.lexicographicallyPrecedes($1.rawValue.utf8) }
        let rank = Dictionary(uniqueKeysWithValues: systems.enumerated().map { ($1, UInt64($0)) })
        let prefixes = keys.map { key -> UInt64 in
            var packed = rank[key.system]! << 56
            var shift: UInt64 = 48
            for byte in key.code.utf8.prefix(7) {
                packed |= UInt64(byte) << shift
                shift &-= 8
            }
            return packed
        }
        return keys.indices.sorted { a, b in
            if prefixes[a] != prefixes[b] { return prefixes[a] < prefixes[b] }
            // Equal prefixes: the same system; the codes' bytes decide (not String's canonical equivalence).
            if !keys[a].code.utf8.elementsEqual(keys[b].code.utf8) {
                return keys[a].code.utf8.lexicographicallyPrecedes(keys[b].code.utf8)
            }
            return a < b
        }
    }

    public var count: Int { keys.count }

    /// The number of shards.
    public var shardCount: Int { payloads.count }

    /// The record at `position`, decoded on first use.
    public func record(at position: Int) -> CodeRecord {
        lock.lock()
        if let record = everything?[position] ?? cache[position] {
            lock.unlock()
            return record
        }
        lock.unlock()
        let record = decode(position)
        lock.lock()
        if everything == nil { cache[position] = record }  // else allRecords() has emptied the cache
        lock.unlock()
        return record
    }

    /// The record on line `index` of shard `shard` (what a typed constant in a generated data file names),
    /// decoded on first use.
    public func record(shard: Int, at index: Int) -> CodeRecord {
        let flat = firstFlat[shard] + index
        return record(at: positionOfFlat?[flat] ?? flat)
    }

    /// Every record, by position (decoded once, in parallel, then kept).
    public func allRecords() -> [CodeRecord] {
        lock.lock()
        if let everything {
            lock.unlock()
            return everything
        }
        lock.unlock()
        let records: [CodeRecord]
        if payloads.count == 1 {
            records = EmbeddedRuleData.records(jsonLines: payloads[0], format: RulebookFormatVersion1.self)
        } else {
            // Shards decoded on all cores, each into its own slot, then put in position order.
            var decoded = [[CodeRecord]](repeating: [], count: payloads.count)
            decoded.withUnsafeMutableBufferPointer { slots in
                let shared = UncheckedSendable((slots, payloads))
                DispatchQueue.concurrentPerform(iterations: payloads.count) { shard in
                    shared.value.0[shard] = EmbeddedRuleData.records(jsonLines: shared.value.1[shard],
                                                                    format: RulebookFormatVersion1.self)
                }
            }
            var flat: [CodeRecord] = []
            flat.reserveCapacity(keys.count)
            for shard in decoded.indices {
                flat += decoded[shard]
                decoded[shard] = []
            }
            precondition(flat.count == keys.count, "Rulebook: generated index and data disagree")
            if let positionOfFlat {
                var slots = [CodeRecord?](repeating: nil, count: flat.count)
                for (flatPosition, record) in flat.enumerated() { slots[positionOfFlat[flatPosition]] = record }
                records = slots.map { $0! }
            } else {
                records = flat
            }
        }
        precondition(records.count == keys.count, "Rulebook: generated index and data disagree")
        lock.lock()
        everything = records
        cache = []
        lock.unlock()
        return records
    }

    private func decode(_ position: Int) -> CodeRecord {
        var text = payloads[Int(shardOfPosition[position])]
        let range = ranges[position]
        let result: Result<CodeRecord, JSONReader.Failure> = text.withUTF8 { bytes in
            var reader = JSONReader(UnsafeBufferPointer(rebasing: bytes[range]))
            do throws(JSONReader.Failure) {
                let record = try reader.codeRecord()
                reader.skipWhitespace()
                guard reader.atEnd else { throw reader.failure("text after the record") }
                return .success(record)
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let record): return record
        case .failure(let failure):
            fatalError("Rulebook: generated record \(position) cannot be read (\(failure)); "
                + "run `rulebook generate` again instead of editing generated files")
        }
    }

    static func readIndex(_ index: String, payloadCount: Int) throws(RuleBookLoadError)
        -> ([(system: CodeSystem, code: String)], [Range<Int>]) {
        var reader: JSONReader?
        return try readIndex(index, payloadCount: payloadCount, reusing: &reader)
    }

    /// As above, reading with `reader` (created when nil, then kept): one reader for every shard of a
    /// store, whose caches are allocated once instead of once per shard.
    static func readIndex(_ index: String, payloadCount: Int, reusing reader: inout JSONReader?) throws(RuleBookLoadError)
        -> ([(system: CodeSystem, code: String)], [Range<Int>]) {
        var text = index
        let outcome: Result<([(system: CodeSystem, code: String)], [Range<Int>]), JSONReader.Failure> = text.withUTF8 { bytes in
            var current = reader.take().map { $0.restarted(bytes) } ?? JSONReader(bytes)
            defer { reader = current }
            var keys: [(system: CodeSystem, code: String)] = []
            var ranges: [Range<Int>] = []
            do throws(JSONReader.Failure) {
                current.skipWhitespace()
                while !current.atEnd {
                    let entry = try current.indexEntry()
                    guard entry.offset >= 0, entry.length >= 0, entry.offset + entry.length <= payloadCount else {
                        throw current.failure("record range outside the data")
                    }
                    keys.append((entry.system, entry.code))
                    ranges.append(entry.offset..<(entry.offset + entry.length))
                    current.skipWhitespace()
                }
                return .success((keys, ranges))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let value): return value
        case .failure(let failure): throw RuleBookLoadError(path: "<embedded rule index>", message: failure.description)
        }
    }
}

/// Hands memory to the threads of `decodeRecords`, which never write the same location.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A minimal, strict JSON reader over UTF-8 bytes, specialised to the model types.
struct JSONReader {
    struct Failure: Error, CustomStringConvertible {
        var offset: Int
        var message: String
        var description: String { "byte \(offset): \(message)" }
    }

    /// An object key: raw bytes of the input when it has no escapes, else the decoded text.
    enum Key {
        case raw(UnsafeBufferPointer<UInt8>)
        case decoded(String)

        func matches(_ name: StaticString) -> Bool {
            let count = name.utf8CodeUnitCount
            switch self {
            case .raw(let bytes):
                guard bytes.count == count else { return false }
                let pointer = name.utf8Start
                for index in 0..<count where bytes[index] != pointer[index] { return false }
                return true
            case .decoded(let string):
                return string == name.description
            }
        }

        var text: String {
            switch self {
            case .raw(let bytes): String(decoding: bytes, as: UTF8.self)
            case .decoded(let string): string
            }
        }
    }

    private(set) var bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    /// Recently read strings and string arrays, so that repeated values (paths, headings, payer names)
    /// share one allocation: a direct-mapped cache keyed by a hash of the value's JSON text.
    private var internedStrings = StringInternCache()
    private var internedArrays = InternCache<[String]>()

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// This reader, with its caches, at the start of other bytes.
    consuming func restarted(_ bytes: UnsafeBufferPointer<UInt8>) -> JSONReader {
        self.bytes = bytes
        position = 0
        return self
    }

    var atEnd: Bool { position >= bytes.count }

    func failure(_ message: String) -> Failure { Failure(offset: position, message: message) }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
        skipWhitespace()
        guard current == byte else { throw failure("expected \(what)") }
        position += 1
    }

    // MARK: Structure

    /// Reads `{ "key": value, … }`, calling `member` with the reader positioned at each value.
    mutating func object(_ type: String, _ member: (inout JSONReader, Key) throws(Failure) -> Void) throws(Failure) {
        try expect(0x7B, "'{' starting \(type)")
        skipWhitespace()
        if current == 0x7D {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            guard current == 0x22 else { throw failure("expected a key in \(type)") }
            let key = try keyToken()
            try expect(0x3A, "':' after a key")
            skipWhitespace()
            try member(&self, key)
            skipWhitespace()
            switch current {
            case 0x2C: position += 1
            case 0x7D:
                position += 1
                return
            default: throw failure("expected ',' or '}' in \(type)")
            }
        }
    }

    /// Reads `[ value, … ]`, calling `element` for each value.
    mutating func array<Element>(_ element: (inout JSONReader) throws(Failure) -> Element) throws(Failure) -> [Element] {
        try expect(0x5B, "'['")
        var result: [Element] = []
        skipWhitespace()
        if current == 0x5D {
            position += 1
            return result
        }
        while true {
            skipWhitespace()
            result.append(try element(&self))
            skipWhitespace()
            switch current {
            case 0x2C: position += 1
            case 0x5D:
                position += 1
                return result
            default: throw failure("expected ',' or ']' in an array")
            }
        }
    }

    // MARK: Scalars

    private mutating func keyToken() throws(Failure) -> Key {
        // current == '"'
        let start = position + 1
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x22 {
                position = index + 1
                return .raw(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            }
            if byte == 0x5C { return .decoded(try string()) }
            index += 1
        }
        throw failure("unterminated key")
    }

    /// A JSON string.
    mutating func string() throws(Failure) -> String {
        skipWhitespace()
        guard current == 0x22 else { throw failure("expected a string") }
        position += 1
        let start = position
        // Fast path: no escapes. Skip eight bytes at a time while none is `"`, `\` or a control character.
        if let base = bytes.baseAddress {
            while position + 8 <= bytes.count {
                let word = UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self)
                if Self.mayEndOrEscape(word) { break }
                position += 8
            }
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == 0x22 {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                // Short strings are stored inline by `String`; long ones are rarely repeated.
                guard raw.count > 15 && raw.count <= 64 else { return String(decoding: raw, as: UTF8.self) }
                return internedStrings.string(raw)
            }
            if byte == 0x5C { break }
            if byte < 0x20 { throw failure("control character in a string") }
            position += 1
        }
        guard position < bytes.count else { throw failure("unterminated string") }
        var decoded: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case 0x22:
                position += 1
                return String(decoding: decoded, as: UTF8.self)
            case 0x5C:
                position += 1
                guard let escape = current else { throw failure("unterminated escape") }
                position += 1
                switch escape {
                case 0x22, 0x5C, 0x2F: decoded.append(escape)
                case 0x62: decoded.append(0x08)
                case 0x66: decoded.append(0x0C)
                case 0x6E: decoded.append(0x0A)
                case 0x72: decoded.append(0x0D)
                case 0x74: decoded.append(0x09)
                case 0x75:
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        if position + 1 < bytes.count, bytes[position] == 0x5C, bytes[position + 1] == 0x75 {
                            let save = position
                            position += 2
                            let low = try hex4()
                            if (0xDC00...0xDFFF).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                position = save
                                scalar = 0xFFFD
                            }
                        } else {
                            scalar = 0xFFFD
                        }
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        scalar = 0xFFFD
                    }
                    let unicodeScalar = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                    decoded.append(contentsOf: UTF8.encode(unicodeScalar)!)
                default:
                    position -= 1
                    throw failure("invalid escape")
                }
            default:
                if byte < 0x20 { throw failure("control character in a string") }
                decoded.append(byte)
                position += 1
            }
        }
        throw failure("unterminated string")
    }

    /// Whether any byte of `word` is `"` (0x22), `\` (0x5C) or below 0x20 (bit tricks; no false negatives).
    @inline(__always)
    private static func mayEndOrEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let hasQuote = (quote &- ones) & ~quote
        let hasBackslash = (backslash &- ones) & ~backslash
        let hasControl = (word &- ones &* 0x20) & ~word
        return (hasQuote | hasBackslash | hasControl) & highs != 0
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard position + 4 <= bytes.count else { throw failure("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw failure("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// A JSON string or `null`.
    mutating func optionalString() throws(Failure) -> String? {
        skipWhitespace()
        if try null() { return nil }
        return try string()
    }

    private mutating func null() throws(Failure) -> Bool {
        guard current == 0x6E else { return false }
        guard position + 4 <= bytes.count, bytes[position + 1] == 0x75, bytes[position + 2] == 0x6C,
              bytes[position + 3] == 0x6C else { throw failure("invalid literal") }
        position += 4
        return true
    }

    /// A JSON number that is an integer (`12`, `-3`, `12.0`, `1e2` as `JSONDecoder` accepts for `Int`).
    mutating func integer() throws(Failure) -> Int {
        skipWhitespace()
        let start = position
        var negative = false
        if current == 0x2D {
            negative = true
            position += 1
        }
        var value = 0
        var digits = 0
        while let byte = current, (0x30...0x39).contains(byte) {
            let (multiplied, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (added, overflow2) = multiplied.addingReportingOverflow(Int(byte - 0x30))
            guard !overflow1, !overflow2 else { throw failure("integer out of range") }
            value = added
            digits += 1
            position += 1
        }
        guard digits > 0 else {
            position = start
            throw failure("expected an integer")
        }
        if let byte = current, byte == 0x2E || byte == 0x65 || byte == 0x45 {
            // Rare: a number with a fraction or exponent. Accept it when it is a whole number.
            while let byte = current, (0x30...0x39).contains(byte) || byte == 0x2E || byte == 0x65 || byte == 0x45
                || byte == 0x2B || byte == 0x2D {
                position += 1
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard let double = Double(text), double.rounded() == double, let whole = Int(exactly: double) else {
                throw failure("expected an integer, found \(text)")
            }
            return whole
        }
        return negative ? -value : value
    }

    /// Skips any JSON value (used for keys the model does not know, as `JSONDecoder` does).
    mutating func skipValue() throws(Failure) {
        skipWhitespace()
        switch current {
        case 0x22: _ = try string()
        case 0x7B: try object("an object") { (reader: inout JSONReader, _: Key) throws(Failure) in try reader.skipValue() }
        case 0x5B: _ = try array { (reader: inout JSONReader) throws(Failure) in try reader.skipValue() }
        case 0x74: try literal("true")
        case 0x66: try literal("false")
        case 0x6E: _ = try null()
        default:
            while let byte = current, (0x30...0x39).contains(byte) || byte == 0x2D || byte == 0x2B || byte == 0x2E
                || byte == 0x65 || byte == 0x45 {
                position += 1
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw failure("invalid literal") }
        for index in 0..<count where bytes[position + index] != word.utf8Start[index] {
            throw failure("invalid literal")
        }
        position += count
    }

    // MARK: Model

    private func missing(_ key: String, in type: String) -> Failure {
        failure("\(type) has no \"\(key)\"")
    }

    mutating func stringArray() throws(Failure) -> [String] {
        skipWhitespace()
        let start = position
        guard let end = endOfSimpleStringArray(), end - start <= 512 else {
            return try array { (reader: inout JSONReader) throws(Failure) in try reader.string() }
        }
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if let cached = internedArrays.cached(raw) {
            position = end
            return cached
        }
        let value = try array { (reader: inout JSONReader) throws(Failure) in try reader.string() }
        internedArrays.store(value, for: raw)
        return value
    }

    /// The offset after the `]` of the array at `position` when it is `[` strings without escapes `]`
    /// in compact form (`["a","b"]`, as generated); else nil.
    private func endOfSimpleStringArray() -> Int? {
        var index = position
        guard index < bytes.count, bytes[index] == 0x5B else { return nil }
        index += 1
        if index < bytes.count, bytes[index] == 0x5D { return index + 1 }
        while index < bytes.count, bytes[index] == 0x22 {
            index += 1
            while index < bytes.count, bytes[index] != 0x22 {
                if bytes[index] == 0x5C { return nil }
                index += 1
            }
            index += 1
            guard index < bytes.count else { return nil }
            if bytes[index] == 0x5D { return index + 1 }
            guard bytes[index] == 0x2C else { return nil }
            index += 1
        }
        return nil
    }

    mutating func sourceLocation() throws(Failure) -> SourceLocation {
        var path: String?, line: Int?, section: [String]?
        try object("a source") { (reader: inout JSONReader, key: Key) throws(Failure) in
            if key.matches("path") { path = try reader.string() }
            else if key.matches("line") { line = try reader.integer() }
            else if key.matches("section") { section = try reader.stringArray() }
            else { try reader.skipValue() }
        }
        guard let path else { throw missing("path", in: "source") }
        guard let line else { throw missing("line", in: "source") }
        guard let section else { throw missing("section", in: "source") }
        return SourceLocation(path: path, line: line, section: section)
    }

    mutating func modifier() throws(Failure) -> Modifier {
        var code: String?, description: String?, whenToUse: String?, source: SourceLocation?
        try object("a modifier") { (reader: inout JSONReader, key: Key) throws(Failure) in
            if key.matches("code") { code = try reader.string() }
            else if key.matches("description") { description = try reader.string() }
            else if key.matches("source") { source = try reader.sourceLocation() }
            else if key.matches("whenToUse") { whenToUse = try reader.string() }
            else { try reader.skipValue() }
        }
        guard let code else { throw missing("code", in: "modifier") }
        guard let description else { throw missing("description", in: "modifier") }
        guard let whenToUse else { throw missing("whenToUse", in: "modifier") }
        guard let source else { throw missing("source", in: "modifier") }
        return Modifier(code: code, description: description, whenToUse: whenToUse, source: source)
    }

    private mutating func enumValue<Value: RawRepresentable>(_ type: Value.Type, _ name: String) throws(Failure) -> Value
    where Value.RawValue == String {
        let start = position
        let raw = try string()
        guard let value = Value(rawValue: raw) else {
            position = start
            throw failure("unknown \(name) \"\(raw)\"")
        }
        return value
    }

    mutating func payerNote() throws(Failure) -> PayerNote {
        var payer: String?, name: String?, priorAuthorization: PriorAuthorization?, coverage: Coverage?
        var notes: String?, source: SourceLocation?
        try object("a payer note") { (reader: inout JSONReader, key: Key) throws(Failure) in
            if key.matches("coverage") { coverage = try reader.enumValue(Coverage.self, "coverage") }
            else if key.matches("name") { name = try reader.string() }
            else if key.matches("notes") { notes = try reader.string() }
            else if key.matches("payer") { payer = try reader.string() }
            else if key.matches("priorAuthorization") {
                priorAuthorization = try reader.enumValue(PriorAuthorization.self, "priorAuthorization")
            }
            else if key.matches("source") { source = try reader.sourceLocation() }
            else { try reader.skipValue() }
        }
        guard let payer else { throw missing("payer", in: "payer note") }
        guard let name else { throw missing("name", in: "payer note") }
        guard let priorAuthorization else { throw missing("priorAuthorization", in: "payer note") }
        guard let coverage else { throw missing("coverage", in: "payer note") }
        guard let notes else { throw missing("notes", in: "payer note") }
        guard let source else { throw missing("source", in: "payer note") }
        return PayerNote(payer: payer, name: name, priorAuthorization: priorAuthorization, coverage: coverage,
                         notes: notes, source: source)
    }

    mutating func policyUpdate() throws(Failure) -> PolicyUpdate {
        var date: String?, payer: String?, text: String?, source: SourceLocation?
        try object("a policy update") { (reader: inout JSONReader, key: Key) throws(Failure) in
            if key.matches("date") { date = try reader.string() }
            else if key.matches("payer") { payer = try reader.optionalString() }
            else if key.matches("source") { source = try reader.sourceLocation() }
            else if key.matches("text") { text = try reader.string() }
            else { try reader.skipValue() }
        }
        guard let date else { throw missing("date", in: "policy update") }
        guard let text else { throw missing("text", in: "policy update") }
        guard let source else { throw missing("source", in: "policy update") }
        return PolicyUpdate(date: date, payer: payer, text: text, source: source)
    }

    mutating func claimExample() throws(Failure) -> ClaimExample {
        var claim: String?, payer: String?, expected: String?, source: SourceLocation?
        try object("an example") { (reader: inout JSONReader, key: Key) throws(Failure) in
            if key.matches("claim") { claim = try reader.string() }
            else if key.matches("expected") { expected = try reader.string() }
            else if key.matches("payer") { payer = try reader.string() }
            else if key.matches("source") { source = try reader.sourceLocation() }
            else { try reader.skipValue() }
        }
        guard let claim else { throw missing("claim", in: "example") }
        guard let payer else { throw missing("payer", in: "example") }
        guard let expected else { throw missing("expected", in: "example") }
        guard let source else { throw missing("source", in: "example") }
        return ClaimExample(claim: claim, payer: payer, expected: expected, source: source)
    }

    mutating func sectionText() throws(Failure) -> SectionText {
        var heading: [String]?, text: String?, source: SourceLocation?
        try object("a section") { (reader: inout JSONReader, key: Key) throws(Failure) in
            if key.matches("heading") { heading = try reader.stringArray() }
            else if key.matches("source") { source = try reader.sourceLocation() }
            else if key.matches("text") { text = try reader.string() }
            else { try reader.skipValue() }
        }
        guard let heading else { throw missing("heading", in: "section") }
        guard let text else { throw missing("text", in: "section") }
        guard let source else { throw missing("source", in: "section") }
        return SectionText(heading: heading, text: text, source: source)
    }

    mutating func codeRecord() throws(Failure) -> CodeRecord {
        var system: CodeSystem?, code: String?, title: String?, summary: String?, serviceType: String?
        var sitesOfService: [String]?, effective: String?, source: SourceLocation?
        var modifiers: [Modifier]?, payers: [PayerNote]?, policyUpdates: [PolicyUpdate]?
        var examples: [ClaimExample]?, sections: [SectionText]?
        try object("a code record") { (reader: inout JSONReader, key: Key) throws(Failure) in
            if key.matches("code") { code = try reader.string() }
            else if key.matches("effective") { effective = try reader.optionalString() }
            else if key.matches("examples") {
                examples = try reader.array { (reader: inout JSONReader) throws(Failure) in try reader.claimExample() }
            }
            else if key.matches("modifiers") {
                modifiers = try reader.array { (reader: inout JSONReader) throws(Failure) in try reader.modifier() }
            }
            else if key.matches("payers") {
                payers = try reader.array { (reader: inout JSONReader) throws(Failure) in try reader.payerNote() }
            }
            else if key.matches("policyUpdates") {
                policyUpdates = try reader.array { (reader: inout JSONReader) throws(Failure) in
                    try reader.policyUpdate()
                }
            }
            else if key.matches("sections") {
                sections = try reader.array { (reader: inout JSONReader) throws(Failure) in try reader.sectionText() }
            }
            else if key.matches("serviceType") { serviceType = try reader.string() }
            else if key.matches("sitesOfService") { sitesOfService = try reader.stringArray() }
            else if key.matches("source") { source = try reader.sourceLocation() }
            else if key.matches("summary") { summary = try reader.string() }
            else if key.matches("system") { system = try reader.enumValue(CodeSystem.self, "system") }
            else if key.matches("title") { title = try reader.string() }
            else { try reader.skipValue() }
        }
        guard let system else { throw missing("system", in: "code record") }
        guard let code else { throw missing("code", in: "code record") }
        guard let title else { throw missing("title", in: "code record") }
        guard let summary else { throw missing("summary", in: "code record") }
        guard let serviceType else { throw missing("serviceType", in: "code record") }
        guard let sitesOfService else { throw missing("sitesOfService", in: "code record") }
        guard let source else { throw missing("source", in: "code record") }
        guard let modifiers else { throw missing("modifiers", in: "code record") }
        guard let payers else { throw missing("payers", in: "code record") }
        guard let policyUpdates else { throw missing("policyUpdates", in: "code record") }
        guard let examples else { throw missing("examples", in: "code record") }
        guard let sections else { throw missing("sections", in: "code record") }
        return CodeRecord(system: system, code: code, title: title, summary: summary, serviceType: serviceType,
                          sitesOfService: sitesOfService, effective: effective, source: source,
                          modifiers: modifiers, payers: payers, policyUpdates: policyUpdates,
                          examples: examples, sections: sections)
    }

    /// `["CPT","27365",offset,length]`
    mutating func indexEntry() throws(Failure) -> (system: CodeSystem, code: String, offset: Int, length: Int) {
        try expect(0x5B, "'[' starting an index entry")
        let system = try enumValue(CodeSystem.self, "system")
        try expect(0x2C, "','")
        let code = try string()
        try expect(0x2C, "','")
        let offset = try integer()
        try expect(0x2C, "','")
        let length = try integer()
        try expect(0x5D, "']' ending an index entry")
        return (system, code, offset, length)
    }

    mutating func ruleBundle() throws(Failure) -> RuleBundle {
        var schemaVersion: Int?, codes: [CodeRecord]?
        try object("a bundle") { (reader: inout JSONReader, key: Key) throws(Failure) in
            if key.matches("codes") {
                codes = try reader.array { (reader: inout JSONReader) throws(Failure) in try reader.codeRecord() }
            }
            else if key.matches("schemaVersion") { schemaVersion = try reader.integer() }
            else { try reader.skipValue() }
        }
        guard let schemaVersion else { throw missing("schemaVersion", in: "bundle") }
        guard let codes else { throw missing("codes", in: "bundle") }
        return RuleBundle(schemaVersion: schemaVersion, codes: codes)
    }
}

/// A small direct-mapped cache from JSON text to the value read from it.
struct InternCache<Value> {
    private static var slotCount: Int { 2048 }
    private var hashes = [UInt64](repeating: 0, count: slotCount)
    private var keys = [[UInt8]](repeating: [], count: slotCount)
    private var values = [Value?](repeating: nil, count: slotCount)

    static func hash(_ raw: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in raw {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash | 1  // never 0, the empty slot
    }

    private static func slot(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 29) & (slotCount - 1) }

    func cached(_ raw: UnsafeBufferPointer<UInt8>) -> Value? {
        let hash = Self.hash(raw)
        let slot = Self.slot(hash)
        guard hashes[slot] == hash, keys[slot].elementsEqual(raw) else { return nil }
        return values[slot]
    }

    mutating func store(_ value: Value, for raw: UnsafeBufferPointer<UInt8>) {
        let hash = Self.hash(raw)
        let slot = Self.slot(hash)
        hashes[slot] = hash
        keys[slot] = Array(raw)
        values[slot] = value
    }
}

/// A small direct-mapped cache of strings by their UTF-8 bytes.
struct StringInternCache {
    private static var slotCount: Int { 2048 }
    private var hashes = [UInt64](repeating: 0, count: slotCount)
    private var values = [String](repeating: "", count: slotCount)

    mutating func string(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        let hash = InternCache<String>.hash(raw)
        let slot = Int(truncatingIfNeeded: hash >> 29) & (Self.slotCount - 1)
        if hashes[slot] == hash {
            let candidate = values[slot]
            let equal = candidate.utf8.withContiguousStorageIfAvailable { stored in
                stored.count == raw.count && memcmp(stored.baseAddress!, raw.baseAddress!, raw.count) == 0
            }
            if equal == true { return candidate }
        }
        let value = String(decoding: raw, as: UTF8.self)
        hashes[slot] = hash
        values[slot] = value
        return value
    }
}

/// The storage of `RuleBook(embedded:)`: lookups over an `EmbeddedRuleStore` that decode a record, and
/// prepare its engine rules (`RecordRules`), the first time the record is asked for.
///
/// Creating it reads only the store's index: the key → position table is built from the systems and
/// codes there. The first record of a key in `RuleBook.codes` order wins, as in `RuleBook(records:)`.
/// Thread-safe: the caches are guarded by a lock that is never held while decoding; two threads asking
/// for the same record at once may both decode it, and the first one stored is kept (they are equal).
final class EmbeddedRuleBookStorage: @unchecked Sendable {
    let store: EmbeddedRuleStore
    /// Store positions in `RuleBook.codes` order (system, then code); nil when that is the store's order
    /// (generated data is written sorted).
    private let order: [Int]?
    private let positions: RecordPositions
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var rulesCache: [RecordRules?]
    /// Guarded by `lock`.
    private var sortedCodes: [CodeRecord]?

    init(_ store: EmbeddedRuleStore) {
        self.store = store
        let keys = store.keys
        /// `RuleBook(records:)` order; ties (the same code twice) keep data order, as its stable sort does.
        func precedes(_ a: Int, _ b: Int) -> Bool {
            (keys[a].system.rawValue, keys[a].code, a) < (keys[b].system.rawValue, keys[b].code, b)
        }
        var sortedAlready = true
        for position in keys.indices.dropFirst() where !precedes(position - 1, position) {
            sortedAlready = false
            break
        }
        let order: [Int]? = sortedAlready ? nil : keys.indices.sorted(by: precedes)
        var positions = RecordPositions(capacity: keys.count)
        if let order {
            for position in order { positions.insertIfAbsent(keys[position].system, keys[position].code, position) }
        } else {
            for position in keys.indices { positions.insertIfAbsent(keys[position].system, keys[position].code, position) }
        }
        self.order = order
        self.positions = positions
        rulesCache = Array(repeating: nil, count: keys.count)
    }

    /// The record for a code, decoded on first use (the store keeps it).
    func record(_ system: CodeSystem, _ code: String) -> CodeRecord? {
        positions.position(system, code).map { store.record(at: $0) }
    }

    /// The engine rules for a code, prepared on first use and kept.
    func rules(_ system: CodeSystem, _ code: String) -> RecordRules? {
        guard let position = positions.position(system, code) else { return nil }
        lock.lock()
        if let rules = rulesCache[position] {
            lock.unlock()
            return rules
        }
        lock.unlock()
        let prepared = RecordRules(store.record(at: position), precompute: true)
        lock.lock()
        defer { lock.unlock() }
        if let rules = rulesCache[position] { return rules }
        rulesCache[position] = prepared
        return prepared
    }

    /// Every record in `RuleBook.codes` order, decoded once (in parallel) and kept.
    var codes: [CodeRecord] {
        lock.lock()
        if let sortedCodes {
            lock.unlock()
            return sortedCodes
        }
        lock.unlock()
        let all = store.allRecords()
        let sorted = order.map { $0.map { all[$0] } } ?? all
        lock.lock()
        defer { lock.unlock() }
        if let sortedCodes { return sortedCodes }
        sortedCodes = sorted
        return sorted
    }
}

/// System + code → a position, with `RuleBook.Key`'s matching (code without case): codes of up to 7 ASCII
/// bytes packed into an integer (`RuleIndex.matchingKey`), other codes by `RuleBook.Key`.
struct RecordPositions: Sendable {
    private var packed: [UInt64: Int] = [:]
    private var other: [RuleBook.Key: Int] = [:]

    init(capacity: Int) {
        packed.reserveCapacity(capacity)
    }

    /// Records `position` for the code unless the code already has one.
    mutating func insertIfAbsent(_ system: CodeSystem, _ code: String, _ position: Int) {
        if let key = RuleIndex.matchingKey(system, code) {
            if packed[key] == nil { packed[key] = position }
        } else {
            let key = RuleBook.Key(system, code)
            if other[key] == nil { other[key] = position }
        }
    }

    func position(_ system: CodeSystem, _ code: String) -> Int? {
        if let key = RuleIndex.matchingKey(system, code) { return packed[key] }
        return other.isEmpty ? nil : other[RuleBook.Key(system, code)]
    }
}

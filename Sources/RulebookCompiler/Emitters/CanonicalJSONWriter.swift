import Foundation

/// Growable bytes with cheap appends: no uniqueness or bounds check per byte (the JSON writers append
/// a few hundred million bytes in a large run). A class so that the writer struct stays small.
final class ByteBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    func append(_ bytes: UnsafePointer<UInt8>, count length: Int) {
        guard length > 0 else { return }
        if count + length > capacity { grow(to: count + length) }
        (base + count).update(from: bytes, count: length)
        count += length
    }

    /// Room for `length` more bytes at the end, to be filled through the pointer and then counted with
    /// ``commit(_:)``: one capacity check for a token of several pieces.
    @inline(__always)
    func reserve(_ length: Int) -> UnsafeMutablePointer<UInt8> {
        if count + length > capacity { grow(to: count + length) }
        return base + count
    }

    /// Counts `length` bytes written through ``reserve(_:)``'s pointer.
    @inline(__always)
    func commit(_ length: Int) { count += length }

    func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let start = bytes.baseAddress else { return }
        append(start, count: bytes.count)
    }

    func append(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { append($0) } }

    func append(_ bytes: ArraySlice<UInt8>) { bytes.withUnsafeBufferPointer { append($0) } }

    @inline(never)
    private func grow(to minimum: Int) {
        let newCapacity = max(minimum, capacity * 2)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.initialize(from: base, count: count)
        base.deallocate()
        base = grown
        capacity = newCapacity
    }

    var array: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    func array(_ range: Range<Int>) -> [UInt8] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range outside the buffer")
        return Array(UnsafeBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    var text: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }
}

/// A streaming writer of canonical JSON text, byte-stable from run to run.
///
/// Pretty style (files): two-space indentation, `"key": value`, every non-empty array and object
/// spread over lines, `[]` / `{}` when empty. Compact style (data embedded in Swift): no whitespace at all.
/// Strings are escaped per RFC 8259: `"` `\` and U+0000–U+001F (as `\n` `\t` `\r` `\b` `\f` or `\u00xx`);
/// `/` and other Unicode are written as UTF-8. With `escapeInvisibles` (data embedded in Swift), every
/// code point of `SwiftStringLiteral.mustEscape` — DEL, C1 controls, bidirectional controls, zero-width
/// characters, U+2028, U+2029, U+FEFF… — is also written as `\uXXXX`.
///
/// A pretty writer made `alsoCompact` writes, in the same walk over the values, their compact text with
/// invisibles escaped (``compactBytes``): a record's bundle and its line in the Swift data come from one
/// pass (each string is scanned once, its runs copied to both).
///
/// The caller writes object keys in byte order (the model writers below do; `JSONValue` sorts).
struct CanonicalJSONWriter {
    enum Style { case pretty, compact }

    let style: Style
    let escapeInvisibles: Bool
    private let out: ByteBuffer
    private let compact: ByteBuffer?
    /// Open containers, and for each whether it has an element yet: one bit per level for the first 64,
    /// then one flag each (a debug dump of a deeply nested document).
    private var depth = 0
    private var hasElements: UInt64 = 0
    private var deeperHasElements: [Bool] = []
    private var afterKey = false

    init(style: Style = .pretty, escapeInvisibles: Bool = false, capacity: Int = 4096) {
        self.style = style
        self.escapeInvisibles = escapeInvisibles
        out = ByteBuffer(capacity: capacity)
        compact = nil
    }

    /// A pretty writer (no invisibles escaped) that also writes the compact text with invisibles escaped.
    init(prettyAlsoCompact capacity: Int) {
        style = .pretty
        escapeInvisibles = false
        out = ByteBuffer(capacity: capacity)
        compact = ByteBuffer(capacity: capacity)
    }

    var bytes: [UInt8] { out.array }
    var byteCount: Int { out.count }
    var text: String { out.text }
    /// The compact text of an `alsoCompact` writer.
    var compactBytes: ByteBuffer { compact! }

    // MARK: Structure

    @inline(__always)
    private func both(_ byte: UInt8) {
        out.append(byte)
        compact?.append(byte)
    }

    /// A line feed and the indentation of the current depth, in one piece.
    @inline(__always)
    private func newlineAndIndent() {
        let start = out.reserve(1 + 2 * depth)
        start.pointee = 0x0A
        (start + 1).initialize(repeating: 0x20, count: 2 * depth)
        out.commit(1 + 2 * depth)
    }

    /// Whether the innermost container has an element yet; marks it as having one.
    @inline(__always)
    private mutating func markElement() -> Bool {
        if depth > 64 {
            defer { deeperHasElements[deeperHasElements.count - 1] = true }
            return deeperHasElements[deeperHasElements.count - 1]
        }
        let bit: UInt64 = 1 << UInt64(depth - 1)
        defer { hasElements |= bit }
        return hasElements & bit != 0
    }

    /// The separator (and, pretty, the line break) before the next element of the innermost container.
    @inline(__always)
    private mutating func nextElement() {
        if markElement() { both(0x2C) }
        if style == .pretty { newlineAndIndent() }
    }

    /// Separator and indentation before a value in an array (or at the top level).
    private mutating func beforeValue() {
        if afterKey {
            afterKey = false
            return
        }
        guard depth > 0 else { return }
        nextElement()
    }

    private mutating func open(_ bracket: UInt8) {
        beforeValue()
        both(bracket)
        depth += 1
        if depth > 64 {
            deeperHasElements.append(false)
        } else {
            hasElements &= ~(1 << UInt64(depth - 1))
        }
    }

    private mutating func close(_ bracket: UInt8) {
        precondition(depth > 0, "unbalanced JSON containers")
        let hadElements: Bool
        if depth > 64 {
            hadElements = deeperHasElements.removeLast()
        } else {
            let bit: UInt64 = 1 << UInt64(depth - 1)
            hadElements = hasElements & bit != 0
            hasElements &= ~bit
        }
        depth -= 1
        if hadElements && style == .pretty { newlineAndIndent() }
        both(bracket)
    }

    mutating func beginObject() { open(0x7B) }
    mutating func endObject() { close(0x7D) }
    mutating func beginArray() { open(0x5B) }
    mutating func endArray() { close(0x5D) }

    /// A key the emitters name in their code: its bytes are copied as they are (no escaping scan). The
    /// separator, line break, indentation, quoted name and `: ` go into each buffer as one piece.
    mutating func key(_ name: StaticString) {
        precondition(name.hasPointerRepresentation && depth > 0, "a key is a literal, inside an object")
        let comma = markElement()
        let nameStart = name.utf8Start, nameCount = name.utf8CodeUnitCount
        if style == .pretty {
            let indent = 2 * depth
            let start = out.reserve(nameCount + indent + 6)
            var position = 0
            if comma { start.pointee = 0x2C; position = 1 }
            start[position] = 0x0A
            (start + position + 1).initialize(repeating: 0x20, count: indent)
            position += 1 + indent
            start[position] = 0x22
            (start + position + 1).initialize(from: nameStart, count: nameCount)
            position += 1 + nameCount
            start[position] = 0x22
            start[position + 1] = 0x3A
            start[position + 2] = 0x20
            out.commit(position + 3)
        } else {
            Self.appendCompactKey(comma: comma, name: nameStart, count: nameCount, to: out)
        }
        if let compact { Self.appendCompactKey(comma: comma, name: nameStart, count: nameCount, to: compact) }
        afterKey = true
    }

    /// `,"name":` (no comma for a first member) into `buffer`.
    @inline(__always)
    private static func appendCompactKey(comma: Bool, name: UnsafePointer<UInt8>, count: Int, to buffer: ByteBuffer) {
        let start = buffer.reserve(count + 4)
        var position = 0
        if comma { start.pointee = 0x2C; position = 1 }
        start[position] = 0x22
        (start + position + 1).initialize(from: name, count: count)
        position += 1 + count
        start[position] = 0x22
        start[position + 1] = 0x3A
        buffer.commit(position + 2)
    }

    /// A key from data (a dictionary's keys): escaped like any string.
    mutating func dynamicKey(_ name: String) {
        precondition(depth > 0, "a key is inside an object")
        nextElement()
        appendQuoted(name)
        afterKeyName()
    }

    private mutating func afterKeyName() {
        both(0x3A)
        if style == .pretty { out.append(0x20) }
        afterKey = true
    }

    // MARK: Scalars

    mutating func string(_ value: String) {
        beforeValue()
        appendQuoted(value)
    }

    /// A string written many times (a record's source path, in every provenance), escaped once.
    struct QuotedString {
        fileprivate let text: [UInt8]
        fileprivate let compact: [UInt8]?
    }

    /// `value` as this writer writes a string, for ``quotedString(_:)``.
    func quoted(_ value: String) -> QuotedString {
        let writer = compact == nil
            ? CanonicalJSONWriter(style: style, escapeInvisibles: escapeInvisibles, capacity: value.utf8.count + 8)
            : CanonicalJSONWriter(prettyAlsoCompact: value.utf8.count + 8)
        writer.appendQuoted(value)
        return QuotedString(text: writer.bytes, compact: writer.compact?.array)
    }

    /// A string value given as ``quoted(_:)`` made it (by a writer of the same kind).
    mutating func quotedString(_ quoted: QuotedString) {
        precondition((quoted.compact == nil) == (compact == nil), "quoted by another kind of writer")
        beforeValue()
        out.append(quoted.text)
        if let compact, let bytes = quoted.compact { compact.append(bytes) }
    }

    mutating func integer(_ value: Int) {
        beforeValue()
        // Digits into a small buffer, most significant first (no `String` made per number).
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                count += 1
                buffer[24 - count] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
            } while magnitude > 0
            if value < 0 { both(0x2D) }
            let start = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + (24 - count)
            out.append(start, count: count)
            compact?.append(start, count: count)
        }
    }

    mutating func bool(_ value: Bool) {
        beforeValue()
        appendBoth(value ? "true" : "false")
    }

    mutating func null() {
        beforeValue()
        appendBoth("null")
    }

    private func appendBoth(_ word: StaticString) {
        out.append(word.utf8Start, count: word.utf8CodeUnitCount)
        compact?.append(word.utf8Start, count: word.utf8CodeUnitCount)
    }

    /// Appends `json`, one complete value written by another writer (e.g. a compact one), as the next value.
    mutating func rawValue(_ json: [UInt8]) {
        precondition(compact == nil, "raw JSON has one form")
        beforeValue()
        out.append(json)
    }

    mutating func rawValue(_ json: ArraySlice<UInt8>) {
        precondition(compact == nil, "raw JSON has one form")
        beforeValue()
        out.append(json)
    }

    mutating func stringArray(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    /// Appends a line feed between top-level values (JSON lines).
    mutating func lineBreak() {
        precondition(depth == 0, "line break inside a JSON value")
        out.append(0x0A)
    }

    /// Ends the document with a newline (pretty style; not in the compact text).
    mutating func finishDocument() {
        precondition(depth == 0, "unbalanced JSON containers")
        if style == .pretty { out.append(0x0A) }
    }

    // MARK: Escaping

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func appendUnicodeEscape(_ value: UInt32, to buffer: ByteBuffer) {
        hexDigits.withUnsafeBufferPointer { hex in
            buffer.append(0x5C)
            buffer.append(0x75)
            buffer.append(hex[Int(value >> 12 & 0xF)])
            buffer.append(hex[Int(value >> 8 & 0xF)])
            buffer.append(hex[Int(value >> 4 & 0xF)])
            buffer.append(hex[Int(value & 0xF)])
        }
    }

    /// The two-byte escape of `"` `\` and the controls that have one, else nil.
    private static func shortEscape(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x22: 0x22
        case 0x5C: 0x5C
        case 0x0A: 0x6E
        case 0x0D: 0x72
        case 0x09: 0x74
        case 0x08: 0x62
        case 0x0C: 0x66
        default: nil
        }
    }

    private func appendQuoted(_ value: String) {
        var value = value
        // The compact copy of a dual writer escapes invisibles: look at every byte that may be one.
        let lookAtInvisibles = escapeInvisibles || compact != nil
        value.withUTF8 { source in
            guard let base = source.baseAddress else {
                Self.appendQuotedVerbatim(source, to: out)
                if let compact { Self.appendQuotedVerbatim(source, to: compact) }
                return
            }
            let count = source.count
            // Most strings need no escape at all: the quotes and the bytes go into each buffer in one piece.
            let firstLook = Self.firstByteNeedingLook(source, invisibles: lookAtInvisibles)
            if firstLook == count {
                Self.appendQuotedVerbatim(source, to: out)
                if let compact { Self.appendQuotedVerbatim(source, to: compact) }
                return
            }
            both(0x22)
            defer { both(0x22) }
            var runStart = 0
            var index = firstLook
            func flushRun(upTo end: Int) {
                guard runStart < end else { return }
                out.append(base + runStart, count: end - runStart)
                compact?.append(base + runStart, count: end - runStart)
            }
            while index < count {
                // Eight bytes at a time while none of them needs a look (no control character, quote,
                // backslash, and — when invisibles are escaped — nothing at or above 0x7F).
                while index + 8 <= count {
                    let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                    if Self.needsLook(word, invisibles: lookAtInvisibles) { break }
                    index += 8
                }
                guard index < count else { break }
                let byte = source[index]
                if byte < 0x20 || byte == 0x22 || byte == 0x5C {
                    flushRun(upTo: index)
                    if let letter = Self.shortEscape(byte) {
                        both(0x5C)
                        both(letter)
                    } else {
                        Self.appendUnicodeEscape(UInt32(byte), to: out)
                        if let compact { Self.appendUnicodeEscape(UInt32(byte), to: compact) }
                    }
                    index += 1
                    runStart = index
                    continue
                }
                if lookAtInvisibles && (byte == 0x7F || byte >= 0xC2) {
                    let (length, scalar) = Self.invisible(source, at: index)
                    if length > 0 {
                        flushRun(upTo: index)
                        if escapeInvisibles {
                            Self.appendUnicodeEscape(scalar, to: out)
                        } else {
                            out.append(base + index, count: length)
                        }
                        if let compact { Self.appendUnicodeEscape(scalar, to: compact) }
                        index += length
                        runStart = index
                        continue
                    }
                }
                index += 1
            }
            flushRun(upTo: count)
        }
    }

    /// `"`, `bytes`, `"` into `buffer`, in one piece.
    @inline(__always)
    private static func appendQuotedVerbatim(_ bytes: UnsafeBufferPointer<UInt8>, to buffer: ByteBuffer) {
        let start = buffer.reserve(bytes.count + 2)
        start.pointee = 0x22
        if let source = bytes.baseAddress { (start + 1).initialize(from: source, count: bytes.count) }
        start[bytes.count + 1] = 0x22
        buffer.commit(bytes.count + 2)
    }

    /// The index of the first byte of `source` that ``appendQuoted(_:)`` must look at (a control
    /// character, `"`, `\`, and with `invisibles` anything at or above 0x7F); `source.count` if none.
    @inline(__always)
    private static func firstByteNeedingLook(_ source: UnsafeBufferPointer<UInt8>, invisibles: Bool) -> Int {
        guard let base = source.baseAddress else { return 0 }
        let count = source.count
        var index = 0
        while index + 8 <= count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            if needsLook(word, invisibles: invisibles) { break }
            index += 8
        }
        while index < count {
            let byte = base[index]
            if byte < 0x20 || byte == 0x22 || byte == 0x5C || (invisibles && byte >= 0x7F) { return index }
            index += 1
        }
        return count
    }

    /// Whether any byte of `word` is below 0x20, `"` or `\` (or, with `invisibles`, 0x7F or above).
    @inline(__always)
    private static func needsLook(_ word: UInt64, invisibles: Bool) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        // Exact "some byte is zero" / "some byte is below n (n ≤ 128)" tests (bit-twiddling hacks).
        func hasZeroByte(_ value: UInt64) -> Bool { (value &- ones) & ~value & highs != 0 }
        if (word &- ones &* 0x20) & ~word & highs != 0 { return true }  // a control character
        if invisibles && (word & highs != 0 || hasZeroByte(word ^ (ones &* 0x7F))) { return true }
        return hasZeroByte(word ^ (ones &* 0x22)) || hasZeroByte(word ^ (ones &* 0x5C))
    }

    /// If the UTF-8 sequence at `index` is a code point of `SwiftStringLiteral.mustEscape`, its length and
    /// value; else `(0, 0)`. `source` is valid UTF-8 (it comes from a `String`).
    private static func invisible(_ source: UnsafeBufferPointer<UInt8>, at index: Int) -> (Int, UInt32) {
        let byte = source[index]
        let length: Int
        var value: UInt32
        switch byte {
        case 0x7F: return (1, 0x7F)
        case 0xC2...0xDF: length = 2; value = UInt32(byte & 0x1F)
        case 0xE0...0xEF: length = 3; value = UInt32(byte & 0x0F)
        default: return (0, 0)  // ASCII, or four-byte sequences (none are escaped)
        }
        guard index + length <= source.count else { return (0, 0) }
        for offset in 1..<length { value = value << 6 | UInt32(source[index + offset] & 0x3F) }
        return SwiftStringLiteral.mustEscape(value) ? (length, value) : (0, 0)
    }
}

/// A JSON value for documents built as trees (the schema); objects print their keys in byte order.
indirect enum JSONValue: Sendable, Hashable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case integer(Int)
    case bool(Bool)
    case null

    func write(to writer: inout CanonicalJSONWriter) {
        switch self {
        case .object(let members):
            writer.beginObject()
            for key in members.keys.sorted(by: { $0.utf8Precedes($1) }) {
                writer.dynamicKey(key)
                members[key]!.write(to: &writer)
            }
            writer.endObject()
        case .array(let elements):
            writer.beginArray()
            for element in elements { element.write(to: &writer) }
            writer.endArray()
        case .string(let value): writer.string(value)
        case .integer(let value): writer.integer(value)
        case .bool(let value): writer.bool(value)
        case .null: writer.null()
        }
    }

    /// Pretty canonical text with a trailing newline.
    var canonicalText: String {
        var writer = CanonicalJSONWriter()
        write(to: &writer)
        writer.finishDocument()
        return writer.text
    }
}

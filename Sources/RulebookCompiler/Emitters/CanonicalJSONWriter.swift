/// A streaming writer of canonical JSON text, byte-stable from run to run.
///
/// Pretty style (files): two-space indentation, `"key": value`, every non-empty array and object
/// spread over lines, `[]` / `{}` when empty. Compact style (data embedded in Swift): no whitespace at all.
/// Strings are escaped per RFC 8259: `"` `\` and U+0000–U+001F (as `\n` `\t` `\r` `\b` `\f` or `\u00xx`);
/// `/` and other Unicode are written as UTF-8. With `escapeInvisibles` (data embedded in Swift), every
/// code point of `SwiftStringLiteral.mustEscape` — DEL, C1 controls, bidirectional controls, zero-width
/// characters, U+2028, U+2029, U+FEFF… — is also written as `\uXXXX`.
///
/// The caller writes object keys in byte order (the model writers below do; `JSONValue` sorts).
struct CanonicalJSONWriter {
    enum Style { case pretty, compact }

    private(set) var bytes: [UInt8] = []
    let style: Style
    let escapeInvisibles: Bool
    /// For each open container: whether it has an element yet.
    private var open: [Bool] = []
    private var afterKey = false

    init(style: Style = .pretty, escapeInvisibles: Bool = false, capacity: Int = 4096) {
        self.style = style
        self.escapeInvisibles = escapeInvisibles
        bytes.reserveCapacity(capacity)
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    // MARK: Structure

    /// A line feed and 64 levels of indentation, appended in one piece.
    private static let lineStart: [UInt8] = [0x0A] + [UInt8](repeating: 0x20, count: 128)

    private mutating func newlineAndIndent() {
        let width = 2 * open.count
        if width < Self.lineStart.count {
            Self.lineStart.withUnsafeBufferPointer { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[0...width])) }
            return
        }
        bytes.append(0x0A)
        for _ in 0..<open.count {
            bytes.append(0x20)
            bytes.append(0x20)
        }
    }

    /// Separator and indentation before a value in an array (or at the top level).
    private mutating func beforeValue() {
        if afterKey {
            afterKey = false
            return
        }
        guard !open.isEmpty else { return }
        if open[open.count - 1] { bytes.append(0x2C) }
        open[open.count - 1] = true
        if style == .pretty { newlineAndIndent() }
    }

    mutating func beginObject() {
        beforeValue()
        bytes.append(0x7B)
        open.append(false)
    }

    mutating func endObject() {
        let hadElements = open.removeLast()
        if hadElements && style == .pretty { newlineAndIndent() }
        bytes.append(0x7D)
    }

    mutating func beginArray() {
        beforeValue()
        bytes.append(0x5B)
        open.append(false)
    }

    mutating func endArray() {
        let hadElements = open.removeLast()
        if hadElements && style == .pretty { newlineAndIndent() }
        bytes.append(0x5D)
    }

    /// A key the emitters name in their code: its bytes are copied as they are (no escaping scan).
    mutating func key(_ name: StaticString) {
        precondition(name.hasPointerRepresentation, "a key is a literal")
        beforeKey()
        bytes.append(0x22)
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        afterKeyName()
    }

    /// A key from data (a dictionary's keys): escaped like any string.
    mutating func dynamicKey(_ name: String) {
        beforeKey()
        appendQuoted(name, closing: false)
        afterKeyName()
    }

    private mutating func beforeKey() {
        if open[open.count - 1] { bytes.append(0x2C) }
        open[open.count - 1] = true
        if style == .pretty { newlineAndIndent() }
    }

    private mutating func afterKeyName() {
        bytes.append(0x22)
        bytes.append(0x3A)
        if style == .pretty { bytes.append(0x20) }
        afterKey = true
    }

    // MARK: Scalars

    mutating func string(_ value: String) {
        beforeValue()
        appendQuoted(value)
    }

    /// `value` as this writer writes a string (quoted, escaped), for ``quotedString(_:)``: text written
    /// many times (a record's source path, in every provenance) is escaped once.
    func quoted(_ value: String) -> [UInt8] {
        var writer = CanonicalJSONWriter(style: style, escapeInvisibles: escapeInvisibles, capacity: value.utf8.count + 8)
        writer.appendQuoted(value)
        return writer.bytes
    }

    /// A string value given as ``quoted(_:)`` made it.
    mutating func quotedString(_ quoted: [UInt8]) {
        beforeValue()
        bytes += quoted
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
            if value < 0 { bytes.append(0x2D) }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(24 - count)...]))
        }
    }

    mutating func bool(_ value: Bool) {
        beforeValue()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func null() {
        beforeValue()
        bytes.append(contentsOf: "null".utf8)
    }

    /// Appends `json`, one complete value written by another writer (e.g. a compact one), as the next value.
    mutating func rawValue(_ json: [UInt8]) {
        beforeValue()
        bytes += json
    }

    mutating func rawValue(_ json: ArraySlice<UInt8>) {
        beforeValue()
        bytes += json
    }

    mutating func stringArray(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    /// Appends a line feed between top-level values (JSON lines).
    mutating func lineBreak() {
        precondition(open.isEmpty, "line break inside a JSON value")
        bytes.append(0x0A)
    }

    /// Ends the document with a newline (pretty style).
    mutating func finishDocument() {
        precondition(open.isEmpty, "unbalanced JSON containers")
        if style == .pretty { bytes.append(0x0A) }
    }

    // MARK: Escaping

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func appendUnicodeEscape(_ value: UInt32) {
        Self.appendUnicodeEscape(value, to: &bytes)
    }

    private static func appendUnicodeEscape(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes.append(0x5C)
        bytes.append(0x75)
        bytes.append(hexDigits[Int(value >> 12 & 0xF)])
        bytes.append(hexDigits[Int(value >> 8 & 0xF)])
        bytes.append(hexDigits[Int(value >> 4 & 0xF)])
        bytes.append(hexDigits[Int(value & 0xF)])
    }

    private mutating func appendQuoted(_ value: String, closing: Bool = true) {
        bytes.append(0x22)
        var value = value
        value.withUTF8 { source in
            var runStart = 0
            var index = 0
            let count = source.count
            while index < count {
                // Eight bytes at a time while none of them needs a look (no control character, quote,
                // backslash, and — when invisibles are escaped — nothing at or above 0x7F).
                while index + 8 <= count {
                    let word = UnsafeRawPointer(source.baseAddress! + index).loadUnaligned(as: UInt64.self)
                    if Self.needsLook(word, invisibles: escapeInvisibles) { break }
                    index += 8
                }
                guard index < count else { break }
                let byte = source[index]
                var escapeLength = 0
                var scalar: UInt32 = 0
                if byte < 0x20 || byte == 0x22 || byte == 0x5C {
                    escapeLength = 1
                    scalar = UInt32(byte)
                } else if escapeInvisibles && (byte == 0x7F || byte >= 0xC2) {
                    (escapeLength, scalar) = Self.invisible(source, at: index)
                }
                if escapeLength == 0 {
                    index += 1
                    continue
                }
                if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: source[runStart..<index])) }
                switch scalar {
                case 0x22: bytes.append(0x5C); bytes.append(0x22)
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
                case 0x0D: bytes.append(0x5C); bytes.append(0x72)
                case 0x09: bytes.append(0x5C); bytes.append(0x74)
                case 0x08: bytes.append(0x5C); bytes.append(0x62)
                case 0x0C: bytes.append(0x5C); bytes.append(0x66)
                default: appendUnicodeEscape(scalar)
                }
                index += escapeLength
                runStart = index
            }
            if runStart < count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: source[runStart..<count])) }
        }
        if closing { bytes.append(0x22) }
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

    /// The compact text, with invisibles escaped (`CanonicalJSONWriter(style: .compact, escapeInvisibles: true)`),
    /// of the JSON that a pretty writer without `escapeInvisibles` wrote as `pretty` — byte for byte what the
    /// compact writer makes of the same values, in one pass over bytes instead of a second walk over the model
    /// (a bundle and its Swift data line are the same record). Whitespace outside strings goes; inside
    /// strings DEL and the non-ASCII code points of `SwiftStringLiteral.mustEscape` become `\u00xx`
    /// escapes; everything else (escapes included) is copied.
    static func compactEscapingInvisibles(pretty: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let count = pretty.count
        guard let source = pretty.baseAddress, count > 0 else { return [] }
        // An escape (`\u00xx`, 6 bytes) replaces at least 1 byte (DEL) of 2+ for the others: 6× is enough.
        return [UInt8](unsafeUninitializedCapacity: count * 6) { buffer, written in
            let output = buffer.baseAddress!
            var out = 0
            var index = 0
            while index < count {
                let byte = source[index]
                index += 1
                if byte == 0x0A {  // a line break and the next line's indentation
                    while index < count && source[index] == 0x20 { index += 1 }
                    continue
                }
                if byte == 0x20 { continue }  // after `:`
                output[out] = byte
                out += 1
                guard byte == 0x22 else { continue }
                // A string: copied up to the closing quote; only a backslash, DEL or a byte ≥ 0x80 needs a look.
                var runStart = index
                while index < count {
                    while index + 8 <= count {
                        let word = UnsafeRawPointer(source + index).loadUnaligned(as: UInt64.self)
                        if needsLook(word, invisibles: true) { break }
                        index += 8
                    }
                    guard index < count else { break }
                    let current = source[index]
                    if current == 0x5C {  // an escape: two bytes (a `\uXXXX`'s hex digits follow as plain bytes)
                        index += 2
                        continue
                    }
                    if current == 0x22 { break }
                    if current < 0x7F {
                        index += 1
                        continue
                    }
                    let (length, scalar) = invisible(pretty, at: index)
                    if length == 0 {
                        index += 1
                        continue
                    }
                    (output + out).update(from: source + runStart, count: index - runStart)
                    out += index - runStart
                    output[out] = 0x5C
                    output[out + 1] = 0x75
                    output[out + 2] = hexDigits[Int(scalar >> 12 & 0xF)]
                    output[out + 3] = hexDigits[Int(scalar >> 8 & 0xF)]
                    output[out + 4] = hexDigits[Int(scalar >> 4 & 0xF)]
                    output[out + 5] = hexDigits[Int(scalar & 0xF)]
                    out += 6
                    index += length
                    runStart = index
                }
                let end = min(index, count)
                (output + out).update(from: source + runStart, count: end - runStart)
                out += end - runStart
                if index < count {  // the closing quote
                    output[out] = 0x22
                    out += 1
                    index += 1
                }
            }
            written = out
        }
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

import Foundation

/// Swift string literals for text from documents. A document cannot end a literal early, interpolate,
/// or hide characters from a reviewer: every character that could do so is written as an escape.
public enum SwiftStringLiteral {
    /// Code points written only as `\u{…}` escapes in generated Swift (in literals and comments):
    /// C0 controls, DEL, C1 controls, and the invisible format characters that can make source text read
    /// differently from how it compiles — the Unicode bidirectional controls (U+061C, U+200E, U+200F,
    /// U+202A–U+202E, U+2066–U+2069), zero-width characters, line/paragraph separators, soft hyphen and
    /// byte order mark. An explicit list (not Unicode properties) so the output never depends on the
    /// toolchain's Unicode version.
    public static func mustEscape(_ value: UInt32) -> Bool {
        switch value {
        case 0x00...0x1F, 0x7F...0x9F, 0xAD, 0x061C, 0x180E, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069,
             0xFEFF, 0xFFF9...0xFFFB:
            return true
        default:
            return false
        }
    }

    /// The bidirectional control characters (Trojan Source, CVE-2021-42574).
    public static let bidiControls: [Unicode.Scalar] =
        ([0x061C, 0x200E, 0x200F] + Array(0x202A...0x202E) + Array(0x2066...0x2069)).map { Unicode.Scalar($0)! }

    /// A single-line literal `"…"` whose value is exactly `text`: `\` `"` are escaped (so neither `\(`
    /// nor `"""` nor `"#` can take effect), newline, carriage return, tab and NUL as `\n` `\r` `\t` `\0`,
    /// every other code point of ``mustEscape(_:)`` as `\u{…}`; everything else is written as is.
    public static func quoted(_ text: String) -> String {
        var result = "\""
        result.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\0": result += "\\0"
            default:
                if mustEscape(scalar.value) {
                    result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        result += "\""
        return result
    }

    /// Whether `text` can be the content of a multi-line raw literal unchanged: no code point of
    /// ``mustEscape(_:)`` other than line feed (carriage returns would be normalised away).
    public static func isRawMultilineSafe(_ text: String) -> Bool {
        var text = text
        return text.withUTF8(isRawMultilineSafe(utf8:))
    }

    static func isRawMultilineSafe(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            // Eight bytes at a time while all are printable ASCII (0x20–0x7E), the common case.
            while index + 8 <= count {
                let word = UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self)
                if !isPrintableASCII(word) { break }
                index += 8
            }
            guard index < count else { break }
            let byte = bytes[index]
            if byte < 0x80 {
                if (byte < 0x20 && byte != 0x0A) || byte == 0x7F { return false }
                index += 1
                continue
            }
            // Multi-byte sequence (valid UTF-8: it comes from a String).
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
            if length < 4, index + length <= count {
                var value = UInt32(byte & (length == 2 ? 0x1F : 0x0F))
                for offset in 1..<length { value = value << 6 | UInt32(bytes[index + offset] & 0x3F) }
                if mustEscape(value) { return false }
            }
            index += length
        }
        return true
    }

    /// A multi-line raw literal (`#"""` … `"""#`) whose value is exactly `text`, or nil when `text` is not
    /// ``isRawMultilineSafe(_:)``. The number of `#` is one more than the longest run of `#` after any
    /// `"` or `\` in `text`, so the text can neither close the literal nor start an escape or interpolation.
    /// The content starts at column 0 (no indentation is stripped).
    public static func rawMultiline(_ text: String) -> String? {
        guard isRawMultilineSafe(text) else { return nil }
        let delimiter = String(repeating: "#", count: rawDelimiterCount(text))
        return delimiter + "\"\"\"\n" + text + "\n\"\"\"" + delimiter
    }

    /// One more than the longest run of `#` following a `"` or a `\` in `text`.
    public static func rawDelimiterCount(_ text: String) -> Int {
        var text = text
        return text.withUTF8(rawDelimiterCount(utf8:))
    }

    static func rawDelimiterCount(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = bytes.baseAddress else { return 1 }
        var longest = 0
        var index = 0
        let count = bytes.count
        while index < count {
            // `#` is rare in documents: jump from one run of them to the next (memchr is vectorised), and
            // look at the byte before the run.
            guard let found = memchr(base + index, 0x23, count - index) else { break }
            let start = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
            var end = start + 1
            while end < count, bytes[end] == 0x23 { end += 1 }
            if start > 0, bytes[start - 1] == 0x22 || bytes[start - 1] == 0x5C { longest = max(longest, end - start) }
            index = end
        }
        return longest + 1
    }

    /// Whether every byte of `bytes` is in 0x20–0x7E (eight at a time).
    static func isPrintableASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index + 8 <= count {
            if !isPrintableASCII(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)) { return false }
            index += 8
        }
        while index < count {
            if base[index] < 0x20 || base[index] > 0x7E { return false }
            index += 1
        }
        return true
    }

    /// Whether every byte of `word` is in 0x20–0x7E.
    @inline(__always)
    static func isPrintableASCII(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        if word & highs != 0 { return false }
        // With every high bit clear these are exact: some byte below 0x20; some byte equal to 0x7F.
        if (word &- ones &* 0x20) & ~word & highs != 0 { return false }
        let del = word ^ (ones &* 0x7F)
        return (del &- ones) & ~del & highs == 0
    }

    /// `text` for a `//` comment on one line: code points of ``mustEscape(_:)`` (newlines included) are
    /// shown as `\u{…}`, so a comment can never end early or hide text; cut to `limit` characters with `…`.
    public static func commentText(_ text: String, limit: Int = 200) -> String {
        var text = text
        let plain = text.withUTF8 { bytes in bytes.count <= limit && bytes.allSatisfy { $0 >= 0x20 && $0 <= 0x7E } }
        if plain { return text }
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                result += "…"
                break
            }
            if mustEscape(scalar.value) {
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return result
    }
}

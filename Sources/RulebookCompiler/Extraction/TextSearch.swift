import Foundation

/// Substring search with the results of Foundation's `range(of:)` / `contains(_:)` (which compare
/// composed character sequences, through UTF-16), done on UTF-8 bytes when that cannot differ:
/// when both strings only hold characters that never combine with a neighbour nor decompose
/// (printable ASCII, tab, and a few common punctuation marks). Other text goes to Foundation.
enum TextSearch {
    /// The first occurrence of `needle` in `text`, as Foundation's `text.range(of: needle)` finds it.
    static func range(of needle: String, in text: String) -> Range<String.Index>? {
        var text = text, needle = needle
        let offsets: Range<Int>?? = text.withUTF8 { haystack in
            needle.withUTF8 { pattern in
                guard isSimple(haystack), isSimple(pattern) else { return Range<Int>??.none }
                return .some(firstOffset(of: pattern, in: haystack).map { $0..<($0 + pattern.count) })
            }
        }
        guard let offsets else { return text.range(of: needle) }
        guard let offsets else { return nil }
        let utf8 = text.utf8
        let lower = utf8.index(utf8.startIndex, offsetBy: offsets.lowerBound)
        return lower..<utf8.index(lower, offsetBy: offsets.count)
    }

    /// Foundation's `text.contains(needle)` (false for an empty needle).
    static func contains(_ text: String, _ needle: String) -> Bool {
        var text = text, needle = needle
        let found: Bool? = text.withUTF8 { haystack in
            needle.withUTF8 { pattern in
                guard isSimple(haystack), isSimple(pattern) else { return nil }
                return firstOffset(of: pattern, in: haystack) != nil
            }
        }
        if let found { return found }
        return text.contains(needle)
    }

    /// Byte offset of the first occurrence; nil for an empty pattern (as Foundation).
    static func firstOffset(of pattern: UnsafeBufferPointer<UInt8>, in text: UnsafeBufferPointer<UInt8>) -> Int? {
        let length = pattern.count
        guard length > 0, length <= text.count else { return nil }
        let first = pattern[0]
        let last = text.count - length
        var index = 0
        if length >= 2, let base = text.baseAddress {
            // Eight positions at a time: only where the first two bytes match is the rest compared.
            let ones: UInt64 = 0x0101_0101_0101_0101, low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
            @inline(__always) func zeroBytes(_ word: UInt64) -> UInt64 { ~(((word & low) &+ low) | word | low) }
            let firsts = ones &* UInt64(first), seconds = ones &* UInt64(pattern[1])
            while index + 9 <= text.count && index + 7 <= last {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                let next = UInt64(littleEndian: UnsafeRawPointer(base + index + 1).loadUnaligned(as: UInt64.self))
                var candidates = zeroBytes(word ^ firsts) & zeroBytes(next ^ seconds)
                while candidates != 0 {
                    let start = index + candidates.trailingZeroBitCount >> 3
                    var offset = 2
                    while offset < length && base[start + offset] == pattern[offset] { offset += 1 }
                    if offset == length { return start }
                    candidates &= candidates - 1
                }
                index += 8
            }
        }
        while index <= last {
            if text[index] == first {
                var offset = 1
                while offset < length && text[index + offset] == pattern[offset] { offset += 1 }
                if offset == length { return index }
            }
            index += 1
        }
        return nil
    }

    /// Whether every character is printable ASCII, a tab, or one of `– — ‘ ’ “ ” • … © ® ° ± § · ™`.
    static func isSimple(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = bytes.count
        var index = 0
        while index < count {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x7F || byte == 0x09 {
                index += 1
                continue
            }
            if byte == 0xC2, index + 1 < count {
                switch bytes[index + 1] {
                case 0xA7, 0xA9, 0xAE, 0xB0, 0xB1, 0xB7: index += 2; continue
                default: return false
                }
            }
            if byte == 0xE2, index + 2 < count {
                let second = bytes[index + 1], third = bytes[index + 2]
                if second == 0x80 {
                    switch third {
                    case 0x93, 0x94, 0x98, 0x99, 0x9C, 0x9D, 0xA2, 0xA6: index += 3; continue
                    default: return false
                    }
                }
                if second == 0x84 && third == 0xA2 { index += 3; continue }
            }
            return false
        }
        return true
    }
}

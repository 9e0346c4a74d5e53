import Foundation

/// Bytes → lines, the first stage of parsing. Validates UTF-8 (naming the offset of the first
/// bad byte), drops a byte-order mark, splits on LF, CRLF or CR, reads non-breaking spaces as
/// spaces and NUL as U+FFFD (as cmark-gfm does).
struct SourceLine {
    /// The line's bytes without its line ending.
    var bytes: ArraySlice<UInt8>
    /// 1-based line number.
    var number: Int
}

enum SourceText {
    enum Failure: Error, Equatable {
        case invalidUTF8(offset: Int, byte: UInt8)
    }

    /// Offset of the first byte that is not part of a valid UTF-8 sequence, if any.
    static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { buffer -> Int? in
            let count = buffer.count
            guard let base = buffer.baseAddress else { return nil }
            let raw = UnsafeRawPointer(base)
            var index = 0
            while index < count {
                // ASCII runs, 32 then 8 bytes at a time.
                if index + 32 <= count {
                    let a = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    let b = raw.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
                    let c = raw.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self)
                    let d = raw.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self)
                    if (a | b | c | d) & 0x8080_8080_8080_8080 == 0 {
                        index += 32
                        continue
                    }
                }
                if index + 8 <= count && raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                    continue
                }
                let byte = buffer[index]
                if byte < 0x80 {
                    index += 1
                    continue
                }
                let length: Int
                var minimum: UInt32 = 0
                var scalar: UInt32
                switch byte {
                case 0xC2...0xDF: length = 2; scalar = UInt32(byte & 0x1F); minimum = 0x80
                case 0xE0...0xEF: length = 3; scalar = UInt32(byte & 0x0F); minimum = 0x800
                case 0xF0...0xF4: length = 4; scalar = UInt32(byte & 0x07); minimum = 0x10000
                default: return index
                }
                if index + length > count { return index }
                for offset in 1..<length {
                    let next = buffer[index + offset]
                    if next & 0xC0 != 0x80 { return index }
                    scalar = scalar << 6 | UInt32(next & 0x3F)
                }
                if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return index }
                index += length
            }
            return nil
        }
    }

    /// Splits valid UTF-8 into normalised lines.
    static func lines(_ input: [UInt8]) -> (buffer: [UInt8], lines: [SourceLine]) {
        var start = 0
        if input.count >= 3 && input[0] == 0xEF && input[1] == 0xBB && input[2] == 0xBF { start = 3 }
        let plain = input.withUnsafeBufferPointer { source -> Bool in
            guard let base = source.baseAddress, source.count > start else { return true }
            let rest = source.count - start
            return memchr(base + start, 0x0D, rest) == nil && memchr(base + start, 0x00, rest) == nil
                && memchr(base + start, 0xC2, rest) == nil
        }
        if plain {
            // Nothing to rewrite (no CR, NUL or non-breaking space, the common case): lines are slices of the input.
            let buffer = start == 0 ? input : Array(input[start...])
            var lines: [SourceLine] = []
            lines.reserveCapacity(buffer.count / 40 + 1)
            buffer.withUnsafeBufferPointer { source in
                guard let base = source.baseAddress else { return }
                let count = source.count
                var lineStart = 0
                while lineStart < count {
                    guard let found = memchr(base + lineStart, 0x0A, count - lineStart) else {
                        lines.append(SourceLine(bytes: buffer[lineStart..<count], number: lines.count + 1))
                        break
                    }
                    let end = UnsafeRawPointer(found) - UnsafeRawPointer(base)
                    lines.append(SourceLine(bytes: buffer[lineStart..<end], number: lines.count + 1))
                    lineStart = end + 1
                }
            }
            return (buffer, lines)
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(input.count - start + 16)
        var bounds: [(Int, Int)] = []
        bounds.reserveCapacity(input.count / 40 + 1)
        input.withUnsafeBufferPointer { source in
            var index = start
            var lineStart = 0
            let count = source.count
            while index < count {
                let byte = source[index]
                switch byte {
                case 0x0A:
                    bounds.append((lineStart, buffer.count))
                    lineStart = buffer.count
                    index += 1
                case 0x0D:
                    bounds.append((lineStart, buffer.count))
                    lineStart = buffer.count
                    index += (index + 1 < count && source[index + 1] == 0x0A) ? 2 : 1
                case 0xC2 where index + 1 < count && source[index + 1] == 0xA0:
                    buffer.append(0x20) // non-breaking space reads as a space
                    index += 2
                case 0x00:
                    buffer.append(contentsOf: [0xEF, 0xBF, 0xBD]) // NUL reads as U+FFFD
                    index += 1
                default:
                    buffer.append(byte)
                    index += 1
                }
            }
            if lineStart < buffer.count { bounds.append((lineStart, buffer.count)) }
        }
        var lines: [SourceLine] = []
        lines.reserveCapacity(bounds.count)
        for (number, bound) in bounds.enumerated() {
            lines.append(SourceLine(bytes: buffer[bound.0..<bound.1], number: number + 1))
        }
        return (buffer, lines)
    }
}

// MARK: - Byte helpers shared by the parsers

enum ASCII {
    static let space: UInt8 = 0x20, tab: UInt8 = 0x09, pipe: UInt8 = 0x7C, backslash: UInt8 = 0x5C
    static let hash: UInt8 = 0x23, dash: UInt8 = 0x2D, colon: UInt8 = 0x3A, star: UInt8 = 0x2A
    static let underscore: UInt8 = 0x5F, plus: UInt8 = 0x2B, backtick: UInt8 = 0x60, tilde: UInt8 = 0x7E
    static let greater: UInt8 = 0x3E, less: UInt8 = 0x3C, equals: UInt8 = 0x3D, dot: UInt8 = 0x2E
    static let rightParen: UInt8 = 0x29, leftBracket: UInt8 = 0x5B, rightBracket: UInt8 = 0x5D

    @inline(__always) static func isSpaceOrTab(_ byte: UInt8) -> Bool { byte == space || byte == tab }
    /// Space, tab, vertical tab, form feed (what GFM table scanning counts as space).
    @inline(__always) static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab || byte == 0x0B || byte == 0x0C || byte == 0x0A || byte == 0x0D
    }
    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    @inline(__always) static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
    @inline(__always) static func isUpper(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }
    @inline(__always) static func isPunctuation(_ byte: UInt8) -> Bool {
        (byte >= 0x21 && byte <= 0x2F) || (byte >= 0x3A && byte <= 0x40) || (byte >= 0x5B && byte <= 0x60)
            || (byte >= 0x7B && byte <= 0x7E)
    }
}

extension ArraySlice where Element == UInt8 {
    var isBlank: Bool {
        @inline(__always) get { allSatisfy { ASCII.isWhitespace($0) } }
    }

    /// Without leading and trailing spaces and tabs (and VT/FF).
    var trimmed: ArraySlice<UInt8> {
        @inline(__always) get {
        var lower = startIndex, upper = endIndex
        while lower < upper && ASCII.isWhitespace(self[lower]) { lower += 1 }
        while upper > lower && ASCII.isWhitespace(self[upper - 1]) { upper -= 1 }
        return self[lower..<upper]
        }
    }

    var trimmedLeading: ArraySlice<UInt8> {
        var lower = startIndex
        while lower < endIndex && ASCII.isWhitespace(self[lower]) { lower += 1 }
        return self[lower...]
    }

    /// Indentation width with tabs to the next multiple of 4, and the index of the first non-space byte.
    var indentation: (width: Int, firstNonSpace: Int) {
        var width = 0
        var index = startIndex
        while index < endIndex {
            if self[index] == ASCII.space { width += 1 } else if self[index] == ASCII.tab { width += 4 - width % 4 } else { break }
            index += 1
        }
        return (width, index)
    }

    var string: String { String(decoding: self, as: UTF8.self) }

    func hasPrefix(_ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard self.count >= count else { return false }
        let pointer = prefix.utf8Start
        for offset in 0..<count where self[startIndex + offset] != pointer[offset] { return false }
        return true
    }
}

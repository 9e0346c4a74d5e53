#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Finding byte strings in generated text (a shard file, a manifest) that a splice edits in place.
enum ByteSearch {
    /// The offset of the first occurrence of `needle` in `bytes[range]`; nil when there is none.
    static func first(_ needle: [UInt8], in bytes: [UInt8], from start: Int = 0, to end: Int? = nil) -> Int? {
        let end = end ?? bytes.count
        guard let lead = needle.first, start >= 0, end <= bytes.count, end - start >= needle.count else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> Int? in
            needle.withUnsafeBufferPointer { pattern -> Int? in
                let base = buffer.baseAddress!
                if let memmem = Self.memmem {
                    guard let found = memmem(base + start, end - start, pattern.baseAddress!, needle.count) else { return nil }
                    return UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - base
                }
                var position = start
                let last = end - needle.count  // the last offset where the needle fits
                while position <= last {
                    // The next candidate by its first byte (memchr), then the rest compared at once.
                    guard let found = memchr(base + position, Int32(lead), last - position + 1) else { return nil }
                    let offset = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - base
                    if memcmp(base + offset, pattern.baseAddress!, needle.count) == 0 { return offset }
                    position = offset + 1
                }
                return nil
            }
        }
    }

    /// The C library's `memmem` (a GNU extension the Swift module does not declare), looked up once; nil
    /// where it is missing (then the search goes by `memchr` of the first byte).
    private static let memmem: (@convention(c) (UnsafeRawPointer?, Int, UnsafeRawPointer?, Int) -> UnsafeMutableRawPointer?)? = {
        #if canImport(Glibc) || canImport(Darwin)
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "memmem") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeRawPointer?, Int, UnsafeRawPointer?, Int) -> UnsafeMutableRawPointer?).self)
        #else
        return nil
        #endif
    }()

    /// The offset just past the first line break at or after `start`; nil when there is none before `end`.
    static func lineEnd(in bytes: [UInt8], from start: Int, to end: Int? = nil) -> Int? {
        first([0x0A], in: bytes, from: start, to: end).map { $0 + 1 }
    }

    /// The offset of the first byte of the line holding `offset`.
    static func lineStart(in bytes: [UInt8], before offset: Int) -> Int {
        var position = offset
        while position > 0, bytes[position - 1] != 0x0A { position -= 1 }
        return position
    }

    /// Decimal digits of a non-negative number, as the JSON writer writes integers.
    static func digits(_ value: Int) -> [UInt8] { Array(String(value).utf8) }

    /// The non-negative decimal number of `bytes[range]` (digits only); nil otherwise.
    static func number(_ bytes: [UInt8], _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return nil }
        var value = 0
        for index in range {
            let byte = bytes[index]
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    /// `bytes` with each range replaced by its bytes (ranges not overlapping, in any order).
    static func replacing(_ bytes: [UInt8], _ edits: [(range: Range<Int>, bytes: [UInt8])]) -> [UInt8] {
        let sorted = edits.sorted { $0.range.lowerBound < $1.range.lowerBound }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count + sorted.reduce(0) { $0 + $1.bytes.count - $1.range.count })
        var position = 0
        for edit in sorted {
            precondition(edit.range.lowerBound >= position, "overlapping edits")
            result += bytes[position..<edit.range.lowerBound]
            result += edit.bytes
            position = edit.range.upperBound
        }
        result += bytes[position...]
        return result
    }
}

/// An indentation-aware line writer for generated Swift (four spaces per level, `\n` line ends), into
/// UTF-8 bytes (a shard file is written line by line: appending to bytes is cheaper than to a `String`).
///
/// The bytes live in a ``ByteBuffer`` (no uniqueness or capacity check per append): a large run appends
/// a few hundred thousand small pieces (doc comments). A printer is used through `inout`, never copied
/// and then written through both copies (they would share the buffer).
struct CodePrinter {
    private let buffer: ByteBuffer
    private var level = 0

    init(capacity: Int = 4096) { buffer = ByteBuffer(capacity: capacity) }

    var bytes: [UInt8] { buffer.array }
    var text: String { buffer.text }

    /// Writes one line at the current indentation; an empty line has no trailing spaces.
    mutating func line(_ content: String = "") {
        if !content.isEmpty {
            beginLine()
            appendUTF8(content)
        }
        buffer.append(0x0A)
    }

    /// Starts a line built piece by piece with `append`, ended by `endLine()`.
    mutating func beginLine() {
        let width = 4 * level
        guard width > 0 else { return }
        buffer.reserve(width).initialize(repeating: 0x20, count: width)
        buffer.commit(width)
    }

    mutating func append(_ piece: String) { appendUTF8(piece) }

    /// `SwiftStringLiteral.commentText(text, limit:)`, appended: text that is printable ASCII within
    /// the limit (nearly all of it) goes in straight from its storage, with no `String` made.
    mutating func appendCommentText(_ text: String, limit: Int = 200) {
        let done = text.utf8.withContiguousStorageIfAvailable { source -> Bool in
            guard source.count <= limit, SwiftStringLiteral.isPrintableASCII(source) else { return false }
            buffer.append(source)
            return true
        }
        if done != true { appendUTF8(SwiftStringLiteral.commentText(text, limit: limit)) }
    }

    /// The string's UTF-8 through its contiguous storage, in one copy.
    @inline(__always)
    private mutating func appendUTF8(_ piece: String) {
        if piece.utf8.withContiguousStorageIfAvailable({ buffer.append($0) }) == nil {
            var piece = piece
            piece.withUTF8 { buffer.append($0) }
        }
    }

    /// The decimal digits of `number` (no `String` made).
    mutating func append(_ number: Int) {
        var magnitude = number.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            repeat {
                count += 1
                scratch[24 - count] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
            } while magnitude > 0
            if number < 0 { buffer.append(0x2D) }
            buffer.append(scratch.baseAddress!.assumingMemoryBound(to: UInt8.self) + (24 - count), count: count)
        }
    }

    mutating func endLine() { buffer.append(0x0A) }

    mutating func indent() { level += 1 }

    mutating func outdent() {
        precondition(level > 0, "outdent below zero")
        level -= 1
    }

    /// `opener {`, the body one level in, `}`.
    mutating func block(_ opener: String, _ body: (inout CodePrinter) -> Void) {
        line(opener + " {")
        indent()
        body(&self)
        outdent()
        line("}")
    }
}

/// An indentation-aware line writer for generated Swift (four spaces per level, `\n` line ends), into
/// UTF-8 bytes (a shard file is written line by line: appending to bytes is cheaper than to a `String`).
struct CodePrinter {
    private(set) var bytes: [UInt8] = []
    private var level = 0

    init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Writes one line at the current indentation; an empty line has no trailing spaces.
    mutating func line(_ content: String = "") {
        if !content.isEmpty {
            beginLine()
            appendUTF8(content)
        }
        bytes.append(0x0A)
    }

    /// Starts a line built piece by piece with `append`, ended by `endLine()`.
    mutating func beginLine() {
        bytes.append(contentsOf: repeatElement(0x20, count: 4 * level))
    }

    mutating func append(_ piece: String) { appendUTF8(piece) }

    /// The string's UTF-8 through its contiguous storage (one copy; appending `utf8` as a sequence went
    /// byte by byte: 3 % of a large run, in doc comments).
    @inline(__always)
    private mutating func appendUTF8(_ piece: String) {
        var piece = piece
        piece.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ number: Int) { appendUTF8(String(number)) }

    mutating func endLine() { bytes.append(0x0A) }

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

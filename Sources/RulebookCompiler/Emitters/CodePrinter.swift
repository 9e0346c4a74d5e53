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
            bytes.append(contentsOf: content.utf8)
        }
        bytes.append(0x0A)
    }

    /// Starts a line built piece by piece with `append`, ended by `endLine()`.
    mutating func beginLine() {
        for _ in 0..<(4 * level) { bytes.append(0x20) }
    }

    mutating func append(_ piece: String) { bytes.append(contentsOf: piece.utf8) }

    mutating func append(_ number: Int) { bytes.append(contentsOf: String(number).utf8) }

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

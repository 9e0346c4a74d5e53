/// An indentation-aware line writer for generated Swift (four spaces per level, `\n` line ends).
struct CodePrinter {
    private(set) var text = ""
    private var level = 0

    init(capacity: Int = 4096) { text.reserveCapacity(capacity) }

    /// Writes one line at the current indentation; an empty line has no trailing spaces.
    mutating func line(_ content: String = "") {
        if !content.isEmpty {
            for _ in 0..<level { text += "    " }
            text += content
        }
        text += "\n"
    }

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

/// The block tree as JSON for `rulebook dump`: `{"blocks": [...]}`, each block with `kind`,
/// its content and its 1-based `line`. Keys sorted.
enum BlockDump {
    static func json(_ blocks: [Block]) -> String {
        var writer = JSONTextWriter()
        writer.object { writer in
            writer.key("blocks") { writer in writer.array(blocks) { writer, block in write(block, &writer) } }
        }
        return writer.text + "\n"
    }

    private static func write(_ block: Block, _ writer: inout JSONTextWriter) {
        writer.object { writer in
            switch block.kind {
            case .heading(let level, let text):
                writer.field("kind", "heading")
                writer.field("level", level)
                writer.field("line", block.line)
                writer.field("text", text)
            case .paragraph(let lines):
                writer.field("kind", "paragraph")
                writer.field("line", block.line)
                writer.field("text", lines.map(\.text).joined(separator: "\n"))
            case .list(let ordered, let items):
                writer.key("items") { writer in
                    writer.array(items) { writer, item in
                        writer.object { writer in
                            writer.key("blocks") { writer in writer.array(item.blocks) { writer, block in write(block, &writer) } }
                            writer.field("line", item.line)
                        }
                    }
                }
                writer.field("kind", "list")
                writer.field("line", block.line)
                writer.field("ordered", ordered)
            case .table(let table):
                writer.key("alignments") { writer in writer.array(table.alignments) { writer, alignment in writer.value(alignment.rawValue) } }
                writer.key("header") { writer in writer.array(table.header) { writer, cell in writer.value(cell.text) } }
                writer.field("headerLine", table.headerLine)
                writer.field("kind", "table")
                writer.field("line", block.line)
                writer.key("rows") { writer in
                    writer.array(table.rows) { writer, row in writer.array(row.cells) { writer, cell in writer.value(cell.text) } }
                }
            case .labelled(let label, let value, _):
                writer.field("kind", "labelled")
                writer.field("label", label)
                writer.field("line", block.line)
                writer.field("value", value)
            case .frontMatter(let entries):
                writer.key("entries") { writer in
                    writer.array(entries) { writer, entry in
                        writer.object { writer in
                            writer.field("key", entry.key)
                            writer.field("line", entry.line)
                            writer.field("value", entry.value)
                        }
                    }
                }
                writer.field("kind", "frontMatter")
                writer.field("line", block.line)
            case .other(let name, let lines):
                writer.field("kind", name)
                writer.field("line", block.line)
                writer.field("text", lines.map(\.text).joined(separator: "\n"))
            }
        }
    }
}

/// A minimal pretty JSON writer (2-space indent) for the dump; callers write keys in sorted order.
struct JSONTextWriter {
    private(set) var text = ""
    private var indent = 0
    private var needsComma = [false]

    private mutating func beginValue() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    private mutating func newline() {
        text += "\n" + String(repeating: "  ", count: indent)
    }

    mutating func object(_ body: (inout JSONTextWriter) -> Void) {
        container(open: "{", close: "}", body)
    }

    mutating func array<S: Sequence>(_ elements: S, _ body: (inout JSONTextWriter, S.Element) -> Void) {
        container(open: "[", close: "]") { writer in
            for element in elements {
                body(&writer, element)
            }
        }
    }

    private mutating func container(open: String, close: String, _ body: (inout JSONTextWriter) -> Void) {
        if indent > 0 || !text.isEmpty { beginValueIfInArray() }
        text += open
        indent += 1
        needsComma.append(false)
        let before = text.utf8.count
        body(&self)
        let empty = text.utf8.count == before
        needsComma.removeLast()
        indent -= 1
        if !empty { newline() }
        text += close
    }

    private var inKey = false

    private mutating func beginValueIfInArray() {
        if inKey {
            inKey = false
            return
        }
        beginValue()
        newline()
    }

    mutating func key(_ name: String, _ body: (inout JSONTextWriter) -> Void) {
        beginValue()
        newline()
        text += JSONTextWriter.quoted(name) + ": "
        inKey = true
        body(&self)
        inKey = false
    }

    mutating func field(_ name: String, _ value: String) { key(name) { $0.scalar(Self.quoted(value)) } }
    mutating func field(_ name: String, _ value: Int) { key(name) { $0.scalar(String(value)) } }
    mutating func field(_ name: String, _ value: Bool) { key(name) { $0.scalar(value ? "true" : "false") } }
    mutating func value(_ string: String) { scalar(Self.quoted(string)) }

    private mutating func scalar(_ literal: String) {
        if inKey {
            inKey = false
        } else {
            beginValue()
            newline()
        }
        text += literal
    }

    static func quoted(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                result += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

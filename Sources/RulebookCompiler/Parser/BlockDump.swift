/// The block tree as JSON for `rulebook dump`: `{"blocks": [...]}`, each block with `kind`,
/// its content and its 1-based `line`. Written with the canonical JSON writer (keys sorted).
enum BlockDump {
    static func json(_ blocks: [Block]) -> String {
        JSONValue.object(["blocks": .array(blocks.map(value))]).canonicalText
    }

    static func value(_ block: Block) -> JSONValue {
        var members: [String: JSONValue] = ["line": .integer(block.line)]
        switch block.kind {
        case .heading(let level, let text):
            members["kind"] = .string("heading")
            members["level"] = .integer(level)
            members["text"] = .string(text)
        case .paragraph(let lines):
            members["kind"] = .string("paragraph")
            members["text"] = .string(lines.map(\.text).joined(separator: "\n"))
        case .list(let ordered, let items):
            members["kind"] = .string("list")
            members["ordered"] = .bool(ordered)
            members["items"] = .array(items.map { item in
                .object(["line": .integer(item.line), "blocks": .array(item.blocks.map(value))])
            })
        case .table(let table):
            members["kind"] = .string("table")
            members["alignments"] = .array(table.alignments.map { .string($0.rawValue) })
            members["header"] = .array(table.header.map { .string($0.text) })
            members["headerLine"] = .integer(table.headerLine)
            members["rows"] = .array(table.rows.map { row in .array(row.cells.map { .string($0.text) }) })
        case .labelled(let label, let value, _):
            members["kind"] = .string("labelled")
            members["label"] = .string(label)
            members["value"] = .string(value)
        case .frontMatter(let entries):
            members["kind"] = .string("frontMatter")
            members["entries"] = .array(entries.map { entry in
                .object(["key": .string(entry.key), "line": .integer(entry.line), "value": .string(entry.value)])
            })
        case .other(let name, let lines):
            members["kind"] = .string(name)
            members["text"] = .string(lines.map(\.text).joined(separator: "\n"))
        }
        return .object(members)
    }
}

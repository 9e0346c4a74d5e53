/// A line inside a container (document, list item, block quote): its bytes after the
/// container's prefix, its line number and the 1-based column where `bytes` starts.
struct ContainerLine {
    var bytes: ArraySlice<UInt8>
    var number: Int
    var column: Int
}

/// GitHub Flavored Markdown block structure: ATX and setext headings, lists (nested),
/// paragraphs, GFM tables, fenced and indented code, block quotes, HTML blocks, front matter.
/// Paragraph lines of the form `Label: value` become `labelled` blocks.
struct MarkdownBlockParser {
    var inline: InlineText
    var tables: TableBuilder
    /// How many lists and block quotes enclose the lines being parsed.
    private var depth = 0
    /// Containers nested deeper than this are read as paragraph text: a recursive parser must not
    /// let a document (`- - - - …` 50,000 times) exhaust the stack. Real documents nest a few levels.
    static let maximumNesting = 32

    init(inline: InlineText, diagnostics: DiagnosticBag) {
        self.inline = inline
        self.tables = TableBuilder(inline: inline, diagnostics: diagnostics)
    }

    var diagnostics: DiagnosticBag { tables.diagnostics }

    /// Link reference definition labels (`[label]: destination`), collected before inline rendering.
    static func linkReferenceLabels(_ lines: [SourceLine]) -> Set<String> {
        var labels = Set<String>()
        for line in lines {
            let content = line.bytes.trimmedLeading
            guard content.first == ASCII.leftBracket, let close = content.firstIndex(of: ASCII.rightBracket), close > content.startIndex + 1,
                  close + 1 < content.endIndex, content[close + 1] == ASCII.colon,
                  !content[(close + 2)...].isBlank else { continue }
            labels.insert(InlineText.normalizedLabel(content[(content.startIndex + 1)..<close]))
        }
        return labels
    }

    static func isLinkReferenceDefinition(_ content: ArraySlice<UInt8>) -> Bool {
        guard content.first == ASCII.leftBracket, let close = content.firstIndex(of: ASCII.rightBracket),
              close > content.startIndex + 1, close + 1 < content.endIndex, content[close + 1] == ASCII.colon else { return false }
        return !content[(close + 2)...].isBlank
    }

    // MARK: - Blocks

    mutating func parseBlocks(_ lines: [ContainerLine]) -> [Block] {
        var blocks: [Block] = []
        var paragraph: [ContainerLine] = []
        var index = 0

        func flush(_ blocks: inout [Block], _ paragraph: inout [ContainerLine], inline: InlineText) {
            guard !paragraph.isEmpty else { return }
            Self.paragraphBlocks(paragraph, inline: inline, into: &blocks)
            paragraph.removeAll()
        }

        while index < lines.count {
            let line = lines[index]
            let (width, firstNonSpace) = line.bytes.indentation
            let content = line.bytes[firstNonSpace...]
            if content.isBlank {
                flush(&blocks, &paragraph, inline: inline)
                index += 1
                continue
            }
            let column = line.column + (firstNonSpace - line.bytes.startIndex)
            if width >= 4 {
                if !paragraph.isEmpty {
                    paragraph.append(line) // indented code cannot interrupt a paragraph
                    index += 1
                    continue
                }
                var code: [TextLine] = []
                while index < lines.count {
                    let codeLine = lines[index]
                    let indent = codeLine.bytes.indentation
                    guard indent.width >= 4 || codeLine.bytes.isBlank else { break }
                    code.append(TextLine(codeLine.bytes[indent.firstNonSpace...].string, line: codeLine.number, column: codeLine.column))
                    index += 1
                }
                while code.last?.text.isEmpty == true { code.removeLast() }
                blocks.append(Block(.other(name: "code", lines: code), line: line.number, column: column))
                continue
            }
            if !paragraph.isEmpty {
                if let level = LineClassifier.setextLevel(content) {
                    let text = paragraph.map { inline.render($0.bytes.trimmed) }.joined(separator: " ")
                    blocks.append(Block(.heading(level: level, text: text), line: paragraph[0].number, column: paragraph[0].column))
                    paragraph.removeAll()
                    index += 1
                    continue
                }
                if let alignments = TableSyntax.delimiterRow(content),
                   TableSyntax.cellCount(paragraph[paragraph.count - 1].bytes) == alignments.count {
                    let header = paragraph.removeLast()
                    let blockLine = paragraph.first?.number ?? header.number
                    flush(&blocks, &paragraph, inline: inline)
                    index += 1
                    let table = tables.parse(header: header, alignments: alignments, lines: lines, index: &index,
                                             blockLine: blockLine, endsAt: Self.startsBlockInTable)
                    blocks.append(table)
                    continue
                }
            }
            if let heading = LineClassifier.atxHeading(content) {
                flush(&blocks, &paragraph, inline: inline)
                blocks.append(Block(.heading(level: heading.level, text: inline.render(heading.text)), line: line.number, column: column))
                index += 1
                continue
            }
            if let fence = LineClassifier.fence(content) {
                flush(&blocks, &paragraph, inline: inline)
                var code: [TextLine] = []
                index += 1
                while index < lines.count {
                    let codeLine = lines[index]
                    let indent = codeLine.bytes.indentation
                    let codeContent = codeLine.bytes[indent.firstNonSpace...]
                    index += 1
                    if indent.width < 4, let closing = LineClassifier.fence(codeContent), closing.character == fence.character,
                       closing.length >= fence.length, codeContent.dropFirst(closing.length).isBlank {
                        break
                    }
                    code.append(TextLine(codeLine.bytes.string, line: codeLine.number, column: codeLine.column))
                }
                blocks.append(Block(.other(name: "code", lines: code), line: line.number, column: column))
                continue
            }
            if LineClassifier.isThematicBreak(content) {
                flush(&blocks, &paragraph, inline: inline)
                index += 1
                continue
            }
            if content.first == ASCII.greater && depth < Self.maximumNesting {
                flush(&blocks, &paragraph, inline: inline)
                var quoted: [ContainerLine] = []
                while index < lines.count {
                    let quoteLine = lines[index]
                    let indent = quoteLine.bytes.indentation
                    let quoteContent = quoteLine.bytes[indent.firstNonSpace...]
                    if quoteContent.first == ASCII.greater {
                        var inner = quoteContent.dropFirst()
                        if let first = inner.first, ASCII.isSpaceOrTab(first) { inner = inner.dropFirst() }
                        quoted.append(ContainerLine(bytes: inner, number: quoteLine.number,
                                                    column: quoteLine.column + (inner.startIndex - quoteLine.bytes.startIndex)))
                    } else if !quoteContent.isBlank, !quoted.isEmpty, !(quoted.last!.bytes.isBlank), !Self.startsBlock(quoteContent) {
                        quoted.append(quoteLine) // lazy continuation
                    } else {
                        break
                    }
                    index += 1
                }
                var nested = self
                nested.depth += 1
                let inner = nested.parseBlocks(quoted)
                tables = nested.tables
                let text = Self.plainLines(inner)
                blocks.append(Block(.other(name: "blockquote", lines: text), line: line.number, column: column))
                continue
            }
            if depth < Self.maximumNesting, let marker = LineClassifier.listMarker(content),
               paragraph.isEmpty || (!marker.empty && { if case .ordered(let start, _) = marker.marker { return start == 1 }; return true }()) {
                flush(&blocks, &paragraph, inline: inline)
                blocks.append(parseList(lines, index: &index))
                continue
            }
            if paragraph.isEmpty && content.first == ASCII.less && content.count > 1
                && (ASCII.isLetter(content[content.startIndex + 1]) || content[content.startIndex + 1] == 0x2F || content[content.startIndex + 1] == 0x21) {
                var html: [TextLine] = []
                while index < lines.count && !lines[index].bytes.isBlank {
                    html.append(TextLine(lines[index].bytes.string, line: lines[index].number, column: lines[index].column))
                    index += 1
                }
                blocks.append(Block(.other(name: "html", lines: html), line: line.number, column: column))
                continue
            }
            if paragraph.isEmpty && Self.isLinkReferenceDefinition(content) {
                index += 1
                continue
            }
            paragraph.append(line)
            index += 1
        }
        flush(&blocks, &paragraph, inline: inline)
        return blocks
    }

    /// Lines that start a block other than a paragraph (and so end a paragraph's lazy continuation).
    static func startsBlock(_ content: ArraySlice<UInt8>) -> Bool {
        if LineClassifier.atxHeading(content) != nil || LineClassifier.fence(content) != nil
            || LineClassifier.isThematicBreak(content) || content.first == ASCII.greater {
            return true
        }
        if let marker = LineClassifier.listMarker(content), !marker.empty { return true }
        return false
    }

    /// What ends a table besides a blank line (cmark-gfm: any line that opens another block).
    static func startsBlockInTable(_ line: ContainerLine) -> Bool {
        let (width, first) = line.bytes.indentation
        if width >= 4 { return true }
        let content = line.bytes[first...]
        if LineClassifier.atxHeading(content) != nil || LineClassifier.fence(content) != nil
            || LineClassifier.isThematicBreak(content) || content.first == ASCII.greater {
            return true
        }
        return LineClassifier.listMarker(content) != nil
    }

    /// A paragraph's lines, with `Label: value` lines split out as labelled blocks.
    static func paragraphBlocks(_ lines: [ContainerLine], inline: InlineText) -> [Block] {
        var blocks: [Block] = []
        paragraphBlocks(lines, inline: inline, into: &blocks)
        return blocks
    }

    /// `blocks.append(contentsOf: paragraphBlocks(lines, inline: inline))`, without the intermediate array.
    static func paragraphBlocks(_ lines: [ContainerLine], inline: InlineText, into blocks: inout [Block]) {
        var run: [TextLine] = []
        for line in lines {
            let first = line.bytes.indentation.firstNonSpace
            let column = line.column + (first - line.bytes.startIndex)
            if let labelled = LineClassifier.labelled(line.bytes) {
                if !run.isEmpty {
                    blocks.append(Block(.paragraph(lines: run), line: run[0].line, column: run[0].column))
                    run.removeAll()
                }
                let valueColumn = line.column + (labelled.value.startIndex - line.bytes.startIndex)
                blocks.append(Block(.labelled(label: inline.render(labelled.label), value: inline.render(labelled.value),
                                              valueColumn: valueColumn), line: line.number, column: column))
            } else {
                run.append(TextLine(inline.render(line.bytes.trimmed), line: line.number, column: column))
            }
        }
        if !run.isEmpty { blocks.append(Block(.paragraph(lines: run), line: run[0].line, column: run[0].column)) }
    }

    /// The text lines of blocks, flattened (for block quotes, which are kept as text).
    static func plainLines(_ blocks: [Block]) -> [TextLine] {
        var lines: [TextLine] = []
        for block in blocks {
            switch block.kind {
            case .heading(_, let text): lines.append(TextLine(text, line: block.line, column: block.column))
            case .paragraph(let text), .other(_, let text): lines.append(contentsOf: text)
            case .labelled(let label, let value, _): lines.append(TextLine("\(label): \(value)", line: block.line, column: block.column))
            case .list(_, let items): for item in items { lines.append(contentsOf: plainLines(item.blocks)) }
            case .table(let table):
                lines.append(TextLine(table.header.map(\.text).joined(separator: " | "), line: table.headerLine))
                for row in table.rows { lines.append(TextLine(row.cells.map(\.text).joined(separator: " | "), line: row.line)) }
            case .frontMatter(let entries): for entry in entries { lines.append(TextLine("\(entry.key): \(entry.value)", line: entry.line)) }
            }
        }
        return lines
    }

    // MARK: - Lists

    private mutating func parseList(_ lines: [ContainerLine], index: inout Int) -> Block {
        let firstLine = lines[index]
        let firstIndent = firstLine.bytes.indentation
        let firstMarker = LineClassifier.listMarker(firstLine.bytes[firstIndent.firstNonSpace...])!
        let ordered: Bool
        if case .ordered = firstMarker.marker { ordered = true } else { ordered = false }
        var items: [ListItem] = []

        func sameKind(_ a: LineClassifier.ListMarker, _ b: LineClassifier.ListMarker) -> Bool {
            switch (a, b) {
            case (.bullet(let x), .bullet(let y)): return x == y
            case (.ordered(_, let x), .ordered(_, let y)): return x == y
            default: return false
            }
        }

        while index < lines.count {
            let line = lines[index]
            let indent = line.bytes.indentation
            guard indent.width < 4 else { break }
            let content = line.bytes[indent.firstNonSpace...]
            guard let marker = LineClassifier.listMarker(content), sameKind(marker.marker, firstMarker.marker),
                  !LineClassifier.isThematicBreak(content) else { break }
            // Content starts after the marker and 1–4 spaces (one space if more, or if the line is empty).
            let afterMarker = content.dropFirst(marker.width)
            let spaces = afterMarker.indentation
            let contentOffset = (marker.empty || spaces.width > 4) ? min(1, afterMarker.count) : (spaces.firstNonSpace - afterMarker.startIndex)
            let contentIndent = indent.width + marker.width + (marker.empty || spaces.width > 4 ? 1 : spaces.width)
            let itemFirst = afterMarker.dropFirst(contentOffset)
            var itemLines = [ContainerLine(bytes: itemFirst, number: line.number,
                                           column: line.column + (itemFirst.startIndex - line.bytes.startIndex))]
            index += 1
            var previousBlank = itemFirst.isBlank
            while index < lines.count {
                let next = lines[index]
                if next.bytes.isBlank {
                    itemLines.append(ContainerLine(bytes: next.bytes[next.bytes.endIndex...], number: next.number, column: next.column))
                    previousBlank = true
                    index += 1
                    continue
                }
                let nextIndent = next.bytes.indentation
                if nextIndent.width >= contentIndent {
                    let stripped = Self.strip(columns: contentIndent, from: next.bytes)
                    itemLines.append(ContainerLine(bytes: stripped, number: next.number,
                                                   column: next.column + (stripped.startIndex - next.bytes.startIndex)))
                    previousBlank = false
                    index += 1
                    continue
                }
                let nextContent = next.bytes[nextIndent.firstNonSpace...]
                if !previousBlank && !Self.startsBlock(nextContent) && LineClassifier.listMarker(nextContent) == nil
                    && !(itemLines.count == 1 && itemFirst.isBlank) {
                    itemLines.append(next) // lazy paragraph continuation
                    index += 1
                    continue
                }
                break
            }
            while let last = itemLines.last, last.bytes.isBlank, itemLines.count > 1 { itemLines.removeLast() }
            depth += 1
            let blocks = parseBlocks(itemLines)
            depth -= 1
            items.append(ListItem(line: line.number, blocks: blocks))
            // Blank lines between items do not end the list.
            var lookahead = index
            while lookahead < lines.count && lines[lookahead].bytes.isBlank { lookahead += 1 }
            if lookahead < lines.count {
                let nextIndent = lines[lookahead].bytes.indentation
                let nextContent = lines[lookahead].bytes[nextIndent.firstNonSpace...]
                if nextIndent.width < 4, let marker = LineClassifier.listMarker(nextContent), sameKind(marker.marker, firstMarker.marker),
                   !LineClassifier.isThematicBreak(nextContent) {
                    index = lookahead
                    continue
                }
            }
            break
        }
        return Block(.list(ordered: ordered, items: items), line: firstLine.number,
                     column: firstLine.column + (firstIndent.firstNonSpace - firstLine.bytes.startIndex))
    }

    /// Removes `columns` columns of indentation (tabs to multiples of 4).
    static func strip(columns: Int, from bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var width = 0
        var index = bytes.startIndex
        while index < bytes.endIndex && width < columns {
            if bytes[index] == ASCII.space { width += 1 } else if bytes[index] == ASCII.tab { width += 4 - width % 4 } else { break }
            index += 1
        }
        return bytes[index...]
    }
}

/// Builds table blocks (both dialects) and reports rows whose cell count differs from the header.
struct TableBuilder {
    var inline: InlineText
    var diagnostics: DiagnosticBag

    /// Parses the rows after a delimiter row. `index` points at the first row candidate and is left
    /// at the first line after the table.
    mutating func parse(header: ContainerLine, alignments: [Table.Alignment], lines: [ContainerLine], index: inout Int,
                        blockLine: Int, endsAt: (ContainerLine) -> Bool) -> Block {
        let width = alignments.count
        let headerRow = TableSyntax.row(header.bytes, lineNumber: header.number, lineColumn: header.column, width: width, inline: inline)!
        var rows: [Table.Row] = []
        rows.reserveCapacity(8)
        while index < lines.count {
            let line = lines[index]
            if line.bytes.isBlank || endsAt(line) { break }
            guard let row = TableSyntax.row(line.bytes, lineNumber: line.number, lineColumn: line.column, width: width, inline: inline) else { break }
            if row.sourceCellCount < width {
                let column = line.column + (line.bytes.trimmed.endIndex - line.bytes.startIndex)
                diagnostics.add(.warning, .tableMissingCells, line: line.number, column: column,
                                "table row has \(row.sourceCellCount) of \(width) cells; the missing cells are read as empty")
            } else if row.sourceCellCount > width {
                diagnostics.add(.warning, .tableExtraCells, line: line.number, column: row.cells.last.map { $0.column } ?? 1,
                                "table row has \(row.sourceCellCount) cells but the header has \(width); the extra cells are dropped")
            }
            rows.append(row)
            index += 1
        }
        let table = Table(header: headerRow.cells, alignments: alignments, rows: rows, headerLine: header.number)
        let firstNonSpace = header.bytes.indentation.firstNonSpace
        return Block(.table(table), line: blockLine, column: header.column + (firstNonSpace - header.bytes.startIndex))
    }
}

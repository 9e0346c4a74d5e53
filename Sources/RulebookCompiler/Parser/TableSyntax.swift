/// GitHub Flavored Markdown table rows: splitting a line into cells and recognising the
/// delimiter row, following cmark-gfm's table extension.
enum TableSyntax {
    /// A raw cell: its bytes (untrimmed, escapes untouched) and where it starts in the line.
    struct RawCell {
        var bytes: ArraySlice<UInt8>
    }

    /// Splits a row on unescaped pipes. A leading pipe and a trailing pipe are optional;
    /// whitespace after the last pipe is not a cell. Returns no cells for a line that is only a pipe.
    static func splitRow(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        let content = line.trimmed
        var cells: [ArraySlice<UInt8>] = []
        var index = content.startIndex
        if index < content.endIndex && content[index] == ASCII.pipe { index += 1 }
        var cellStart = index
        var afterPipe = index > content.startIndex
        while index < content.endIndex {
            let byte = content[index]
            if byte == ASCII.backslash && index + 1 < content.endIndex && content[index + 1] == ASCII.pipe {
                index += 2
                continue
            }
            if byte == ASCII.pipe {
                cells.append(content[cellStart..<index])
                index += 1
                cellStart = index
                afterPipe = true
                continue
            }
            index += 1
        }
        let rest = content[cellStart..<content.endIndex]
        if !rest.isBlank || (!afterPipe && cellStart < content.endIndex) {
            cells.append(rest)
        }
        return cells
    }

    /// Parses a delimiter row (`| --- | :-: |`) into alignments, or nil when the line is not one.
    static func delimiterRow(_ line: ArraySlice<UInt8>) -> [Table.Alignment]? {
        let trimmed = line.trimmed
        guard !trimmed.isEmpty else { return nil }
        // Fast reject: only pipes, dashes, colons and spaces may appear.
        for byte in trimmed where !(byte == ASCII.pipe || byte == ASCII.dash || byte == ASCII.colon || ASCII.isWhitespace(byte)) {
            return nil
        }
        let cells = splitRow(trimmed)
        guard !cells.isEmpty else { return nil }
        var alignments: [Table.Alignment] = []
        alignments.reserveCapacity(cells.count)
        for cell in cells {
            let marker = cell.trimmed
            guard !marker.isEmpty else { return nil }
            let left = marker.first == ASCII.colon
            let right = marker.count > 1 && marker.last == ASCII.colon
            let dashes = marker.dropFirst(left ? 1 : 0).dropLast(right ? 1 : 0)
            guard !dashes.isEmpty, dashes.allSatisfy({ $0 == ASCII.dash }) else { return nil }
            alignments.append(left && right ? .center : left ? .left : right ? .right : .none)
        }
        return alignments
    }

    /// Cell text as GitHub shows it: trimmed, `\|` read as `|`, inline syntax rendered.
    static func cellText(_ raw: ArraySlice<UInt8>, inline: InlineText) -> String {
        let trimmed = raw.trimmed
        guard trimmed.contains(ASCII.backslash) else { return inline.render(trimmed) }
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(trimmed.count)
        var index = trimmed.startIndex
        while index < trimmed.endIndex {
            if trimmed[index] == ASCII.backslash && index + 1 < trimmed.endIndex && trimmed[index + 1] == ASCII.pipe {
                unescaped.append(ASCII.pipe)
                index += 2
            } else {
                unescaped.append(trimmed[index])
                index += 1
            }
        }
        return inline.render(unescaped[...])
    }

    /// 1-based column of a cell's first non-space byte within its line.
    static func column(of cell: ArraySlice<UInt8>, in line: ArraySlice<UInt8>, lineColumn: Int) -> Int {
        let start = cell.trimmed.startIndex
        return lineColumn + (start - line.startIndex)
    }

    /// Builds a row with exactly `width` cells: missing cells padded empty, excess dropped.
    static func row(_ line: ArraySlice<UInt8>, lineNumber: Int, lineColumn: Int, width: Int, inline: InlineText) -> Table.Row? {
        let raw = splitRow(line)
        guard !raw.isEmpty else { return nil }
        var cells: [Table.Cell] = []
        cells.reserveCapacity(width)
        for cell in raw.prefix(width) {
            cells.append(Table.Cell(cellText(cell, inline: inline), column: column(of: cell, in: line, lineColumn: lineColumn)))
        }
        let endColumn = lineColumn + line.count
        while cells.count < width { cells.append(Table.Cell("", column: endColumn)) }
        return Table.Row(cells: cells, sourceCellCount: raw.count, line: lineNumber)
    }
}

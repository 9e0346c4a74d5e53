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
        var cells: [ArraySlice<UInt8>] = []
        forEachCell(line) { start, end in cells.append(line[start..<end]) }
        return cells
    }

    /// `splitRow(line).count`, without building the cells.
    static func cellCount(_ line: ArraySlice<UInt8>) -> Int {
        forEachCell(line) { _, _ in }
    }

    /// Calls `body` with the bounds (indices of `line`) of each cell `splitRow` finds, in order; returns their number.
    @discardableResult @inline(__always)
    static func forEachCell(_ line: ArraySlice<UInt8>, _ body: (Int, Int) -> Void) -> Int {
        var lower = line.startIndex, upper = line.endIndex
        while lower < upper && ASCII.isWhitespace(line[lower]) { lower += 1 }
        while upper > lower && ASCII.isWhitespace(line[upper - 1]) { upper -= 1 }
        return line.withUnsafeBufferPointer { buffer -> Int in
            // Offsets in `buffer` are indices of `line` minus `shift`.
            let shift = line.startIndex
            let contentStart = lower - shift, contentEnd = upper - shift
            var count = 0
            var index = contentStart
            if index < contentEnd && buffer[index] == ASCII.pipe { index += 1 }
            var cellStart = index
            var afterPipe = index > contentStart
            let base = buffer.baseAddress
            let low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
            @inline(__always) func zeroBytes(_ word: UInt64) -> UInt64 { ~(((word & low) &+ low) | word | low) } // 0x80 where a byte is 0
            while index < contentEnd {
                // Skip to the next pipe or backslash, eight bytes at a time.
                if index + 8 <= contentEnd, let base {
                    let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                    let found = zeroBytes(word ^ 0x7C7C_7C7C_7C7C_7C7C) | zeroBytes(word ^ 0x5C5C_5C5C_5C5C_5C5C)
                    if found == 0 {
                        index += 8
                        continue
                    }
                    index += found.trailingZeroBitCount >> 3
                }
                let byte = buffer[index]
                if byte == ASCII.backslash && index + 1 < contentEnd && buffer[index + 1] == ASCII.pipe {
                    index += 2
                    continue
                }
                if byte == ASCII.pipe {
                    body(cellStart + shift, index + shift)
                    count += 1
                    index += 1
                    cellStart = index
                    afterPipe = true
                    continue
                }
                index += 1
            }
            var restBlank = true
            for offset in cellStart..<contentEnd where !ASCII.isWhitespace(buffer[offset]) { restBlank = false; break }
            if !restBlank || (!afterPipe && cellStart < contentEnd) {
                body(cellStart + shift, contentEnd + shift)
                count += 1
            }
            return count
        }
    }

    /// Parses a delimiter row (`| --- | :-: |`) into alignments, or nil when the line is not one.
    static func delimiterRow(_ line: ArraySlice<UInt8>) -> [Table.Alignment]? {
        let trimmed = line.trimmed
        guard !trimmed.isEmpty else { return nil }
        // Fast reject: only pipes, dashes, colons and spaces may appear.
        for byte in trimmed where !(byte == ASCII.pipe || byte == ASCII.dash || byte == ASCII.colon || ASCII.isWhitespace(byte)) {
            return nil
        }
        var alignments: [Table.Alignment] = []
        var valid = true
        forEachCell(trimmed) { start, end in
            guard valid else { return }
            let marker = trimmed[start..<end].trimmed
            guard !marker.isEmpty else { valid = false; return }
            let left = marker.first == ASCII.colon
            let right = marker.count > 1 && marker.last == ASCII.colon
            let dashes = marker.dropFirst(left ? 1 : 0).dropLast(right ? 1 : 0)
            guard !dashes.isEmpty, dashes.allSatisfy({ $0 == ASCII.dash }) else { valid = false; return }
            alignments.append(left && right ? .center : left ? .left : right ? .right : .none)
        }
        guard valid, !alignments.isEmpty else { return nil }
        return alignments
    }

    /// Cell text as GitHub shows it: trimmed, `\|` read as `|`, inline syntax rendered.
    static func cellText(_ raw: ArraySlice<UInt8>, inline: InlineText) -> String {
        cellText(trimmed: raw.trimmed, inline: inline)
    }

    /// `cellText` of a cell already trimmed.
    static func cellText(trimmed: ArraySlice<UInt8>, inline: InlineText) -> String {
        // Without inline syntax (a backslash included) the cell is its own text.
        guard trimmed.contains(where: InlineText.isSpecial) else { return String(decoding: trimmed, as: UTF8.self) }
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
        var cells: [Table.Cell] = []
        cells.reserveCapacity(width)
        let count = forEachCell(line) { start, end in
            guard cells.count < width else { return }
            let trimmed = line[start..<end].trimmed
            cells.append(Table.Cell(cellText(trimmed: trimmed, inline: inline), column: lineColumn + (trimmed.startIndex - line.startIndex)))
        }
        guard count > 0 else { return nil }
        let endColumn = lineColumn + line.count
        while cells.count < width { cells.append(Table.Cell("", column: endColumn)) }
        return Table.Row(cells: cells, sourceCellCount: count, line: lineNumber)
    }
}

/// Text scraped from a web page (like the project's first seed): every line is a block.
/// Headings are bare short lines without final punctuation; a bullet may be a lone `-` line
/// followed by its text; `Label: value` lines; GFM pipe tables. Text is taken as written
/// (no markdown inline syntax), except table cells, which follow GFM in both dialects.
struct ScrapedTextParser {
    var tables: TableBuilder

    init(inline: InlineText, diagnostics: DiagnosticBag) {
        tables = TableBuilder(inline: inline, diagnostics: diagnostics)
    }

    var diagnostics: DiagnosticBag { tables.diagnostics }

    /// Section names that scraped pages use as headings (compared case-insensitively by keyword).
    static let sectionKeywords = StatementClassifier.phraseSet([
        "summary", "overview", "specification", "context", "consideration", "payer", "policy", "policies", "example",
        "benchmark", "documentation", "reference", "coding", "billing", "modifier", "update", "requirement", "guideline",
        "coverage", "authorization"])

    mutating func parse(_ lines: [ContainerLine]) -> [Block] {
        var blocks: [Block] = []
        var index = 0
        var inPayerSection = false
        var pendingList: [ListItem] = []
        var pendingListLine = 0

        func flushList(_ blocks: inout [Block]) {
            guard !pendingList.isEmpty else { return }
            blocks.append(Block(.list(ordered: false, items: pendingList), line: pendingListLine))
            pendingList.removeAll()
        }

        while index < lines.count {
            let line = lines[index]
            let content = line.bytes.trimmed
            if content.isEmpty {
                index += 1
                continue
            }
            let column = line.column + (content.startIndex - line.bytes.startIndex)

            // Table: a header line followed by a delimiter row with as many cells.
            if index + 1 < lines.count, let alignments = TableSyntax.delimiterRow(lines[index + 1].bytes),
               content.contains(ASCII.pipe) || lines[index + 1].bytes.contains(ASCII.pipe),
               TableSyntax.cellCount(content) == alignments.count {
                flushList(&blocks)
                index += 2
                let table = tables.parse(header: line, alignments: alignments, lines: lines, index: &index,
                                         blockLine: line.number, endsAt: { Self.endsTable($0) })
                blocks.append(table)
                continue
            }

            // Bullets: a lone marker line followed by its text, or a marker and text on one line.
            if Self.isLoneBullet(content) {
                var next = index + 1
                while next < lines.count && lines[next].bytes.isBlank { next += 1 }
                if next < lines.count, !Self.isLoneBullet(lines[next].bytes.trimmed) {
                    if pendingList.isEmpty { pendingListLine = line.number }
                    pendingList.append(ListItem(line: line.number, blocks: [Self.textBlock(lines[next])]))
                    index = next + 1
                } else {
                    index += 1
                }
                continue
            }
            if let marker = LineClassifier.listMarker(content), !marker.empty {
                let text = content.dropFirst(marker.width).trimmed
                let itemLine = ContainerLine(bytes: text, number: line.number, column: line.column + (text.startIndex - line.bytes.startIndex))
                if pendingList.isEmpty { pendingListLine = line.number }
                pendingList.append(ListItem(line: line.number, blocks: [Self.textBlock(itemLine)]))
                index += 1
                continue
            }
            flushList(&blocks)

            if LineClassifier.isTitle(content) {
                blocks.append(Block(.heading(level: 1, text: Self.collapse(bytes: content)), line: line.number, column: column))
                inPayerSection = false
            } else if let labelled = LineClassifier.labelled(content) {
                blocks.append(Self.labelledBlock(labelled, line: line, content: content))
            } else if Self.isHeading(content) {
                let text = Self.collapse(bytes: content)
                let isSection = Self.isSectionName(text)
                let level = (inPayerSection && !isSection) ? 3 : 2
                if level == 2 { inPayerSection = Self.mentionsPayer(text) }
                blocks.append(Block(.heading(level: level, text: text), line: line.number, column: column))
            } else {
                blocks.append(Self.paragraphBlock(line, content: content)) // not labelled: checked above
            }
            index += 1
        }
        flushList(&blocks)
        return blocks
    }

    /// A labelled block or a one-line paragraph.
    static func textBlock(_ line: ContainerLine) -> Block {
        let content = line.bytes.trimmed
        let column = line.column + (content.startIndex - line.bytes.startIndex)
        if let labelled = LineClassifier.labelled(content) { return labelledBlock(labelled, line: line, content: content) }
        return Block(.paragraph(lines: [TextLine(collapse(bytes: content), line: line.number, column: column)]),
                     line: line.number, column: column)
    }

    /// The one-line paragraph of a line that is not labelled (`content`: the line's bytes trimmed).
    static func paragraphBlock(_ line: ContainerLine, content: ArraySlice<UInt8>) -> Block {
        let column = line.column + (content.startIndex - line.bytes.startIndex)
        return Block(.paragraph(lines: [TextLine(collapse(bytes: content), line: line.number, column: column)]),
                     line: line.number, column: column)
    }

    /// The block of a `Label: value` line (`content`: the line's bytes trimmed).
    static func labelledBlock(_ labelled: (label: ArraySlice<UInt8>, value: ArraySlice<UInt8>), line: ContainerLine,
                              content: ArraySlice<UInt8>) -> Block {
        let column = line.column + (content.startIndex - line.bytes.startIndex)
        let valueColumn = line.column + (labelled.value.startIndex - line.bytes.startIndex)
        return Block(.labelled(label: collapse(stripEmphasis(labelled.label.string)), value: collapse(bytes: labelled.value),
                               valueColumn: valueColumn), line: line.number, column: column)
    }

    static func isLoneBullet(_ content: ArraySlice<UInt8>) -> Bool {
        switch content.count {
        case 1:
            let first = content[content.startIndex]
            return first == ASCII.dash || first == ASCII.star || first == ASCII.plus
        case 2: // ·
            return content[content.startIndex] == 0xC2 && content[content.startIndex + 1] == 0xB7
        case 3: // • (E2 80 A2) or – (E2 80 93)
            let start = content.startIndex
            return content[start] == 0xE2 && content[start + 1] == 0x80 && (content[start + 2] == 0xA2 || content[start + 2] == 0x93)
        default:
            return false
        }
    }

    static func endsTable(_ line: ContainerLine) -> Bool {
        let content = line.bytes.trimmed
        if content.contains(ASCII.pipe) { return false }
        return content.first == ASCII.greater || isLoneBullet(content) || LineClassifier.isTitle(content) || isHeading(content)
            || LineClassifier.listMarker(content) != nil || LineClassifier.labelled(content) != nil
    }

    /// `text.lowercased().contains("payer")`, on bytes for ASCII text.
    static func mentionsPayer(_ text: String) -> Bool {
        var text = text
        let ascii: Bool? = text.withUTF8 { bytes in
            var sawNonASCII = false
            for byte in bytes where byte >= 0x80 || byte < 0x20 { sawNonASCII = true; break }
            if sawNonASCII { return nil }
            let count = bytes.count
            guard count >= 5 else { return false }
            for start in 0...(count - 5) where bytes[start] | 0x20 == 0x70 /* p */ {
                if bytes[start + 1] | 0x20 == 0x61, bytes[start + 2] | 0x20 == 0x79, bytes[start + 3] | 0x20 == 0x65,
                   bytes[start + 4] | 0x20 == 0x72 { return true }
            }
            return false
        }
        return ascii ?? text.lowercased().contains("payer")
    }

    static func isSectionName(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { input in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(input.count, 1)) { output in
                let (start, end) = StatementClassifier.normalize(input, into: output.baseAddress!)
                return sectionKeywords.occurs(in: UnsafeBufferPointer(rebasing: output[start..<end]), wholeWord: false)
            }
        }
    }

    /// A bare heading line: short, starts with a capital, no final punctuation, mostly capitalised words.
    static func isHeading(_ content: ArraySlice<UInt8>) -> Bool {
        guard content.count <= 80, let first = content.first, ASCII.isUpper(first) || first >= 0xC0 else { return false }
        guard let last = content.last, !(last == ASCII.dot || last == 0x2C || last == 0x3B || last == ASCII.colon
                                          || last == 0x21 || last == 0x3F || last == ASCII.pipe) else { return false }
        if content.contains(ASCII.pipe) { return false }
        // Words: runs of bytes between spaces and tabs (at most 8).
        var words = 0
        var significant = 0
        var capitalised = 0
        var index = content.startIndex
        while index < content.endIndex {
            while index < content.endIndex && ASCII.isSpaceOrTab(content[index]) { index += 1 }
            guard index < content.endIndex else { break }
            let start = index
            while index < content.endIndex && !ASCII.isSpaceOrTab(content[index]) { index += 1 }
            words += 1
            if words > 8 { return false }
            let word = content[start..<index]
            if word.count <= 4, smallWords.contains(where: { $0.elementsEqual(word) }) { continue }
            significant += 1
            let initial = content[start]
            if ASCII.isUpper(initial) || ASCII.isDigit(initial) || initial >= 0xC0 { capitalised += 1 }
        }
        return significant > 0 && capitalised * 10 >= significant * 7
    }

    private static let smallWords = StatementClassifier.phrases(["and", "or", "of", "the", "for", "to", "in", "a", "an",
                                                                 "with", "on", "by", "&", "at", "vs"])

    static func stripEmphasis(_ text: String) -> String {
        var result = text
        while result.hasPrefix("**") || result.hasPrefix("__") { result.removeFirst(2) }
        while result.hasSuffix("**") || result.hasSuffix("__") { result.removeLast(2) }
        return result
    }

    /// Tabs and runs of spaces read as one space.
    static func collapse(_ text: String) -> String {
        var copy = text
        guard copy.withUTF8({ needsCollapse($0) }) else { return text }
        return copy.withUTF8 { collapseSlow(text, $0) }
    }

    /// `collapse(bytes.string)`, without building the string twice.
    static func collapse(bytes: ArraySlice<UInt8>) -> String {
        bytes.withUnsafeBufferPointer { buffer in
            let text = String(decoding: buffer, as: UTF8.self)
            return needsCollapse(buffer) ? collapseSlow(text, buffer) : text
        }
    }

    /// Whether the bytes hold a tab or two spaces in a row (eight bytes at a time).
    private static func needsCollapse(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return false }
        let low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        @inline(__always) func zeroBytes(_ word: UInt64) -> UInt64 { ~(((word & low) &+ low) | word | low) } // 0x80 where a byte is 0
        var previousSpace = false
        var index = 0
        while index + 8 <= count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            if zeroBytes(word ^ 0x0909_0909_0909_0909) != 0 { return true }
            let spaces = zeroBytes(word ^ 0x2020_2020_2020_2020)
            if spaces & (spaces << 8) != 0 || (previousSpace && spaces & 0x80 != 0) { return true }
            previousSpace = spaces >> 63 != 0
            index += 8
        }
        while index < count {
            let byte = base[index]
            if byte == ASCII.tab || (byte == ASCII.space && previousSpace) { return true }
            previousSpace = byte == ASCII.space
            index += 1
        }
        return false
    }

    /// Splits on space and tab characters, drops empty pieces, joins with one space. Text whose characters are
    /// single bytes or lone punctuation scalars is done on bytes (the same result); other text by characters.
    private static func collapseSlow(_ text: String, _ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard TextSearch.isSimple(bytes) else {
            return text.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        }
        return String(unsafeUninitializedCapacity: bytes.count) { output in
            var written = 0
            var pendingSpace = false
            for byte in bytes {
                if byte == ASCII.space || byte == ASCII.tab {
                    pendingSpace = written > 0
                    continue
                }
                if pendingSpace { output[written] = ASCII.space; written += 1; pendingSpace = false }
                output[written] = byte
                written += 1
            }
            return written
        }
    }
}

import Rulebook

/// Text → block tree with source locations, in either dialect.
public enum DocumentParser {
    /// Parses one document. Returns nil (with an error diagnostic) when the file is empty or
    /// not valid UTF-8; never crashes, whatever the bytes.
    public static func parse(bytes: [UInt8], path: String) -> (document: ParsedDocument?, diagnostics: [Diagnostic]) {
        var diagnostics = DiagnosticBag(path: path)
        if let offset = SourceText.firstInvalidUTF8Offset(bytes) {
            let (line, column) = position(ofByte: offset, in: bytes)
            diagnostics.add(.error, .fileInvalidUTF8, line: line, column: column,
                            "file is not valid UTF-8: invalid byte 0x\(String(bytes[offset], radix: 16, uppercase: true)) at byte offset \(offset); the file is skipped")
            return (nil, diagnostics.items)
        }
        let (_, lines) = SourceText.lines(bytes)
        if lines.allSatisfy({ $0.bytes.isBlank }) {
            diagnostics.add(.error, .fileEmpty, line: 1, column: 1, "file is empty")
            return (nil, diagnostics.items)
        }
        let dialect = detectDialect(lines, path: path)
        var containerLines = lines.map { ContainerLine(bytes: $0.bytes, number: $0.number, column: 1) }
        var blocks: [Block] = []
        switch dialect {
        case .markdown:
            if let (frontMatter, consumed) = frontMatter(lines, diagnostics: &diagnostics) {
                blocks.append(frontMatter)
                containerLines.removeFirst(consumed)
            }
            var parser = MarkdownBlockParser(inline: InlineText(linkReferences: MarkdownBlockParser.linkReferenceLabels(lines)),
                                             diagnostics: diagnostics)
            blocks += parser.parseBlocks(containerLines)
            diagnostics = parser.diagnostics
        case .scrapedText:
            var parser = ScrapedTextParser(inline: InlineText(linkReferences: MarkdownBlockParser.linkReferenceLabels(lines)),
                                           diagnostics: diagnostics)
            blocks = parser.parse(containerLines)
            diagnostics = parser.diagnostics
        }
        return (ParsedDocument(path: path, dialect: dialect, blocks: blocks), diagnostics.items)
    }

    /// Chooses the dialect from the content; the file extension only breaks ties.
    static func detectDialect(_ lines: [SourceLine], path: String) -> Dialect {
        var markdownSignals = 0
        var scrapedSignals = 0
        if let first = lines.first, first.bytes.trimmed.elementsEqual("---".utf8) { markdownSignals += 2 }
        for (offset, line) in lines.enumerated() {
            let indent = line.bytes.indentation
            let content = line.bytes[indent.firstNonSpace...]
            guard let firstByte = content.first else { continue }
            if indent.width < 4 && firstByte == ASCII.hash, LineClassifier.atxHeading(content) != nil {
                markdownSignals += 1
            } else if firstByte == ASCII.equals, LineClassifier.setextLevel(content) == 1 {
                markdownSignals += 1
            } else if content.hasPrefix("**") || content.hasPrefix("- **") || content.hasPrefix("* **") {
                markdownSignals += 1
            } else if firstByte == ASCII.dash || firstByte == ASCII.star || firstByte == ASCII.plus || firstByte == 0xC2 || firstByte == 0xE2
                        || ASCII.isWhitespace(firstByte), // (a lone bullet starts so, after white space `trimmed` removes)
                      ScrapedTextParser.isLoneBullet(content.trimmed), offset + 1 < lines.count,
                      !lines[offset + 1].bytes.isBlank, !ScrapedTextParser.isLoneBullet(lines[offset + 1].bytes.trimmed),
                      offset > 0, !lines[offset - 1].bytes.isBlank {
                scrapedSignals += 2 // `text\n-\ntext`: a setext heading in markdown, a bullet in scraped pages
            }
        }
        if markdownSignals > scrapedSignals { return .markdown }
        if scrapedSignals > markdownSignals { return .scrapedText }
        return path.lowercased().hasSuffix(".txt") ? .scrapedText : .markdown
    }

    /// `---` / `key: value` lines / `---` (or `...`) at the top of a markdown document.
    static func frontMatter(_ lines: [SourceLine], diagnostics: inout DiagnosticBag) -> (Block, Int)? {
        guard let first = lines.first, first.bytes.trimmed.elementsEqual("---".utf8) else { return nil }
        var closing: Int?
        for index in 1..<min(lines.count, 200) {
            let trimmed = lines[index].bytes.trimmed
            if trimmed.elementsEqual("---".utf8) || trimmed.elementsEqual("...".utf8) {
                closing = index
                break
            }
        }
        guard let closing else { return nil }
        var entries: [FrontMatterEntry] = []
        for line in lines[1..<closing] {
            let content = line.bytes.trimmed
            if content.isEmpty || content.first == ASCII.hash { continue }
            guard let colon = content.firstIndex(of: ASCII.colon), colon > content.startIndex else {
                diagnostics.add(.warning, .frontMatterInvalid, line: line.number, column: 1,
                                "front-matter line is not of the form 'key: value'")
                continue
            }
            let key = content[content.startIndex..<colon].trimmed.string
            var value = content[(colon + 1)...].trimmed.string
            if value.count >= 2, (value.hasPrefix("\"") && value.hasSuffix("\"")) || (value.hasPrefix("'") && value.hasSuffix("'")) {
                value = String(value.dropFirst().dropLast())
            }
            entries.append(FrontMatterEntry(key: key, value: value, line: line.number))
        }
        return (Block(.frontMatter(entries: entries), line: 1), closing + 1)
    }

    /// 1-based line and column of a byte offset.
    static func position(ofByte offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        var index = 0
        while index < offset {
            if bytes[index] == 0x0A || (bytes[index] == 0x0D && (index + 1 >= bytes.count || bytes[index + 1] != 0x0A)) {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        return (line, offset - lineStart + 1)
    }
}

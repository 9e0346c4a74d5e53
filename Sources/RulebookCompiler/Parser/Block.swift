/// The block tree the parser builds from a document. Text is already stripped of
/// markdown inline syntax (emphasis, code backticks, escapes, link targets).
public struct Block: Sendable, Hashable {
    public indirect enum Kind: Sendable, Hashable {
        /// ATX or setext heading in markdown; a bare title line in scraped text.
        case heading(level: Int, text: String)
        /// One or more lines of running text.
        case paragraph(lines: [TextLine])
        /// `-`/`*`/`+`/`1.` list; in scraped text also a lone `-` line followed by its text.
        case list(ordered: Bool, items: [ListItem])
        case table(Table)
        /// `Label: value` (or `**Label:** value`) on its own line.
        case labelled(label: String, value: String, valueColumn: Int)
        /// `---` / `key: value` lines / `---` at the top of a markdown document.
        case frontMatter(entries: [FrontMatterEntry])
        /// Fenced or indented code, HTML blocks, block quotes: kept as text, not interpreted.
        case other(name: String, lines: [TextLine])
    }

    public var kind: Kind
    /// 1-based first source line.
    public var line: Int
    /// 1-based column of the first character.
    public var column: Int

    public init(_ kind: Kind, line: Int, column: Int = 1) {
        self.kind = kind
        self.line = line
        self.column = column
    }
}

/// A line of text with its position in the source.
public struct TextLine: Sendable, Hashable {
    public var text: String
    public var line: Int
    public var column: Int

    public init(_ text: String, line: Int, column: Int = 1) {
        self.text = text
        self.line = line
        self.column = column
    }
}

public struct ListItem: Sendable, Hashable {
    public var line: Int
    public var blocks: [Block]

    public init(line: Int, blocks: [Block]) {
        self.line = line
        self.blocks = blocks
    }
}

public struct FrontMatterEntry: Sendable, Hashable {
    public var key: String
    public var value: String
    public var line: Int

    public init(key: String, value: String, line: Int) {
        self.key = key
        self.value = value
        self.line = line
    }
}

/// A GitHub Flavored Markdown table.
public struct Table: Sendable, Hashable {
    public enum Alignment: String, Sendable, Hashable { case none, left, center, right }

    public struct Cell: Sendable, Hashable {
        public var text: String
        /// 1-based column of the cell's first character (of the row start for padded cells).
        public var column: Int
        public init(_ text: String, column: Int) {
            self.text = text
            self.column = column
        }
    }

    public struct Row: Sendable, Hashable {
        /// Exactly as many cells as the header: padded empty or cut, as GitHub does.
        public var cells: [Cell]
        /// How many cells the source line really had, before padding or cutting.
        public var sourceCellCount: Int
        public var line: Int
        public init(cells: [Cell], sourceCellCount: Int, line: Int) {
            self.cells = cells
            self.sourceCellCount = sourceCellCount
            self.line = line
        }
    }

    public var header: [Cell]
    public var alignments: [Alignment]
    public var rows: [Row]
    /// The line of the header row (the block's `line` follows cmark-gfm, which reports
    /// the start of a paragraph the header row ended).
    public var headerLine: Int

    public init(header: [Cell], alignments: [Alignment], rows: [Row], headerLine: Int) {
        self.header = header
        self.alignments = alignments
        self.rows = rows
        self.headerLine = headerLine
    }
}

/// Which syntax a document is written in; chosen from its content.
public enum Dialect: String, Sendable, Hashable, Codable {
    /// GitHub Flavored Markdown.
    case markdown
    /// Text scraped from a web page: bare heading lines, lone `-` bullets, pipe tables.
    case scrapedText
}

/// A parsed document.
public struct ParsedDocument: Sendable {
    public var path: String
    public var dialect: Dialect
    public var blocks: [Block]

    public init(path: String, dialect: Dialect, blocks: [Block]) {
        self.path = path
        self.dialect = dialect
        self.blocks = blocks
    }
}

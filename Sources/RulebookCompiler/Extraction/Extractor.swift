import Foundation
import Rulebook

/// Options that change what extraction accepts (from `rulebook.json`).
public struct ExtractionOptions: Sendable {
    public var payers: PayerDirectory
    public init(payers: PayerDirectory = PayerDirectory()) {
        self.payers = payers
    }
}

/// Blocks → typed model + diagnostics. One document yields one code record.
public enum Extractor {
    public static func extract(_ document: ParsedDocument, options: ExtractionOptions = ExtractionOptions())
        -> (record: CodeRecord?, diagnostics: [Diagnostic]) {
        var extraction = DocumentExtraction(document: document, options: options)
        extraction.run()
        return (extraction.record, extraction.diagnostics.items)
    }
}

/// What one statement in a document says about one payer, before statements are merged.
struct PayerStatement {
    var payer: String
    var name: String
    var priorAuthorization: PriorAuthorization
    var coverage: Coverage
    var notes: String
    var source: SourceLocation
}

/// The state of extracting one document: a walk over its blocks with the heading path.
struct DocumentExtraction {
    let document: ParsedDocument
    let options: ExtractionOptions
    var diagnostics: DiagnosticBag
    var record: CodeRecord?

    // What has been found so far.
    private var identity: (system: CodeSystem, code: String, title: String, line: Int)?
    private var frontMatter: [String: FrontMatterEntry] = [:]
    private var summary: [String] = []
    private var summaryLines: [TextLine] = []
    private var serviceType = ""
    private var sites: [String] = []
    private var effective: String?
    private var modifiers: [Modifier] = []
    private var modifierLines: [String: Int] = [:]
    private var statements: [PayerStatement] = []
    private var updates: [PolicyUpdate] = []
    private var examples: [ClaimExample] = []
    private var sections: [SectionText] = []
    private var reportedUnknownPayers = Set<String>()
    private var sawDocumentTitle = false

    /// Heading path above the current block (the document's title heading excluded).
    /// Each heading with its normalised text and the roles of the path down to it.
    private var headings: [(level: Int, text: String, roles: SectionRoles)] = []
    /// `headings.map(\.text)`, kept up to date by `headingsChanged`.
    private var sectionPath: [String] = []
    /// The payer heading being read (form b), with its statement index.
    private var payerHeading: (level: Int, statement: Int)?

    init(document: ParsedDocument, options: ExtractionOptions) {
        self.document = document
        self.options = options
        self.diagnostics = DiagnosticBag(path: document.path)
    }

    // MARK: - Walk

    mutating func run() {
        for block in document.blocks { visit(block) }
        finish()
    }

    private func location(_ line: Int) -> SourceLocation { SourceLocation(path: document.path, line: line, section: sectionPath) }

    /// What kind of section the heading path is; recomputed when the path changes (not per line).
    private struct SectionRoles {
        var payer = false, updates = false, examples = false, summary = false
    }
    private var roles = SectionRoles()

    private static let payerKeywords = StatementClassifier.phraseSet(["payer"])
    private static let updateKeywords = StatementClassifier.phraseSet(["update", "policy changes", "revision history", "recent changes"])
    private static let exampleKeywords = StatementClassifier.phraseSet(["example"])

    private static let summaryWord = Array("summary".utf8)
    /// `payerKeywords`, `updateKeywords`, `exampleKeywords` and `ScrapedTextParser.sectionKeywords` (bits 1, 2, 4, 8) in one pass.
    private static let headingKeywords = PhraseMatcher([(payerKeywords.phrases, false), (updateKeywords.phrases, false),
                                                        (exampleKeywords.phrases, false),
                                                        (ScrapedTextParser.sectionKeywords.phrases, false)])

    private mutating func headingsChanged() {
        roles = headings.last?.roles ?? SectionRoles()
        sectionPath = headings.map(\.text)
    }

    /// Appends a heading below the current path, with its roles: those of its parent and its own words.
    /// Returns whether the heading names a kind of section (`ScrapedTextParser.sectionKeywords`).
    @discardableResult
    private mutating func pushHeading(level: Int, text: String) -> Bool {
        var roles = headings.last?.roles ?? SectionRoles()
        let isFirst = headings.isEmpty
        var copy = text
        let (found, summary) = copy.withUTF8 { input in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(input.count, 1)) { output -> (UInt32, Bool) in
                let (start, end) = StatementClassifier.normalize(input, into: output.baseAddress!)
                let lower = UnsafeBufferPointer(rebasing: output[start..<end])
                let found = Self.headingKeywords.matches(in: lower)
                guard isFirst else { return (found, false) }
                let summary = Self.summaryWord.withUnsafeBufferPointer { TextSearch.firstOffset(of: $0, in: lower) != nil }
                    || lower.elementsEqual("overview".utf8) || lower.elementsEqual("introduction".utf8)
                return (found, summary)
            }
        }
        roles.payer = roles.payer || found & 1 != 0
        roles.updates = roles.updates || found & 2 != 0
        roles.examples = roles.examples || found & 4 != 0
        if isFirst { roles.summary = summary }
        headings.append((level, text, roles))
        headingsChanged()
        return found & 8 != 0
    }

    private var inPayerSection: Bool { roles.payer }
    private var inUpdatesSection: Bool { roles.updates }
    private var inExamplesSection: Bool { roles.examples }
    private var inSummarySection: Bool { headings.isEmpty ? identity != nil : roles.summary }

    private mutating func visit(_ block: Block) {
        diagnosticsLine = block.line
        switch block.kind {
        case .frontMatter(let entries):
            readFrontMatter(entries)
        case .heading(let level, let text):
            // The document's title heading (a code title line, or the first level-1 heading) is not a section.
            let titleLine = identity == nil || (level == 1 && !sawDocumentTitle) ? TitleLine.parse(text) : nil
            if (identity == nil && titleLine != nil) || (level == 1 && !sawDocumentTitle) {
                sawDocumentTitle = sawDocumentTitle || level == 1
                if let titleLine { setIdentity(titleLine, line: block.line, column: block.column) }
                headings.removeAll()
                headingsChanged()
                payerHeading = nil
                return
            }
            while let last = headings.last, last.level >= level { headings.removeLast() }
            if let current = payerHeading, level <= current.level { payerHeading = nil }
            let parentIsPayerSection = headings.last?.roles.payer ?? false
            let namesSection = pushHeading(level: level, text: text)
            if parentIsPayerSection, !namesSection,
               let payer = payerName(text, strict: false) {
                statements.append(PayerStatement(payer: payer, name: text, priorAuthorization: .unknown, coverage: .unknown,
                                                 notes: "", source: location(block.line)))
                payerHeading = (level, statements.count - 1)
            }
        case .table(let table):
            readTable(table, block: block)
        case .labelled(let label, let value, let valueColumn):
            readLabelled(label: label, value: value, line: block.line, column: block.column, valueColumn: valueColumn)
        case .paragraph(let lines):
            for line in lines { readText(line) }
        case .list(_, let items):
            for item in items {
                for child in item.blocks { visit(child) }
            }
        case .other(_, let lines):
            for line in lines where !line.text.isEmpty { keepUnplaced(line.text, line: line.line) }
        }
    }

    // MARK: - Identity

    private mutating func readFrontMatter(_ entries: [FrontMatterEntry]) {
        let known: Set<String> = ["code", "system", "title", "effective", "summary"]
        for entry in entries {
            let key = entry.key.lowercased()
            if known.contains(key) {
                frontMatter[key] = entry
            } else {
                diagnostics.add(.warning, .frontMatterUnknownKey, line: entry.line, column: 1,
                                "unknown front-matter key '\(entry.key)' (known keys: code, system, title, effective, summary)")
            }
        }
        if let entry = frontMatter["code"] {
            let code = entry.value.trimmedSpaces.uppercased()
            var system: CodeSystem?
            if let systemEntry = frontMatter["system"] {
                switch systemEntry.value.trimmedSpaces.uppercased() {
                case "CPT": system = .cpt
                case "HCPCS", "HCPCS LEVEL II", "HCPCS II": system = .hcpcs
                default:
                    diagnostics.add(.error, .codeInvalid, line: systemEntry.line, column: 1,
                                    "unknown code system '\(systemEntry.value)' (expected CPT or HCPCS)")
                    return
                }
            } else {
                system = code.first.map { $0.isLetter } == true ? .hcpcs : .cpt
            }
            setIdentity((system!, code, frontMatter["title"]?.value ?? ""), line: entry.line, column: 1)
        }
        if let entry = frontMatter["effective"] {
            readEffective(entry.value, line: entry.line)
        }
        if let entry = frontMatter["summary"], !entry.value.isEmpty {
            summary.append(entry.value)
        }
    }

    private mutating func setIdentity(_ title: (system: CodeSystem, code: String, title: String), line: Int, column: Int) {
        guard TitleLine.isValid(title.code, system: title.system) else {
            diagnostics.add(.error, .codeInvalid, line: line, column: column,
                            "'\(title.code)' is not a valid \(title.system.rawValue) code (expected \(TitleLine.describeForm(title.system)))")
            return
        }
        if let existing = identity {
            // Front matter names the code; a title line may repeat it and supply the title.
            if existing.code == title.code && existing.title.isEmpty { identity?.title = title.title }
            return
        }
        identity = (title.system, title.code, title.title, line)
    }

    private mutating func readEffective(_ value: String, line: Int) {
        if let iso = DateText.iso(value) {
            effective = iso
        } else {
            diagnostics.add(.warning, .dateInvalid, line: line, column: 1,
                            "cannot read the effective date '\(value)'; write it as YYYY-MM-DD")
        }
    }

    // MARK: - Text

    private mutating func readText(_ line: TextLine) {
        let text = line.text
        if text.isEmpty { return }
        if identity == nil, LineClassifier.isTitle(ArraySlice(text.utf8)), let title = TitleLine.parse(text) {
            setIdentity(title, line: line.line, column: line.column)
            headings.removeAll()
            headingsChanged()
            return
        }
        if let heading = payerHeading {
            // `Medicare – …` under another payer's heading is Medicare's own statement.
            if readDashStatement(text, line: line.line, column: line.column, onlyOtherThan: statements[heading.statement].payer) { return }
            appendNotes(text, to: heading.statement)
            return
        }
        if inExamplesSection { keepUnplaced(text, line: line.line); return }
        if inUpdatesSection, readUpdate(text, line: line.line) { return }
        if inPayerSection, readDashStatement(text, line: line.line, column: line.column) { return }
        if inSummarySection {
            summary.append(text)
            summaryLines.append(line)
            return
        }
        keepUnplaced(text, line: line.line)
    }

    /// Labels that fill a field of the record (normalised), looked up once instead of compared in turn.
    private enum RecordLabel { case serviceType, sites, effective }
    private static let recordLabels: [String: RecordLabel] = {
        var labels: [String: RecordLabel] = [:]
        for key in ["service type", "type of service", "service category"] { labels[key] = .serviceType }
        for key in ["typical site of service", "typical sites of service", "site of service", "sites of service",
                    "place of service", "typical place of service", "setting", "care setting"] { labels[key] = .sites }
        for key in ["effective", "effective date", "effective from"] { labels[key] = .effective }
        return labels
    }()

    private mutating func readLabelled(label: String, value: String, line: Int, column: Int, valueColumn: Int) {
        let key = StatementClassifier.normalized(label)
        switch Self.recordLabels[key] {
        case .serviceType?:
            serviceType = value
            return
        case .sites?:
            sites = Self.splitSites(value)
            return
        case .effective?:
            readEffective(value, line: line)
            return
        case nil:
            break
        }
        if let heading = payerHeading, let other = options.payers.knownID(label), other != statements[heading.statement].payer {
            // `Cigna: …` under another payer's heading is Cigna's own statement.
            addStatement(payer: other, name: label, text: value, line: line, column: column)
            return
        }
        if let heading = payerHeading {
            if key.contains("auth") || key == "pa" {
                merge(into: heading.statement, priorAuthorization: StatementClassifier.priorAuthorization(cell: value))
            } else if key.contains("coverage") || key.contains("covered") {
                merge(into: heading.statement, coverage: StatementClassifier.coverage(cell: value))
            }
            appendNotes("\(label): \(value)", to: heading.statement, classify: false)
            return
        }
        if inUpdatesSection, readUpdate("\(label): \(value)", line: line) { return }
        if inPayerSection, let payer = payerName(label, strict: false) {
            addStatement(payer: payer, name: label, text: value, line: line, column: column)
            return
        }
        if inSummarySection {
            summary.append("\(label): \(value)")
            return
        }
        keepUnplaced("\(label): \(value)", line: line)
    }

    private static let dashSeparators: [(String, [UInt8])] = [" – ", " — ", " - "].map { ($0, Array($0.utf8)) }

    /// `UnitedHealthcare – text` / `Aetna - text` in a payer section (form c).
    private mutating func readDashStatement(_ text: String, line: Int, column: Int, onlyOtherThan current: String? = nil) -> Bool {
        // ASCII text without a hyphen holds none of the separators.
        var copy = text
        guard copy.withUTF8({ bytes in bytes.contains { $0 == ASCII.dash || $0 >= 0x80 } }) else { return false }
        // Simple text (`TextSearch.isSimple`) is searched on bytes, as `TextSearch.range` would, checking it once.
        let simple = copy.withUTF8 { TextSearch.isSimple($0) }
        for (separator, separatorBytes) in Self.dashSeparators {
            let found: Range<String.Index>?
            if simple {
                let offset = copy.withUTF8 { bytes in
                    separatorBytes.withUnsafeBufferPointer { TextSearch.firstOffset(of: $0, in: bytes) }
                }
                found = offset.map { offset in
                    let lower = text.utf8.index(text.utf8.startIndex, offsetBy: offset)
                    return lower..<text.utf8.index(lower, offsetBy: separatorBytes.count)
                }
            } else {
                found = TextSearch.range(of: separator, in: text)
            }
            guard let range = found else { continue }
            let name = ScrapedTextParser.stripEmphasis(String(text[..<range.lowerBound]).trimmedSpaces)
            if let current {
                // Under a payer's heading only a known, different payer name starts a new statement.
                guard let other = options.payers.knownID(name), other != current else { continue }
            }
            guard let payer = payerName(name, strict: false) else { continue }
            addStatement(payer: payer, name: name, text: String(text[range.upperBound...]).trimmedSpaces,
                         line: line, column: column)
            return true
        }
        return false
    }

    private mutating func addStatement(payer: String, name: String, text: String, line: Int, column: Int) {
        let classified = StatementClassifier.classify(text: text)
        statements.append(PayerStatement(payer: payer, name: name, priorAuthorization: classified.priorAuthorization,
                                         coverage: classified.coverage, notes: text, source: location(line)))
    }

    private mutating func appendNotes(_ text: String, to index: Int, classify: Bool = true) {
        // In place: building `notes + " " + text` each time was quadratic in the notes of one payer.
        if statements[index].notes.isEmpty { statements[index].notes = text } else { statements[index].notes.append(" "); statements[index].notes.append(text) }
        if classify {
            let classified = StatementClassifier.classify(text: text)
            merge(into: index, priorAuthorization: classified.priorAuthorization)
            merge(into: index, coverage: classified.coverage)
        }
    }

    private mutating func merge(into index: Int, priorAuthorization: PriorAuthorization = .unknown, coverage: Coverage = .unknown) {
        if statements[index].priorAuthorization == .unknown { statements[index].priorAuthorization = priorAuthorization }
        if statements[index].coverage == .unknown { statements[index].coverage = coverage }
    }

    /// The payer id for a name, or nil when the text does not look like a payer name.
    /// Unknown names are accepted (as a slug, with a note) when they look like a proper name.
    private mutating func payerName(_ name: String, strict: Bool) -> String? {
        if let id = options.payers.knownID(name) { return id }
        if strict { return nil }
        let words = name.split(separator: " ")
        guard (1...5).contains(words.count), name.count <= 60 else { return nil }
        if StatementClassifier.containsAny(StatementClassifier.normalizedBytes(name)[...], Self.notPayers) { return nil }
        guard words.allSatisfy({ word in word.first.map { $0.isUppercase || $0.isNumber } ?? false }) else { return nil }
        let slug = PayerDirectory.slug(name)
        if !reportedUnknownPayers.contains(slug) {
            reportedUnknownPayers.insert(slug)
            diagnostics.add(.note, .payerUnknown, line: diagnosticsLine, column: 1,
                            "unknown payer '\(name)'; kept as '\(slug)' (add it to knownPayers in rulebook.json to name it)")
        }
        return slug
    }

    /// Words that mark a label or heading as something other than a payer name.
    private static let notPayers = StatementClassifier.phraseSet([
        "note", "summary", "coverage", "prior", "authorization", "documentation", "tip", "important", "example", "source",
        "update", "effective", "service", "site", "billing", "coding", "reminder", "key", "caveat", "general", "overview",
        "requirement", "policy", "policies", "all", "other", "commercial", "payer", "plans", "criteria", "modifier",
        "frequency", "limit", "claims"])

    /// Line for diagnostics raised while reading the current block (set by callers).
    private var diagnosticsLine = 0

    // MARK: - Tables

    private static let payerHeaders: Set<String> = ["payer", "payers", "payer name", "insurer", "plan", "health plan", "carrier"]
    private static let claimHeaders: Set<String> = ["claim"]
    private static let claimLineHeaders: Set<String> = ["claim", "claim line"]
    private static let expectedHeaders: Set<String> = ["expected", "result", "expected result"]
    private static let payerOnlyHeaders: Set<String> = ["payer"]
    private static let modifierCodeHeaders: Set<String> = ["modifier", "modifiers", "mod", "mod.", "modifier code", "code"]
    private static let descriptionHeaders: Set<String> = ["description", "descriptor", "meaning", "definition", "modifier description", "name"]
    private static let usageHeaders: Set<String> = ["when to use", "usage", "use", "use when", "when used", "notes", "note",
                                                       "when to apply", "guidance", "comments", "usage notes", "when to use it"]
    private static let shortAuthorizationHeaders: Set<String> = ["pa", "pa required", "pa?"]
    private static let authorizationHeaderFragments: [String] = ["prior auth", "authorization", "authorisation", "precert"]
    private static let coverageHeaderFragments: [String] = ["coverage", "covered"]
    private static let notesHeaderFragments: [String] = ["note", "comment", "detail", "policy", "requirement", "criteria"]

    /// A table's header cells, normalised once (`StatementClassifier.normalized`).
    private struct Header {
        var names: [String]
        init(_ cells: [Table.Cell]) { names = cells.map { StatementClassifier.normalized($0.text) } }

        /// Each name's bytes when `TextSearch.isSimple` accepts them (then a fragment is searched on bytes), else nil.
        var simpleBytes: [[UInt8]?] {
            names.map { name in
                let bytes = Array(name.utf8)
                return bytes.withUnsafeBufferPointer { TextSearch.isSimple($0) } ? bytes : nil
            }
        }
    }

    private static func column(_ header: Header, _ names: Set<String>) -> Int? {
        header.names.firstIndex { names.contains($0) }
    }

    private static func column(_ header: Header, _ simpleBytes: [[UInt8]?], containing fragments: [String]) -> Int? {
        header.names.indices.first { index in
            guard let bytes = simpleBytes[index] else {
                return fragments.contains { TextSearch.contains(header.names[index], $0) }
            }
            // Simple text against simple fragments (all of these are ASCII): Foundation's answer is the byte search's.
            return bytes.withUnsafeBufferPointer { text in
                fragments.contains { fragment in
                    var fragment = fragment
                    return fragment.withUTF8 { TextSearch.firstOffset(of: $0, in: text) != nil }
                }
            }
        }
    }

    private mutating func readTable(_ table: Table, block: Block) {
        let header = Header(table.header)
        if let payerColumn = Self.column(header, Self.payerHeaders),
           Self.column(header, Self.claimHeaders) == nil {
            readPayerTable(table, header: header, payerColumn: payerColumn)
            return
        }
        if let claimColumn = Self.column(header, Self.claimLineHeaders), let expectedColumn = Self.column(header, Self.expectedHeaders) {
            let payerColumn = Self.column(header, Self.payerOnlyHeaders)
            for row in table.rows {
                examples.append(ClaimExample(claim: row.cells[claimColumn].text, payer: payerColumn.map { row.cells[$0].text } ?? "",
                                             expected: row.cells[expectedColumn].text, source: location(row.line)))
            }
            return
        }
        if let codeColumn = Self.column(header, Self.modifierCodeHeaders),
           let descriptionColumn = Self.column(header, Self.descriptionHeaders) {
            let isCodeHeader = header.names[codeColumn] == "code"
            let twoCharacterCodes = table.rows.filter { $0.cells[codeColumn].text.trimmedSpaces.utf8.count == 2 }.count
            if !isCodeHeader || twoCharacterCodes * 2 >= table.rows.count {
                let usageColumn = Self.column(header, Self.usageHeaders)
                readModifierTable(table, codeColumn: codeColumn, descriptionColumn: descriptionColumn, usageColumn: usageColumn)
                return
            }
        }
        // A table Rulebook has no use for: keep its text.
        keepUnplaced(table.header.map(\.text).joined(separator: " | "), line: table.headerLine)
        for row in table.rows { keepUnplaced(row.cells.map(\.text).joined(separator: " | "), line: row.line) }
    }

    /// A modifier cell read as a code: trimmed, upper-cased, without a leading `-` or `MODIFIER `.
    /// ASCII text (the usual case) is done on bytes, with the same result as the String operations.
    static func modifierCode(_ text: String) -> String {
        let trimmed = text.trimmedSpaces
        var copy = trimmed
        let ascii: String? = copy.withUTF8 { bytes in
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
            var lower = 0, upper = bytes.count
            @inline(__always) func uppercase(_ byte: UInt8) -> UInt8 { byte &- 0x61 < 26 ? byte - 0x20 : byte }
            if lower < upper && bytes[lower] == ASCII.dash { lower += 1 }
            let modifier: StaticString = "MODIFIER "
            if upper - lower >= 9 && (0..<9).allSatisfy({ uppercase(bytes[lower + $0]) == modifier.utf8Start[$0] }) {
                lower += 9
                while lower < upper && ASCII.isSpaceOrTab(bytes[lower]) { lower += 1 }
                while upper > lower && ASCII.isSpaceOrTab(bytes[upper - 1]) { upper -= 1 }
            }
            return String(unsafeUninitializedCapacity: upper - lower) { output in
                for offset in 0..<(upper - lower) { output[offset] = uppercase(bytes[lower + offset]) }
                return upper - lower
            }
        }
        if let ascii { return ascii }
        var code = trimmed.uppercased()
        if code.hasPrefix("-") { code.removeFirst() }
        if code.hasPrefix("MODIFIER ") { code = String(code.dropFirst(9)).trimmedSpaces }
        return code
    }

    private mutating func readModifierTable(_ table: Table, codeColumn: Int, descriptionColumn: Int, usageColumn: Int?) {
        modifiers.reserveCapacity(modifiers.count + table.rows.count)
        for row in table.rows {
            let cell = row.cells[codeColumn]
            let code = Self.modifierCode(cell.text)
            guard code.utf8.count == 2, code.utf8.allSatisfy({ ASCII.isDigit($0) || ASCII.isUpper($0) }) else {
                let shown = cell.text.isEmpty ? "an empty cell" : "'\(cell.text)'"
                diagnostics.add(.error, .modifierInvalid, line: row.line, column: cell.column,
                                "invalid modifier code \(shown): a modifier is two letters or digits; the row is dropped")
                continue
            }
            // A document lists a few modifiers: they are found by comparing codes; a dictionary takes over beyond 16.
            let seen = modifiers.count <= 16 ? modifiers.first { $0.code == code }.map(\.source.line) : modifierLines[code]
            if let first = seen {
                diagnostics.add(.warning, .modifierDuplicate, line: row.line, column: cell.column,
                                "modifier \(code) is listed twice in this document (first at line \(first)); the first row is kept")
                continue
            }
            if modifiers.count == 16 {
                for modifier in modifiers { modifierLines[modifier.code] = modifier.source.line }
            }
            if modifiers.count >= 16 { modifierLines[code] = row.line }
            modifiers.append(Modifier(code: code, description: row.cells[descriptionColumn].text,
                                      whenToUse: usageColumn.map { row.cells[$0].text } ?? "", source: location(row.line)))
        }
    }

    private mutating func readPayerTable(_ table: Table, header: Header, payerColumn: Int) {
        let simpleBytes = header.simpleBytes
        let authorizationColumn = Self.column(header, simpleBytes, containing: Self.authorizationHeaderFragments)
            ?? Self.column(header, Self.shortAuthorizationHeaders)
        let coverageColumn = Self.column(header, simpleBytes, containing: Self.coverageHeaderFragments)
        let notesColumn = Self.column(header, simpleBytes, containing: Self.notesHeaderFragments)
        for row in table.rows {
            let name = row.cells[payerColumn].text.trimmedSpaces
            guard !name.isEmpty else { continue }
            diagnosticsLine = row.line
            guard let payer = payerName(name, strict: false) ?? Optional(PayerDirectory.slug(name)) else { continue }
            let notes = notesColumn.map { row.cells[$0].text } ?? ""
            var priorAuthorization = authorizationColumn.map { StatementClassifier.priorAuthorization(cell: row.cells[$0].text) } ?? .unknown
            if priorAuthorization == .unknown && authorizationColumn.map({ row.cells[$0].text.isEmpty }) ?? true {
                priorAuthorization = StatementClassifier.priorAuthorization(text: notes)
            }
            var coverage = coverageColumn.map { StatementClassifier.coverage(cell: row.cells[$0].text) } ?? .unknown
            if coverage == .unknown && coverageColumn.map({ row.cells[$0].text.isEmpty }) ?? true {
                coverage = StatementClassifier.coverage(text: notes)
            }
            statements.append(PayerStatement(payer: payer, name: name, priorAuthorization: priorAuthorization, coverage: coverage,
                                             notes: notes, source: location(row.line)))
        }
    }

    // MARK: - Policy updates

    private static let spaceAndParentheses = CharacterSet(charactersIn: " ()")

    /// `" :–—-".contains(character)`, without walking the string for each character.
    private static func isDateSeparator(_ character: Character) -> Bool {
        switch character {
        case " ", ":", "–", "—", "-": return true
        default: return false
        }
    }

    private mutating func readUpdate(_ text: String, line: Int) -> Bool {
        guard let (date, rest) = DateText.leading(text) else { return false }
        var body = rest.drop(while: { Self.isDateSeparator($0) || $0 == ")" || $0 == "(" })
        var payer: String?
        // In text whose characters are single scalars, the first ':' byte is the first ':' character.
        var copy = text
        let colonIndex = copy.withUTF8({ TextSearch.isSimple($0) }) ? Self.firstColon(body) : body.firstIndex(of: ":")
        if let colon = colonIndex {
            let candidate = String(body[..<colon]).trimmingCharacters(in: Self.spaceAndParentheses)
            if let id = options.payers.knownID(candidate) {
                payer = id
                body = body[body.index(after: colon)...].drop(while: { $0 == " " })
            }
        }
        if payer == nil, body.hasPrefix("("), let close = body.firstIndex(of: ")") {
            if let id = options.payers.knownID(String(body[body.index(after: body.startIndex)..<close])) {
                payer = id
                body = body[body.index(after: close)...].drop(while: { Self.isDateSeparator($0) })
            }
        }
        updates.append(PolicyUpdate(date: date, payer: payer, text: String(body), source: location(line)))
        return true
    }

    /// The index of the first `:` byte.
    private static func firstColon(_ text: Substring) -> String.Index? {
        let offset = text.utf8.withContiguousStorageIfAvailable { bytes in bytes.firstIndex(of: ASCII.colon) }
        guard let offset else { return text.utf8.firstIndex(of: ASCII.colon) }
        return offset.map { text.utf8.index(text.utf8.startIndex, offsetBy: $0) }
    }

    // MARK: - Unplaced text

    private mutating func keepUnplaced(_ text: String, line: Int) {
        let path = sectionPath
        // Appends in place (no copy of `sections.last` alive): linear in the text, even in debug builds.
        if let last = sections.indices.last, sections[last].heading == path {
            sections[last].text.append("\n")
            sections[last].text.append(text)
        } else {
            sections.append(SectionText(heading: path, text: text, source: location(line)))
        }
    }

    // MARK: - Finish

    static func splitSites(_ value: String) -> [String] {
        var value = value
        if let parts = value.withUTF8({ bytes in TextSearch.isSimple(bytes) ? splitSimpleSites(bytes) : nil }) { return parts }
        var parts: [String] = []
        for piece in value.components(separatedBy: CharacterSet(charactersIn: ";,")) {
            for part in piece.components(separatedBy: " or ") {
                var site = part.trimmedSpaces
                for prefix in ["or ", "and "] where site.lowercased().hasPrefix(prefix) { site = String(site.dropFirst(prefix.count)) }
                while site.hasSuffix(".") { site.removeLast() }
                if !site.isEmpty { parts.append(site) }
            }
        }
        return parts
    }

    /// `splitSites` for text whose characters are single scalars that never combine (`TextSearch.isSimple`):
    /// the same splits, on bytes.
    private static func splitSimpleSites(_ bytes: UnsafeBufferPointer<UInt8>) -> [String] {
        var parts: [String] = []
        let count = bytes.count
        var pieceStart = 0
        for pieceEnd in 0...count where pieceEnd == count || bytes[pieceEnd] == 0x3B /* ; */ || bytes[pieceEnd] == 0x2C /* , */ {
            // Split the piece on " or " (left to right, empty parts kept), as components(separatedBy:).
            var partStart = pieceStart
            var index = pieceStart
            while true {
                let atSeparator = index + 4 <= pieceEnd && bytes[index] == 0x20 && bytes[index + 1] == 0x6F
                    && bytes[index + 2] == 0x72 && bytes[index + 3] == 0x20
                if index + 4 > pieceEnd || atSeparator {
                    let partEnd = atSeparator ? index : pieceEnd
                    if let site = simpleSite(bytes, partStart, partEnd) { parts.append(site) }
                    if !atSeparator { break }
                    index += 4
                    partStart = index
                } else {
                    index += 1
                }
            }
            pieceStart = pieceEnd + 1
        }
        return parts
    }

    /// One site: trimmed, a leading `or ` / `and ` (any case) dropped, final dots dropped; nil when empty.
    private static func simpleSite(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String? {
        var lower = start, upper = end
        while lower < upper && ASCII.isSpaceOrTab(bytes[lower]) { lower += 1 }
        while upper > lower && ASCII.isSpaceOrTab(bytes[upper - 1]) { upper -= 1 }
        if upper - lower >= 3 && bytes[lower] | 0x20 == 0x6F && bytes[lower + 1] | 0x20 == 0x72 && bytes[lower + 2] == 0x20 {
            lower += 3
        }
        if upper - lower >= 4 && bytes[lower] | 0x20 == 0x61 && bytes[lower + 1] | 0x20 == 0x6E && bytes[lower + 2] | 0x20 == 0x64
            && bytes[lower + 3] == 0x20 {
            lower += 4
        }
        while upper > lower && bytes[upper - 1] == ASCII.dot { upper -= 1 }
        guard upper > lower else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[lower..<upper]), as: UTF8.self)
    }

    /// Payers named in the summary (`Key payers covered … include Aetna, …, and Medicare.`).
    private mutating func summaryPayers() -> [PayerStatement] {
        var found: [PayerStatement] = []
        for line in summaryLines {
            // The names each sentence lists, in order (read first; `payerName` may report an unknown one).
            var candidates: [String] = []
            var text = line.text
            text.withUTF8 { bytes in
                guard let base = bytes.baseAddress, Self.mentionsPayer(bytes) else { return }
                let count = bytes.count
                var start = 0
                while start < count {
                    // A sentence: up to the next `.` (empty ones skipped).
                    let end = memchr(base + start, Int32(ASCII.dot), count - start).map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? count
                    if end > start { Self.listedPayerNames(UnsafeBufferPointer(rebasing: bytes[start..<end]), into: &candidates) }
                    start = end + 1
                }
            }
            for candidate in candidates {
                diagnosticsLine = line.line
                guard !candidate.isEmpty, let payer = payerName(candidate, strict: false) else { continue }
                found.append(PayerStatement(payer: payer, name: candidate, priorAuthorization: .unknown, coverage: .unknown,
                                            notes: "", source: SourceLocation(path: document.path, line: line.line, section: [])))
            }
        }
        return found
    }

    /// The names a sentence of the summary lists after `include`, `including` or `:`, when it mentions payers.
    private static func listedPayerNames(_ sentence: UnsafeBufferPointer<UInt8>, into names: inout [String]) {
        // Normalising only lower-cases ASCII and rewrites spaces and apostrophes: without "payer" in any case,
        // the normalised sentence holds no "payer" either.
        guard mentionsPayer(sentence) else { return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: sentence.count) { output in
            let (lowerStart, lowerEnd) = StatementClassifier.normalize(sentence, into: output.baseAddress!)
            let lower = UnsafeBufferPointer(rebasing: output[lowerStart..<lowerEnd])
            guard payerKeywords.occurs(in: lower, wholeWord: false), let listStart = endOfFirst(listIntroductions, in: lower) else { return }
            // Names as written (case kept) come from the same offsets of the original sentence when it is ASCII-aligned;
            // the lower-cased list is only used to find them.
            var originalStart = 0, originalEnd = sentence.count
            while originalStart < originalEnd && ASCII.isSpaceOrTab(sentence[originalStart]) { originalStart += 1 }
            while originalEnd > originalStart && ASCII.isSpaceOrTab(sentence[originalEnd - 1]) { originalEnd -= 1 }
            let listBytes = originalEnd - originalStart == lower.count
                ? UnsafeBufferPointer(rebasing: sentence[(originalStart + listStart)..<originalEnd])
                : UnsafeBufferPointer(rebasing: lower[listStart...])
            if TextSearch.isSimple(listBytes) {
                listedSimpleNames(listBytes, into: &names)
            } else {
                names.append(contentsOf: listedNames(Array(listBytes)[...]))
            }
        }
    }

    /// Whether `payer` occurs in the bytes, ASCII letters compared without case (`p`/`P` found eight bytes at a time).
    private static func mentionsPayer(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = buffer.count
        guard count >= 5, let base = buffer.baseAddress else { return false }
        @inline(__always) func matchesAt(_ start: Int) -> Bool {
            base[start + 1] | 0x20 == 0x61 && base[start + 2] | 0x20 == 0x79 && base[start + 3] | 0x20 == 0x65
                && base[start + 4] | 0x20 == 0x72
        }
        let low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        var start = 0
        while start + 8 <= count - 4 {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + start).loadUnaligned(as: UInt64.self))
            let folded = (word | 0x2020_2020_2020_2020) ^ 0x7070_7070_7070_7070
            var candidates = ~(((folded & low) &+ low) | folded | low) // 0x80 at each `p` or `P`
            while candidates != 0 {
                let offset = candidates.trailingZeroBitCount >> 3
                if matchesAt(start + offset) { return true }
                candidates &= candidates - 1
            }
            start += 8
        }
        while start <= count - 5 {
            if base[start] | 0x20 == 0x70, matchesAt(start) { return true }
            start += 1
        }
        return false
    }

    private static let listIntroductions: [[UInt8]] = [Array(" include ".utf8), Array(" including ".utf8), Array(": ".utf8)]

    /// The names of a list `Aetna, Cigna, and Medicare` (split on commas, then on ` and `), trimmed.
    static func listedNames(_ bytes: ArraySlice<UInt8>) -> [String] {
        // String(decoding:) repairs a sequence cut by the offsets above, as the Character-based code saw it.
        let text = String(decoding: bytes, as: UTF8.self)
        var names: [String] = []
        var utf8 = text
        let simple = utf8.withUTF8 { TextSearch.isSimple($0) }
        guard simple else {
            for raw in text.split(separator: ",") {
                var name = raw.trimmedSpaces
                if name.hasPrefix("and ") { name.removeFirst(4) }
                while let last = name.last, last == ";" { name.removeLast() }
                for part in name.split(separator: " and ") where !part.isEmpty { names.append(part.trimmedSpaces) }
            }
            return names
        }
        // Printable ASCII and single-scalar punctuation: characters are bytes or whole UTF-8 sequences.
        utf8.withUTF8 { listedSimpleNames($0, into: &names) }
        return names
    }

    /// `listedNames` of bytes that `TextSearch.isSimple` accepts (valid UTF-8, so read as they are), without copies.
    private static func listedSimpleNames(_ all: UnsafeBufferPointer<UInt8>, into names: inout [String]) {
        let count = all.count
        var pieceStart = 0
        while pieceStart < count {
            var pieceEnd = pieceStart
            while pieceEnd < count && all[pieceEnd] != 0x2C /* , */ { pieceEnd += 1 }
            defer { pieceStart = pieceEnd + 1 }
            guard pieceEnd > pieceStart else { continue } // empty pieces are omitted
            var lower = pieceStart, upper = pieceEnd
            while lower < upper && ASCII.isSpaceOrTab(all[lower]) { lower += 1 }
            while upper > lower && ASCII.isSpaceOrTab(all[upper - 1]) { upper -= 1 }
            if upper - lower >= 4 && all[lower] == 0x61 && all[lower + 1] == 0x6E && all[lower + 2] == 0x64 && all[lower + 3] == 0x20 {
                lower += 4
            }
            while upper > lower && all[upper - 1] == 0x3B /* ; */ { upper -= 1 }
            // Split on " and " (non-overlapping, left to right), empty parts omitted.
            var partStart = lower
            var index = lower
            while index + 5 <= upper {
                if all[index] == 0x20 && all[index + 1] == 0x61 && all[index + 2] == 0x6E && all[index + 3] == 0x64 && all[index + 4] == 0x20 {
                    if index > partStart { names.append(trimmedString(all, partStart, index)) }
                    index += 5
                    partStart = index
                } else {
                    index += 1
                }
            }
            if upper > partStart { names.append(trimmedString(all, partStart, upper)) }
        }
    }

    private static func trimmedString(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        var lower = start, upper = end
        while lower < upper && ASCII.isSpaceOrTab(bytes[lower]) { lower += 1 }
        while upper > lower && ASCII.isSpaceOrTab(bytes[upper - 1]) { upper -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[lower..<upper]), as: UTF8.self)
    }

    /// Offset just past the first of `phrases` found in `text`.
    private static func endOfFirst(_ phrases: [[UInt8]], in text: UnsafeBufferPointer<UInt8>) -> Int? {
        var best: Int?
        for needle in phrases {
            guard let start = needle.withUnsafeBufferPointer({ TextSearch.firstOffset(of: $0, in: text) }) else { continue }
            if best == nil || start + needle.count < best! { best = start + needle.count }
        }
        return best
    }

    /// Merges statements per payer, in order of first mention; contradicting statements are an error.
    private mutating func mergedPayers() -> [PayerNote] {
        // One slot per payer, in order of first mention; the dictionary only maps a payer to its slot.
        var slots: [String: Int] = [:]
        var merged: [PayerNote] = []
        var origins: [(pa: Int, coverage: Int)] = []
        // The notes each payer's note was built from: the first statement's, then the appended ones.
        var firstNotes: [String] = []
        var appended: [Set<String>] = []
        merged.reserveCapacity(16)
        origins.reserveCapacity(16)
        firstNotes.reserveCapacity(16)
        appended.reserveCapacity(16)
        let fromSummary = summaryPayers()
        // The document's statements, then the summary's (without building the concatenation).
        for index in 0..<(statements.count + fromSummary.count) {
            let statement = index < statements.count ? statements[index] : fromSummary[index - statements.count]
            // A few payers are found by comparing ids; a dictionary takes over beyond 16 (tables of many payers).
            let known = merged.count <= 16 ? merged.firstIndex { $0.payer == statement.payer } : slots[statement.payer]
            guard let slot = known else {
                if merged.count == 16 {
                    for (offset, note) in merged.enumerated() { slots[note.payer] = offset }
                }
                if merged.count >= 16 { slots[statement.payer] = merged.count }
                merged.append(PayerNote(payer: statement.payer, name: statement.name,
                                        priorAuthorization: statement.priorAuthorization, coverage: statement.coverage,
                                        notes: statement.notes, source: statement.source))
                origins.append((statement.source.line, statement.source.line))
                firstNotes.append(statement.notes)
                appended.append([])
                continue
            }
            let origin = origins[slot]
            if statement.priorAuthorization != .unknown {
                let current = merged[slot].priorAuthorization
                if current == .unknown {
                    merged[slot].priorAuthorization = statement.priorAuthorization
                    origins[slot].pa = statement.source.line
                } else if current != statement.priorAuthorization {
                    diagnostics.add(.error, .payerConflict, line: statement.source.line, column: 1,
                                    "\(statement.name) prior authorization is '\(statement.priorAuthorization.rawValue)' here but '\(current.rawValue)' at \(document.path):\(origin.pa)")
                }
            }
            if statement.coverage != .unknown {
                let current = merged[slot].coverage
                if current == .unknown {
                    merged[slot].coverage = statement.coverage
                    origins[slot].coverage = statement.source.line
                } else if current != statement.coverage {
                    diagnostics.add(.error, .payerConflict, line: statement.source.line, column: 1,
                                    "\(statement.name) coverage is '\(statement.coverage.rawValue)' here but '\(current.rawValue)' at \(document.path):\(origin.coverage)")
                }
            }
            // Notes already there are not repeated. The substring search is limited to notes of up to 4 KB
            // (a payer table of 100,000 rows made it quadratic); beyond, only exact repeats are dropped.
            if !statement.notes.isEmpty && firstNotes[slot] != statement.notes && !appended[slot].contains(statement.notes)
                && !(merged[slot].notes.utf8.count <= 4096 && TextSearch.contains(merged[slot].notes, statement.notes)) {
                // Appended in place (no copy of the note alive).
                if merged[slot].notes.isEmpty { merged[slot].notes = statement.notes } else { merged[slot].notes.append(" "); merged[slot].notes.append(statement.notes) }
                appended[slot].insert(statement.notes)
            }
        }
        return merged
    }

    private mutating func finish() {
        guard let identity else {
            if !diagnostics.items.contains(where: { $0.id == DiagnosticID.codeInvalid.rawValue }) {
                diagnostics.add(.error, .codeMissing, line: 1, column: 1,
                                "no billing code found: add a title line like 'CPT 27365: Excision of Tumor' or front matter with 'code:' and 'system:'")
            }
            return
        }
        let payers = mergedPayers()
        record = CodeRecord(system: identity.system, code: identity.code, title: identity.title,
                            summary: summary.joined(separator: "\n\n"), serviceType: serviceType, sitesOfService: sites,
                            effective: effective, source: SourceLocation(path: document.path, line: identity.line),
                            modifiers: modifiers, payers: payers, policyUpdates: updates, examples: examples, sections: sections)
    }
}

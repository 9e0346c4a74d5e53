import Rulebook

/// Model → JSON text. Keys sorted by byte order, two-space indentation, `": "`, every non-empty array
/// over several lines, `[]` when empty, a trailing newline; optional fields (`effective`,
/// `PolicyUpdate.payer`) absent when nil. Byte-identical from run to run; decodes with `JSONDecoder`
/// into `RuleBundle`. Written by hand (no `JSONEncoder`) for speed and byte stability.
public enum JSONEmitter {
    /// `{"codes": [...], "schemaVersion": 1}`, records in the order given.
    public static func bundle(_ records: [CodeRecord]) -> String {
        var writer = CanonicalJSONWriter(capacity: 4096 * max(1, records.count))
        writeBundle(records, to: &writer)
        return writer.text
    }

    /// The bundle of `records`, through `writer`.
    private static func writeBundle(_ records: [CodeRecord], to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.key("codes")
        writer.beginArray()
        for record in records { write(record, to: &writer) }
        writer.endArray()
        writer.key("schemaVersion")
        writer.integer(RuleBundle.currentSchemaVersion)
        writer.endObject()
        writer.finishDocument()
    }

    /// `bundle([record])`, and the record as the Swift data embeds it — compact, invisibles escaped, the
    /// bytes of ``compactLineBytes(_:)`` — written in one walk over the record.
    static func bundleAndDataLine(_ record: CodeRecord) -> (bundle: String, line: [UInt8]) {
        let (bundle, line) = bundleBytesAndDataLine(record)
        return (String(decoding: bundle, as: UTF8.self), line)
    }

    /// ``bundleAndDataLine(_:)`` with the bundle as its UTF-8 bytes.
    static func bundleBytesAndDataLine(_ record: CodeRecord) -> (bundle: [UInt8], line: [UInt8]) {
        var writer = CanonicalJSONWriter(prettyAlsoCompact: 16384)
        writeBundle([record], to: &writer)
        // The compact text is `{"codes":[<record>],"schemaVersion":N}`: the record lies between the fixed frame.
        let prefix = #"{"codes":["#.utf8.count, suffix = #"],"schemaVersion":\#(RuleBundle.currentSchemaVersion)}"#.utf8.count
        return (writer.bytes, writer.compactBytes.array(prefix..<(writer.compactBytes.count - suffix)))
    }

    /// `{"codes": [...], "diagnostics": [...], "schemaVersion": 1}` — the output of `rulebook extract`;
    /// records and diagnostics in the order given.
    public static func extractResult(_ records: [CodeRecord], diagnostics: [Diagnostic]) -> String {
        var writer = CanonicalJSONWriter(capacity: 4096 * max(1, records.count))
        writer.beginObject()
        writer.key("codes")
        writer.beginArray()
        for record in records { write(record, to: &writer) }
        writer.endArray()
        writer.key("diagnostics")
        writer.beginArray()
        for diagnostic in diagnostics {
            writer.beginObject()
            writer.key("column")
            writer.integer(diagnostic.column)
            writer.key("id")
            writer.string(diagnostic.id)
            writer.key("line")
            writer.integer(diagnostic.line)
            writer.key("message")
            writer.string(diagnostic.message)
            writer.key("path")
            writer.string(diagnostic.path)
            writer.key("severity")
            writer.string(diagnostic.severity.rawValue)
            writer.endObject()
        }
        writer.endArray()
        writer.key("schemaVersion")
        writer.integer(RuleBundle.currentSchemaVersion)
        writer.endObject()
        writer.finishDocument()
        return writer.text
    }

    /// `{"codes": [{code, file, source, system, title}], "schemaVersion": 1}`, sorted by system and code;
    /// `file` is the record's bundle file name (``bundleFileNames(for:)``).
    public static func index(_ records: [CodeRecord]) -> String {
        let names = bundleFileNames(for: records)
        return index(entries: canonicalOrder(records).map { position in
            let record = records[position]
            return IndexEntry(system: record.system, code: record.code, title: record.title, source: record.source,
                              file: names[position])
        })
    }

    /// One code in `index.json`.
    struct IndexEntry: Sendable, Hashable {
        var system: CodeSystem, code: String, title: String, source: SourceLocation, file: String
    }

    /// `index.json` from its entries, given in canonical order.
    static func index(entries: [IndexEntry]) -> String {
        var writer = CanonicalJSONWriter(capacity: 256 * max(1, entries.count))
        writer.beginObject()
        writer.key("codes")
        writer.beginArray()
        for entry in entries {
            writer.beginObject()
            writer.key("code")
            writer.string(entry.code)
            writer.key("file")
            writer.string(entry.file)
            writer.key("source")
            write(entry.source, to: &writer)
            writer.key("system")
            writer.string(entry.system.rawValue)
            writer.key("title")
            writer.string(entry.title)
            writer.endObject()
        }
        writer.endArray()
        writer.key("schemaVersion")
        writer.integer(RuleBundle.currentSchemaVersion)
        writer.endObject()
        writer.finishDocument()
        return writer.text
    }

    // MARK: Bundle file names

    /// The bundle file name of a record: `cpt-27365.json`.
    ///
    /// A code made only of ASCII letters and digits (1–64 of them, the normal case) gives
    /// `<system>-<code>.json` in lower case. Any other code — `../../x`, `/etc/passwd`, `a b`, `Ä`,
    /// an empty or very long code, or one with lower-case letters — gives
    /// `<system>-<sanitised>-<hash>.json`: the sanitised part keeps only `[a-z0-9]` runs joined by `-`
    /// (at most 40 characters), and `<hash>` (8 hex digits of FNV-1a over the code's UTF-8) keeps
    /// different codes apart. Names therefore match `^(cpt|hcpcs)-[a-z0-9-]+\.json$`: no path separator,
    /// no `..`, no leading dot, never absolute, never a reserved device name (`CON`, `NUL`, `COM1`…).
    /// Two records with the same system and code get the same name; see ``bundleFileNames(for:)``.
    public static func bundleFileName(for record: CodeRecord) -> String {
        bundleFileName(system: record.system, code: record.code)
    }

    /// ``bundleFileName(for:)`` of a record with this system and code.
    public static func bundleFileName(system codeSystem: CodeSystem, code: String) -> String {
        let system = codeSystem.rawValue.lowercased()
        let canonical = !code.isEmpty && code.utf8.count <= 64
            && code.allUTF8 { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) }
        var base: String
        if canonical {
            // Letters and digits: lower-cased byte by byte (no Unicode case mapping per record).
            var bytes = Array(system.utf8)
            bytes.reserveCapacity(bytes.count + 1 + code.utf8.count + 5)
            bytes.append(0x2D)
            for byte in code.utf8 { bytes.append((0x41...0x5A).contains(byte) ? byte + 0x20 : byte) }
            base = String(decoding: bytes, as: UTF8.self)
        } else {
            var sanitized: [UInt8] = []
            for byte in code.utf8 {
                let lower = (0x41...0x5A).contains(byte) ? byte + 0x20 : byte
                if (0x30...0x39).contains(lower) || (0x61...0x7A).contains(lower) {
                    sanitized.append(lower)
                } else if let last = sanitized.last, last != 0x2D {
                    sanitized.append(0x2D)
                }
                if sanitized.count >= 40 { break }
            }
            while sanitized.last == 0x2D { sanitized.removeLast() }
            base = system + "-"
            if !sanitized.isEmpty { base += String(decoding: sanitized, as: UTF8.self) + "-" }
            base += String(ContentHash.fnv1a(code).prefix(8))
        }
        // `base` is ASCII: only one of at most 7 bytes can be a reserved name.
        if base.utf8.count <= 7 && reservedNames.contains(base.uppercased()) { base += "-x" }
        return base + ".json"
    }

    /// Bundle file names for `records`, in the same order, unique: when records share a name (the
    /// same system and code twice, an error the validator reports) the later ones in system/code/path/line
    /// order get `-2`, `-3`… before `.json`. Independent of the order of `records`.
    public static func bundleFileNames(for records: [CodeRecord]) -> [String] {
        bundleFileNames(keys: records.map(OrderKey.init))
    }

    /// ``bundleFileNames(for:)`` from the records' order keys.
    static func bundleFileNames(keys: [OrderKey], order: [Int]? = nil) -> [String] {
        var names = keys.map { bundleFileName(system: $0.system, code: $0.code) }
        var used = Set<String>()
        for position in order ?? canonicalOrder(keys: keys) {
            var name = names[position]
            if used.contains(name) {
                let stem = String(name.dropLast(".json".count))
                var counter = 2
                repeat {
                    name = "\(stem)-\(counter).json"
                    counter += 1
                } while used.contains(name)
                names[position] = name
            }
            used.insert(name)
        }
        return names
    }

    /// Windows device names; a file named so (with any extension) cannot be created there.
    static let reservedNames: Set<String> = {
        var names: Set<String> = ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"]
        for digit in 0...9 {
            names.insert("COM\(digit)")
            names.insert("LPT\(digit)")
        }
        return names
    }()

    // MARK: Ordering

    /// Indices of `records` sorted by system, code, source path, source line (byte order; stable).
    static func canonicalOrder(_ records: [CodeRecord]) -> [Int] {
        // Sort keys taken out once: comparing through `records[i]` would copy whole records per comparison.
        canonicalOrder(keys: records.map(OrderKey.init))
    }

    /// What the canonical order and the bundle file names depend on: system, code, source path and line.
    struct OrderKey: Sendable, Hashable {
        var system: CodeSystem, code: String, path: String, line: Int
        init(system: CodeSystem, code: String, path: String, line: Int) {
            self.system = system
            self.code = code
            self.path = path
            self.line = line
        }
        init(_ record: CodeRecord) {
            self.init(system: record.system, code: record.code, path: record.source.path, line: record.source.line)
        }
    }

    /// Indices of `keys` sorted by system, code, source path, source line (byte order; stable).
    static func canonicalOrder(keys: [OrderKey]) -> [Int] {
        func precedes(_ a: String, _ b: String) -> Bool? {
            if a == b { return nil }
            return a.utf8Precedes(b)
        }
        /// Path, line, then input position: the order of records with the same system and code.
        func tieBreak(_ i: Int, _ j: Int) -> Bool {
            if let result = precedes(keys[i].path, keys[j].path) { return result }
            if keys[i].line != keys[j].line { return keys[i].line < keys[j].line }
            return i < j
        }
        // Codes of at most 16 bytes (all real ones) compare as two big-endian words and a length, the
        // system by its rank: exact byte order without touching the strings (sorting 10,000 records
        // through string comparisons took 25 ms). Ties (the same code twice) compare the rest.
        let systemRank = Dictionary(uniqueKeysWithValues: CodeSystem.allCases.sorted { $0.rawValue.utf8Precedes($1.rawValue) }
            .enumerated().map { ($1, UInt64($0)) })
        struct PackedCode { var rank: UInt64, high: UInt64, low: UInt64, length: Int }
        var packed: [PackedCode] = []
        packed.reserveCapacity(keys.count)
        for key in keys {
            var code = key.code
            let fits: Bool = code.withUTF8 { bytes in
                guard bytes.count <= 16 else { return false }
                var high: UInt64 = 0, low: UInt64 = 0
                for (offset, byte) in bytes.enumerated() {
                    if offset < 8 { high |= UInt64(byte) << UInt64(56 - 8 * offset) } else { low |= UInt64(byte) << UInt64(56 - 8 * (offset - 8)) }
                }
                packed.append(PackedCode(rank: systemRank[key.system]!, high: high, low: low, length: bytes.count))
                return true
            }
            if !fits { packed.removeAll(); break }
        }
        if packed.count == keys.count {
            return keys.indices.sorted { i, j in
                let a = packed[i], b = packed[j]
                if a.rank != b.rank { return a.rank < b.rank }
                if a.high != b.high { return a.high < b.high }
                if a.low != b.low { return a.low < b.low }
                if a.length != b.length { return a.length < b.length }
                return tieBreak(i, j)
            }
        }
        return keys.indices.sorted { i, j in
            if let result = precedes(keys[i].system.rawValue, keys[j].system.rawValue) { return result }
            if let result = precedes(keys[i].code, keys[j].code) { return result }
            return tieBreak(i, j)
        }
    }

    // MARK: Model writers (keys in byte order)

    /// One record as compact JSON on one line, with invisible and bidirectional characters escaped:
    /// the form embedded in generated Swift.
    static func compactLineBytes(_ record: CodeRecord) -> [UInt8] {
        var writer = CanonicalJSONWriter(style: .compact, escapeInvisibles: true, capacity: 8192)
        write(record, to: &writer)
        return writer.bytes
    }

    static func write(_ record: CodeRecord, to writer: inout CanonicalJSONWriter) {
        let path = (text: record.source.path, quoted: writer.quoted(record.source.path))
        writer.beginObject()
        writer.key("code")
        writer.string(record.code)
        if let effective = record.effective {
            writer.key("effective")
            writer.string(effective)
        }
        writer.key("examples")
        writer.beginArray()
        for example in record.examples {
            writer.beginObject()
            writer.key("claim")
            writer.string(example.claim)
            writer.key("expected")
            writer.string(example.expected)
            writer.key("payer")
            writer.string(example.payer)
            writer.key("source")
            write(example.source, to: &writer, path: path)
            writer.endObject()
        }
        writer.endArray()
        writer.key("modifiers")
        writer.beginArray()
        for modifier in record.modifiers {
            writer.beginObject()
            writer.key("code")
            writer.string(modifier.code)
            writer.key("description")
            writer.string(modifier.description)
            writer.key("source")
            write(modifier.source, to: &writer, path: path)
            writer.key("whenToUse")
            writer.string(modifier.whenToUse)
            writer.endObject()
        }
        writer.endArray()
        writer.key("payers")
        writer.beginArray()
        for payer in record.payers {
            writer.beginObject()
            writer.key("coverage")
            writer.string(payer.coverage.rawValue)
            writer.key("name")
            writer.string(payer.name)
            writer.key("notes")
            writer.string(payer.notes)
            writer.key("payer")
            writer.string(payer.payer)
            writer.key("priorAuthorization")
            writer.string(payer.priorAuthorization.rawValue)
            writer.key("source")
            write(payer.source, to: &writer, path: path)
            writer.endObject()
        }
        writer.endArray()
        writer.key("policyUpdates")
        writer.beginArray()
        for update in record.policyUpdates {
            writer.beginObject()
            writer.key("date")
            writer.string(update.date)
            if let payer = update.payer {
                writer.key("payer")
                writer.string(payer)
            }
            writer.key("source")
            write(update.source, to: &writer, path: path)
            writer.key("text")
            writer.string(update.text)
            writer.endObject()
        }
        writer.endArray()
        writer.key("sections")
        writer.beginArray()
        for section in record.sections {
            writer.beginObject()
            writer.key("heading")
            writer.stringArray(section.heading)
            writer.key("source")
            write(section.source, to: &writer, path: path)
            writer.key("text")
            writer.string(section.text)
            writer.endObject()
        }
        writer.endArray()
        writer.key("serviceType")
        writer.string(record.serviceType)
        writer.key("sitesOfService")
        writer.stringArray(record.sitesOfService)
        writer.key("source")
        write(record.source, to: &writer, path: path)
        writer.key("summary")
        writer.string(record.summary)
        writer.key("system")
        writer.string(record.system.rawValue)
        writer.key("title")
        writer.string(record.title)
        writer.endObject()
    }

    /// `path`: the record's source path as ``CanonicalJSONWriter/quoted(_:)`` wrote it, used when
    /// `source` has that path (every location of a record, normally).
    static func write(_ source: SourceLocation, to writer: inout CanonicalJSONWriter, path: (text: String, quoted: CanonicalJSONWriter.QuotedString)? = nil) {
        writer.beginObject()
        writer.key("line")
        writer.integer(source.line)
        writer.key("path")
        if let path, path.text == source.path {
            writer.quotedString(path.quoted)
        } else {
            writer.string(source.path)
        }
        writer.key("section")
        writer.stringArray(source.section)
        writer.endObject()
    }
}


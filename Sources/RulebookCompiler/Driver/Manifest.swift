import Dispatch
import Foundation
import Rulebook

/// A fast, stable, non-cryptographic content hash: XXH64 (seed 0), as 16 lower-case hex digits. Used in
/// the output manifest and the build stamp to tell which bytes each file holds. (XXH64 reads eight bytes
/// per step; FNV-1a, one byte per multiplication, was a tenth of a 10,000-document run, which hashes
/// 42 MB in and 180 MB out.) ``fnv1a(_:)`` stays for short names (bundle file names).
public enum ContentHash {
    public static func value<C: Sequence<UInt8>>(_ bytes: C) -> UInt64 {
        if let hash = bytes.withContiguousStorageIfAvailable({ xxh64($0) }) { return hash }
        return Array(bytes).withUnsafeBufferPointer { xxh64($0) }
    }

    /// `ContentHash.hex(Array("abc".utf8))` == `"44bc2cf5ad770999"`.
    public static func hex<C: Sequence<UInt8>>(_ bytes: C) -> String {
        hexDigits(value(bytes))
    }

    /// The hash of the UTF-8 bytes of `text`.
    public static func hex(_ text: String) -> String {
        var text = text
        return text.withUTF8 { hex($0) }
    }

    /// FNV-1a 64-bit of the UTF-8 bytes of `text`, as hex (`"a"` → `af63dc4c8601ec8c`).
    public static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hexDigits(hash)
    }

    private static func hexDigits(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always) private static func rotl(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }

    @inline(__always) private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotl(accumulator &+ input &* prime2, 31) &* prime1
    }

    @inline(__always) private static func merge(_ accumulator: UInt64, _ value: UInt64) -> UInt64 {
        (accumulator ^ round(0, value)) &* prime1 &+ prime4
    }

    /// XXH64 with seed 0 (the reference algorithm; test vectors in `OutputWriterTests`).
    static func xxh64(_ buffer: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let length = buffer.count
        guard let base = buffer.baseAddress.map(UnsafeRawPointer.init) else { return xxh64(empty: ()) }
        func word(_ offset: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        func half(_ offset: Int) -> UInt32 { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        var offset = 0
        var hash: UInt64
        if length >= 32 {
            var v1 = prime1 &+ prime2, v2 = prime2, v3: UInt64 = 0, v4 = 0 &- prime1
            while offset + 32 <= length {
                v1 = round(v1, word(offset))
                v2 = round(v2, word(offset + 8))
                v3 = round(v3, word(offset + 16))
                v4 = round(v4, word(offset + 24))
                offset += 32
            }
            hash = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            hash = merge(hash, v1)
            hash = merge(hash, v2)
            hash = merge(hash, v3)
            hash = merge(hash, v4)
        } else {
            hash = prime5
        }
        hash = hash &+ UInt64(length)
        while offset + 8 <= length {
            hash ^= round(0, word(offset))
            hash = rotl(hash, 27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= length {
            hash ^= UInt64(half(offset)) &* prime1
            hash = rotl(hash, 23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < length {
            hash ^= UInt64(buffer[offset]) &* prime5
            hash = rotl(hash, 11) &* prime1
            offset += 1
        }
        return avalanche(hash)
    }

    private static func xxh64(empty: Void) -> UInt64 { avalanche(prime5) }

    @inline(__always) private static func avalanche(_ value: UInt64) -> UInt64 {
        var hash = value
        hash ^= hash >> 33
        hash = hash &* prime2
        hash ^= hash >> 29
        hash = hash &* prime3
        hash ^= hash >> 32
        return hash
    }
}

/// `OUT/.rulebook-manifest.json`: which files the generator owns in its output folder (with the content
/// hash and size of each), and what each input document gave the last time it was compiled — the
/// incremental state of `rulebook generate`, keyed by the content hash of each document. Deterministic
/// (the same inputs give the same bytes, so a committed output folder does not churn):
///
/// ```json
/// {
///   "documents": {
///     "seeds/a.md": {"hash": "…", "record": {"code": "27365", "file": "cpt-27365.json", …}}
///   },
///   "files": {"JSON/cpt-27365.json": "1d6c0b0f3f5a2c11"},
///   "inputs": {},
///   "salt": "…",
///   "sizes": {"JSON/cpt-27365.json": 4711},
///   "version": 2
/// }
/// ```
///
/// A hash of `""` means "unknown": while a run is writing, the manifest already lists the files it is
/// about to create (so an interrupted run's files are still known and cleaned up later) with `""`, and no
/// documents (so the next run compiles everything).
public struct Manifest: Sendable, Hashable {
    public static let currentVersion = 2

    public var version: Int
    /// Relative output path → `ContentHash.hex` of its bytes ("" when unknown).
    public var files: [String: String]
    /// Relative output path → byte count (absent when unknown).
    public var sizes: [String: Int]
    /// Free-form: whatever the caller stores (e.g. input path → content hash).
    public var inputs: [String: String]
    /// Input document display path → what compiling it gave (see ``Document``).
    public var documents: [String: Document]
    /// What the documents' entries depend on besides their bytes (format, compiler version, config);
    /// entries of a manifest with another salt are not reused.
    public var salt: String

    public init(files: [String: String], sizes: [String: Int] = [:], inputs: [String: String] = [:],
                documents: [String: Document] = [:], salt: String = "", version: Int = Manifest.currentVersion) {
        self.version = version
        self.files = files
        self.sizes = sizes
        self.inputs = inputs
        self.documents = documents
        self.salt = salt
    }

    /// One input document: the hash of its bytes and everything a later run needs to skip compiling it
    /// (its record itself is the JSON bundle `JSON/<file>`).
    public struct Document: Sendable, Hashable {
        /// `ContentHash.hex` of the document's bytes.
        public var hash: String
        /// The document's record, summarised; nil when it gave none.
        public var record: RecordSummary?
        /// Whether the record was emitted (false for the second definition of a code).
        public var emitted: Bool
        /// Parse and extraction diagnostics.
        public var diagnostics: [Diagnostic]
        /// Cross-document checks that concern this record alone (unknown modifiers).
        public var modifierDiagnostics: [Diagnostic]
        /// Results of the document's claim examples.
        public var exampleDiagnostics: [Diagnostic]
        /// Other codes (`CPT 27365`) the claim examples name: their results depend on those records too.
        public var exampleKeys: [String]

        public init(hash: String, record: RecordSummary? = nil, emitted: Bool = false, diagnostics: [Diagnostic] = [],
                    modifierDiagnostics: [Diagnostic] = [], exampleDiagnostics: [Diagnostic] = [], exampleKeys: [String] = []) {
            self.hash = hash
            self.record = record
            self.emitted = emitted
            self.diagnostics = diagnostics
            self.modifierDiagnostics = modifierDiagnostics
            self.exampleDiagnostics = exampleDiagnostics
            self.exampleKeys = exampleKeys
        }
    }

    /// What the index, the summary line and the cross-document checks need of a record.
    public struct RecordSummary: Sendable, Hashable {
        public var system: CodeSystem
        public var code: String
        public var title: String
        public var source: SourceLocation
        /// The bundle file name under `JSON/` (set when emitted).
        public var file: String
        public var modifiers: Int
        public var payers: Int

        public init(system: CodeSystem, code: String, title: String, source: SourceLocation, file: String, modifiers: Int, payers: Int) {
            self.system = system
            self.code = code
            self.title = title
            self.source = source
            self.file = file
            self.modifiers = modifiers
            self.payers = payers
        }

        public init(_ record: CodeRecord, file: String = "") {
            self.init(system: record.system, code: record.code, title: record.title, source: record.source, file: file,
                      modifiers: record.modifiers.count, payers: record.payers.count)
        }
    }

    /// The document lines of a manifest's text, as ``decodeKeepingLines(_:)`` found them: for each path,
    /// the byte range of its entry's compact JSON in `bytes`.
    struct DocumentLines: Sendable {
        var bytes: [UInt8]
        var values: [String: Range<Int>]
        /// The documents' and the files' keys in the order of the text (sorted, when it is canonical): a
        /// run that rewrites the manifest with the same keys need not sort 10,000 paths again.
        var documentOrder: [String] = []
        var fileOrder: [String] = []
    }

    /// Byte-stable JSON (the canonical writer: keys sorted by their UTF-8 bytes, two-space indentation),
    /// written straight to the writer (no intermediate tree: the manifest of a large run is megabytes).
    public func encoded() -> [UInt8] {
        encoded(reusing: nil, unchanged: [])
    }

    /// As ``encoded()``; the entries of the documents in `unchanged` are copied from `previous` (the text
    /// they were decoded from) instead of being written again. The caller guarantees they are equal.
    /// `documentOrder` / `fileOrder`: the keys in byte order when the caller has them (used, like the
    /// previous text's order, only after checking that they are exactly the keys, strictly increasing).
    func encoded(reusing previous: DocumentLines?, unchanged: Set<String>, documentOrder: [String] = [],
                 fileOrder: [String] = []) -> [UInt8] {
        encoded(continuing: encodedDocumentsPart(reusing: previous, unchanged: unchanged, documentOrder: documentOrder),
                fileOrder: fileOrder, previous: previous)
    }

    /// The start of a manifest's text, up to the end of its documents: what a write can encode before
    /// it has produced the files (whose hashes and sizes come after). ``encoded(continuing:fileOrder:previous:)``
    /// finishes it for any manifest with the same documents.
    struct PartialEncoding: @unchecked Sendable {
        fileprivate var writer: CanonicalJSONWriter
    }

    /// ``encoded(reusing:unchanged:documentOrder:fileOrder:)`` up to the end of the documents.
    func encodedDocumentsPart(reusing previous: DocumentLines?, unchanged: Set<String>, documentOrder: [String] = []) -> PartialEncoding {
        var writer = CanonicalJSONWriter(capacity: 256 + files.count * 120 + documents.count * 400)
        writer.beginObject()
        if !documents.isEmpty {
            // One document per line, compact (a diff shows which documents changed; encoded and decoded
            // in parallel chunks of lines).
            writer.key("documents")
            writer.beginObject()
            let keys = Self.sortedKeys(documents, hint: previous?.documentOrder ?? documentOrder)
            let lines = concurrentMap(count: keys.count) { index -> [UInt8] in
                if let previous, unchanged.contains(keys[index]), previous.values[keys[index]] != nil { return [] }  // copied below
                var line = CanonicalJSONWriter(style: .compact, capacity: 512)
                Self.write(documents[keys[index]]!, to: &line)
                return line.bytes
            }
            for (key, line) in zip(keys, lines) {
                writer.dynamicKey(key)
                if line.isEmpty, let previous, let range = previous.values[key] {
                    writer.rawValue(previous.bytes[range])
                } else {
                    writer.rawValue(line)
                }
            }
            writer.endObject()
        }
        return PartialEncoding(writer: writer)
    }

    /// The whole text: `part` (this manifest's documents, from ``encodedDocumentsPart(reusing:unchanged:documentOrder:)``),
    /// then files, inputs, salt, sizes and version.
    func encoded(continuing part: PartialEncoding, fileOrder: [String] = [], previous: DocumentLines? = nil) -> [UInt8] {
        let paths = Self.sortedKeys(files, hint: previous?.fileOrder ?? fileOrder)
        let sizePaths = sizes.count == files.count && paths.allSatisfy({ sizes[$0] != nil }) ? paths : Self.sortedKeys(sizes)
        return Self.encoded(continuing: part, files: paths.map { ($0, files[$0]!) }, sizes: sizePaths.map { ($0, sizes[$0]!) },
                            inputs: inputs, salt: salt, version: version)
    }

    /// The text of a manifest whose documents `part` holds, with its files' hashes and sizes given as lists
    /// in strictly increasing byte order of path: the same bytes as ``encoded(continuing:fileOrder:previous:)``
    /// without building and sorting dictionaries (a write already has its files in that order).
    static func encoded(continuing part: PartialEncoding, files: [(path: String, hash: String)],
                        sizes: [(path: String, size: Int)], inputs: [String: String], salt: String,
                        version: Int = Manifest.currentVersion) -> [UInt8] {
        var writer = part.writer
        writer.key("files")
        writer.beginObject()
        for file in files {
            writer.dynamicKey(file.path)
            writer.string(file.hash)
        }
        writer.endObject()
        writer.key("inputs")
        writer.beginObject()
        for key in sortedKeys(inputs) {
            writer.dynamicKey(key)
            writer.string(inputs[key]!)
        }
        writer.endObject()
        if !salt.isEmpty {
            writer.key("salt")
            writer.string(salt)
        }
        if !sizes.isEmpty {
            writer.key("sizes")
            writer.beginObject()
            for file in sizes {
                writer.dynamicKey(file.path)
                writer.integer(file.size)
            }
            writer.endObject()
        }
        writer.key("version")
        writer.integer(version)
        writer.endObject()
        writer.finishDocument()
        return writer.bytes
    }

    /// The keys of `dictionary` in byte order: `hint` when it holds exactly these keys, strictly increasing
    /// (the previous text's order, or the caller's).
    private static func sortedKeys<Value>(_ dictionary: [String: Value], hint: [String] = []) -> [String] {
        if hint.count == dictionary.count, !hint.isEmpty, hint.allSatisfy({ dictionary[$0] != nil }),
           zip(hint, hint.dropFirst()).allSatisfy({ $0.utf8Precedes($1) }) {
            return hint
        }
        return dictionary.keys.sorted { $0.utf8Precedes($1) }
    }

    /// Parses a manifest; nil when the bytes are not a manifest (then the writer owns no old files).
    /// Document entries that do not parse are dropped (those documents are compiled again).
    public static func decode(_ bytes: [UInt8]) -> Manifest? {
        decodeKeepingLines(bytes)?.manifest
    }

    /// As ``decode(_:)``, with the byte ranges of the document entries when the text has the layout
    /// `encoded()` writes (one line per document).
    static func decodeKeepingLines(_ bytes: [UInt8]) -> (manifest: Manifest, lines: DocumentLines?)? {
        // Fast path for the layout `encoded()` writes: the document lines parsed on all cores, the rest as
        // one JSON value with an empty documents object. Anything else: one parse of the whole text.
        if let split = splitDocumentLines(bytes), let rest = fastRest(split.rest) ?? JSONValueParser.parse(split.rest).flatMap(rest(of:)),
           let manifest = decode(rest: rest, documentLines: split.lines, in: bytes) {
            // (`decode` parses the document lines on all cores.)
            var values: [String: Range<Int>] = [:]
            var order: [String] = []
            values.reserveCapacity(split.lines.count)
            order.reserveCapacity(split.lines.count)
            for line in split.lines {
                guard let (key, value) = keyAndValue(of: line, in: bytes) else { continue }
                values[key] = value
                order.append(key)
            }
            return (manifest, DocumentLines(bytes: bytes, values: values, documentOrder: order, fileOrder: rest.fileOrder))
        }
        guard let root = JSONValueParser.parse(bytes), let manifest = decode(root: root, documentLines: [], in: bytes) else { return nil }
        return (manifest, nil)
    }

    /// `    "key": value` (plus an optional comma): the decoded key and the byte range of the value.
    private static func keyAndValue(of line: Range<Int>, in bytes: [UInt8]) -> (String, Range<Int>)? {
        var position = line.lowerBound + 5  // after the indentation and the opening quote
        while position < line.upperBound, bytes[position] != 0x22 {
            position += bytes[position] == 0x5C ? 2 : 1
        }
        guard position + 2 < line.upperBound, bytes[position + 1] == 0x3A, bytes[position + 2] == 0x20 else { return nil }
        let quoted = bytes[(line.lowerBound + 4)...position]
        let key: String
        if quoted.allSatisfy({ $0 != 0x5C && $0 >= 0x20 && $0 < 0x80 }) {  // plain ASCII: the text between the quotes
            key = String(decoding: quoted.dropFirst().dropLast(), as: UTF8.self)
        } else {
            guard case .string(let decoded)? = JSONValueParser.parse(Array(quoted)) else { return nil }
            key = decoded
        }
        var end = line.upperBound
        if bytes[end - 1] == 0x2C { end -= 1 }
        return (key, (position + 3)..<end)
    }

    private static let documentsOpening = Array("{\n  \"documents\": {\n".utf8)

    /// The byte ranges of the document lines (`    "path": {…},`) and the text without them.
    static func splitDocumentLines(_ bytes: [UInt8]) -> (lines: [Range<Int>], rest: [UInt8])? {
        guard bytes.count > documentsOpening.count, bytes[..<documentsOpening.count].elementsEqual(documentsOpening) else { return nil }
        var lines: [Range<Int>] = []
        var start = documentsOpening.count
        while start < bytes.count {
            guard let end = bytes[start...].firstIndex(of: 0x0A) else { return nil }
            // The closing line of the documents object: "  }," (or "  }").
            if end - start >= 3, bytes[start] == 0x20, bytes[start + 1] == 0x20, bytes[start + 2] == 0x7D {
                var rest = Array("{\n  \"documents\": {}".utf8)
                rest += bytes[(start + 3)...]
                return (lines, rest)
            }
            guard end - start > 6, bytes[start..<(start + 5)].elementsEqual([0x20, 0x20, 0x20, 0x20, 0x22]) else { return nil }
            lines.append(start..<end)
            start = end + 1
        }
        return nil
    }

    /// Everything of a manifest but the document lines.
    struct Rest {
        var files: [String: String] = [:]
        var fileOrder: [String] = []
        var sizes: [String: Int] = [:]
        var inputs: [String: String] = [:]
        var salt = ""
        var version = 0
        var documents: [(key: String, value: JSONNode)] = []
    }

    /// The rest of a manifest from its parsed JSON.
    static func rest(of root: JSONNode) -> Rest? {
        guard root.members != nil, let fileMembers = root["files"]?.members else { return nil }
        var rest = Rest()
        rest.files.reserveCapacity(fileMembers.count)
        for (path, value) in fileMembers {
            guard let hash = value.stringValue else { return nil }
            rest.files[path] = hash
            rest.fileOrder.append(path)
        }
        for (path, value) in root["inputs"]?.members ?? [] { if let text = value.stringValue { rest.inputs[path] = text } }
        if let members = root["sizes"]?.members {
            rest.sizes.reserveCapacity(members.count)
            for (path, value) in members { if let size = value.integerValue { rest.sizes[path] = size } }
        }
        rest.documents = root["documents"]?.members ?? []
        rest.salt = root["salt"]?.stringValue ?? ""
        rest.version = root["version"]?.integerValue ?? 0
        return rest
    }

    /// The rest of a manifest read line by line in the layout `encoded()` writes after the document
    /// lines (`"files"` and `"sizes"` one entry per line, empty `"inputs"`), without building a JSON tree
    /// of 20,000 members; nil for anything else (the general parser reads it then).
    static func fastRest(_ text: [UInt8]) -> Rest? {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        while start < text.count {
            let end = text[start...].firstIndex(of: 0x0A) ?? text.count
            lines.append(text[start..<end])
            start = end + 1
        }
        var position = 0
        func line(_ expected: String) -> Bool {
            guard position < lines.count, lines[position].elementsEqual(expected.utf8) else { return false }
            position += 1
            return true
        }
        /// `    "key": value` plus an optional comma: the key and the value's bytes.
        func entry() -> (String, ArraySlice<UInt8>)? {
            guard position < lines.count else { return nil }
            var bytes = lines[position]
            guard bytes.count > 8, bytes.starts(with: [0x20, 0x20, 0x20, 0x20, 0x22]) else { return nil }
            if bytes.last == 0x2C { bytes = bytes.dropLast() }
            let keyStart = bytes.startIndex + 5
            guard let keyEnd = bytes[keyStart...].firstIndex(of: 0x22), keyEnd + 2 < bytes.endIndex,
                  bytes[keyEnd + 1] == 0x3A, bytes[keyEnd + 2] == 0x20,
                  let key = plainString(bytes[keyStart..<keyEnd]) else { return nil }
            position += 1
            return (key, bytes[(keyEnd + 3)...])
        }
        func plainString(_ bytes: ArraySlice<UInt8>) -> String? {
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C }) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
        func quoted(_ bytes: ArraySlice<UInt8>) -> String? {
            guard bytes.count >= 2, bytes.first == 0x22, bytes.last == 0x22 else { return nil }
            return plainString(bytes.dropFirst().dropLast())
        }
        func number(_ bytes: ArraySlice<UInt8>) -> Int? {
            guard !bytes.isEmpty, bytes.count <= 18, bytes.allSatisfy({ (0x30...0x39).contains($0) }),
                  bytes.count == 1 || bytes.first != 0x30 else { return nil }
            return bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        var rest = Rest()
        guard line("{"), line("  \"documents\": {},"), line("  \"files\": {") else { return nil }
        while !line("  },") {
            guard let (key, value) = entry(), let hash = quoted(value) else { return nil }
            rest.files[key] = hash
            rest.fileOrder.append(key)
        }
        guard line("  \"inputs\": {},") else { return nil }
        if position < lines.count, lines[position].starts(with: "  \"salt\": ".utf8) {
            let value = lines[position].dropFirst("  \"salt\": ".utf8.count)
            guard value.last == 0x2C, let salt = quoted(value.dropLast()) else { return nil }
            rest.salt = salt
            position += 1
        }
        if line("  \"sizes\": {") {
            while !line("  },") {
                guard let (key, value) = entry(), let size = number(value) else { return nil }
                rest.sizes[key] = size
            }
        }
        guard position < lines.count, lines[position].starts(with: "  \"version\": ".utf8),
              let version = number(lines[position].dropFirst("  \"version\": ".utf8.count)) else { return nil }
        position += 1
        guard line("}"), position == lines.count || (position == lines.count - 1 && lines[position].isEmpty) else { return nil }
        rest.version = version
        return rest
    }

    private static func decode(root: JSONNode, documentLines: [Range<Int>], in bytes: [UInt8]) -> Manifest? {
        guard let rest = rest(of: root) else { return nil }
        return decode(rest: rest, documentLines: documentLines, in: bytes)
    }

    enum DocumentLine: Sendable { case entry(String, Document), dropped, malformed }

    /// The document line at `range` of `bytes` (`    "path": {…}` plus an optional comma): by the direct
    /// decoder, else parsed as the object `{"path": {…}}`.
    static func documentLine(_ range: Range<Int>, in bytes: [UInt8]) -> DocumentLine {
        if let (path, document) = bytes.withUnsafeBufferPointer({ ManifestLineDecoder.decode($0, line: range) }) {
            return .entry(path, document)
        }
        var range = range
        if bytes[range.upperBound - 1] == 0x2C { range = range.lowerBound..<(range.upperBound - 1) }
        var object: [UInt8] = [0x7B]
        object += bytes[range]
        object.append(0x7D)
        guard let members = JSONValueParser.parse(object)?.members else { return .malformed }
        guard members.count == 1, let document = document(members[0].value) else { return .dropped }
        return .entry(members[0].key, document)
    }

    private static func decode(rest: Rest, documentLines: [Range<Int>], in bytes: [UInt8]) -> Manifest? {
        let files = rest.files, sizes = rest.sizes, inputs = rest.inputs
        var documents: [String: Document] = [:]
        documents.reserveCapacity(rest.documents.count + documentLines.count)
        for (path, entry) in rest.documents { if let document = document(entry) { documents[path] = document } }
        if !documentLines.isEmpty {
            // Each line is `"path": {…}` plus an optional comma: parsed as the object `{"path": {…}}`.
            let parsed = concurrentMap(count: documentLines.count) { documentLine(documentLines[$0], in: bytes) }
            for line in parsed {
                switch line {
                case .entry(let path, let document): documents[path] = document
                case .dropped: continue  // JSON, but not a document entry: that document is compiled again
                case .malformed: return nil  // not JSON at all: the whole text is not a manifest
                }
            }
        }
        return Manifest(files: files, sizes: sizes, inputs: inputs, documents: documents, salt: rest.salt, version: rest.version)
    }

    // MARK: Document entries

    static func write(_ document: Document, to writer: inout CanonicalJSONWriter) {
        func diagnostics(_ key: String, _ list: [Diagnostic]) {
            guard !list.isEmpty else { return }
            writer.dynamicKey(key)
            writer.beginArray()
            for diagnostic in list {
                writer.beginObject()
                writer.key("column"); writer.integer(diagnostic.column)
                writer.key("id"); writer.string(diagnostic.id)
                writer.key("line"); writer.integer(diagnostic.line)
                writer.key("message"); writer.string(diagnostic.message)
                writer.key("path"); writer.string(diagnostic.path)
                writer.key("severity"); writer.string(diagnostic.severity.rawValue)
                writer.endObject()
            }
            writer.endArray()
        }
        // Keys in byte order.
        writer.beginObject()
        diagnostics("diagnostics", document.diagnostics)
        if document.record != nil {
            writer.key("emitted")
            writer.bool(document.emitted)
        }
        diagnostics("exampleDiagnostics", document.exampleDiagnostics)
        if !document.exampleKeys.isEmpty {
            writer.key("exampleKeys")
            writer.stringArray(document.exampleKeys)
        }
        writer.key("hash")
        writer.string(document.hash)
        diagnostics("modifierDiagnostics", document.modifierDiagnostics)
        if let record = document.record {
            writer.key("record")
            writer.beginObject()
            writer.key("code"); writer.string(record.code)
            writer.key("file"); writer.string(record.file)
            writer.key("modifiers"); writer.integer(record.modifiers)
            writer.key("payers"); writer.integer(record.payers)
            writer.key("source")
            JSONEmitter.write(record.source, to: &writer)
            writer.key("system"); writer.string(record.system.rawValue)
            writer.key("title"); writer.string(record.title)
            writer.endObject()
        }
        writer.endObject()
    }

    private static func document(_ object: JSONNode) -> Document? {
        guard let hash = object["hash"]?.stringValue else { return nil }
        var document = Document(hash: hash)
        if let record = object["record"] {
            guard let code = record["code"]?.stringValue, let file = record["file"]?.stringValue,
                  let modifiers = record["modifiers"]?.integerValue, let payers = record["payers"]?.integerValue,
                  let source = source(record["source"]), let systemName = record["system"]?.stringValue,
                  let system = CodeSystem(rawValue: systemName), let title = record["title"]?.stringValue,
                  let emitted = object["emitted"]?.boolValue else { return nil }
            document.record = RecordSummary(system: system, code: code, title: title, source: source, file: file,
                                            modifiers: modifiers, payers: payers)
            document.emitted = emitted
        }
        func diagnostics(_ key: String) -> [Diagnostic]? {
            guard let list = object[key] else { return [] }
            guard let items = list.elements else { return nil }
            var result: [Diagnostic] = []
            for item in items {
                guard let column = item["column"]?.integerValue, let id = item["id"]?.stringValue,
                      let line = item["line"]?.integerValue, let message = item["message"]?.stringValue,
                      let path = item["path"]?.stringValue, let severityName = item["severity"]?.stringValue,
                      let severity = Diagnostic.Severity(rawValue: severityName) else { return nil }
                result.append(Diagnostic(path: path, line: line, column: column, severity: severity, id: id, message: message))
            }
            return result
        }
        guard let compile = diagnostics("diagnostics"), let modifiers = diagnostics("modifierDiagnostics"),
              let examples = diagnostics("exampleDiagnostics") else { return nil }
        document.diagnostics = compile
        document.modifierDiagnostics = modifiers
        document.exampleDiagnostics = examples
        if let keys = object["exampleKeys"] {
            guard let items = keys.elements else { return nil }
            var list: [String] = []
            for item in items {
                guard let key = item.stringValue else { return nil }
                list.append(key)
            }
            document.exampleKeys = list
        }
        return document
    }

    private static func source(_ value: JSONNode?) -> SourceLocation? {
        guard let value, let line = value["line"]?.integerValue, let path = value["path"]?.stringValue,
              let items = value["section"]?.elements else { return nil }
        var section: [String] = []
        for item in items {
            guard let heading = item.stringValue else { return nil }
            section.append(heading)
        }
        return SourceLocation(path: path, line: line, section: section)
    }
}

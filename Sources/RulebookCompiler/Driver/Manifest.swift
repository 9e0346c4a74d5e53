import Foundation
import Rulebook

/// A fast, stable, non-cryptographic content hash: FNV-1a 64-bit, as 16 lower-case hex digits.
/// Used in the output manifest to tell which bytes each generated file holds.
public enum ContentHash {
    public static func value<C: Sequence<UInt8>>(_ bytes: C) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            for byte in buffer {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01B3
            }
        }
        if done == nil {
            for byte in bytes {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01B3
            }
        }
        return hash
    }

    /// `ContentHash.hex(Array("a".utf8))` == `"af63dc4c8601ec8c"`.
    public static func hex<C: Sequence<UInt8>>(_ bytes: C) -> String {
        let digits = String(value(bytes), radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The hash of the UTF-8 bytes of `text`.
    public static func hex(_ text: String) -> String {
        var text = text
        return text.withUTF8 { hex($0) }
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

    /// Byte-stable JSON (the canonical writer: keys sorted by their UTF-8 bytes, two-space indentation).
    public func encoded() -> [UInt8] {
        func object(_ dictionary: [String: String]) -> JSONValue { .object(dictionary.mapValues(JSONValue.string)) }
        var members: [String: JSONValue] = [
            "files": object(files), "inputs": object(inputs), "version": .integer(version),
        ]
        if !sizes.isEmpty { members["sizes"] = .object(sizes.mapValues(JSONValue.integer)) }
        if !documents.isEmpty { members["documents"] = .object(documents.mapValues(Self.value)) }
        if !salt.isEmpty { members["salt"] = .string(salt) }
        return Array(JSONValue.object(members).canonicalText.utf8)
    }

    /// Parses a manifest; nil when the bytes are not a manifest (then the writer owns no old files).
    /// Document entries that do not parse are dropped (those documents are compiled again).
    public static func decode(_ bytes: [UInt8]) -> Manifest? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let files = object["files"] as? [String: String] else { return nil }
        let version = (object["version"] as? NSNumber)?.intValue ?? 0
        let inputs = object["inputs"] as? [String: String] ?? [:]
        var sizes: [String: Int] = [:]
        for (path, size) in object["sizes"] as? [String: NSNumber] ?? [:] { sizes[path] = size.intValue }
        var documents: [String: Document] = [:]
        for (path, entry) in object["documents"] as? [String: Any] ?? [:] {
            if let document = document(entry) { documents[path] = document }
        }
        return Manifest(files: files, sizes: sizes, inputs: inputs, documents: documents,
                        salt: object["salt"] as? String ?? "", version: version)
    }

    // MARK: Document entries

    private static func value(_ document: Document) -> JSONValue {
        var members: [String: JSONValue] = ["hash": .string(document.hash)]
        if let record = document.record {
            members["record"] = .object([
                "code": .string(record.code), "file": .string(record.file), "modifiers": .integer(record.modifiers),
                "payers": .integer(record.payers), "source": value(record.source), "system": .string(record.system.rawValue),
                "title": .string(record.title),
            ])
            members["emitted"] = .bool(document.emitted)
        }
        if !document.diagnostics.isEmpty { members["diagnostics"] = .array(document.diagnostics.map(value)) }
        if !document.modifierDiagnostics.isEmpty { members["modifierDiagnostics"] = .array(document.modifierDiagnostics.map(value)) }
        if !document.exampleDiagnostics.isEmpty { members["exampleDiagnostics"] = .array(document.exampleDiagnostics.map(value)) }
        if !document.exampleKeys.isEmpty { members["exampleKeys"] = .array(document.exampleKeys.map(JSONValue.string)) }
        return .object(members)
    }

    private static func value(_ source: SourceLocation) -> JSONValue {
        .object(["line": .integer(source.line), "path": .string(source.path), "section": .array(source.section.map(JSONValue.string))])
    }

    private static func value(_ diagnostic: Diagnostic) -> JSONValue {
        .object(["column": .integer(diagnostic.column), "id": .string(diagnostic.id), "line": .integer(diagnostic.line),
                 "message": .string(diagnostic.message), "path": .string(diagnostic.path),
                 "severity": .string(diagnostic.severity.rawValue)])
    }

    private static func document(_ any: Any) -> Document? {
        guard let object = any as? [String: Any], let hash = object["hash"] as? String else { return nil }
        var document = Document(hash: hash)
        if let record = object["record"] {
            guard let record = record as? [String: Any], let code = record["code"] as? String,
                  let file = record["file"] as? String, let modifiers = record["modifiers"] as? NSNumber,
                  let payers = record["payers"] as? NSNumber, let source = source(record["source"]),
                  let systemName = record["system"] as? String, let system = CodeSystem(rawValue: systemName),
                  let title = record["title"] as? String, let emitted = object["emitted"] as? Bool else { return nil }
            document.record = RecordSummary(system: system, code: code, title: title, source: source, file: file,
                                            modifiers: modifiers.intValue, payers: payers.intValue)
            document.emitted = emitted
        }
        func diagnostics(_ key: String) -> [Diagnostic]? {
            guard let list = object[key] else { return [] }
            guard let items = list as? [Any] else { return nil }
            var result: [Diagnostic] = []
            for item in items {
                guard let item = item as? [String: Any], let column = item["column"] as? NSNumber, let id = item["id"] as? String,
                      let line = item["line"] as? NSNumber, let message = item["message"] as? String,
                      let path = item["path"] as? String, let severityName = item["severity"] as? String,
                      let severity = Diagnostic.Severity(rawValue: severityName) else { return nil }
                result.append(Diagnostic(path: path, line: line.intValue, column: column.intValue, severity: severity,
                                         id: id, message: message))
            }
            return result
        }
        guard let compile = diagnostics("diagnostics"), let modifiers = diagnostics("modifierDiagnostics"),
              let examples = diagnostics("exampleDiagnostics") else { return nil }
        document.diagnostics = compile
        document.modifierDiagnostics = modifiers
        document.exampleDiagnostics = examples
        if let keys = object["exampleKeys"] {
            guard let keys = keys as? [String] else { return nil }
            document.exampleKeys = keys
        }
        return document
    }

    private static func source(_ any: Any?) -> SourceLocation? {
        guard let object = any as? [String: Any], let line = object["line"] as? NSNumber, let path = object["path"] as? String,
              let section = object["section"] as? [String] else { return nil }
        return SourceLocation(path: path, line: line.intValue, section: section)
    }
}

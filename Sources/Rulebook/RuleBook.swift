import Foundation

/// A set of compiled code records with lookup by system and code.
/// Built from generated Swift (`RuleBook.generated` in a target that compiles `Generated/Swift`, which
/// is `RuleBook(embedded:)`: records decoded one by one on first use), from records
/// (`RuleBook(records:)`) or from a folder of JSON bundles (`RuleBook(bundlesAt:)`).
public struct RuleBook: Sendable {
    /// Lookup key: system + code (code upper-cased).
    public struct Key: Hashable, Sendable {
        public var system: CodeSystem
        public var code: String
        public init(_ system: CodeSystem, _ code: String) {
            self.system = system
            self.code = code.asciiFastUppercased
        }
    }

    /// Where the records are: in memory, or in generated code and decoded when first used.
    enum Storage: Sendable {
        /// `init(records:)`: everything built at once.
        case records(codes: [CodeRecord], index: [Key: Int], rules: RuleIndex)
        /// `init(embedded:)`: decoded per record on first use.
        case embedded(EmbeddedRuleBookStorage)
    }

    let storage: Storage

    /// All records, sorted by system then code. For a book over generated code (`init(embedded:)`)
    /// the first use decodes every record (in parallel), later uses return the same array.
    public var codes: [CodeRecord] {
        switch storage {
        case .records(let codes, _, _): codes
        case .embedded(let embedded): embedded.codes
        }
    }

    public init(records: [CodeRecord]) {
        let sorted = records.sorted { ($0.system.rawValue, $0.code) < ($1.system.rawValue, $1.code) }
        var index: [Key: Int] = [:]
        index.reserveCapacity(sorted.count)
        for (offset, record) in sorted.enumerated() where index[Key(record.system, record.code)] == nil {
            index[Key(record.system, record.code)] = offset
        }
        storage = .records(codes: sorted, index: index, rules: RuleIndex(sorted))
    }

    /// The records of generated code, decoded lazily: creating the book reads only the store's index
    /// (system and code of each record); `code(_:_:)` and `evaluate(_:)` decode a record the first time
    /// it is asked for; `codes` decodes them all. Lookups, `codes` and findings are the same as those of
    /// `RuleBook(records: store.allRecords())`.
    public init(embedded store: EmbeddedRuleStore) {
        storage = .embedded(EmbeddedRuleBookStorage(store))
    }

    /// The record for a code, e.g. `book.code(.cpt, "27365")`.
    public func code(_ system: CodeSystem, _ code: String) -> CodeRecord? {
        switch storage {
        case .records(let codes, let index, _): index[Key(system, code)].map { codes[$0] }
        case .embedded(let embedded): embedded.record(system, code)
        }
    }

    public subscript(_ system: CodeSystem, _ code: String) -> CodeRecord? { self.code(system, code) }

    /// The engine's view of the record for a code (see `RuleEngine.swift`); nil when the book has none.
    func rules(_ system: CodeSystem, _ code: String) -> RecordRules? {
        switch storage {
        case .records(_, _, let rules): rules.rules(system, code)
        case .embedded(let embedded): embedded.rules(system, code)
        }
    }
}

/// Why rules could not be loaded.
public struct RuleBookLoadError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): error: \(message)" }
}

extension String {
    /// `uppercased()`, without Unicode tables when the text is ASCII (codes and modifiers): ASCII letters
    /// map the same way, and a text with no lower-case letter is returned as it is.
    var asciiFastUppercased: String {
        let plain: Bool? = utf8.withContiguousStorageIfAvailable { bytes in
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return false }
            return !bytes.contains(where: { (0x61...0x7A).contains($0) })
        }
        switch plain {
        case true?: return self
        case false? where utf8.allSatisfy({ $0 < 0x80 }):
            return String(decoding: utf8.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }, as: UTF8.self)
        default: return uppercased()
        }
    }
}

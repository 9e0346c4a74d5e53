import Foundation

/// A set of compiled code records with lookup by system and code.
/// Built from generated Swift (`RuleBook.generated` in a target that compiles `Generated/Swift`)
/// or from a folder of JSON bundles (`RuleBook(bundlesAt:)`).
public struct RuleBook: Sendable {
    /// Lookup key: system + code (code upper-cased).
    public struct Key: Hashable, Sendable {
        public var system: CodeSystem
        public var code: String
        public init(_ system: CodeSystem, _ code: String) {
            self.system = system
            self.code = code.uppercased()
        }
    }

    /// All records, sorted by system then code.
    public let codes: [CodeRecord]
    private let index: [Key: Int]
    /// Precomputed lookups for `evaluate(_:)` (RuleEngine.swift).
    let ruleIndex: RuleIndex

    public init(records: [CodeRecord]) {
        let sorted = records.sorted { ($0.system.rawValue, $0.code) < ($1.system.rawValue, $1.code) }
        var index: [Key: Int] = [:]
        index.reserveCapacity(sorted.count)
        for (offset, record) in sorted.enumerated() where index[Key(record.system, record.code)] == nil {
            index[Key(record.system, record.code)] = offset
        }
        self.codes = sorted
        self.index = index
        self.ruleIndex = RuleIndex(sorted)
    }

    /// The record for a code, e.g. `book.code(.cpt, "27365")`.
    public func code(_ system: CodeSystem, _ code: String) -> CodeRecord? {
        index[Key(system, code)].map { codes[$0] }
    }

    public subscript(_ system: CodeSystem, _ code: String) -> CodeRecord? { self.code(system, code) }
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

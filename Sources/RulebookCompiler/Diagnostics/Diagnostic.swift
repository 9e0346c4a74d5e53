/// A located problem in a document, printed as `path:line:column: severity: message [id]`,
/// the format SwiftPM and Xcode show inline.
public struct Diagnostic: Sendable, Hashable, Codable {
    public enum Severity: String, Sendable, Hashable, Codable, Comparable {
        case error, warning, note

        private var rank: Int { self == .error ? 2 : self == .warning ? 1 : 0 }
        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
    }

    public var path: String
    /// 1-based; 0 when the problem concerns the whole file.
    public var line: Int
    /// 1-based; 0 when the problem concerns the whole line or file.
    public var column: Int
    public var severity: Severity
    /// Stable id, e.g. `table.missing-cells`. See `DiagnosticID`.
    public var id: String
    public var message: String

    public init(path: String, line: Int, column: Int = 1, severity: Severity, id: String, message: String) {
        self.path = path
        self.line = line
        self.column = column
        self.severity = severity
        self.id = id
        self.message = message
    }

    /// `path:line:column: error: message [id]`
    public var formatted: String {
        var location = path
        if line > 0 {
            location += ":\(line)"
            if column > 0 { location += ":\(column)" }
        }
        return "\(location): \(severity.rawValue): \(message) [\(id)]"
    }
}

/// Collects diagnostics in the order they are found.
public struct DiagnosticBag: Sendable {
    public private(set) var items: [Diagnostic] = []
    public let path: String

    public init(path: String) { self.path = path }

    public mutating func add(_ severity: Diagnostic.Severity, _ id: DiagnosticID, line: Int, column: Int = 1,
                             _ message: String) {
        items.append(Diagnostic(path: path, line: line, column: column, severity: severity, id: id.rawValue,
                                message: message))
    }

    public mutating func append(contentsOf other: [Diagnostic]) { items.append(contentsOf: other) }
    public var hasErrors: Bool { items.contains { $0.severity == .error } }
}

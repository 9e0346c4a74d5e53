import Rulebook

/// A file an emitter produces, relative to its output folder.
public struct GeneratedFile: Sendable, Hashable {
    /// Relative path with `/` separators, e.g. `JSON/cpt-27365.json`. Never derived unsanitised from document text.
    public var path: String
    public var contents: String
    public init(path: String, contents: String) {
        self.path = path
        self.contents = contents
    }
}

public enum AccessLevel: String, Sendable, CaseIterable {
    case `public`, package, `internal`
}

/// Model → Swift sources. (Stub: to be written.)
public enum SwiftEmitter {
    /// Files relative to the Swift output folder.
    public static func emit(_ records: [CodeRecord], accessLevel: AccessLevel) -> [GeneratedFile] { [] }
}

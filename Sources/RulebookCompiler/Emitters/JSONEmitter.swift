import Rulebook

/// Model → JSON text. Keys sorted, two-space indent, trailing newline: byte-identical run to run.
/// (Stub: to be written.)
public enum JSONEmitter {
    /// `{"schemaVersion": 1, "codes": [...]}`
    public static func bundle(_ records: [CodeRecord]) -> String { "" }
    /// `{"schemaVersion": 1, "codes": [...], "diagnostics": [...]}` — the output of `rulebook extract`.
    public static func extractResult(_ records: [CodeRecord], diagnostics: [Diagnostic]) -> String { "" }
    /// `{"schemaVersion": 1, "codes": [{system, code, title, file, source}]}`; `file` is the bundle's name.
    public static func index(_ records: [CodeRecord]) -> String { "" }
}

// TEMPORARY until the emitters branch lands.
extension JSONEmitter {
    public static func bundleFileName(for record: CodeRecord) -> String { "\(record.system.rawValue.lowercased())-\(record.code.lowercased()).json" }
}
public enum SchemaEmitter { public static func schema() -> String { "{}\n" } }

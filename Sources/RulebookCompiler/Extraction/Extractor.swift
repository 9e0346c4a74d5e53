import Rulebook

/// Blocks → typed model + diagnostics. (Stub: to be written.)
public enum Extractor {
    public static func extract(_ document: ParsedDocument) -> (record: CodeRecord?, diagnostics: [Diagnostic]) {
        (nil, [])
    }
}

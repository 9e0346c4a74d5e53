import Rulebook

/// Text → block tree with source locations. (Stub: to be written.)
public enum DocumentParser {
    /// Parses one document. Returns nil (with an error diagnostic) when the bytes are not valid UTF-8.
    public static func parse(bytes: [UInt8], path: String) -> (document: ParsedDocument?, diagnostics: [Diagnostic]) {
        (ParsedDocument(path: path, dialect: .markdown, blocks: []), [])
    }
}

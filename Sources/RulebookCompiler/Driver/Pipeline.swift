import Foundation
import Rulebook

/// Files in, model out: read → parse → extract for one document.
public enum Pipeline {
    /// The result of compiling one document.
    public struct Result: Sendable {
        public init(path: String, record: CodeRecord?, diagnostics: [Diagnostic]) {
            self.path = path
            self.record = record
            self.diagnostics = diagnostics
        }

        public var path: String
        public var record: CodeRecord?
        public var diagnostics: [Diagnostic]
        /// The parsed document (nil when the file could not be parsed); for tests and tools.
        public var document: ParsedDocument?
    }

    /// Compiles document bytes. `path` is how the document is named in provenance and diagnostics.
    public static func compile(bytes: [UInt8], path: String, options: ExtractionOptions = ExtractionOptions()) -> Result {
        let (document, parseDiagnostics) = DocumentParser.parse(bytes: bytes, path: path)
        guard let document else { return Result(path: path, record: nil, diagnostics: parseDiagnostics) }
        let (record, extractDiagnostics) = Extractor.extract(document, options: options)
        var result = Result(path: path, record: record, diagnostics: parseDiagnostics + extractDiagnostics)
        result.document = document
        return result
    }

    /// Reads and compiles one file; an unreadable file gives an error diagnostic.
    public static func compile(fileAt url: URL, displayPath: String) -> Result {
        do {
            let data = try Data(contentsOf: url)
            return compile(bytes: [UInt8](data), path: displayPath)
        } catch {
            let diagnostic = Diagnostic(path: displayPath, line: 0, column: 0, severity: .error,
                                        id: DiagnosticID.fileUnreadable.rawValue,
                                        message: "cannot read file: \(error.localizedDescription)")
            return Result(path: displayPath, record: nil, diagnostics: [diagnostic])
        }
    }
}

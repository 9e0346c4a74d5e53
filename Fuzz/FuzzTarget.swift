// libFuzzer entry point for the parser and extraction (built by Scripts/fuzz.sh, not by SwiftPM).
// The Rulebook runtime and the RulebookCompiler sources are compiled together with this file into
// one module, so `Pipeline` and the internal parser types are visible here.

/// Parses and extracts one input under both dialect hints (`.md` and `.txt`), and renders the
/// block tree and the record, so every parser path, the extractor and the debug dump run on each input.
@_cdecl("LLVMFuzzerTestOneInput")
public func rulebookFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    for path in ["fuzz.md", "fuzz.txt"] {
        let result = Pipeline.compile(bytes: bytes, path: path)
        // Invariants that hold for every input: a parse failure is always explained, and
        // provenance never points outside the document.
        let lineCount = bytes.reduce(1) { $0 + ($1 == 0x0A || $1 == 0x0D ? 1 : 0) }
        if result.document == nil && !result.diagnostics.contains(where: { $0.severity == .error }) {
            fatalError("document rejected without an error diagnostic")
        }
        for diagnostic in result.diagnostics where diagnostic.line > lineCount + 1 || diagnostic.line < 0 {
            fatalError("diagnostic line \(diagnostic.line) outside the document (\(lineCount) lines)")
        }
        if let record = result.record {
            if record.code.isEmpty { fatalError("record with an empty code") }
            if record.source.line < 1 || record.source.line > lineCount + 1 {
                fatalError("record source line \(record.source.line) outside the document")
            }
        }
        if let document = result.document {
            _ = BlockDump.json(document.blocks)
        }
        if let record = result.record {
            // The emitters see every record the fuzzer can produce (escaping, file names).
            _ = JSONEmitter.bundle([record])
            let name = JSONEmitter.bundleFileName(for: record)
            if name.contains("/") || name.contains("\\") || name.hasPrefix(".") || name.utf8.contains(0) {
                fatalError("unsafe bundle file name \(name.debugDescription)")
            }
            _ = SwiftEmitter.emit([record], accessLevel: .public)
        }
    }
    return 0
}

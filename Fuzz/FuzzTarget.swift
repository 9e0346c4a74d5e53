// libFuzzer entry point for the parser and extraction (built by Scripts/fuzz.sh, not by SwiftPM).
// The Rulebook runtime and the RulebookCompiler sources are compiled together with this file into
// one module, so `Pipeline` and the internal parser types are visible here.

import Foundation

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
            // The emitters see every record the fuzzer can produce: the JSON bundle must decode to exactly
            // the record, the bundle name must be a plain file name, and generated Swift must hold no raw
            // bidirectional control or NUL.
            let json = JSONEmitter.bundle([record])
            guard let bundle = try? JSONDecoder().decode(RuleBundle.self, from: Data(json.utf8)) else {
                fatalError("the JSON bundle does not decode: \(json.prefix(200).debugDescription)")
            }
            if bundle.codes != [record] { fatalError("the JSON bundle does not round-trip the record") }
            let name = JSONEmitter.bundleFileName(for: record)
            if name.contains("/") || name.contains("\\") || name.hasPrefix(".") || name.utf8.contains(0) {
                fatalError("unsafe bundle file name \(name.debugDescription)")
            }
            for file in SwiftEmitter.emit([record], accessLevel: .public) {
                for scalar in file.contents.unicodeScalars
                where (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value) || scalar.value == 0 {
                    fatalError("raw U+\(String(scalar.value, radix: 16)) in generated \(file.path)")
                }
            }
        }
    }
    return 0
}

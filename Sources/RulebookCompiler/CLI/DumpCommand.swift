import Foundation

/// `rulebook dump FILE`: the parsed block tree as JSON.
enum DumpCommand {
    static let command = Subcommand(
        name: "dump",
        summary: "Print the parsed block tree of a document as JSON",
        usage: """
        USAGE: rulebook dump FILE

        Prints {"blocks": [...]}: each block with its kind, its content and its 1-based line.

        """,
        spec: ArgumentSpec()
    ) { arguments throws(UsageError) in
        guard arguments.positionals.count == 1, let path = arguments.positionals.first else {
            throw UsageError("dump needs exactly one FILE")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            Console.error("\(path): error: cannot read file [\(DiagnosticID.fileUnreadable.rawValue)]\n")
            return 1
        }
        let (document, diagnostics) = DocumentParser.parse(bytes: [UInt8](data), path: path)
        Console.error(diagnostics.map { $0.formatted + "\n" }.joined())
        Console.out(BlockDump.json(document?.blocks ?? []))
        return diagnostics.contains { $0.severity == .error } ? 1 : 0
    }
}

import Foundation

/// `rulebook extract FILE…`: the model of each file as JSON on stdout; diagnostics also on stderr.
enum ExtractCommand {
    static let command = Subcommand(
        name: "extract",
        summary: "Print the rule model of documents as JSON",
        usage: """
        USAGE: rulebook extract FILE... [diagnostics options]

        Prints {"schemaVersion": 1, "codes": [...], "diagnostics": [...]} for the files to stdout;
        diagnostics also go to stderr. Exit 1 when any error diagnostic was reported.

        OPTIONS:
        \(DiagnosticsOptions.usage)
        """,
        spec: ArgumentSpec(valueOptions: DiagnosticsOptions.valueOptions, flags: DiagnosticsOptions.flags)
    ) { arguments throws(UsageError) in
        guard !arguments.positionals.isEmpty else { throw UsageError("extract needs at least one FILE") }
        let presenter = DiagnosticsPresenter(options: try DiagnosticsOptions.parse(arguments))
        var records: [Rulebook.CodeRecord] = []
        var diagnostics: [Diagnostic] = []
        for path in arguments.positionals {
            let result = Pipeline.compile(fileAt: URL(fileURLWithPath: path), displayPath: path)
            if let record = result.record { records.append(record) }
            diagnostics += result.diagnostics
        }
        presenter.present(diagnostics)
        Console.out(JSONEmitter.extractResult(records, diagnostics: diagnostics))
        return presenter.hasErrors(diagnostics) ? 1 : 0
    }
}

import Rulebook

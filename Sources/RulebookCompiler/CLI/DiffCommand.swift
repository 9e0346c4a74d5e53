import Foundation

/// `rulebook diff OLD NEW` / `rulebook diff --git REV [PATH…]`: what changed in the rules.
enum DiffCommand {
    static let command = Subcommand(
        name: "diff",
        summary: "Show rule-level changes between two sets of documents or bundles",
        usage: """
        USAGE: rulebook diff OLD NEW [--format text|json|markdown]
               rulebook diff --git REV [PATH...] [--format text|json|markdown]

        Compares two rule sets code by code and prints what changed in the rules: codes, titles, service
        types, sites of service, effective dates, modifiers (added, removed, description, when-to-use),
        payers (added, removed, prior authorization, coverage) and policy updates. Prose that is not a
        rule (summaries, clinical context, payer-note wording), line numbers and paths are ignored.

        OLD and NEW are each a folder of documents (.md, .markdown, .txt, recursively), a folder of JSON
        bundles (e.g. Generated/JSON), or one such file. With --git REV, OLD is the documents under each
        PATH (default: seeds) at that revision of the current repository and NEW the working tree's.

        OPTIONS:
          --git REV          Compare the documents at git revision REV with the working tree
          --format FORMAT    text (default), json, or markdown (a table for a pull request)

        EXIT STATUS: 0 no rule changes, 1 rule changes, 2 usage error (or an input that cannot be read).

        """,
        spec: ArgumentSpec(valueOptions: ["git", "format"])
    ) { arguments throws(UsageError) in
        let format = arguments.value("format") ?? "text"
        guard ["text", "json", "markdown"].contains(format) else {
            throw UsageError("unknown --format '\(format)' (expected text, json or markdown)")
        }
        let old: RuleSet, new: RuleSet
        if let revision = arguments.value("git") {
            let paths = arguments.positionals.isEmpty ? ["seeds"] : arguments.positionals
            old = try RuleSetLoader.load(gitRevision: revision, paths: paths)
            var newSets: [RuleSet] = []
            for path in paths { newSets.append(try RuleSetLoader.load(path: path)) }
            new = RuleSet(records: newSets.flatMap(\.records), diagnostics: newSets.flatMap(\.diagnostics),
                          label: paths.joined(separator: ","))
        } else {
            guard arguments.positionals.count == 2 else {
                throw UsageError(arguments.positionals.count < 2
                    ? "diff needs OLD and NEW (folders of documents or bundles), or --git REV"
                    : "unexpected argument '\(arguments.positionals[2])'")
            }
            old = try RuleSetLoader.load(path: arguments.positionals[0])
            new = try RuleSetLoader.load(path: arguments.positionals[1])
        }
        // Documents that do not compile are named on stderr; the diff covers what compiled.
        let errors = (old.diagnostics + new.diagnostics).filter { $0.severity == .error }
        if !errors.isEmpty {
            let terminal = Terminal.standardError
            Console.error(errors.map { DiagnosticsPresenter.line($0, colour: terminal.colour) + "\n" }.joined())
        }
        let changes = RuleDiff.compare(old: old.records, new: new.records)
        let codes = Set((old.records + new.records).map { "\($0.system.rawValue) \($0.code.uppercased())" }).count
        let report = DiffReport(old: old.label, new: new.label, changes: changes, codesCompared: codes)
        switch format {
        case "json": Console.out(report.json())
        case "markdown": Console.out(report.markdown())
        default: Console.out(report.text(colour: Terminal.standardOutput.colour))
        }
        return changes.isEmpty ? 0 : 1
    }
}

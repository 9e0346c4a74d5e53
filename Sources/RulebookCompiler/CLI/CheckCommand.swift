import Foundation
import Rulebook

/// `rulebook check --code 27365 [--modifier 50]… [--payer aetna] …`: checks one claim line against
/// the rules and prints one line per finding with the document line that justifies it.
enum CheckCommand {
    static let defaultRules = "Generated/JSON"

    static let command = Subcommand(
        name: "check",
        summary: "Check a claim line against the rules",
        usage: """
        USAGE: rulebook check --code CODE [--system CPT|HCPCS] [--modifier MOD]... [--payer PAYER]
                              [--date YYYY-MM-DD] [--units N] [--site SITE] [--rules DIR]
                              [--format text|json] [diagnostics options]

        Checks one claim line against the compiled rules and prints one line per finding:
          error|warning|info: message [id] (document:line, section)

        OPTIONS:
          --code CODE        The CPT or HCPCS code (required).
          --system SYSTEM    CPT or HCPCS; default CPT for a code starting with a digit, HCPCS otherwise.
          --modifier MOD     A modifier; repeat it (or separate with commas) for several, in billing order.
          --payer PAYER      Payer id (aetna, bcbs, cigna, unitedhealthcare, medicare…) or name.
          --date DATE        Date of service, YYYY-MM-DD; rules not yet effective then are not applied.
          --units N          Units of service (a positive integer).
          --site SITE        Site of service.
          --rules DIR        A folder of JSON bundles (default \(defaultRules)) or of documents
                             (.md/.txt, searched recursively and compiled on the fly); or one such file.
          --format FORMAT    text (default) or json ({"findings": [...]}, keys sorted).
        Diagnostics of documents compiled on the fly (errors; with --verbose all), and
        --warnings-as-errors also makes warning findings exit 1:
        \(DiagnosticsOptions.usage)
        EXIT STATUS: 0 no error finding, 1 at least one error finding, 2 usage error or rules not loadable.

        """,
        spec: ArgumentSpec(valueOptions: DiagnosticsOptions.valueOptions.union(["code", "system", "modifier", "payer", "date", "units", "site", "rules",
                                          "format"]), flags: DiagnosticsOptions.flags)
    ) { arguments throws(UsageError) in
        let line = try claimLine(from: arguments)
        let format = arguments.value("format") ?? "text"
        guard format == "text" || format == "json" else {
            throw UsageError("unknown format '\(format)' (expected text or json)")
        }
        let rulesPath = arguments.value("rules") ?? defaultRules
        let presenter = DiagnosticsPresenter(options: try DiagnosticsOptions.parse(arguments))
        let book: RuleBook
        switch loadRules(at: rulesPath, presenter: presenter) {
        case .success(let loaded):
            book = loaded
        case .failure(let problem):
            Console.error(problem.line + "\n")
            return 2
        }
        let findings = book.evaluate(line)
        if format == "json" {
            Console.out(json(findings))
        } else if findings.isEmpty {
            Console.out("ok: no findings for \(line.system.rawValue) \(line.claimText)\n")
        } else {
            Console.out(findings.map { $0.formatted + "\n" }.joined())
        }
        return findings.contains { $0.severity == .error || (presenter.options.warningsAsErrors && $0.severity == .warning) } ? 1 : 0
    }

    /// The claim line the options describe.
    static func claimLine(from arguments: ParsedArguments) throws(UsageError) -> ClaimLine {
        guard arguments.positionals.isEmpty else {
            throw UsageError("unexpected argument '\(arguments.positionals[0])' (give the code with --code)")
        }
        guard let rawCode = arguments.value("code") else { throw UsageError("check needs --code CODE") }
        let code = rawCode.trimmingCharacters(in: .whitespaces).uppercased()
        guard !code.isEmpty, code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw UsageError("--code '\(rawCode)' is not a code (letters and digits, e.g. 27365 or J1885)")
        }
        let system: CodeSystem
        if let name = arguments.value("system") {
            guard let parsed = CodeSystem(rawValue: name.uppercased()) else {
                throw UsageError("unknown --system '\(name)' (expected CPT or HCPCS)")
            }
            system = parsed
        } else {
            system = ClaimLine.defaultSystem(for: code)
        }
        var modifiers: [String] = []
        for value in arguments.all("modifier") {
            let parts = value.split(whereSeparator: { $0 == "," || $0 == " " }).map { $0.uppercased() }
            guard !parts.isEmpty else { throw UsageError("--modifier needs a value") }
            modifiers += parts
        }
        var date: String?
        if let value = arguments.value("date") {
            guard ClaimLine.isValidDate(value) else {
                throw UsageError("--date '\(value)' is not a date (expected YYYY-MM-DD)")
            }
            date = value
        }
        var units: Int?
        if let value = arguments.value("units") {
            guard let parsed = Int(value), parsed > 0 else {
                throw UsageError("--units '\(value)' is not a positive integer")
            }
            units = parsed
        }
        let payer = arguments.value("payer").map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        return ClaimLine(system: system, code: code, modifiers: modifiers, payer: payer, units: units,
                         siteOfService: arguments.value("site"), dateOfService: date)
    }

    /// Why the rules could not be loaded: a line for stderr (`path: error: message`).
    struct LoadProblem: Error {
        var line: String
        init(line: String) { self.line = line }
        init(message: String) { self.line = "error: " + message }
    }

    /// A folder of bundles, a folder of documents (compiled on the fly), or one bundle or document.
    static func loadRules(at path: String, presenter: DiagnosticsPresenter = DiagnosticsPresenter()) -> Result<RuleBook, LoadProblem> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            let hint = path == defaultRules
                ? " (run 'rulebook generate' first, or pass --rules DIR with bundles or documents)" : ""
            return .failure(LoadProblem(message: "no rules at '\(path)'\(hint)"))
        }
        let url = URL(fileURLWithPath: path)
        do {
            if !isDirectory.boolValue {
                if path.hasSuffix(".json") {
                    return .success(try RuleBook(bundleData: try Data(contentsOf: url), path: path))
                }
                return .success(compileDocuments(at: path, presenter: presenter))
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            if !RuleBook.bundleFileNames(names).isEmpty {
                return .success(try RuleBook(bundlesAt: url))
            }
            guard !InputCollector.collect(inputs: [path]).files.isEmpty else {
                return .failure(LoadProblem(message: "no rule bundles (*.json) or documents (*.md, *.txt) in '\(path)'"))
            }
            return .success(compileDocuments(at: path, presenter: presenter))
        } catch let error as RuleBookLoadError {
            return .failure(LoadProblem(line: error.description))
        } catch {
            return .failure(LoadProblem(line: "\(path): error: cannot read: \(error.localizedDescription)"))
        }
    }

    /// Compiles the documents at `path` (a folder or a file) the way `generate` does — same input
    /// collection, extraction and cross-document checks; diagnostics go to stderr and the check runs
    /// on what compiled.
    static func compileDocuments(at path: String, presenter: DiagnosticsPresenter = DiagnosticsPresenter()) -> RuleBook {
        let (files, collectDiagnostics) = InputCollector.collect(inputs: [path])
        let results = Generator.compileAll(files, options: ExtractionOptions(), jobs: nil)
        let (records, validation) = CrossDocumentValidator.validate(results.compactMap(\.record))
        presenter.presentCompileDiagnostics(collectDiagnostics + results.flatMap(\.diagnostics) + validation)
        return RuleBook(records: records)
    }

    /// `{"findings": [...]}`: keys sorted, two-space indent, `"source": null` when no document speaks.
    static func json(_ findings: [Finding]) -> String {
        JSONValue.object(["findings": .array(findings.map { finding in
            .object([
                "id": .string(finding.id),
                "message": .string(finding.message),
                "severity": .string(finding.severity.rawValue),
                "source": finding.source.map { source in
                    .object(["line": .integer(source.line), "path": .string(source.path),
                             "section": .array(source.section.map(JSONValue.string))])
                } ?? .null,
            ])
        })]).canonicalText
    }
}

import Foundation

/// How a command shows its diagnostics: `--diagnostics-format text|json|sarif`,
/// `--diagnostics-output FILE`, `--warnings-as-errors`, `--quiet`, `--verbose`.
public struct DiagnosticsOptions: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable { case text, json, sarif }
    public enum Verbosity: Sendable, Equatable { case quiet, normal, verbose }

    public var format: Format = .text
    /// nil: standard error.
    public var outputPath: String?
    public var warningsAsErrors = false
    public var verbosity: Verbosity = .normal

    public init() {}

    /// The value options these flags add to a command's `ArgumentSpec`.
    public static let valueOptions: Set<String> = ["diagnostics-format", "diagnostics-output"]
    public static let flags: Set<String> = ["warnings-as-errors", "quiet", "verbose"]

    /// Usage lines for a command's `--help`.
    public static let usage = """
          --diagnostics-format F   text (default), json or sarif (SARIF 2.1.0, for code scanning)
          --diagnostics-output FILE  Write diagnostics to FILE instead of standard error
          --warnings-as-errors     Report warnings as errors (and exit 1 when there are any)
          --quiet                  Print only errors (no notes, warnings or summary)
          --verbose                Also print one line per compiled document

        """

    public static func parse(_ arguments: ParsedArguments) throws(UsageError) -> DiagnosticsOptions {
        var options = DiagnosticsOptions()
        if let name = arguments.value("diagnostics-format") {
            guard let format = Format(rawValue: name) else {
                throw UsageError("unknown --diagnostics-format '\(name)' (expected text, json or sarif)")
            }
            options.format = format
        }
        if let path = arguments.value("diagnostics-output") {
            guard !path.isEmpty else { throw UsageError("--diagnostics-output needs a file path") }
            options.outputPath = path == "-" ? nil : path
        }
        options.warningsAsErrors = arguments.has("warnings-as-errors")
        if arguments.has("quiet") && arguments.has("verbose") {
            throw UsageError("--quiet and --verbose cannot be used together")
        }
        if arguments.has("quiet") { options.verbosity = .quiet }
        if arguments.has("verbose") { options.verbosity = .verbose }
        return options
    }
}

/// Renders diagnostics in the chosen format and writes them where the options say.
///
/// Text goes to stderr (coloured severity words on a colour terminal) or to the file; JSON and SARIF are one
/// document each. With `--warnings-as-errors` warnings are shown, counted and written as errors.
/// Human lines (the summary, per-file lines) go to stderr, except when a JSON or SARIF document is being
/// written to stderr: then that document is all stderr holds, so a tool can read it.
public struct DiagnosticsPresenter: Sendable {
    public var options: DiagnosticsOptions
    public var terminal: Terminal
    /// Where text for stderr goes (tests replace it).
    public var writeError: @Sendable (String) -> Void

    public init(options: DiagnosticsOptions = DiagnosticsOptions(), terminal: Terminal = .standardError,
                writeError: @escaping @Sendable (String) -> Void = { Console.error($0) }) {
        self.options = options
        self.terminal = terminal
        self.writeError = writeError
    }

    /// Warnings promoted to errors when `--warnings-as-errors` is on.
    public func effective(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        guard options.warningsAsErrors else { return diagnostics }
        return diagnostics.map { diagnostic in
            var copy = diagnostic
            if copy.severity == .warning { copy.severity = .error }
            return copy
        }
    }

    /// True when the (effective) diagnostics hold an error: the command should exit 1.
    public func hasErrors(_ diagnostics: [Diagnostic]) -> Bool {
        effective(diagnostics).contains { $0.severity == .error }
    }

    /// Whether human lines (summary, per-file lines) may be written to stderr.
    public var showsHumanLines: Bool {
        options.verbosity != .quiet && (options.format == .text || options.outputPath != nil)
    }

    /// Writes the diagnostics; returns false (after a message on stderr) when the output file cannot be written.
    @discardableResult
    public func present(_ diagnostics: [Diagnostic]) -> Bool {
        let shown = effective(diagnostics)
        let text: String
        switch options.format {
        case .text:
            let visible = options.verbosity == .quiet ? shown.filter { $0.severity == .error } : shown
            let colour = options.outputPath == nil && terminal.colour
            text = visible.map { Self.line($0, colour: colour) + "\n" }.joined()
        case .json:
            text = Self.json(shown)
        case .sarif:
            text = SARIF.log(shown)
        }
        guard let path = options.outputPath else {
            writeError(text)
            return true
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            return true
        } catch {
            writeError("error: cannot write diagnostics to '\(path)': \(error.localizedDescription)\n")
            return false
        }
    }

    /// For `check`, which runs on whatever compiled: in text, only errors (after `--warnings-as-errors`)
    /// unless `--verbose`; JSON and SARIF get every diagnostic. Nothing is written when there is nothing
    /// to show in text.
    public func presentCompileDiagnostics(_ diagnostics: [Diagnostic]) {
        if options.format == .text {
            let shown = options.verbosity == .verbose ? diagnostics : diagnostics.filter { effective([$0])[0].severity == .error }
            if !shown.isEmpty { present(shown) }
        } else {
            present(diagnostics)
        }
    }

    /// A human line (the summary, a per-file line) on stderr, unless quiet or a machine document owns stderr.
    public func human(_ line: String) {
        guard showsHumanLines, !line.isEmpty else { return }
        writeError(line.hasSuffix("\n") ? line : line + "\n")
    }

    /// A line shown only with `--verbose` (made only then: a run of 10,000 documents has a line per record).
    public func verbose(_ line: @autoclosure () -> String) {
        guard options.verbosity == .verbose else { return }
        human(line())
    }

    /// The summary line, with the counts recomputed when warnings were promoted
    /// (`…; 0 errors, 1 warning` becomes `…; 1 error, 0 warnings`).
    public func summary(_ summary: String, diagnostics: [Diagnostic]) {
        var text = summary
        if options.warningsAsErrors, let range = text.range(of: "; ", options: .backwards) {
            let shown = effective(diagnostics)
            let errors = shown.filter { $0.severity == .error }.count
            let warnings = shown.filter { $0.severity == .warning }.count
            text = String(text[..<range.lowerBound]) + "; \(Self.count(errors, "error")), \(Self.count(warnings, "warning"))"
        }
        human(colourSummary(text, diagnostics: diagnostics))
    }

    private func colourSummary(_ text: String, diagnostics: [Diagnostic]) -> String {
        guard terminal.colour else { return text }
        let hasErrors = hasErrors(diagnostics)
        return (hasErrors ? ANSIStyle.red : ANSIStyle.green) + text + ANSIStyle.reset
    }

    static func count(_ number: Int, _ noun: String) -> String { "\(number) \(noun)\(number == 1 ? "" : "s")" }

    /// `path:line:column: error: message [id]`, the severity word in colour when asked.
    public static func line(_ diagnostic: Diagnostic, colour: Bool) -> String {
        guard colour else { return diagnostic.formatted }
        let plain = diagnostic.formatted
        let word = diagnostic.severity.rawValue + ":"
        // The location never contains ": error:" before the real severity word, so the first match is it.
        guard let range = plain.range(of: ": " + word) else { return plain }
        let location = plain[..<range.lowerBound]
        let rest = plain[range.upperBound...]
        return ANSIStyle.bold + location + ":" + ANSIStyle.reset + " " + ANSIStyle.bold + ANSIStyle.colour(of: diagnostic.severity)
            + word + ANSIStyle.reset + rest
    }

    /// `{"diagnostics": [...], "errors": N, "notes": N, "warnings": N}`, keys sorted, two-space indent.
    public static func json(_ diagnostics: [Diagnostic]) -> String {
        struct Document: Encodable {
            var diagnostics: [Diagnostic]
            var errors: Int
            var warnings: Int
            var notes: Int
        }
        let document = Document(diagnostics: diagnostics,
                                errors: diagnostics.filter { $0.severity == .error }.count,
                                warnings: diagnostics.filter { $0.severity == .warning }.count,
                                notes: diagnostics.filter { $0.severity == .note }.count)
        return WorkflowJSON.encode(document)
    }
}

/// Sorted keys, two-space indent (Foundation's pretty printer), no escaped slashes, trailing newline.
enum WorkflowJSON {
    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

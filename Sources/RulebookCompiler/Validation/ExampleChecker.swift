import Rulebook

/// Checks the claim examples a document carries (`| Claim | Payer | Expected |`) against the
/// compiled rules, so a document's authors test their own rules.
///
/// An example passes when every listed `severity id` occurs among the findings and no error or
/// warning finding is left unlisted (info findings may be left out). `ok` means no error or warning.
/// The record's `effective` date is ignored: examples are evaluated without a date of service.
public enum ExampleChecker {
    /// One `severity id` of an Expected cell.
    public struct Expectation: Hashable, Sendable, CustomStringConvertible {
        public var severity: Finding.Severity
        public var id: String
        public init(severity: Finding.Severity, id: String) {
            self.severity = severity
            self.id = id
        }
        public var description: String { "\(severity.rawValue) \(id)" }
    }

    /// Diagnostics for `record`'s examples: `example.invalid` for an unreadable row, `example.failed`
    /// for one whose findings differ from the expected ones. Each at the example's row.
    /// The codes `record`'s examples name (`RuleBook.Key`), in order, without repeats: the records
    /// ``check(_:in:)`` looks up.
    public static func referencedKeys(_ record: CodeRecord) -> [RuleBook.Key] {
        var keys: [RuleBook.Key] = []
        for example in record.examples {
            guard let line = ClaimLine.parse(clean(example.claim), system: record.system, payer: payerID(example.payer)) else { continue }
            let key = RuleBook.Key(line.system, line.code)
            if !keys.contains(key) { keys.append(key) }
        }
        return keys
    }

    public static func check(_ record: CodeRecord, in book: RuleBook) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for example in record.examples {
            let claimText = clean(example.claim)
            let payer = payerID(example.payer)
            func report(_ id: DiagnosticID, _ message: String) {
                diagnostics.append(Diagnostic(path: example.source.path, line: example.source.line, column: 1,
                                              severity: .error, id: id.rawValue, message: message))
            }
            guard let line = ClaimLine.parse(claimText, system: record.system, payer: payer) else {
                report(.exampleInvalid, "claim example '\(example.claim)' is not a claim: write CODE[-MODIFIER]…, e.g. '\(record.code)-50'")
                continue
            }
            let expected: [Expectation]
            switch parseExpected(example.expected) {
            case .success(let value):
                expected = value
            case .failure(let problem):
                report(.exampleInvalid, "claim example '\(example.claim)': expected result '\(example.expected)' is not readable: \(problem.message)")
                continue
            }
            let findings = book.evaluate(line)
            let found = findings.map { Expectation(severity: $0.severity, id: $0.id) }
            let missing = expected.filter { !found.contains($0) }
            let unexpected = unique(found.filter { ($0.severity == .error || $0.severity == .warning) && !expected.contains($0) })
            guard !missing.isEmpty || !unexpected.isEmpty else { continue }
            let payerText = payer.map { " for payer \($0)" } ?? ""
            let expectedText = expected.isEmpty ? "ok" : expected.map(\.description).joined(separator: ", ")
            let foundText = found.isEmpty ? "no findings" : unique(found).map(\.description).joined(separator: ", ")
            var message = "claim example '\(line.claimText)'\(payerText) expected \(expectedText) but found \(foundText)"
            if !missing.isEmpty { message += "; missing: " + missing.map(\.description).joined(separator: ", ") }
            if !unexpected.isEmpty { message += "; not expected: " + unexpected.map(\.description).joined(separator: ", ") }
            report(.exampleFailed, message)
        }
        return diagnostics
    }

    public struct ParseProblem: Error, Sendable, Equatable {
        public var message: String
    }

    /// `ok` → `[]`; `error modifier.exclusive, warning payer.prior-auth-required` → two expectations.
    /// Items are separated by `,` or `;`; ids must be known finding ids (`FindingID`).
    public static func parseExpected(_ text: String) -> Result<[Expectation], ParseProblem> {
        let cleaned = clean(text)
        if cleaned.isEmpty { return .failure(ParseProblem(message: "it is empty (write 'ok' or e.g. 'error modifier.exclusive')")) }
        if cleaned.lowercased() == "ok" { return .success([]) }
        var result: [Expectation] = []
        for item in cleaned.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            let words = item.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard !words.isEmpty else { continue }
            guard words.count == 2 else {
                return .failure(ParseProblem(message: "'\(item.trimmed(of: " "))' is not 'severity id'"))
            }
            var severityWord = words[0].lowercased()
            if severityWord.hasSuffix(":") { severityWord.removeLast() }
            guard let severity = Finding.Severity(rawValue: severityWord) else {
                return .failure(ParseProblem(message: "'\(words[0])' is not a severity (error, warning or info)"))
            }
            let id = words[1].lowercased()
            guard let known = FindingID(rawValue: id) else {
                return .failure(ParseProblem(message: "'\(words[1])' is not a finding id (known: \(FindingID.allCases.map(\.rawValue).joined(separator: ", ")))"))
            }
            guard known.severity == severity else {
                return .failure(ParseProblem(message: "\(id) is reported as \(known.severity.rawValue), not \(severity.rawValue)"))
            }
            result.append(Expectation(severity: severity, id: id))
        }
        if result.isEmpty { return .failure(ParseProblem(message: "no 'severity id' in it")) }
        return .success(result)
    }

    /// The payer cell as a payer id; nil for an empty cell or one that names no payer.
    static func payerID(_ text: String) -> String? {
        let cleaned = clean(text)
        switch cleaned.lowercased() {
        case "", "-", "—", "–", "any", "none", "n/a", "na", "(none)", "(any)": return nil
        default: return cleaned.lowercased()
        }
    }

    /// Drops backticks and surrounding spaces (cells are often written as code spans).
    static func clean(_ text: String) -> String {
        String(text.filter { $0 != "`" }).trimmed(of: " \t")
    }

    private static func unique(_ items: [Expectation]) -> [Expectation] {
        var seen = Set<Expectation>()
        return items.filter { seen.insert($0).inserted }
    }
}

private extension StringProtocol {
    func trimmed(of set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

import Foundation

/// `rulebook explain ID`: what a diagnostic id means; `rulebook explain` lists every id.
enum ExplainCommand {
    static let command = Subcommand(
        name: "explain",
        summary: "Explain a diagnostic id (e.g. table.missing-cells), or list them all",
        usage: """
        USAGE: rulebook explain [ID]

        Prints the explanation of a diagnostic id, the [id] at the end of a diagnostic line
        (e.g. 'rulebook explain table.missing-cells'). Without an id, lists every id with a one-line summary.

        EXIT STATUS: 0 ok, 2 unknown id or usage error.

        """,
        spec: ArgumentSpec()
    ) { arguments throws(UsageError) in
        guard arguments.positionals.count <= 1 else {
            throw UsageError("explain takes one id (got \(arguments.positionals.count))")
        }
        guard let name = arguments.positionals.first else {
            Console.out(list())
            return 0
        }
        let wanted = name.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).lowercased()
        guard let id = DiagnosticID(rawValue: wanted) else {
            var message = "error: unknown diagnostic id '\(name)'\n"
            if let near = closest(to: wanted) { message += "hint: did you mean '\(near.rawValue)'? " } else { message += "hint: " }
            message += "run 'rulebook explain' to list the ids\n"
            Console.error(message)
            return 2
        }
        Console.out("\(id.rawValue) (\(SARIF.defaultLevel(id)))\n\n\(wrap(id.explanation, width: 80))\n")
        return 0
    }

    /// `id  first sentence`, one line per id.
    static func list() -> String {
        let width = (DiagnosticID.allCases.map(\.rawValue.count).max() ?? 0) + 2
        return DiagnosticID.allCases.map { id in
            id.rawValue.padding(toLength: width, withPad: " ", startingAt: 0) + SARIF.firstSentence(id.explanation) + "\n"
        }.joined()
    }

    /// The id sharing the longest prefix with `text`, or with the fewest edits, when it is close.
    static func closest(to text: String) -> DiagnosticID? {
        let scored = DiagnosticID.allCases.map { ($0, editDistance(Array(text), Array($0.rawValue))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= max(3, text.count / 3) ? best.0 : nil
    }

    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// Words wrapped at `width` columns.
    static func wrap(_ text: String, width: Int) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines.joined(separator: "\n")
    }
}

import Foundation

/// The output of `rulebook diff` in its three formats.
public struct DiffReport: Sendable {
    public var old: String
    public var new: String
    public var changes: [RuleChange]
    public var codesCompared: Int

    public init(old: String, new: String, changes: [RuleChange], codesCompared: Int) {
        self.old = old
        self.new = new
        self.changes = changes
        self.codesCompared = codesCompared
    }

    public var changedCodes: [String] {
        var seen: Set<String> = []
        return changes.map { "\($0.system) \($0.code)" }.filter { seen.insert($0).inserted }
    }

    /// `3 rule changes in 2 codes (15 codes compared)` or `no rule changes (15 codes compared)`.
    public var summary: String {
        if changes.isEmpty { return "no rule changes (\(codesCompared) codes compared)" }
        let codes = changedCodes.count
        return "\(changes.count) rule change\(changes.count == 1 ? "" : "s") in \(codes) code\(codes == 1 ? "" : "s") (\(codesCompared) codes compared)"
    }

    /// One line per change, grouped by code (a blank line between codes); a word-level excerpt indented
    /// under each text change; the summary last.
    public func text(colour: Bool = false) -> String {
        var output = ""
        var lastCode: String?
        for change in changes {
            let code = "\(change.system) \(change.code)"
            if let lastCode, lastCode != code { output += "\n" }
            lastCode = code
            output += (colour ? colourLine(change) : change.line) + "\n"
            if let excerpt = change.excerpt, change.kind != .titleChanged, change.kind != .serviceTypeChanged,
               change.kind != .modifierDescriptionChanged {
                output += "    " + (colour ? colourExcerpt(excerpt) : excerpt) + "\n"
            }
        }
        if !changes.isEmpty { output += "\n" }
        output += summary + "\n"
        return output
    }

    private func colourLine(_ change: RuleChange) -> String {
        let mark: String
        switch change.kind {
        case .codeAdded, .modifierAdded, .payerAdded, .policyUpdateAdded: mark = ANSIStyle.green
        case .codeRemoved, .modifierRemoved, .payerRemoved, .policyUpdateRemoved: mark = ANSIStyle.red
        default: mark = ANSIStyle.yellow
        }
        return ANSIStyle.bold + change.heading + ":" + ANSIStyle.reset + " " + mark + change.message + ANSIStyle.reset
            + (change.location.map { change.isRemoval ? " (was \($0))" : " (\($0))" } ?? "")
    }

    private func colourExcerpt(_ excerpt: String) -> String {
        excerpt.replacingOccurrences(of: "[-", with: ANSIStyle.red + "[-")
            .replacingOccurrences(of: "-]", with: "-]" + ANSIStyle.reset)
            .replacingOccurrences(of: "{+", with: ANSIStyle.green + "{+")
            .replacingOccurrences(of: "+}", with: "+}" + ANSIStyle.reset)
    }

    /// `{"changes": [...], "codesCompared": N, "new": "...", "old": "...", "summary": "..."}`, keys sorted.
    public func json() -> String {
        struct Document: Encodable {
            var old: String
            var new: String
            var changes: [Change]
            var codesCompared: Int
            var codesChanged: Int
            var summary: String
        }
        struct Change: Encodable {
            var system: String
            var code: String
            var kind: String
            var subject: String?
            var payer: String?
            var old: String?
            var new: String?
            var excerpt: String?
            var location: String?
            var message: String
            var line: String
        }
        let document = Document(
            old: old, new: new,
            changes: changes.map {
                Change(system: $0.system, code: $0.code, kind: $0.kind.rawValue, subject: $0.subject, payer: $0.payer,
                       old: $0.old, new: $0.new, excerpt: $0.excerpt, location: $0.location, message: $0.message, line: $0.line)
            },
            codesCompared: codesCompared, codesChanged: changedCodes.count, summary: summary)
        return WorkflowJSON.encode(document)
    }

    /// A GitHub-flavoured markdown table, ready to paste into a pull request.
    public func markdown() -> String {
        var output = "### Rule changes: \(Self.escape(old)) → \(Self.escape(new))\n\n"
        guard !changes.isEmpty else {
            return output + "No rule changes (\(codesCompared) codes compared).\n"
        }
        output += "| Code | Change | Source |\n|---|---|---|\n"
        for change in changes {
            var cell = Self.escape(change.message)
            if let excerpt = change.excerpt, change.kind != .titleChanged, change.kind != .serviceTypeChanged,
               change.kind != .modifierDescriptionChanged {
                cell += "<br>" + Self.markdownExcerpt(excerpt)
            }
            let source = change.location.map { (change.isRemoval ? "was " : "") + "`" + $0.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "`", with: "'") + "`" } ?? ""
            output += "| \(Self.escape(change.heading)) | \(cell) | \(source) |\n"
        }
        output += "\n" + summary.prefix(1).uppercased() + summary.dropFirst() + ".\n"
        return output
    }

    /// Markdown-escaped text for a table cell: inline syntax and pipes escaped, lines joined.
    static func escape(_ text: String) -> String {
        var output = ""
        for character in text {
            switch character {
            case "\\", "`", "*", "_", "~", "[", "]", "<", ">", "#", "|": output += "\\" + String(character)
            case "\n", "\r": output += " "
            default: output.append(character)
            }
        }
        return output
    }

    /// `a [-b-]{+c+} d` → `a ~~b~~ **c** d`, the words escaped.
    static func markdownExcerpt(_ excerpt: String) -> String {
        var output = ""
        var rest = Substring(excerpt)
        while !rest.isEmpty {
            if rest.hasPrefix("[-"), let end = rest.range(of: "-]") {
                output += "~~" + escape(String(rest[rest.index(rest.startIndex, offsetBy: 2)..<end.lowerBound])) + "~~"
                rest = rest[end.upperBound...]
            } else if rest.hasPrefix("{+"), let end = rest.range(of: "+}") {
                output += "**" + escape(String(rest[rest.index(rest.startIndex, offsetBy: 2)..<end.lowerBound])) + "**"
                rest = rest[end.upperBound...]
            } else {
                let next = [rest.range(of: "[-")?.lowerBound, rest.range(of: "{+")?.lowerBound].compactMap { $0 }.min() ?? rest.endIndex
                let plain = next == rest.startIndex ? rest.index(after: next) : next
                output += escape(String(rest[rest.startIndex..<plain]))
                rest = rest[plain...]
            }
        }
        return output
    }
}

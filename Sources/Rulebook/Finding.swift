/// What the rule engine says about a claim line: a severity, a stable id, a message, and the
/// document line of the rule it comes from.
public struct Finding: Sendable, Codable, Hashable, Comparable {
    public enum Severity: String, Sendable, Codable, Hashable, CaseIterable, Comparable {
        case error, warning, info

        /// error < warning < info: the order findings are listed in.
        var rank: Int {
            switch self {
            case .error: return 0
            case .warning: return 1
            case .info: return 2
            }
        }

        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
    }

    public var severity: Severity
    /// Stable id (`modifier.exclusive`); see `FindingID`.
    public var id: String
    public var message: String
    /// The rule's provenance: document path, 1-based line, heading path. Nil when no document speaks
    /// (an unknown code).
    public var source: SourceLocation?

    public init(severity: Severity, id: String, message: String, source: SourceLocation? = nil) {
        self.severity = severity
        self.id = id
        self.message = message
        self.source = source
    }

    public init(_ id: FindingID, message: String, source: SourceLocation?) {
        self.init(severity: id.severity, id: id.rawValue, message: message, source: source)
    }

    /// Severity, then id, then message (then source), so output is stable.
    public static func < (lhs: Finding, rhs: Finding) -> Bool {
        if lhs.severity != rhs.severity { return lhs.severity < rhs.severity }
        if lhs.id != rhs.id { return lhs.id < rhs.id }
        if lhs.message != rhs.message { return lhs.message < rhs.message }
        let l = lhs.source, r = rhs.source
        return (l?.path ?? "", l?.line ?? 0) < (r?.path ?? "", r?.line ?? 0)
    }

    /// `error: message [id] (seeds/x.md:19, Coding Specifications)`
    public var formatted: String {
        var text = "\(severity.rawValue): \(message) [\(id)]"
        if let source {
            text += " (\(source.path)"
            if source.line > 0 { text += ":\(source.line)" }
            if let section = source.section.last, !section.isEmpty { text += ", \(section)" }
            text += ")"
        }
        return text
    }
}

/// Every finding id the engine reports, with its severity. Ids are a contract (documents' claim
/// examples and claim-scrubbing tools use them): add, never rename.
public enum FindingID: String, Sendable, CaseIterable {
    /// The code is not in the rules.
    case codeUnknown = "code.unknown"
    /// A valid modifier that the code's document does not list.
    case modifierUnlisted = "modifier.unlisted"
    /// Not a modifier on the known list (`ModifierCatalog.known`) nor in the code's document.
    case modifierInvalid = "modifier.invalid"
    /// More than four modifiers on one line.
    case modifierTooMany = "modifier.too-many"
    /// Two modifiers that cannot be reported together (`ModifierCatalog.exclusions`).
    case modifierExclusive = "modifier.exclusive"
    /// The same modifier twice on one line.
    case modifierDuplicate = "modifier.duplicate"
    case payerPriorAuthRequired = "payer.prior-auth-required"
    case payerPriorAuthConditional = "payer.prior-auth-conditional"
    /// The documents do not say whether the payer requires prior authorization.
    case payerPriorAuthUnknown = "payer.prior-auth-unknown"
    case payerNotCovered = "payer.not-covered"
    case payerCoverageConditional = "payer.coverage-conditional"
    /// The code's rules take effect after the date of service; the document-based checks are skipped.
    case ruleNotEffective = "rule.not-effective"

    public var severity: Finding.Severity {
        switch self {
        case .codeUnknown, .modifierInvalid, .modifierTooMany, .modifierExclusive, .modifierDuplicate,
             .payerNotCovered:
            return .error
        case .modifierUnlisted, .payerPriorAuthRequired:
            return .warning
        case .payerPriorAuthConditional, .payerPriorAuthUnknown, .payerCoverageConditional, .ruleNotEffective:
            return .info
        }
    }
}

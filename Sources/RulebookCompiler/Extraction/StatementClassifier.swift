import Rulebook

/// The rules that turn what a document says about prior authorization and coverage into values.
/// Kept in one place, in precedence order, each rule tested (StatementClassifierTests).
///
/// Prior authorization, decided from the clause that mentions it (or a table cell):
/// negations win over conditionals, which win over "required"; no statement is `unknown`.
/// Coverage likewise: not covered > conditional > covered.
public enum StatementClassifier {
    // MARK: Prior authorization

    /// Words that make a clause about prior authorization.
    static let priorAuthorizationTopics = ["prior auth", "preauthorization", "pre-authorization", "preauthorisation",
                                           "prior authorisation", "precertification", "pre-certification", "prior approval",
                                           "preapproval", "pre-approval", "authorization", "authorisation"]
    static let priorAuthorizationNegations = ["not required", "no prior auth", "does not require", "doesn't require",
                                              "do not require", "don't require", "not needed", "not necessary",
                                              "without prior auth", "no authorization", "no authorisation", "not subject to",
                                              "is waived", "are waived", "no pa ", "no pa.", "no precertification",
                                              "no preauthorization", "not require"]
    static let priorAuthorizationConditionals = ["may be required", "may require", "might require", "may need",
                                                 "can be required", "could be required", "varies", "vary", "variable",
                                                 "depending on", "depends on", "dependent on", "case-by-case",
                                                 "case by case", "some plans", "certain plans", "plan-specific",
                                                 "plan specific", "conditional"]
    static let priorAuthorizationRequirements = ["required", "requires", "require", "must obtain", "must be obtained",
                                                 "must be approved", "mandatory", "needed", "is necessary"]
    static let unknownStatements = ["data not available", "not available", "n/a", "unknown", "not specified",
                                    "no data", "not stated", "unclear"]

    /// A table cell of a Prior Authorization column.
    public static func priorAuthorization(cell: String) -> PriorAuthorization {
        let text = normalized(cell)
        switch text {
        case "yes", "y", "required", "req", "req.", "yes (required)", "always", "true": return .required
        case "no", "n", "not required", "none", "false", "no pa": return .notRequired
        case "varies", "conditional", "sometimes", "depends", "maybe", "may be required", "varies by plan", "case-by-case": return .conditional
        case "", "-", "—", "–", "n/a", "na", "unknown", "data not available", "not available", "tbd", "?": return .unknown
        default: break
        }
        if text.hasPrefix("yes") { return .required }
        if text.hasPrefix("no ") || text.hasPrefix("no,") || text.hasPrefix("no;") || text.hasPrefix("no.") { return .notRequired }
        if text.hasPrefix("varies") { return .conditional }
        return priorAuthorization(clause: text, requireTopic: false)
    }

    /// Free text (a paragraph, a bullet, a note): the first clause that mentions prior authorization decides.
    public static func priorAuthorization(text: String) -> PriorAuthorization {
        for clause in clauses(of: normalized(text)) {
            let value = priorAuthorization(clause: clause, requireTopic: true)
            if value != .unknown { return value }
        }
        // A payer note that only says its requirements vary is about authorization requirements.
        let whole = normalized(text)
        if ["requirements vary", "requirements may vary", "vary by plan", "varies by plan"].contains(where: whole.contains) {
            return .conditional
        }
        return .unknown
    }

    static func priorAuthorization(clause: String, requireTopic: Bool) -> PriorAuthorization {
        if requireTopic && !priorAuthorizationTopics.contains(where: clause.contains) { return .unknown }
        if priorAuthorizationNegations.contains(where: clause.contains) { return .notRequired }
        if priorAuthorizationConditionals.contains(where: { containsWord(clause, $0) }) { return .conditional }
        if unknownStatements.contains(where: clause.contains) { return .unknown }
        if priorAuthorizationRequirements.contains(where: { containsWord(clause, $0) }) { return .required }
        return .unknown
    }

    // MARK: Coverage

    static let coverageTopics = ["cover", "medically necessary", "medical necessity", "experimental", "investigational",
                                 "reimburs", "payable", "non-covered", "noncovered", "excluded", "exclusion"]
    static let coverageNegations = ["not covered", "non-covered", "noncovered", "not a covered", "does not cover",
                                    "do not cover", "doesn't cover", "don't cover", "no coverage", "not medically necessary",
                                    "experimental and investigational", "experimental or investigational",
                                    "experimental/investigational", "investigational", "experimental", "not payable",
                                    "not reimbursable", "is excluded", "are excluded", "excluded from coverage"]
    static let coverageConditionals = ["covered only", "only covered", "coverage with evidence development",
                                       "may be covered", "might be covered", "limited coverage", "covered in limited",
                                       "coverage varies", "coverage may vary", "varies", "vary", "depending on",
                                       "depends on", "case-by-case", "case by case", "conditional", "under certain",
                                       "only when", "only if", "only for", "restricted to"]
    static let coverageAffirmations = ["covered", "coverage is provided", "provides coverage", "covers", "payable",
                                       "reimbursable", "medically necessary", "eligible for coverage", "is a covered"]

    public static func coverage(cell: String) -> Coverage {
        let text = normalized(cell)
        switch text {
        case "yes", "y", "covered", "covered when medically necessary", "true": return .covered
        case "no", "n", "not covered", "non-covered", "noncovered", "excluded", "false": return .notCovered
        case "varies", "conditional", "limited", "sometimes", "depends", "covered with conditions": return .conditional
        case "", "-", "—", "–", "n/a", "na", "unknown", "data not available", "not available", "tbd", "?": return .unknown
        default: return coverage(clause: text, requireTopic: false)
        }
    }

    public static func coverage(text: String) -> Coverage {
        for clause in clauses(of: normalized(text)) {
            let value = coverage(clause: clause, requireTopic: true)
            if value != .unknown { return value }
        }
        return .unknown
    }

    static func coverage(clause: String, requireTopic: Bool) -> Coverage {
        if requireTopic && !coverageTopics.contains(where: clause.contains) { return .unknown }
        if coverageNegations.contains(where: clause.contains) { return .notCovered }
        if coverageConditionals.contains(where: { containsWord(clause, $0) }) { return .conditional }
        if unknownStatements.contains(where: clause.contains) { return .unknown }
        if coverageAffirmations.contains(where: { containsWord(clause, $0) }) { return .covered }
        return .unknown
    }

    // MARK: Text helpers

    /// Lower-cased, curly apostrophes straightened, runs of white space collapsed.
    static func normalized(_ text: String) -> String {
        var result = text.lowercased().replacingOccurrences(of: "’", with: "'")
        if result.contains("  ") || result.contains("\t") || result.contains("\n") {
            result = result.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
        }
        return result.trimmingCharacters(in: [" ", "*", "_"])
    }

    /// Clauses: sentences and `;`-separated parts.
    static func clauses(of text: String) -> [String] {
        var result: [String] = []
        var current = ""
        let scalars = Array(text.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            let endsSentence = scalar == ";" || scalar == "!" || scalar == "?"
                || (scalar == "." && (index + 1 == scalars.count || scalars[index + 1] == " ")
                    && !isAbbreviationEnd(scalars, index))
            if endsSentence {
                if !current.isEmpty { result.append(current) }
                current = ""
            } else {
                current.unicodeScalars.append(scalar)
            }
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty { result.append(current) }
        return result
    }

    /// `e.g.`, `i.e.`, `vs.`, `etc.` do not end a sentence.
    private static func isAbbreviationEnd(_ scalars: [Unicode.Scalar], _ index: Int) -> Bool {
        var start = index
        while start > 0 && scalars[start - 1] != " " { start -= 1 }
        let word = String(String.UnicodeScalarView(scalars[start..<index]))
        return ["e.g", "i.e", "vs", "etc", "approx", "incl", "no", "dr", "st"].contains(word)
    }

    /// Whether `phrase` occurs in `text` at word boundaries (so "required" does not match "unrequired").
    static func containsWord(_ text: String, _ phrase: String) -> Bool {
        var searchStart = text.startIndex
        while let range = text.range(of: phrase, range: searchStart..<text.endIndex) {
            let beforeOK = range.lowerBound == text.startIndex || !text[text.index(before: range.lowerBound)].isLetter
            let afterOK = range.upperBound == text.endIndex || !text[range.upperBound].isLetter
            if beforeOK && afterOK { return true }
            searchStart = text.index(after: range.lowerBound)
        }
        return false
    }
}

import Foundation

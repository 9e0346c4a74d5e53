import Rulebook

/// The billing rules of this desk, compiled from the documents in `Sources/Billing/Documents` by the
/// RulebookPlugin build tool plugin. The generated code is internal to this module (`rulebook.json`
/// sets `"accessLevel": "internal"`); this type is the module's public face.
public enum BillingRules {
    /// Every code the documents define, sorted by system then code.
    public static var codes: [CodeRecord] { RuleBook.generated.codes }

    /// The record for a code, e.g. `BillingRules.code(.cpt, "20610")`.
    public static func code(_ system: CodeSystem, _ code: String) -> CodeRecord? {
        RuleBook.generated.code(system, code)
    }

    /// A short human-readable description of a record: title, modifiers and each payer's prior
    /// authorization, with the document line it came from.
    public static func describe(_ record: CodeRecord) -> String {
        var lines = ["\(record.displayName): \(record.title)"]
        let modifiers = record.modifiers.map(\.code)
        lines.append("modifiers: " + (modifiers.isEmpty ? "none" : modifiers.joined(separator: ", ")))
        for modifier in record.modifiers {
            lines.append("  \(modifier.code)  \(modifier.description)")
        }
        lines.append("prior authorization:")
        if record.payers.isEmpty { lines.append("  (no payer notes)") }
        for payer in record.payers {
            lines.append("  \(payer.name) [\(payer.payer)]: \(payer.priorAuthorization.rawValue)")
        }
        lines.append("source: \(record.source.path):\(record.source.line)")
        return lines.joined(separator: "\n")
    }
}

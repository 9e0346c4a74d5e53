import Foundation
import Rulebook

/// The billing rules of this desk, compiled from the documents in `Sources/Billing/Documents` by the
/// RulebookPlugin build tool plugin. The generated code is internal to this module (`rulebook.json`
/// sets `"accessLevel": "internal"`); this type is the module's public face.
public enum BillingRules {
    /// Every code the documents define, sorted by system then code.
    public static var codes: [CodeRecord] { RuleBook.generated.codes }

    /// The code this desk bills most, through the typed constant the plugin generates for it: a code
    /// missing from the documents is a compile error here, not a nil at run time.
    public static var mostBilled: CodeRecord { GeneratedCodes.cpt20610 }

    /// The record for a code, e.g. `BillingRules.code(.cpt, "20610")`.
    public static func code(_ system: CodeSystem, _ code: String) -> CodeRecord? {
        RuleBook.generated.code(system, code)
    }

    /// The JSON rule bundles compiled from the same documents (`cpt-20610.json`, `index.json`,
    /// `rulebook.schema.json`), shipped as the `JSON` folder resource of this module by the plugin.
    public static var jsonBundleFolder: URL? {
        Bundle.module.url(forResource: "JSON", withExtension: nil)
    }

    /// The JSON bundle of one code (`{"schemaVersion": 1, "codes": [record]}`), if the documents define it.
    public static func jsonBundle(_ system: CodeSystem, _ code: String) -> URL? {
        guard let folder = jsonBundleFolder else { return nil }
        let file = folder.appending(path: "\(system.rawValue)-\(code)".lowercased() + ".json")
        return FileManager.default.fileExists(atPath: file.path(percentEncoded: false)) ? file : nil
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

/// Payer names → normalised payer ids. `aetna`, `bcbs`, `cigna`, `unitedhealthcare`, `medicare`,
/// `medicaid`, `humana`; any other name becomes a lower-case slug (reported as a note).
public struct PayerDirectory: Sendable {
    public static let builtIn: [String: String] = [
        "aetna": "aetna", "aetna inc": "aetna", "aetna health": "aetna", "aetna commercial": "aetna",
        "blue cross blue shield": "bcbs", "blue cross and blue shield": "bcbs", "blue cross/blue shield": "bcbs",
        "bcbs": "bcbs", "bcbsa": "bcbs", "blue cross": "bcbs", "blue shield": "bcbs", "anthem": "bcbs",
        "anthem blue cross": "bcbs", "anthem blue cross blue shield": "bcbs", "anthem bcbs": "bcbs", "elevance health": "bcbs",
        "cigna": "cigna", "cigna health": "cigna", "cigna healthcare": "cigna", "cigna health care": "cigna",
        "unitedhealthcare": "unitedhealthcare", "united healthcare": "unitedhealthcare", "united health care": "unitedhealthcare",
        "uhc": "unitedhealthcare", "unitedhealth": "unitedhealthcare", "united health": "unitedhealthcare",
        "medicare": "medicare", "cms": "medicare", "original medicare": "medicare", "medicare part b": "medicare",
        "medicare part a": "medicare", "medicare advantage": "medicare", "medicare (cms)": "medicare", "cms/medicare": "medicare",
        "medicare administrative contractors": "medicare", "macs": "medicare",
        "medicaid": "medicaid", "state medicaid": "medicaid", "state medicaid programs": "medicaid", "medicaid programs": "medicaid",
        "humana": "humana",
    ]

    /// Extra names from `rulebook.json` (`knownPayers`), lower-cased name → id.
    public var extra: [String: String]

    public init(extra: [String: String] = [:]) {
        var lowered: [String: String] = [:]
        for (name, id) in extra { lowered[Self.key(name)] = id }
        self.extra = lowered
    }

    /// The id of a known payer, or nil.
    public func knownID(_ name: String) -> String? {
        let key = Self.key(name)
        if let id = extra[key] ?? Self.builtIn[key] { return id }
        // "Aetna Better Health", "Medicare Part B (MACs)": the longest known name the text starts with.
        var best: (length: Int, id: String)?
        for (alias, id) in Self.builtIn.merging(extra, uniquingKeysWith: { $1 }) where key.hasPrefix(alias + " ") || key.hasPrefix(alias + "(") {
            if alias.count > (best?.length ?? 0) { best = (alias.count, id) }
        }
        return best?.id
    }

    /// Lower-case slug for an unknown payer: `Kaiser Permanente` → `kaiser-permanente`.
    public static func slug(_ name: String) -> String {
        var slug = ""
        var pendingDash = false
        for scalar in name.lowercased().unicodeScalars {
            if (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") {
                if pendingDash && !slug.isEmpty { slug += "-" }
                pendingDash = false
                slug.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
        }
        return slug.isEmpty ? "payer" : String(slug.prefix(64))
    }

    static func key(_ name: String) -> String {
        var text = name.lowercased().replacingOccurrences(of: "’", with: "'")
        text = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        while let last = text.last, ".,;:*_".contains(last) { text.removeLast() }
        while let first = text.first, "*_".contains(first) { text.removeFirst() }
        if text.hasPrefix("the ") { text.removeFirst(4) }
        return text.trimmingCharacters(in: .whitespaces)
    }
}

import Foundation

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
    /// Every known name (built-in and extra) with its id, longest first, for prefix matching.
    private let prefixes: [(name: String, id: String)]
    /// The UTF-8 bytes of each prefix name, and whether they are all ASCII.
    private let prefixBytes: [(bytes: [UInt8], ascii: Bool)]

    public init(extra: [String: String] = [:]) {
        var lowered: [String: String] = [:]
        for (name, id) in extra { lowered[Self.key(name)] = id }
        self.extra = lowered
        prefixes = Self.builtIn.merging(lowered, uniquingKeysWith: { $1 }).map { ($0.key, $0.value) }
            .sorted { ($0.name.count, $0.name) > ($1.name.count, $1.name) }
        prefixBytes = prefixes.map { entry in
            let bytes = Array(entry.name.utf8)
            return (bytes, bytes.allSatisfy { $0 < 0x80 })
        }
    }

    /// The id of a known payer, or nil.
    public func knownID(_ name: String) -> String? {
        let keyBytes = Self.keyBytes(name)
        let key = String(decoding: keyBytes, as: UTF8.self)
        if let id = (extra.isEmpty ? nil : extra[key]) ?? Self.builtIn[key] { return id }
        // "Aetna Better Health", "Medicare Part B (MACs)": the longest known name the text starts with.
        // ASCII against ASCII compares bytes (the same as comparing characters); anything else compares characters.
        let keyIsASCII = keyBytes.allSatisfy { $0 < 0x80 }
        for (offset, (alias, id)) in prefixes.enumerated() {
            let aliasBytes = prefixBytes[offset]
            let length = aliasBytes.bytes.count
            guard keyBytes.count > length else { continue }
            let isPrefix: Bool
            if keyIsASCII && aliasBytes.ascii {
                isPrefix = keyBytes[0] == aliasBytes.bytes.first && keyBytes[..<length].elementsEqual(aliasBytes.bytes)
            } else {
                isPrefix = key.hasPrefix(alias)
            }
            guard isPrefix else { continue }
            let next = keyBytes[length]
            if next == 0x20 || next == 0x28 { return id }
        }
        return nil
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

    static func key(_ name: String) -> String { String(decoding: keyBytes(name), as: UTF8.self) }

    static func keyBytes(_ name: String) -> [UInt8] {
        var bytes = StatementClassifier.normalizedBytes(name)
        while let last = bytes.last, last == ASCII.dot || last == 0x2C || last == 0x3B || last == ASCII.colon || last == 0x20 { bytes.removeLast() }
        if bytes.count >= 4 && bytes[0] == 0x74 && bytes[1] == 0x68 && bytes[2] == 0x65 && bytes[3] == 0x20 { bytes.removeFirst(4) }
        return bytes
    }
}

import Foundation

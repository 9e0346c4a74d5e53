import Foundation

/// `rulebook.json`: per-target options for the build plugin and `generate --config`.
/// `{"accessLevel": "internal", "knownPayers": {"Kaiser Permanente": "kaiser"}, "knownModifiers": ["AB"]}`.
/// Unknown keys are an error, so a misspelt option never passes silently.
public struct RulebookConfig: Sendable, Equatable {
    public var accessLevel: AccessLevel?
    public var knownPayers: [String: String] = [:]
    public var knownModifiers: Set<String> = []

    public init() {}

    static let keys: Set<String> = ["accessLevel", "knownPayers", "knownModifiers"]

    /// Reads a config file; problems are error diagnostics at the file.
    public static func load(path: String) -> (config: RulebookConfig?, diagnostics: [Diagnostic]) {
        func failure(_ message: String) -> (RulebookConfig?, [Diagnostic]) {
            (nil, [Diagnostic(path: path, line: 1, column: 1, severity: .error, id: DiagnosticID.configInvalid.rawValue, message: message)])
        }
        guard let data = FileManager.default.contents(atPath: path) else { return failure("cannot read the config file") }
        guard let object = try? JSONSerialization.jsonObject(with: data), let dictionary = object as? [String: Any] else {
            return failure("the config file is not a JSON object")
        }
        var config = RulebookConfig()
        for key in dictionary.keys.sorted() where !keys.contains(key) {
            return failure("unknown key '\(key)' in rulebook.json (known keys: accessLevel, knownModifiers, knownPayers)")
        }
        if let value = dictionary["accessLevel"] {
            guard let text = value as? String, let level = AccessLevel(rawValue: text) else {
                return failure("accessLevel must be \"public\", \"package\" or \"internal\"")
            }
            config.accessLevel = level
        }
        if let value = dictionary["knownPayers"] {
            guard let payers = value as? [String: String] else {
                return failure("knownPayers must map payer names to ids, e.g. {\"Kaiser Permanente\": \"kaiser\"}")
            }
            for (name, id) in payers where PayerDirectory.slug(id) != id {
                return failure("payer id '\(id)' for '\(name)' must be lower-case letters, digits and dashes")
            }
            config.knownPayers = payers
        }
        if let value = dictionary["knownModifiers"] {
            guard let modifiers = value as? [String],
                  modifiers.allSatisfy({ $0.utf8.count == 2 && $0.utf8.allSatisfy { ASCII.isDigit($0) || ASCII.isUpper($0) } }) else {
                return failure("knownModifiers must be a list of two-character upper-case modifier codes")
            }
            config.knownModifiers = Set(modifiers)
        }
        return (config, [])
    }
}

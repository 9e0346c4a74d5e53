import Foundation

/// Diagnostics as a SARIF 2.1.0 log (Static Analysis Results Interchange Format, OASIS), the format
/// GitHub code scanning and other viewers read to show problems inline.
///
/// One run; `tool.driver.rules` lists every `DiagnosticID` with its explanation; each result names its rule
/// (`ruleId`, `ruleIndex`), its `level` (`error`, `warning`, `note`), its message and, when the line is known,
/// its physical location (`artifactLocation.uri` relative to `%SRCROOT%`, `region.startLine/startColumn`).
public enum SARIF {
    public static let schemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    public static let version = "2.1.0"

    struct Log: Encodable {
        var schema = SARIF.schemaURI
        var version = SARIF.version
        var runs: [Run]
        enum CodingKeys: String, CodingKey {
            case schema = "$schema"
            case version, runs
        }
    }

    struct Run: Encodable {
        var tool: Tool
        var results: [Result]
        var columnKind = "unicodeCodePoints"
    }

    struct Tool: Encodable { var driver: Driver }

    struct Driver: Encodable {
        var name = "rulebook"
        var version = CommandLineTool.version
        var semanticVersion = CommandLineTool.version
        var rules: [Rule]
    }

    struct Text: Encodable { var text: String }

    struct Rule: Encodable {
        var id: String
        var name: String
        var shortDescription: Text
        var fullDescription: Text
        var help: Text
        var defaultConfiguration: Configuration
    }

    struct Configuration: Encodable { var level: String }

    struct Result: Encodable {
        var ruleId: String
        var ruleIndex: Int?
        var level: String
        var message: Text
        var locations: [Location]
    }

    struct Location: Encodable { var physicalLocation: PhysicalLocation }

    struct PhysicalLocation: Encodable {
        var artifactLocation: ArtifactLocation
        var region: Region?
    }

    struct ArtifactLocation: Encodable {
        var uri: String
        var uriBaseId: String?
    }

    struct Region: Encodable {
        var startLine: Int
        var startColumn: Int?
    }

    /// The rules: every diagnostic id, in declaration order.
    static var rules: [Rule] {
        DiagnosticID.allCases.map { id in
            Rule(id: id.rawValue, name: ruleName(id), shortDescription: Text(text: firstSentence(id.explanation)),
                 fullDescription: Text(text: id.explanation),
                 help: Text(text: "\(id.explanation) Run `rulebook explain \(id.rawValue)` for this text."),
                 defaultConfiguration: Configuration(level: defaultLevel(id)))
        }
    }

    /// The SARIF log of `diagnostics` (severities as given: promote warnings before calling if asked).
    public static func log(_ diagnostics: [Diagnostic]) -> String {
        let rules = self.rules
        var index: [String: Int] = [:]
        for (offset, rule) in rules.enumerated() { index[rule.id] = offset }
        let results = diagnostics.map { diagnostic in
            var physical = PhysicalLocation(artifactLocation: artifactLocation(diagnostic.path))
            if diagnostic.line > 0 {
                physical.region = Region(startLine: diagnostic.line,
                                         startColumn: diagnostic.column > 0 ? diagnostic.column : nil)
            }
            return Result(ruleId: diagnostic.id, ruleIndex: index[diagnostic.id], level: diagnostic.severity.rawValue,
                          message: Text(text: diagnostic.message), locations: [Location(physicalLocation: physical)])
        }
        let log = Log(runs: [Run(tool: Tool(driver: Driver(rules: rules)), results: results)])
        return WorkflowJSON.encode(log)
    }

    /// A path as a URI reference: relative paths stay relative (to `%SRCROOT%`, the checkout), absolute
    /// ones become `file://` URIs; every character outside the unreserved set and `/` is percent-encoded.
    static func artifactLocation(_ path: String) -> ArtifactLocation {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")
        allowed.insert(charactersIn: "!$&'()*+,;=@")
        var trimmed = path
        while trimmed.hasPrefix("./") { trimmed.removeFirst(2) }
        let encoded = trimmed.addingPercentEncoding(withAllowedCharacters: allowed) ?? trimmed
        if trimmed.hasPrefix("/") { return ArtifactLocation(uri: "file://" + encoded, uriBaseId: nil) }
        return ArtifactLocation(uri: encoded, uriBaseId: "%SRCROOT%")
    }

    /// `table.missing-cells` → `TableMissingCells`.
    static func ruleName(_ id: DiagnosticID) -> String {
        id.rawValue.split(whereSeparator: { $0 == "." || $0 == "-" })
            .map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// The severity each id is usually reported with.
    static func defaultLevel(_ id: DiagnosticID) -> String {
        switch id {
        case .fileSkipped, .payerUnknown: return "note"
        case .tableMissingCells, .tableExtraCells, .modifierUnknown, .frontMatterUnknownKey, .frontMatterInvalid,
             .modifierDuplicate, .dateInvalid:
            return "warning"
        default: return "error"
        }
    }

    /// The text up to the first `. ` (or all of it).
    static func firstSentence(_ text: String) -> String {
        if let range = text.range(of: ". ") { return String(text[..<range.lowerBound]) + "." }
        return text
    }
}

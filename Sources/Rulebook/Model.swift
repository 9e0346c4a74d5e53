// The typed rule model. Generated code and consumers import only this module.
// JSON keys are a contract: they are the property names below.

/// Billing code systems Rulebook knows.
public enum CodeSystem: String, Codable, Sendable, Hashable, CaseIterable {
    case cpt = "CPT"
    case hcpcs = "HCPCS"
}

/// Where a rule came from: the document, its 1-based line, and the heading path above it.
public struct SourceLocation: Codable, Sendable, Hashable {
    public var path: String
    public var line: Int
    public var section: [String]

    public init(path: String, line: Int, section: [String] = []) {
        self.path = path
        self.line = line
        self.section = section
    }
}

/// One row of a modifier table.
public struct Modifier: Codable, Sendable, Hashable {
    /// Two characters, letters or digits, upper-cased (`50`, `LT`).
    public var code: String
    public var description: String
    public var whenToUse: String
    public var source: SourceLocation

    public init(code: String, description: String, whenToUse: String, source: SourceLocation) {
        self.code = code
        self.description = description
        self.whenToUse = whenToUse
        self.source = source
    }
}

public enum PriorAuthorization: String, Codable, Sendable, Hashable, CaseIterable {
    case required, notRequired, conditional, unknown
}

public enum Coverage: String, Codable, Sendable, Hashable, CaseIterable {
    case covered, notCovered, conditional, unknown
}

/// What one payer says about a code.
public struct PayerNote: Codable, Sendable, Hashable {
    /// Normalised id: `aetna`, `bcbs`, `cigna`, `unitedhealthcare`, `medicare`, `medicaid`, `humana`, or a slug.
    public var payer: String
    /// The payer's name as written in the document.
    public var name: String
    public var priorAuthorization: PriorAuthorization
    public var coverage: Coverage
    public var notes: String
    public var source: SourceLocation

    public init(payer: String, name: String, priorAuthorization: PriorAuthorization, coverage: Coverage,
                notes: String, source: SourceLocation) {
        self.payer = payer
        self.name = name
        self.priorAuthorization = priorAuthorization
        self.coverage = coverage
        self.notes = notes
        self.source = source
    }
}

/// A dated entry from a policy-updates section.
public struct PolicyUpdate: Codable, Sendable, Hashable {
    /// ISO date (`2025-01-01`) or the date as written when it is only a month or year.
    public var date: String
    public var payer: String?
    public var text: String
    public var source: SourceLocation

    public init(date: String, payer: String? = nil, text: String, source: SourceLocation) {
        self.date = date
        self.payer = payer
        self.text = text
        self.source = source
    }
}

/// Text the extractor could not place in a typed field, kept so nothing is lost silently.
public struct SectionText: Codable, Sendable, Hashable {
    public var heading: [String]
    public var text: String
    public var source: SourceLocation

    public init(heading: [String], text: String, source: SourceLocation) {
        self.heading = heading
        self.text = text
        self.source = source
    }
}

/// A claim example written in a document (`| Claim | Payer | Expected |`), checked at generate time.
public struct ClaimExample: Codable, Sendable, Hashable {
    /// As written: `27365-50-LT`.
    public var claim: String
    public var payer: String
    /// As written: `error modifier.exclusive`, `ok`.
    public var expected: String
    public var source: SourceLocation

    public init(claim: String, payer: String, expected: String, source: SourceLocation) {
        self.claim = claim
        self.payer = payer
        self.expected = expected
        self.source = source
    }
}

/// Everything one document says about one billing code.
public struct CodeRecord: Codable, Sendable, Hashable {
    public var system: CodeSystem
    public var code: String
    public var title: String
    public var summary: String
    public var serviceType: String
    public var sitesOfService: [String]
    /// ISO date from which the rules apply, if the document says.
    public var effective: String?
    public var source: SourceLocation
    public var modifiers: [Modifier]
    public var payers: [PayerNote]
    public var policyUpdates: [PolicyUpdate]
    public var examples: [ClaimExample]
    public var sections: [SectionText]

    public init(system: CodeSystem, code: String, title: String, summary: String = "", serviceType: String = "",
                sitesOfService: [String] = [], effective: String? = nil, source: SourceLocation,
                modifiers: [Modifier] = [], payers: [PayerNote] = [], policyUpdates: [PolicyUpdate] = [],
                examples: [ClaimExample] = [], sections: [SectionText] = []) {
        self.system = system
        self.code = code
        self.title = title
        self.summary = summary
        self.serviceType = serviceType
        self.sitesOfService = sitesOfService
        self.effective = effective
        self.source = source
        self.modifiers = modifiers
        self.payers = payers
        self.policyUpdates = policyUpdates
        self.examples = examples
        self.sections = sections
    }

    /// `CPT 27365`
    public var displayName: String { "\(system.rawValue) \(code)" }
}

/// The file format of JSON rule bundles: `{"schemaVersion": 1, "codes": [...]}`.
public struct RuleBundle: Codable, Sendable, Hashable {
    public static let currentSchemaVersion = 1
    public var schemaVersion: Int
    public var codes: [CodeRecord]

    public init(schemaVersion: Int = RuleBundle.currentSchemaVersion, codes: [CodeRecord]) {
        self.schemaVersion = schemaVersion
        self.codes = codes
    }
}

import Rulebook

/// The JSON Schema (draft 2020-12) of rule bundles, `JSON/rulebook.schema.json`.
///
/// Every object is closed (`additionalProperties: false`) and lists its required keys; the optional
/// keys are exactly the model's optionals (`effective`, a policy update's `payer`), absent when nil.
/// Enumerations come from the model (`CodeSystem`, `PriorAuthorization`, `Coverage`), so the schema
/// follows the runtime types.
public enum SchemaEmitter {
    public static let schemaDialect = "https://json-schema.org/draft/2020-12/schema"

    /// The schema as canonical JSON text (sorted keys, two-space indentation, trailing newline).
    public static func schema() -> String { schemaValue().canonicalText }

    static func schemaValue() -> JSONValue {
        .object([
            "$schema": .string(schemaDialect),
            "$id": .string("https://rulebook.invalid/schema/v\(RuleBundle.currentSchemaVersion)/rulebook.schema.json"),
            "title": .string("Rulebook rule bundle"),
            "description": .string("A JSON rule bundle written by `rulebook generate`: the rules one or more billing "
                + "documents state about billing codes, each with its provenance."),
            "type": .string("object"),
            "additionalProperties": .bool(false),
            "required": strings(["codes", "schemaVersion"]),
            "properties": .object([
                "schemaVersion": .object([
                    "description": .string("The bundle format version."),
                    "const": .integer(RuleBundle.currentSchemaVersion),
                ]),
                "codes": .object([
                    "type": .string("array"),
                    "items": ref("codeRecord"),
                ]),
            ]),
            "$defs": .object([
                "source": closedObject(
                    description: "Where a rule came from: document path, 1-based line, heading path above it.",
                    required: ["line", "path", "section"],
                    properties: [
                        "path": string(),
                        "line": .object(["type": .string("integer"), "minimum": .integer(0)]),
                        "section": stringArray(),
                    ]),
                "modifier": closedObject(
                    description: "One row of a modifier table.",
                    required: ["code", "description", "source", "whenToUse"],
                    properties: [
                        "code": string(),
                        "description": string(),
                        "whenToUse": string(),
                        "source": ref("source"),
                    ]),
                "payerNote": closedObject(
                    description: "What one payer says about a code.",
                    required: ["coverage", "name", "notes", "payer", "priorAuthorization", "source"],
                    properties: [
                        "payer": string(),
                        "name": string(),
                        "priorAuthorization": enumeration(PriorAuthorization.allCases.map(\.rawValue)),
                        "coverage": enumeration(Coverage.allCases.map(\.rawValue)),
                        "notes": string(),
                        "source": ref("source"),
                    ]),
                "policyUpdate": closedObject(
                    description: "A dated entry from a policy-updates section.",
                    required: ["date", "source", "text"],
                    properties: [
                        "date": string(),
                        "payer": string(),
                        "text": string(),
                        "source": ref("source"),
                    ]),
                "claimExample": closedObject(
                    description: "A claim example written in a document.",
                    required: ["claim", "expected", "payer", "source"],
                    properties: [
                        "claim": string(),
                        "payer": string(),
                        "expected": string(),
                        "source": ref("source"),
                    ]),
                "sectionText": closedObject(
                    description: "Text the extractor kept without a typed field.",
                    required: ["heading", "source", "text"],
                    properties: [
                        "heading": stringArray(),
                        "text": string(),
                        "source": ref("source"),
                    ]),
                "codeRecord": closedObject(
                    description: "Everything one document says about one billing code.",
                    required: ["code", "examples", "modifiers", "payers", "policyUpdates", "sections",
                               "serviceType", "sitesOfService", "source", "summary", "system", "title"],
                    properties: [
                        "system": enumeration(CodeSystem.allCases.map(\.rawValue)),
                        "code": .object(["type": .string("string"), "minLength": .integer(1)]),
                        "title": string(),
                        "summary": string(),
                        "serviceType": string(),
                        "sitesOfService": stringArray(),
                        "effective": string(),
                        "source": ref("source"),
                        "modifiers": arrayOf("modifier"),
                        "payers": arrayOf("payerNote"),
                        "policyUpdates": arrayOf("policyUpdate"),
                        "examples": arrayOf("claimExample"),
                        "sections": arrayOf("sectionText"),
                    ]),
            ]),
        ])
    }

    private static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
    private static func string() -> JSONValue { .object(["type": .string("string")]) }
    private static func stringArray() -> JSONValue { .object(["type": .string("array"), "items": string()]) }
    private static func ref(_ name: String) -> JSONValue { .object(["$ref": .string("#/$defs/\(name)")]) }
    private static func arrayOf(_ name: String) -> JSONValue { .object(["type": .string("array"), "items": ref(name)]) }
    private static func enumeration(_ values: [String]) -> JSONValue {
        .object(["type": .string("string"), "enum": strings(values)])
    }
    private static func closedObject(description: String, required: [String],
                                     properties: [String: JSONValue]) -> JSONValue {
        .object([
            "description": .string(description),
            "type": .string("object"),
            "additionalProperties": .bool(false),
            "required": strings(required.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }),
            "properties": .object(properties),
        ])
    }
}

import Foundation
import Rulebook
@testable import RulebookCompiler
import Testing

/// An independent canonical form: Foundation parses the text, a tree writer prints it with sorted keys.
private func canonicalize(_ text: String) throws -> String {
    func convert(_ object: Any) throws -> JSONValue {
        switch object {
        case let dictionary as [String: Any]: return .object(try dictionary.mapValues(convert))
        case let array as [Any]: return .array(try array.map(convert))
        case let string as String: return .string(string)
        case let number as NSNumber:
            if String(describing: type(of: number)).contains("Boolean") { return .bool(number.boolValue) }
            return .integer(number.intValue)
        case is NSNull: return .null
        default: throw CocoaError(.coderInvalidValue)
        }
    }
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    return try convert(object).canonicalText
}

/// Every string of a record, in a fixed order, for exact (byte) comparison.
func allStrings(_ record: CodeRecord) -> [String] {
    func source(_ location: Rulebook.SourceLocation) -> [String] { [location.path, "\(location.line)"] + location.section }
    var strings = [record.system.rawValue, record.code, record.title, record.summary, record.serviceType]
    strings += record.sitesOfService + [record.effective ?? "<nil>"] + source(record.source)
    for modifier in record.modifiers {
        strings += [modifier.code, modifier.description, modifier.whenToUse] + source(modifier.source)
    }
    for payer in record.payers {
        strings += [payer.payer, payer.name, payer.priorAuthorization.rawValue, payer.coverage.rawValue, payer.notes]
        strings += source(payer.source)
    }
    for update in record.policyUpdates { strings += [update.date, update.payer ?? "<nil>", update.text] + source(update.source) }
    for example in record.examples { strings += [example.claim, example.payer, example.expected] + source(example.source) }
    for section in record.sections { strings += section.heading + [section.text] + source(section.source) }
    return strings
}

/// `String ==` treats canonically equivalent text as equal (`é` and `e\u{301}`); this compares bytes.
func expectSameBytes(_ actual: [CodeRecord], _ expected: [CodeRecord],
                     sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, sourceLocation: sourceLocation)
    for (left, right) in zip(actual, expected) {
        let a = allStrings(left).map { Array($0.utf8) }
        let b = allStrings(right).map { Array($0.utf8) }
        #expect(a == b, "\(right.displayName) differs", sourceLocation: sourceLocation)
    }
}

@Suite struct EmitterJSONTests {
    let records = EmitterFixtures.records

    // MARK: Reference files

    @Test func bundleMatchesReference() throws {
        try EmitterFixtures.expectMatchesReference(JSONEmitter.bundle(records), "bundle.json")
    }

    @Test func extractResultMatchesReference() throws {
        try EmitterFixtures.expectMatchesReference(
            JSONEmitter.extractResult(records, diagnostics: EmitterFixtures.diagnostics), "extract.json")
    }

    @Test func indexMatchesReference() throws {
        try EmitterFixtures.expectMatchesReference(JSONEmitter.index(records), "index.json")
    }

    @Test func schemaMatchesReference() throws {
        try EmitterFixtures.expectMatchesReference(SchemaEmitter.schema(), "rulebook.schema.json")
    }

    // MARK: Round trips

    @Test func bundleDecodesWithJSONDecoderExactly() throws {
        let text = JSONEmitter.bundle(records)
        let bundle = try JSONDecoder().decode(RuleBundle.self, from: Data(text.utf8))
        #expect(bundle == RuleBundle(codes: records))
        expectSameBytes(bundle.codes, records)
        #expect(bundle.schemaVersion == RuleBundle.currentSchemaVersion)
    }

    @Test func extractResultDecodes() throws {
        struct ExtractResult: Decodable {
            var schemaVersion: Int
            var codes: [CodeRecord]
            var diagnostics: [Diagnostic]
        }
        let text = JSONEmitter.extractResult(records, diagnostics: EmitterFixtures.diagnostics)
        let result = try JSONDecoder().decode(ExtractResult.self, from: Data(text.utf8))
        #expect(result.codes == records)
        #expect(result.diagnostics == EmitterFixtures.diagnostics)
        #expect(result.schemaVersion == 1)
    }

    @Test func indexDecodesAndNamesTheBundles() throws {
        struct Entry: Decodable, Equatable {
            var system: CodeSystem
            var code: String
            var title: String
            var file: String
            var source: Rulebook.SourceLocation
        }
        struct Index: Decodable { var schemaVersion: Int; var codes: [Entry] }
        let index = try JSONDecoder().decode(Index.self, from: Data(JSONEmitter.index(records).utf8))
        let names = JSONEmitter.bundleFileNames(for: records)
        let expected = JSONEmitter.canonicalOrder(records).map { position in
            let record = records[position]
            return Entry(system: record.system, code: record.code, title: record.title, file: names[position],
                         source: record.source)
        }
        #expect(index.codes == expected)
        #expect(index.codes.contains { $0.file == "cpt-27365.json" })
        // Same index whatever the order of the input.
        #expect(JSONEmitter.index(records.reversed()) == JSONEmitter.index(records))
    }

    /// The canonical order (packed codes of up to 16 bytes, else string comparisons) is plain byte order
    /// of system, code, path and line, stable: checked against a reference sort on codes that differ in
    /// length, case, a NUL or a 16th/17th byte, and on duplicates that differ only in path or line.
    @Test func canonicalOrderIsByteOrder() {
        let codes = ["27365", "2736", "273650", "J1234", "j1234", "A", "A\u{0}", "Ä1", "0", "", "ABCDEFGHIJKLMNOP",
                     "ABCDEFGHIJKLMNOQ", "ABCDEFGH", "ABCDEFGHI", "ZZ", "Z"]
        var keys: [JSONEmitter.OrderKey] = []
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<400 {
            keys.append(JSONEmitter.OrderKey(system: Bool.random(using: &generator) ? .cpt : .hcpcs,
                                             code: codes.randomElement(using: &generator)!,
                                             path: ["b.md", "a.md", "a.txt", "é.md"].randomElement(using: &generator)!,
                                             line: Int.random(in: 1...3, using: &generator)))
        }
        func reference(_ keys: [JSONEmitter.OrderKey]) -> [Int] {
            keys.indices.sorted { i, j in
                let a = keys[i], b = keys[j]
                let left = (Array(a.system.rawValue.utf8), Array(a.code.utf8), Array(a.path.utf8))
                let right = (Array(b.system.rawValue.utf8), Array(b.code.utf8), Array(b.path.utf8))
                if left.0 != right.0 { return left.0.lexicographicallyPrecedes(right.0) }
                if left.1 != right.1 { return left.1.lexicographicallyPrecedes(right.1) }
                if left.2 != right.2 { return left.2.lexicographicallyPrecedes(right.2) }
                if a.line != b.line { return a.line < b.line }
                return i < j
            }
        }
        #expect(JSONEmitter.canonicalOrder(keys: keys) == reference(keys))
        // A code longer than 16 bytes takes the string comparisons for all: the same order.
        keys.append(JSONEmitter.OrderKey(system: .cpt, code: "ABCDEFGHIJKLMNOPQ", path: "c.md", line: 1))
        #expect(JSONEmitter.canonicalOrder(keys: keys) == reference(keys))
    }

    @Test func syntheticRecordsRoundTrip() throws {
        let synthetic = SyntheticRecords.make(count: 200)
        let text = JSONEmitter.bundle(synthetic)
        #expect(try JSONDecoder().decode(RuleBundle.self, from: Data(text.utf8)).codes == synthetic)
        #expect(try EmbeddedRuleData.decodeBundle(json: text).codes == synthetic)
    }

    // MARK: Canonical form

    @Test func outputIsCanonical() throws {
        let texts = [
            JSONEmitter.bundle(records), JSONEmitter.index(records), SchemaEmitter.schema(),
            JSONEmitter.extractResult(records, diagnostics: EmitterFixtures.diagnostics),
            JSONEmitter.bundle([]), JSONEmitter.extractResult([], diagnostics: []),
        ]
        for text in texts {
            #expect(try canonicalize(text) == text)
            #expect(text.hasSuffix("}\n") && !text.hasSuffix("\n\n"))
            #expect(!text.contains("\t") && !text.contains("\\/"))
        }
        #expect(JSONEmitter.bundle([]) == "{\n  \"codes\": [],\n  \"schemaVersion\": 1\n}\n")
    }

    @Test func optionalFieldsAreAbsentWhenNil() {
        let text = JSONEmitter.bundle([EmitterFixtures.minimal])
        #expect(!text.contains("effective") && !text.contains("null"))
        let typical = JSONEmitter.bundle([EmitterFixtures.typical])
        #expect(typical.contains("\"effective\": \"2025-01-01\""))
        // One policy update has a payer, the other none.
        #expect(typical.components(separatedBy: "\"payer\": \"aetna\"").count - 1 == 3)  // payer note, update, example
    }

    @Test func stringsAreEscapedPerRFC8259() {
        var writer = CanonicalJSONWriter()
        writer.string("a\"b\\c/d\u{0}\u{1F}\n\r\t\u{8}\u{C}é\u{202E}\u{7F}😀")
        #expect(writer.text == "\"a\\\"b\\\\c/d\\u0000\\u001f\\n\\r\\t\\b\\fé\u{202E}\u{7F}😀\"")

        var embedded = CanonicalJSONWriter(style: .compact, escapeInvisibles: true)
        embedded.string("x\u{202E}\u{2066}\u{200E}\u{061C}\u{2028}\u{FEFF}\u{85}\u{7F}\u{AD}é😀")
        #expect(embedded.text == "\"x\\u202e\\u2066\\u200e\\u061c\\u2028\\ufeff\\u0085\\u007f\\u00adé😀\"")
    }

    @Test func compactLineHasNoLineBreakOrInvisibleCharacter() throws {
        for record in records + SyntheticRecords.make(count: 20) {
            let line = String(decoding: JSONEmitter.compactLineBytes(record), as: UTF8.self)
            #expect(!line.unicodeScalars.contains { SwiftStringLiteral.mustEscape($0.value) })
            let decoded = try EmbeddedRuleData.decodeRecords(jsonLines: line)
            expectSameBytes(decoded, [record])
        }
    }

    // MARK: The fast reader agrees with JSONDecoder

    @Test func embeddedReaderAcceptsWhatJSONDecoderAccepts() throws {
        // JSONEncoder's output: other key order, escaped slashes, nulls for nil.
        let encoder = JSONEncoder()
        let encoded = try encoder.encode(RuleBundle(codes: records))
        let bundle = try EmbeddedRuleData.decodeBundle(json: String(decoding: encoded, as: UTF8.self))
        #expect(bundle.codes == records)
        expectSameBytes(bundle.codes, records)
        // Unknown keys are ignored, surrogate pairs decoded, lone surrogates replaced.
        let text = #"{"extra": [1, {"a": null}, true, -2.5e3], "schemaVersion": 1, "codes": [{"system": "CPT", "code": "1", "#
            + #""title": "\ud83d\ude00 \u00e9", "summary": "", "serviceType": "", "sitesOfService": [], "effective": null, "#
            + #""source": {"path": "p", "line": 2, "section": []}, "modifiers": [], "payers": [], "policyUpdates": [], "#
            + #""examples": [], "sections": []}]}"#
        let expected = try JSONDecoder().decode(RuleBundle.self, from: Data(text.utf8))
        let fast = try EmbeddedRuleData.decodeBundle(json: text)
        #expect(fast == expected)
        #expect(fast.codes.first?.title == "😀 é")
        // Lone surrogates become U+FFFD; a number with a zero fraction is accepted for an integer.
        let lone = text.replacingOccurrences(of: #"\u00e9"#, with: #"\ud800x\udc00"#)
            .replacingOccurrences(of: #""line": 2,"#, with: #""line": 2.0,"#)
        let repaired = try EmbeddedRuleData.decodeBundle(json: lone)
        #expect(repaired.codes.first?.title == "😀 \u{FFFD}x\u{FFFD}")
        #expect(repaired.codes.first?.source.line == 2)
    }

    @Test func embeddedReaderRejectsBrokenTextWithoutCrashing() throws {
        let text = JSONEmitter.bundle([EmitterFixtures.minimal, EmitterFixtures.hostile])
        let bytes = Array(text.utf8)
        var rejected = 0
        // Every truncation of the bundle is an error, never a crash; the whole text is fine.
        for length in stride(from: 0, to: bytes.count - 2, by: 7) {
            let prefix = String(decoding: bytes[..<length], as: UTF8.self)
            if (try? EmbeddedRuleData.decodeBundle(json: prefix)) == nil { rejected += 1 }
        }
        #expect(rejected == (bytes.count - 2 + 6) / 7)
        for broken in [#"{"schemaVersion": 1}"#, #"{"schemaVersion": "1", "codes": []}"#, "[]", "",
                       #"{"schemaVersion": 1, "codes": [{"system": "XYZ"}]}"#, #"{"schemaVersion": 1, "codes": []} x"#] {
            #expect(throws: RuleBookLoadError.self) { try EmbeddedRuleData.decodeBundle(json: broken) }
        }
    }

    // MARK: Bundle file names

    static let hostileCodes = [
        "../../x", "/etc/passwd", "..", ".", ".hidden", "CON", "con", "NUL", "Com1", "LPT9", "a/b", "a\\b", "",
        "C:\\x", "ÄÖ", String(repeating: "9", count: 300), "j1234", "J1234", "x y", "\u{202E}1", "a\u{0}b", "-",
        "27365", "27365 ", "27365\n", "~", "*", "?", "<>|\"",
    ]

    @Test(arguments: CodeSystem.allCases)
    func bundleFileNamesAreSafeAndDistinct(system: CodeSystem) throws {
        let pattern = try Regex("^(cpt|hcpcs)-[a-z0-9]+(-[a-z0-9]+)*\\.json$")
        var seen: [String: String] = [:]
        for code in Self.hostileCodes {
            let record = CodeRecord(system: system, code: code, title: "", source: .init(path: "p", line: 1))
            let name = JSONEmitter.bundleFileName(for: record)
            #expect(name.wholeMatch(of: pattern) != nil, "\(code.debugDescription) → \(name)")
            #expect(name.utf8.count <= 80 && !name.contains("..") && !name.hasPrefix("."))
            let stem = name.split(separator: ".").first.map(String.init)?.uppercased() ?? ""
            #expect(!JSONEmitter.reservedNames.contains(stem))
            if let other = seen[name] { Issue.record("\(code.debugDescription) and \(other.debugDescription) share \(name)") }
            seen[name] = code
        }
        let canonical = CodeRecord(system: system, code: "J1234", title: "", source: .init(path: "p", line: 1))
        #expect(JSONEmitter.bundleFileName(for: canonical) == system.rawValue.lowercased() + "-j1234.json")
    }

    @Test func duplicateRecordsGetUniqueNamesWhateverTheOrder() {
        let first = CodeRecord(system: .cpt, code: "27365", title: "a", source: .init(path: "a.md", line: 1))
        let second = CodeRecord(system: .cpt, code: "27365", title: "b", source: .init(path: "b.md", line: 1))
        let third = CodeRecord(system: .cpt, code: "27365-2", title: "c", source: .init(path: "c.md", line: 1))
        let names = JSONEmitter.bundleFileNames(for: [second, third, first])
        #expect(Set(names).count == 3)
        #expect(names[2] == "cpt-27365.json" && names[0] == "cpt-27365-2.json")
        #expect(names[1].hasPrefix("cpt-27365-2-") && names[1] != names[0])
        let again = JSONEmitter.bundleFileNames(for: [first, second, third])
        #expect([again[1], again[2], again[0]] == names)
    }

    // MARK: Schema

    @Test func schemaDescribesEveryFieldOfTheModel() throws {
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(SchemaEmitter.schema().utf8)) as? [String: Any])
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        #expect(schema["additionalProperties"] as? Bool == false)
        let definitions = try #require(schema["$defs"] as? [String: [String: Any]])

        // The keys JSONEncoder writes for a record with every field set are exactly the schema's properties.
        let encoded = try JSONEncoder().encode(EmitterFixtures.typical)
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        func check(_ name: String, _ value: [String: Any], optional: Set<String> = []) throws {
            let definition = try #require(definitions[name], "no $defs/\(name)")
            let properties = try #require(definition["properties"] as? [String: Any])
            #expect(Set(properties.keys) == Set(value.keys), "\(name)")
            #expect(Set(definition["required"] as? [String] ?? []) == Set(value.keys).subtracting(optional), "\(name)")
            #expect(definition["additionalProperties"] as? Bool == false, "\(name)")
        }
        try check("codeRecord", object, optional: ["effective"])
        try check("source", object["source"] as? [String: Any] ?? [:])
        try check("modifier", (object["modifiers"] as? [[String: Any]])?.first ?? [:])
        try check("payerNote", (object["payers"] as? [[String: Any]])?.first ?? [:])
        try check("policyUpdate", (object["policyUpdates"] as? [[String: Any]])?.first ?? [:], optional: ["payer"])
        try check("claimExample", (object["examples"] as? [[String: Any]])?.first ?? [:])
        try check("sectionText", (object["sections"] as? [[String: Any]])?.first ?? [:])

        func enumeration(_ definition: String, _ property: String) -> [String]? {
            ((definitions[definition]?["properties"] as? [String: Any])?[property] as? [String: Any])?["enum"] as? [String]
        }
        #expect(enumeration("codeRecord", "system") == CodeSystem.allCases.map(\.rawValue))
        #expect(enumeration("payerNote", "priorAuthorization") == PriorAuthorization.allCases.map(\.rawValue))
        #expect(enumeration("payerNote", "coverage") == Coverage.allCases.map(\.rawValue))
    }

    /// `Scripts/validate-bundles.py` (what `.ci/run` uses) accepts the emitted bundles and rejects broken ones.
    @Test(.enabled(if: EmitterJSONTests.pythonJSONSchemaAvailable))
    func pythonValidatorAcceptsEmittedBundlesAndRejectsBrokenOnes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let schema = folder.appendingPathComponent("rulebook.schema.json")
        try Data(SchemaEmitter.schema().utf8).write(to: schema)
        var good: [String] = []
        for (record, name) in zip(records, JSONEmitter.bundleFileNames(for: records)) {
            let url = folder.appendingPathComponent(name)
            try Data(JSONEmitter.bundle([record]).utf8).write(to: url)
            good.append(url.path)
        }
        let all = folder.appendingPathComponent("all.json")
        try Data(JSONEmitter.bundle(records + SyntheticRecords.make(count: 30)).utf8).write(to: all)
        #expect(try Self.runValidator([schema.path] + good + [all.path]) == 0)

        let broken = JSONEmitter.bundle([EmitterFixtures.typical])
        let variants = [
            broken.replacingOccurrences(of: "\"summary\":", with: "\"summry\":"),
            broken.replacingOccurrences(of: "\"coverage\": \"covered\"", with: "\"coverage\": \"maybe\""),
            broken.replacingOccurrences(of: "\"line\": 2,", with: "\"line\": \"2\","),
            broken.replacingOccurrences(of: "\"schemaVersion\": 1", with: "\"schemaVersion\": 2"),
        ]
        for (offset, variant) in variants.enumerated() {
            #expect(variant != broken)
            let url = folder.appendingPathComponent("broken-\(offset).json")
            try Data(variant.utf8).write(to: url)
            #expect(try Self.runValidator([schema.path, good[0], url.path]) == 1, "variant \(offset) accepted")
        }
    }

    static let validatorScript = EmitterFixtures.fixturesFolder
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scripts/validate-bundles.py")

    static let pythonJSONSchemaAvailable: Bool = {
        (try? runProcess(["python3", "-c", "import jsonschema"])) == 0
    }()

    static func runValidator(_ arguments: [String]) throws -> Int32 {
        try runProcess(["python3", validatorScript.path] + arguments)
    }
}

/// Runs a command found on PATH; returns its exit status (output discarded).
func runProcess(_ arguments: [String]) throws -> Int32 { try runProcessWithOutput(arguments).status }

/// Runs a command found on PATH; returns its exit status and its standard output and error, merged.
func runProcessWithOutput(_ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

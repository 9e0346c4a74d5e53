import Testing
import Foundation
@testable import Rulebook

/// `RuleBook(bundlesAt:)` on real temporary folders.
@Suite struct RuleEngineLoadingTests {
    /// A fresh temporary folder, removed by the caller.
    static func makeFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-engine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func bundleData(_ records: [CodeRecord], schemaVersion: Int = 1) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(RuleBundle(schemaVersion: schemaVersion, codes: records))
    }

    @Test func loadsEveryBundleButTheIndexAndSchema() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var other = EngineFixture.record()
        other.code = "27366"
        var fromB = EngineFixture.record()
        fromB.title = "from b"
        try Self.bundleData([EngineFixture.record()]).write(to: folder.appendingPathComponent("a.json"))
        try Self.bundleData([fromB, other]).write(to: folder.appendingPathComponent("b.json"))
        // Not bundles: would fail to load if read.
        try Data("{\"schemaVersion\": 1, \"codes\": [{\"system\": \"CPT\"}]}".utf8).write(to: folder.appendingPathComponent("index.json"))
        try Data("{\"$schema\": \"x\"}".utf8).write(to: folder.appendingPathComponent("rulebook.schema.json"))
        try Data("not json".utf8).write(to: folder.appendingPathComponent("notes.txt"))

        let book = try RuleBook(bundlesAt: folder)
        #expect(book.codes.map(\.code) == ["27365", "27365", "27366"])
        // Name order: a.json's record wins the lookup.
        #expect(book.code(.cpt, "27365")?.title == "Excision of Tumor, Femur or Knee")
        #expect(book.code(.cpt, "27366") != nil)
        #expect(book.evaluate(ClaimLine(system: .cpt, code: "27366", modifiers: ["50", "LT"])).map(\.id) == ["modifier.exclusive"])
    }

    @Test func rejectsAnotherSchemaVersion() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("v2.json")
        try Self.bundleData([EngineFixture.record()], schemaVersion: 2).write(to: file)
        #expect(throws: RuleBookLoadError(path: file.path,
                                          message: "bundle schemaVersion 2 is not supported by this runtime (expects 1)")) {
            try RuleBook(bundlesAt: folder)
        }
    }

    @Test func rejectsInvalidJSONNamingTheFile() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.bundleData([EngineFixture.record()]).write(to: folder.appendingPathComponent("a.json"))
        let bad = folder.appendingPathComponent("b.json")
        try Data("{\"schemaVersion\": 1, \"codes\": [".utf8).write(to: bad)
        do {
            _ = try RuleBook(bundlesAt: folder)
            Issue.record("a truncated bundle loaded")
        } catch let error as RuleBookLoadError {
            #expect(error.path == bad.path)
            #expect(error.message.hasPrefix("invalid JSON"))
            #expect(error.description.hasPrefix(bad.path + ": error: invalid JSON"))
        }
    }

    @Test func rejectsAShapeThatDoesNotMatchNamingTheKey() throws {
        var object = try JSONSerialization.jsonObject(with: try Self.bundleData([EngineFixture.record()])) as! [String: Any]
        var codes = object["codes"] as! [[String: Any]]
        codes[0].removeValue(forKey: "code")
        object["codes"] = codes
        let missingKey = try JSONSerialization.data(withJSONObject: object)
        do {
            _ = try RuleBook(bundleData: missingKey, path: "x.json")
            Issue.record("a bundle without a code loaded")
        } catch let error as RuleBookLoadError {
            #expect(error.path == "x.json")
            #expect(error.message == "bundle does not match the schema: missing key 'codes[0].code'")
        }

        codes[0]["code"] = "27365"
        codes[0]["system"] = "ICD"
        object["codes"] = codes
        let badSystem = try JSONSerialization.data(withJSONObject: object)
        #expect { try RuleBook(bundleData: badSystem, path: "x.json") } throws: { error in
            (error as? RuleBookLoadError)?.message.contains("'codes[0].system'") == true
        }

        let noVersion = Data("{\"codes\": []}".utf8)
        #expect(throws: RuleBookLoadError(path: "y.json", message: "bundle does not match the schema: missing key 'schemaVersion'")) {
            try RuleBook(bundleData: noVersion, path: "y.json")
        }
    }

    @Test func rejectsAMissingFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-missing-\(UUID().uuidString)")
        #expect { try RuleBook(bundlesAt: folder) } throws: { error in
            (error as? RuleBookLoadError)?.path == folder.path
        }
    }

    @Test func anEmptyFolderIsAnEmptyBook() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let book = try RuleBook(bundlesAt: folder)
        #expect(book.codes.isEmpty)
        #expect(book.evaluate(ClaimLine(code: "27365")).map(\.id) == ["code.unknown"])
    }
}

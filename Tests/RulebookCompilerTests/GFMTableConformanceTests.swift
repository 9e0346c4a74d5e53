import Foundation
import Testing
@testable import RulebookCompiler

/// Every table example of the GFM spec and cmark-gfm's extension tests, with what cmark-gfm makes
/// of it (Tests/Fixtures/conformance/gfm-tables.json, vendored from shared/conformance).
struct ConformanceCase: Decodable, CustomTestStringConvertible, Sendable {
    struct ExpectedTable: Decodable, Sendable {
        var line: Int
        var header: [String]
        var rows: [[String]]
    }
    var source: String
    var line: Int
    var markdown: String
    var tables: [ExpectedTable]
    var testDescription: String { "\(source):\(line)" }

    static let all: [ConformanceCase] = {
        let data = try! Data(contentsOf: Repository.url("Tests/Fixtures/conformance/gfm-tables.json"))
        return try! JSONDecoder().decode([ConformanceCase].self, from: data)
    }()
}

@Test func conformanceFileHasEveryExample() {
    #expect(ConformanceCase.all.count == 24)
}

@Test(arguments: ConformanceCase.all)
func gfmTableExample(_ example: ConformanceCase) throws {
    // Both dialects must agree with GitHub on tables.
    for path in ["example.md", "example.txt"] {
        let document = try #require(parse(example.markdown, path: path).document)
        let found = tables(in: document.blocks)
        let context = "\(example.source):\(example.line) as \(path) (\(document.dialect))"
        #expect(found.count == example.tables.count, "\(context): table count")
        for (actual, expected) in zip(found, example.tables) {
            #expect(actual.table.header.map(\.text) == expected.header, "\(context): header")
            #expect(actual.table.rows.map { $0.cells.map(\.text) } == expected.rows, "\(context): rows")
            if document.dialect == .markdown {
                #expect(actual.line == expected.line, "\(context): line")
            }
        }
    }
}

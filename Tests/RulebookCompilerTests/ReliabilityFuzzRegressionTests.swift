import Foundation
import Testing
@testable import RulebookCompiler

/// Every input in Tests/Fixtures/fuzz-regressions/ (crashes, hangs and wrong results found by the fuzzer,
/// the pathological benchmark or review; see the README there) compiles in both dialects without crashing,
/// and with the invariants the fuzz target checks.
@Suite struct ReliabilityFuzzRegressionTests {
    static let folder = "Tests/Fixtures/fuzz-regressions"

    static var fixtures: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Repository.url(folder).path)) ?? []
        return names.filter { $0 != "README.md" && !$0.hasPrefix(".") }.sorted()
    }

    @Test func theFolderHoldsRegressionsAndTheREADMENamesEach() throws {
        let fixtures = Self.fixtures
        #expect(fixtures.count >= 2)
        let readme = String(decoding: try Repository.bytes("\(Self.folder)/README.md"), as: UTF8.self)
        for name in fixtures { #expect(readme.contains(name), "README.md does not describe \(name)") }
    }

    @Test(arguments: fixtures)
    func compilesWithoutCrashing(name: String) throws {
        let bytes = try Repository.bytes("\(Self.folder)/\(name)")
        for result in ReliabilityPathologicalTests.compileBoth(bytes) {
            if let document = result.document {
                // The block tree renders (every node visited) and nests no deeper than the parser's limit.
                _ = BlockDump.json(document.blocks)
                #expect(ReliabilityPathologicalTests.listDepth(document.blocks) <= MarkdownBlockParser.maximumNesting)
            }
        }
    }

    /// The nesting fixtures: 1,500 nested list markers / 2,000 nested quote markers overflowed the stack of
    /// the recursive block parser (SIGSEGV in a debug build). Now nesting stops at the limit and the rest is text.
    @Test func deepNestingStopsAtTheLimitAndKeepsTheText() throws {
        let list = Pipeline.compile(bytes: try Repository.bytes("\(Self.folder)/nested-list-1500.md"), path: "nested.md")
        #expect(list.record?.code == "27365")
        let blocks = try #require(list.document).blocks
        #expect(ReliabilityPathologicalTests.listDepth(blocks) == MarkdownBlockParser.maximumNesting)
        let innermost = MarkdownBlockParser.plainLines(blocks).map(\.text).last ?? ""
        #expect(innermost.hasPrefix("- - -") && innermost.hasSuffix("x"))
        #expect(innermost.components(separatedBy: "- ").count - 1 == 1_500 - MarkdownBlockParser.maximumNesting)

        let quote = Pipeline.compile(bytes: try Repository.bytes("\(Self.folder)/nested-quote-2000.md"), path: "quote.md")
        #expect(quote.record?.code == "27365")
        let quoted = MarkdownBlockParser.plainLines(try #require(quote.document).blocks).map(\.text).last ?? ""
        #expect(quoted.hasSuffix("x") && quoted.contains("> > >"))
    }
}

import Foundation
@testable import RulebookCompiler

/// Paths of the repository, found from this file's location.
enum Repository {
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }
    static func bytes(_ relative: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(relative))) }
}

/// Parses markdown text (given as a string) as a document at `path`.
func parse(_ text: String, path: String = "test.md") -> (document: ParsedDocument?, diagnostics: [Diagnostic]) {
    DocumentParser.parse(bytes: Array(text.utf8), path: path)
}

/// All tables in a block tree, depth first.
func tables(in blocks: [Block]) -> [(line: Int, table: Table)] {
    var found: [(Int, Table)] = []
    for block in blocks {
        switch block.kind {
        case .table(let table): found.append((block.line, table))
        case .list(_, let items): for item in items { found += tables(in: item.blocks) }
        default: break
        }
    }
    return found
}

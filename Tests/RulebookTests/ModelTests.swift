import Testing
import Foundation
@testable import Rulebook

@Test func codeRecordRoundTripsThroughJSON() throws {
    let record = CodeRecord(system: .cpt, code: "27365", title: "Excision", source: SourceLocation(path: "a.md", line: 1))
    let data = try JSONEncoder().encode(record)
    #expect(try JSONDecoder().decode(CodeRecord.self, from: data) == record)
}

/// The ASCII shortcut for upper-casing codes and modifiers gives exactly `uppercased()`.
@Suite struct ASCIIUppercaseTests {
    @Test func asciiShortcutMatchesUppercased() {
        let pieces = ["a", "Z", "m", "0", "9", "-", "_", " ", "ß", "é", "ǆ", "ı", "i", "ﬁ", "ü", "27365", "g0283", "J1745"]
        var state: UInt64 = 12345
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33)
        }
        for _ in 0..<5000 {
            let text = (0..<(next() % 7)).map { _ in pieces[next() % pieces.count] }.joined()
            #expect(text.asciiFastUppercased == text.uppercased(), "\(text.debugDescription)")
        }
    }
}

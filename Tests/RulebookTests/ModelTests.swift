import Testing
import Foundation
@testable import Rulebook

@Test func codeRecordRoundTripsThroughJSON() throws {
    let record = CodeRecord(system: .cpt, code: "27365", title: "Excision", source: SourceLocation(path: "a.md", line: 1))
    let data = try JSONEncoder().encode(record)
    #expect(try JSONDecoder().decode(CodeRecord.self, from: data) == record)
}

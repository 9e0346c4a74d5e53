import Dispatch
import Foundation
import Testing
import Rulebook
import GeneratedRules

/// `RuleBook.generated` (lazy over the committed generated store) against an eager book of the same
/// records: the seeds' generated rules used as a consumer would.
@Suite struct RuleBookLazyGeneratedTests {
    static var eager: RuleBook { RuleBook(records: GeneratedCodes.all) }

    static func lines(_ records: [CodeRecord]) -> [ClaimLine] {
        var lines: [ClaimLine] = [ClaimLine(code: "99999"), ClaimLine(code: "99999", modifiers: ["50", "LT"])]
        for record in records {
            let listed = record.modifiers.map(\.code)
            for code in [record.code, record.code.lowercased()] {
                lines.append(ClaimLine(system: record.system, code: code, modifiers: listed + ["50", "LT", "XX"]))
            }
            for payer in record.payers.map(\.payer) + ["unknown payer"] {
                for date in [nil, "2000-01-01", "2099-12-31"] {
                    lines.append(ClaimLine(system: record.system, code: record.code, modifiers: Array(listed.prefix(2)),
                                           payer: payer, dateOfService: date))
                }
            }
        }
        return lines
    }

    @Test func generatedBookMatchesAnEagerBook() {
        let eager = Self.eager
        let lines = Self.lines(eager.codes)
        for line in lines {
            #expect(RuleBook.generated.evaluate(line) == eager.evaluate(line), "\(line)")
            #expect(RuleBook.generated.code(line.system, line.code) == eager.code(line.system, line.code))
        }
        #expect(RuleBook.generated.codes == eager.codes)
        #expect(RuleBook.generated.codes.count == GeneratedCodes.store.count)
        #expect(Set(lines.flatMap { eager.evaluate($0) }.map(\.id)).count >= 6)
    }

    @Test func freshLazyBooksAgreeUnderConcurrentFirstUse() {
        let eager = Self.eager
        let lines = Self.lines(eager.codes)
        let expected = lines.map { eager.evaluate($0) }
        let book = RuleBook(embedded: GeneratedCodes.store)
        let results = DispatchQueue.concurrentResults(count: 16) { thread -> Bool in
            var same = true
            for step in lines.indices {
                let index = (step + thread * 5) % lines.count
                same = same && book.evaluate(lines[index]) == expected[index]
                    && book.code(lines[index].system, lines[index].code) == eager.code(lines[index].system, lines[index].code)
            }
            return same && book.codes == eager.codes
        }
        #expect(results == Array(repeating: true, count: 16))
    }
}

/// Results written by concurrent threads, one slot each.
private final class Slots<T: Sendable>: @unchecked Sendable {
    let lock = NSLock()
    var values: [T?]
    init(_ count: Int) { values = Array(repeating: nil, count: count) }
}

extension DispatchQueue {
    /// `body(i)` for each i in 0..<count, run concurrently; the results in order of i.
    static func concurrentResults<T: Sendable>(count: Int, _ body: @Sendable (Int) -> T) -> [T] {
        let slots = Slots<T>(count)
        concurrentPerform(iterations: count) { index in
            let value = body(index)
            slots.lock.lock()
            slots.values[index] = value
            slots.lock.unlock()
        }
        return slots.values.map { $0! }
    }
}

import Dispatch
import Foundation
import Testing
@testable import Rulebook

/// `RuleBook(embedded:)` (records decoded on first use) against `RuleBook(records:)` (eager), on the
/// seed documents' compiled records (the committed `Generated/JSON` bundles) written into an
/// `EmbeddedRuleStore` the way generated code embeds them: JSON lines plus an index of byte ranges.
@Suite struct RuleBookLazyTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The seeds' records, plus records that exercise the edges of lookup: the same code twice (the
    /// first in `codes` order wins), a lower-case code, a code too long to pack into an integer, and a
    /// non-ASCII code whose upper-case form is ASCII (`ß1` → `SS1`).
    static func records() throws -> [CodeRecord] {
        let seeds = try RuleBook(bundlesAt: root.appendingPathComponent("Generated/JSON")).codes
        try #require(seeds.count >= 15)
        var knee = try #require(seeds.first { $0.code == "27447" })
        knee.title = "Second record for 27447"
        var extras = [knee]
        for code in ["k1234", "0123456789", "ß1"] {
            var record = seeds[extras.count]
            record.code = code
            record.title = "Variant \(code)"
            extras.append(record)
        }
        return seeds + extras
    }

    /// An embedded store holding `records` in the given order, as `SwiftEmitter` lays them out.
    static func store(_ records: [CodeRecord]) throws -> EmbeddedRuleStore {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var payload: [UInt8] = []
        var index = ""
        for record in records {
            if !payload.isEmpty { payload.append(0x0A) }
            let start = payload.count
            payload += try encoder.encode(record)
            let code = String(decoding: try encoder.encode([record.code]), as: UTF8.self).dropFirst().dropLast()
            index += "[\"\(record.system.rawValue)\",\(code),\(start),\(payload.count - start)]\n"
        }
        return EmbeddedRuleStore(jsonLines: String(decoding: payload, as: UTF8.self), index: index,
                                 format: RulebookFormatVersion1.self)
    }

    /// Lookups worth comparing: every code as written, lower- and upper-cased, and codes no record has.
    static func queries(_ records: [CodeRecord]) -> [(CodeSystem, String)] {
        var queries: [(CodeSystem, String)] = []
        for record in records {
            for code in [record.code, record.code.lowercased(), record.code.uppercased()] {
                queries.append((record.system, code))
                queries.append((record.system == .cpt ? .hcpcs : .cpt, code))
            }
        }
        queries += [(.cpt, "99999"), (.hcpcs, "Z9999"), (.cpt, ""), (.cpt, "SS1"), (.cpt, "ss1"), (.cpt, "27447 ")]
        return queries
    }

    /// Claim lines that provoke each kind of finding on the records: listed and unlisted modifiers,
    /// exclusive pairs, invalid ones, every payer by id and name and an unknown one, dates of service
    /// before and after the effective dates.
    static func lines(_ records: [CodeRecord]) -> [ClaimLine] {
        var lines: [ClaimLine] = []
        for (system, code) in queries(records) {
            lines.append(ClaimLine(system: system, code: code))
            lines.append(ClaimLine(system: system, code: code, modifiers: ["50", "LT", "XX", "lt "]))
        }
        for record in records {
            let listed = record.modifiers.map(\.code)
            lines.append(ClaimLine(system: record.system, code: record.code, modifiers: listed))
            lines.append(ClaimLine(system: record.system, code: record.code, modifiers: listed + ["RT", "59", "59"]))
            for payer in record.payers.flatMap({ [$0.payer, $0.name] }) + ["unknown payer"] {
                for date in [nil, "2000-01-01", "2099-12-31"] {
                    lines.append(ClaimLine(system: record.system, code: record.code, modifiers: Array(listed.prefix(1)),
                                           payer: payer, dateOfService: date))
                }
            }
        }
        return lines
    }

    /// Everything observable about a book, in a fixed order of calls.
    static func observe(_ book: RuleBook, queries: [(CodeSystem, String)], lines: [ClaimLine])
        -> (codes: [CodeRecord], lookups: [CodeRecord?], findings: [[Finding]]) {
        let lookups = queries.map { book.code($0.0, $0.1) }
        let findings = lines.map { book.evaluate($0) }
        return (book.codes, lookups, findings)
    }

    @Test(arguments: [false, true])
    func lazyBookMatchesEagerBook(sortedData: Bool) throws {
        let records = try Self.records()
        let data = sortedData ? RuleBook(records: records).codes : records.reversed()
        let store = try Self.store(data)
        #expect(store.allRecords() == data)  // the store round-trips the records exactly
        let eager = RuleBook(records: data)
        let lazy = RuleBook(embedded: try Self.store(data))
        let queries = Self.queries(records)
        let lines = Self.lines(records)

        // Lookups and findings first, before anything decodes all records.
        for (system, code) in queries {
            #expect(lazy.code(system, code) == eager.code(system, code), "\(system) \(code)")
            #expect(lazy[system, code] == eager[system, code])
        }
        for line in lines {
            #expect(lazy.evaluate(line) == eager.evaluate(line), "\(line)")
        }
        #expect(lazy.codes == eager.codes)
        #expect(lazy.codes.count == records.count)
        // After `codes` decoded everything, lookups still agree.
        let again = Self.observe(lazy, queries: queries, lines: lines)
        let expected = Self.observe(eager, queries: queries, lines: lines)
        #expect(again.lookups == expected.lookups)
        #expect(again.findings == expected.findings)
        // The edges really are exercised: the first 27447 in the data wins (sorting keeps the order of
        // equal codes), ß1 is found as SS1, findings are varied.
        #expect(lazy.code(.cpt, "27447") == data.first { $0.code == "27447" })
        #expect(lazy.codes.filter { $0.code == "27447" } == data.filter { $0.code == "27447" })
        #expect(lazy.code(.cpt, "ss1")?.code == "ß1")
        #expect(lazy.code(.cpt, "0123456789")?.title == "Variant 0123456789")
        let ids = Set(expected.findings.joined().map(\.id))
        for id in ["code.unknown", "rule.not-effective", "modifier.exclusive", "modifier.invalid", "modifier.unlisted",
                   "modifier.duplicate", "payer.prior-auth-required", "payer.prior-auth-unknown"] {
            #expect(ids.contains(id), "no \(id) among the findings")
        }
        // A RuleEngine over the lazy book gives the same findings too.
        let engine = RuleEngine(lazy)
        for line in lines.prefix(200) { #expect(engine.evaluate(line) == eager.evaluate(line)) }
    }

    @Test func lazyBookDecodesOnlyWhatIsAskedFor() throws {
        let records = try Self.records()
        let store = try Self.store(records)
        let book = RuleBook(embedded: store)
        let knee = try #require(book.code(.cpt, "27447"))
        #expect(knee == records.first { $0.code == "27447" })
        #expect(book.evaluate(ClaimLine(code: "27447", modifiers: ["50", "LT"], payer: "aetna")).map(\.id)
            == RuleBook(records: records).evaluate(ClaimLine(code: "27447", modifiers: ["50", "LT"], payer: "aetna")).map(\.id))
        // Another book over the same store shares its decoded records.
        #expect(RuleBook(embedded: store).code(.cpt, "27447") == knee)
    }

    @Test func emptyStoreGivesAnEmptyBook() throws {
        let book = RuleBook(embedded: try Self.store([]))
        #expect(book.codes.isEmpty)
        #expect(book.code(.cpt, "27447") == nil)
        #expect(book.evaluate(ClaimLine(code: "27447")).map(\.id) == ["code.unknown"])
    }

    /// Many threads using a fresh lazy book at once (first lookups, first evaluations and the first
    /// `codes` racing each other) see exactly what an eager book gives.
    @Test(arguments: [false, true])
    func concurrentFirstUseIsConsistent(sortedData: Bool) throws {
        let records = try Self.records()
        let data = sortedData ? RuleBook(records: records).codes : records.reversed()
        let eager = RuleBook(records: data)
        let queries = Self.queries(records)
        let lines = Self.lines(records)
        let expected = Self.observe(eager, queries: queries, lines: lines)
        for _ in 0..<5 {
            let book = RuleBook(embedded: try Self.store(data))
            let mismatches = Mutexed(0)
            DispatchQueue.concurrentPerform(iterations: 32) { thread in
                // Each thread starts somewhere else, so first uses of a record collide.
                var bad = 0
                if thread % 8 == 0 { bad += book.codes == expected.codes ? 0 : 1 }
                for step in queries.indices {
                    let index = (step + thread * 7) % queries.count
                    if book.code(queries[index].0, queries[index].1) != expected.lookups[index] { bad += 1 }
                }
                for step in lines.indices where step % 3 == thread % 3 {
                    let index = (step + thread * 11) % lines.count
                    if book.evaluate(lines[index]) != expected.findings[index] { bad += 1 }
                }
                if book.codes != expected.codes { bad += 1 }
                mismatches.add(bad)
            }
            #expect(mismatches.value == 0)
        }
    }
}

/// An integer shared by the threads of a test.
final class Mutexed: @unchecked Sendable {
    private let lock = NSLock()
    private var count: Int
    init(_ count: Int) { self.count = count }
    func add(_ amount: Int) {
        lock.lock()
        count += amount
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}

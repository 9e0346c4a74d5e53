import Foundation
import Testing
@testable import Rulebook

/// `EmbeddedShards` (which data file a record goes to, how many files) and `EmbeddedRuleStore` over
/// several shards, against one shard and against `RuleBook(records:)`.
@Suite struct EmbeddedShardsTests {
    @Test func hashIsFNV1a64() {
        // Test vectors of the FNV specification (draft-eastlake-fnv): the offset basis for "", then "a", "foobar".
        #expect(EmbeddedShards.fnv1a([UInt8]()) == 0xCBF2_9CE4_8422_2325)
        #expect(EmbeddedShards.fnv1a("a".utf8) == 0xAF63_DC4C_8601_EC8C)
        #expect(EmbeddedShards.fnv1a("foobar".utf8) == 0x8594_4171_F739_67E8)
        // The shard hashes `system + " " + code`; the values below were computed independently (Python).
        #expect(EmbeddedShards.shard(system: .cpt, code: "27365", count: 256)
            == Int(EmbeddedShards.fnv1a("CPT 27365".utf8) % 256))
        #expect(EmbeddedShards.shard(system: .cpt, code: "27365", count: 256) == 139)
        #expect(EmbeddedShards.shard(system: .hcpcs, code: "G0283", count: 256) == 40)
        #expect(EmbeddedShards.shard(system: .cpt, code: "27365", count: 7) == 3)
        #expect(EmbeddedShards.shard(system: .cpt, code: "27365", count: 1) == 0)
    }

    @Test func shardCountFollowsTheDocumentCount() {
        let table = [(0, 1), (1, 1), (15, 1), (64, 1), (65, 2), (128, 2), (129, 4), (1000, 16), (1024, 16), (1025, 32),
                     (2048, 32), (2049, 64), (4096, 64), (10_000, 64), (1_000_000, 64)]
        for (documents, shards) in table {
            #expect(EmbeddedShards.shardCount(documents: documents) == shards, "\(documents) documents")
        }
        var previous = 1
        for documents in 0...20_000 {
            let count = EmbeddedShards.shardCount(documents: documents)
            #expect(count >= previous && count & (count - 1) == 0 && (1...64).contains(count))
            #expect(count == EmbeddedShards.maximumShardCount || count * 64 >= documents)
            previous = count
        }
    }

    @Test func realisticCodesSpreadEvenly() {
        var codes: [(CodeSystem, String)] = []
        for number in 0..<5000 {
            codes.append((.cpt, String(10000 + number * 7)))
            codes.append((.hcpcs, "J" + String(1000 + number)))
        }
        var sizes = [Int](repeating: 0, count: 256)
        for (system, code) in codes { sizes[EmbeddedShards.shard(system: system, code: code, count: 256)] += 1 }
        let mean = Double(codes.count) / 256
        #expect(sizes.min()! > 0)
        #expect(Double(sizes.max()!) < 2 * mean, "largest shard \(sizes.max()!) for a mean of \(mean)")
    }

    /// The store of generated code over `count` shards: each record in its shard, in the given order.
    static func shardedStore(_ records: [CodeRecord], count: Int) throws -> EmbeddedRuleStore {
        var parts = [[CodeRecord]](repeating: [], count: count)
        for record in records {
            parts[EmbeddedShards.shard(system: record.system, code: record.code, count: count)].append(record)
        }
        let shards = try parts.map { part -> EmbeddedRuleStore.Shard in
            let (payload, index) = try Self.text(part)
            return EmbeddedRuleStore.Shard(jsonLines: payload, index: index, format: RulebookFormatVersion1.self)
        }
        return EmbeddedRuleStore(shards: shards, format: RulebookFormatVersion1.self)
    }

    /// JSON lines and index of `records` (as `RuleBookLazyTests.store` lays them out).
    static func text(_ records: [CodeRecord]) throws -> (String, String) {
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
        return (String(decoding: payload, as: UTF8.self), index)
    }

    @Test(arguments: [2, 5, 16])
    func shardedBookMatchesEagerBook(shardCount: Int) throws {
        let records = try RuleBookLazyTests.records()
        for data in [RuleBook(records: records).codes, records.reversed()] {
            let store = try Self.shardedStore(data, count: shardCount)
            #expect(store.shardCount == shardCount)
            let eager = RuleBook(records: data)
            let lazy = RuleBook(embedded: store)
            let queries = RuleBookLazyTests.queries(records)
            let lines = RuleBookLazyTests.lines(records)
            // Lookups and findings first, before anything decodes every record.
            for (system, code) in queries {
                #expect(lazy.code(system, code) == eager.code(system, code), "\(system) \(code)")
            }
            for line in lines {
                #expect(lazy.evaluate(line) == eager.evaluate(line), "\(line)")
            }
            #expect(lazy.codes == eager.codes)
            // Positions: sorted by system and code; equal codes (one shard) in data order.
            #expect(store.allRecords() == eager.codes)
            #expect(store.keys.map(\.code) == eager.codes.map(\.code))
            #expect(store.record(at: 3) == eager.codes[3])
            #expect(lazy.code(.cpt, "27447") == data.first { $0.code == "27447" })
            #expect(lazy.code(.cpt, "ss1")?.code == "ß1")
        }
    }

    @Test func typedConstantsFindTheirRecordByShardAndLine() throws {
        let records = RuleBook(records: try RuleBookLazyTests.records()).codes
        let store = try Self.shardedStore(records, count: 4)
        var lines = [Int](repeating: 0, count: 4)
        for record in records {
            let shard = EmbeddedShards.shard(system: record.system, code: record.code, count: 4)
            #expect(store.record(shard: shard, at: lines[shard]) == record)
            lines[shard] += 1
        }
        #expect(lines.filter { $0 > 0 }.count > 1)
        #expect(lines.reduce(0, +) == store.count)
    }

    @Test func emptyShardsAndNoShards() throws {
        let one = try Self.shardedStore([], count: 1)
        #expect(one.count == 0 && one.allRecords().isEmpty)
        let many = try Self.shardedStore(Array(try RuleBookLazyTests.records().prefix(2)), count: 64)
        #expect(many.count == 2 && many.allRecords().count == 2)
        let none = EmbeddedRuleStore(shards: [], format: RulebookFormatVersion1.self)
        #expect(none.count == 0 && none.allRecords().isEmpty && RuleBook(embedded: none).code(.cpt, "27447") == nil)
    }
}

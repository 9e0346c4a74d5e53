/// How generated Swift spreads its records over data files ("shards"), so that a change to one record
/// changes one small file instead of one file holding every record.
///
/// The compiler puts each record in shard ``shard(system:code:count:)`` of ``shardCount(documents:)``
/// shards; the build plugin computes the same count from its list of documents before the compiler runs
/// (it declares the files as outputs). Both functions depend only on their arguments: the same on every
/// platform, in every process, in every version of this format.
public enum EmbeddedShards {
    /// Documents per shard that ``shardCount(documents:)`` aims at.
    public static let documentsPerShard = 64
    /// The largest count ``shardCount(documents:)`` returns. Measured (`Scripts/measure-swift-compile.sh`,
    /// 10,000 codes, debug build, 2 cores): 64 files compile in 9 s (10 s CPU), as fast as one file, while
    /// 256 take 17 s of CPU — every batch job of a debug build parses every file of the target.
    public static let maximumShardCount = 64

    /// The shard of a record, in `0..<count`: FNV-1a (64-bit) over the UTF-8 bytes of
    /// `system.rawValue + " " + code`, modulo `count`. Records with the same system and code share a shard.
    public static func shard(system: CodeSystem, code: String, count: Int) -> Int {
        precondition(count >= 1, "a shard count is at least 1")
        var hash = fnv1a(system.rawValue.utf8)
        hash = fnv1a(CollectionOfOne(0x20), continuing: hash)
        hash = fnv1a(code.utf8, continuing: hash)
        return Int(hash % UInt64(count))
    }

    /// FNV-1a, 64-bit, of `bytes`, continuing from `hash` (the offset basis to start).
    static func fnv1a<Bytes: Sequence<UInt8>>(_ bytes: Bytes, continuing hash: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
        var hash = hash
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    /// The number of shards for `n` documents: the smallest power of two ≥ ⌈n / 64⌉, at least 1, at most
    /// 64 (15 documents → 1, 1,000 → 16, from 2,049 on → 64).
    public static func shardCount(documents n: Int) -> Int {
        let needed = max(1, (max(0, n) + documentsPerShard - 1) / documentsPerShard)
        var count = 1
        while count < needed && count < maximumShardCount { count *= 2 }
        return count
    }
}

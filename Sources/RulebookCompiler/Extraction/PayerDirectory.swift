/// Payer names → normalised payer ids. `aetna`, `bcbs`, `cigna`, `unitedhealthcare`, `medicare`,
/// `medicaid`, `humana`; any other name becomes a lower-case slug (reported as a note).
public struct PayerDirectory: Sendable {
    public static let builtIn: [String: String] = [
        "aetna": "aetna", "aetna inc": "aetna", "aetna health": "aetna", "aetna commercial": "aetna",
        "blue cross blue shield": "bcbs", "blue cross and blue shield": "bcbs", "blue cross/blue shield": "bcbs",
        "bcbs": "bcbs", "bcbsa": "bcbs", "blue cross": "bcbs", "blue shield": "bcbs", "anthem": "bcbs",
        "anthem blue cross": "bcbs", "anthem blue cross blue shield": "bcbs", "anthem bcbs": "bcbs", "elevance health": "bcbs",
        "cigna": "cigna", "cigna health": "cigna", "cigna healthcare": "cigna", "cigna health care": "cigna",
        "unitedhealthcare": "unitedhealthcare", "united healthcare": "unitedhealthcare", "united health care": "unitedhealthcare",
        "uhc": "unitedhealthcare", "unitedhealth": "unitedhealthcare", "united health": "unitedhealthcare",
        "medicare": "medicare", "cms": "medicare", "original medicare": "medicare", "medicare part b": "medicare",
        "medicare part a": "medicare", "medicare advantage": "medicare", "medicare (cms)": "medicare", "cms/medicare": "medicare",
        "medicare administrative contractors": "medicare", "macs": "medicare",
        "medicaid": "medicaid", "state medicaid": "medicaid", "state medicaid programs": "medicaid", "medicaid programs": "medicaid",
        "humana": "humana",
    ]

    /// Extra names from `rulebook.json` (`knownPayers`), lower-cased name → id.
    public var extra: [String: String]
    /// The known names for prefix matching (built once for the built-in names alone).
    private let table: PrefixTable

    /// Every known name (built-in and extra) with its id, longest first, for prefix matching.
    private struct PrefixTable: Sendable {
        let prefixes: [(name: String, id: String)]
        /// The UTF-8 bytes of each prefix name, and whether they are all ASCII.
        let prefixBytes: [(bytes: [UInt8], ascii: Bool)]
        /// Whether every name is ASCII and not empty: then an ASCII key is compared on bytes, and only with
        /// the names that start with its first byte (`buckets`, in the order of `prefixes`).
        let bytewise: Bool
        let buckets: [[Int]]
        /// Every name → id on bytes (open addressing), used when `bytewise`.
        let slots: [Int32]

        static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return Int(truncatingIfNeeded: hash ^ (hash >> 29))
        }

        /// The offset in `prefixes` of the name with these bytes.
        func exact(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
            let mask = slots.count - 1
            var slot = Self.hash(key) & mask
            while true {
                let entry = Int(slots[slot])
                if entry < 0 { return nil }
                let bytes = prefixBytes[entry].bytes
                if bytes.count == key.count
                    && bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 }) {
                    return entry
                }
                slot = (slot + 1) & mask
            }
        }

        init(_ names: [String: String]) {
            prefixes = names.map { ($0.key, $0.value) }.sorted { ($0.name.count, $0.name) > ($1.name.count, $1.name) }
            prefixBytes = prefixes.map { entry in
                let bytes = Array(entry.name.utf8)
                return (bytes, bytes.allSatisfy { $0 < 0x80 })
            }
            bytewise = prefixBytes.allSatisfy { $0.ascii && !$0.bytes.isEmpty }
            var buckets = [[Int]](repeating: [], count: 256)
            if bytewise {
                for (offset, entry) in prefixBytes.enumerated() { buckets[Int(entry.bytes[0])].append(offset) }
            }
            self.buckets = buckets
            var capacity = 16
            while capacity < prefixes.count * 4 { capacity *= 2 }
            var slots = [Int32](repeating: -1, count: capacity)
            if bytewise {
                for (offset, entry) in prefixBytes.enumerated() {
                    var slot = entry.bytes.withUnsafeBufferPointer { Self.hash($0) } & (capacity - 1)
                    while slots[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
                    slots[slot] = Int32(offset)
                }
            }
            self.slots = slots
        }
    }

    private static let builtInTable = PrefixTable(builtIn)

    public init(extra: [String: String] = [:]) {
        var lowered: [String: String] = [:]
        for (name, id) in extra { lowered[Self.key(name)] = id }
        self.extra = lowered
        table = lowered.isEmpty ? Self.builtInTable : PrefixTable(Self.builtIn.merging(lowered, uniquingKeysWith: { $1 }))
    }

    /// The id of a known payer, or nil.
    public func knownID(_ name: String) -> String? {
        if table.bytewise {
            // Every known name is ASCII: an ASCII key is looked up on bytes, normalised on the stack.
            var name = name
            let found: String?? = name.withUTF8 { input in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(input.count, 1)) { output -> String?? in
                    var (start, end) = StatementClassifier.normalize(input, into: output.baseAddress!)
                    var ascii = true
                    for index in start..<end where output[index] >= 0x80 { ascii = false; break }
                    guard ascii else { return .none }
                    Self.trimKey(output.baseAddress!, &start, &end)
                    let key = UnsafeBufferPointer(rebasing: output[start..<end])
                    if let entry = table.exact(key) { return .some(table.prefixes[entry].id) }
                    return .some(bytewisePrefix(key))
                }
            }
            if let found { return found }
        }
        let keyBytes = Self.keyBytes(name)
        let key = String(decoding: keyBytes, as: UTF8.self)
        if let id = (extra.isEmpty ? nil : extra[key]) ?? Self.builtIn[key] { return id }
        // "Aetna Better Health", "Medicare Part B (MACs)": the longest known name the text starts with.
        // ASCII against ASCII compares bytes (the same as comparing characters); anything else compares characters.
        let keyIsASCII = keyBytes.allSatisfy { $0 < 0x80 }
        if keyIsASCII && table.bytewise { return keyBytes.withUnsafeBufferPointer { bytewisePrefix($0) } }
        for (offset, (alias, id)) in table.prefixes.enumerated() {
            let aliasBytes = table.prefixBytes[offset]
            let length = aliasBytes.bytes.count
            guard keyBytes.count > length else { continue }
            let isPrefix: Bool
            if keyIsASCII && aliasBytes.ascii {
                isPrefix = keyBytes[0] == aliasBytes.bytes.first && keyBytes[..<length].elementsEqual(aliasBytes.bytes)
            } else {
                isPrefix = key.hasPrefix(alias)
            }
            guard isPrefix else { continue }
            let next = keyBytes[length]
            if next == 0x20 || next == 0x28 { return id }
        }
        return nil
    }

    /// The longest known name that an ASCII key starts with, followed by a space or `(` (when `table.bytewise`).
    private func bytewisePrefix(_ key: UnsafeBufferPointer<UInt8>) -> String? {
        guard let first = key.first else { return nil }
        for offset in table.buckets[Int(first)] {
            let length = table.prefixBytes[offset].bytes.count
            guard key.count > length else { continue }
            let next = key[length]
            guard next == 0x20 || next == 0x28 else { continue }
            let isPrefix = table.prefixBytes[offset].bytes.withUnsafeBufferPointer { alias in
                var index = 1
                while index < length && alias[index] == key[index] { index += 1 }
                return index == length
            }
            if isPrefix { return table.prefixes[offset].id }
        }
        return nil
    }

    /// Without final `.`, `,`, `;`, `:` and spaces, and without a leading `the `.
    private static func trimKey(_ bytes: UnsafeMutablePointer<UInt8>, _ start: inout Int, _ end: inout Int) {
        while end > start, bytes[end - 1] == ASCII.dot || bytes[end - 1] == 0x2C || bytes[end - 1] == 0x3B
                || bytes[end - 1] == ASCII.colon || bytes[end - 1] == 0x20 { end -= 1 }
        if end - start >= 4 && bytes[start] == 0x74 && bytes[start + 1] == 0x68 && bytes[start + 2] == 0x65 && bytes[start + 3] == 0x20 {
            start += 4
        }
    }

    /// Lower-case slug for an unknown payer: `Kaiser Permanente` → `kaiser-permanente`.
    public static func slug(_ name: String) -> String {
        var slug = ""
        var pendingDash = false
        for scalar in name.lowercased().unicodeScalars {
            if (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") {
                if pendingDash && !slug.isEmpty { slug += "-" }
                pendingDash = false
                slug.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
        }
        return slug.isEmpty ? "payer" : String(slug.prefix(64))
    }

    static func key(_ name: String) -> String { String(decoding: keyBytes(name), as: UTF8.self) }

    static func keyBytes(_ name: String) -> [UInt8] {
        var bytes = StatementClassifier.normalizedBytes(name)
        while let last = bytes.last, last == ASCII.dot || last == 0x2C || last == 0x3B || last == ASCII.colon || last == 0x20 { bytes.removeLast() }
        if bytes.count >= 4 && bytes[0] == 0x74 && bytes[1] == 0x68 && bytes[2] == 0x65 && bytes[3] == 0x20 { bytes.removeFirst(4) }
        return bytes
    }
}

import Foundation

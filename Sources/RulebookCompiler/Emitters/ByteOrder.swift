import Foundation

extension String {
    /// Whether `self` sorts before `other` by their UTF-8 bytes (the order of every generated listing:
    /// the same on every platform and in every locale). The same result as
    /// `self.utf8.lexicographicallyPrecedes(other.utf8)`, but one `memcmp` on contiguous storage instead
    /// of a generic element-by-element loop (sorting 10,000 paths was a tenth of an incremental run).
    @inline(__always)
    func utf8Precedes(_ other: String) -> Bool {
        let fast: Bool?? = utf8.withContiguousStorageIfAvailable { left in
            other.utf8.withContiguousStorageIfAvailable { right in
                let common = Swift.min(left.count, right.count)
                if common > 0 {
                    let order = memcmp(left.baseAddress!, right.baseAddress!, common)
                    if order != 0 { return order < 0 }
                }
                return left.count < right.count
            }
        }
        if let fast, let result = fast { return result }
        return utf8.lexicographicallyPrecedes(other.utf8)
    }

    /// `utf8.allSatisfy(predicate)` over contiguous storage (the generic `UTF8View` loop costs tens of
    /// instructions per byte; this one a few).
    @inline(__always)
    func allUTF8(_ predicate: (UInt8) -> Bool) -> Bool {
        if let result = utf8.withContiguousStorageIfAvailable({ $0.allSatisfy(predicate) }) { return result }
        return utf8.allSatisfy(predicate)
    }
}

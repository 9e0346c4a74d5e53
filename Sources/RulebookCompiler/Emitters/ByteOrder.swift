import Foundation

extension String {
    /// Whether `self` sorts before `other` by their UTF-8 bytes (the order of every generated listing:
    /// the same on every platform and in every locale). The same result as
    /// `self.utf8.lexicographicallyPrecedes(other.utf8)`, but one `memcmp` on contiguous storage instead
    /// of a generic element-by-element loop (sorting 10,000 paths was a tenth of an incremental run).
    @inline(__always)
    func utf8Precedes(_ other: String) -> Bool {
        var a = self, b = other
        return a.withUTF8 { left in
            b.withUTF8 { right in
                let common = min(left.count, right.count)
                if common > 0 {
                    let order = memcmp(left.baseAddress!, right.baseAddress!, common)
                    if order != 0 { return order < 0 }
                }
                return left.count < right.count
            }
        }
    }
}

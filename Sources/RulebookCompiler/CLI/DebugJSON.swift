import Foundation
import Rulebook
// TEMPORARY until the emitter lands.
enum DebugJSON {
    static func encode(_ records: [CodeRecord]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(records), as: UTF8.self) + "\n"
    }
}

// Release-mode measurement of RuleBook.evaluate: 1,000,000 evaluations per scenario.
// Not part of the package or the tests. Run: Scripts/bench-engine.sh
import Foundation

func at(_ line: Int, _ section: String) -> SourceLocation { SourceLocation(path: "seeds/doc.md", line: line, section: [section]) }

// 500 CPT records shaped like the seed documents: 6 modifier rows, 6 payer notes.
var records: [CodeRecord] = []
for index in 0..<500 {
    let code = String(27000 + index)
    records.append(CodeRecord(
        system: .cpt, code: code, title: "Procedure \(code)", effective: "2025-01-01", source: at(1, "Title"),
        modifiers: ["26", "50", "51", "59", "LT", "RT"].enumerated().map {
            Modifier(code: $1, description: "", whenToUse: "", source: at(19 + $0, "Coding Specifications"))
        },
        payers: [("aetna", PriorAuthorization.required, Coverage.covered), ("bcbs", .conditional, .conditional),
                 ("cigna", .unknown, .covered), ("unitedhealthcare", .notRequired, .covered),
                 ("medicare", .notRequired, .covered), ("humana", .notRequired, .notCovered)].enumerated().map {
            PayerNote(payer: $1.0, name: $1.0.capitalized, priorAuthorization: $1.1, coverage: $1.2, notes: "",
                      source: at(40 + $0, "Payer Policies"))
        }))
}
let book = RuleBook(records: records)

let scenarios: [(String, [ClaimLine])] = [
    ("clean line (2 listed modifiers, payer with no finding)", (0..<500).map {
        ClaimLine(system: .cpt, code: String(27000 + $0), modifiers: ["51", "LT"], payer: "medicare", dateOfService: "2026-03-01") }),
    ("one warning (prior authorization required)", (0..<500).map {
        ClaimLine(system: .cpt, code: String(27000 + $0), modifiers: ["LT"], payer: "aetna", dateOfService: "2026-03-01") }),
    ("two errors (50+LT exclusive, invalid ZZ)", (0..<500).map {
        ClaimLine(system: .cpt, code: String(27000 + $0), modifiers: ["50", "LT", "ZZ"]) }),
    ("unknown code", (0..<500).map { ClaimLine(system: .cpt, code: String(99000 + $0)) }),
]

/// CPU time of this thread: the machine may be shared, so wall time would overstate the cost.
func cpuNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

let count = 1_000_000
let only = CommandLine.arguments.dropFirst().first.flatMap(Int.init)
let engine = RuleEngine(book)
for (offset, (name, lines)) in scenarios.enumerated() where only == nil || only == offset {
    let which = CommandLine.arguments.dropFirst(2).first
    for (label, evaluate) in [("RuleBook.evaluate", book.evaluate), ("RuleEngine.evaluate", engine.evaluate)]
    where which == nil || label.hasPrefix(which!) {
        var checksum = 0
        let start = cpuNanoseconds()
        for index in 0..<count {
            checksum &+= evaluate(lines[index % lines.count]).count
        }
        let seconds = Double(cpuNanoseconds() - start) / 1e9
        print(String(format: "%-20@ %-56@ %6.3f s CPU for %d (%4.0f ns each, checksum %d)",
                     label as NSString, name as NSString, seconds, count, seconds * 1e9 / Double(count), checksum))
    }
}

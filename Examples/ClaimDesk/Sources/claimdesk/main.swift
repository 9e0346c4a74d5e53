import Billing
import Foundation
import Rulebook

// claimdesk SYSTEM CODE   — print what the compiled documents say about a code
// claimdesk --list        — list every code
let arguments = Array(CommandLine.arguments.dropFirst())

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(status)
}

if arguments == ["--list"] {
    for record in BillingRules.codes { print("\(record.displayName): \(record.title)") }
    exit(0)
}
guard arguments.count == 2 else {
    fail("usage: claimdesk SYSTEM CODE   (e.g. claimdesk CPT 20610)\n       claimdesk --list", status: 2)
}
guard let system = CodeSystem(rawValue: arguments[0].uppercased()) else {
    fail("claimdesk: unknown code system '\(arguments[0])' (expected CPT or HCPCS)", status: 2)
}
guard let record = BillingRules.code(system, arguments[1]) else {
    let known = BillingRules.codes.map(\.displayName).joined(separator: ", ")
    fail("claimdesk: no rules for \(system.rawValue) \(arguments[1]); known codes: \(known)", status: 1)
}
print(BillingRules.describe(record))

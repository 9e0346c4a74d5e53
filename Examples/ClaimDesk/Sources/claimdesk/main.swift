import Billing
import Foundation
import Rulebook

// claimdesk SYSTEM CODE   — print what the compiled documents say about a code
// claimdesk --list        — list every code
// claimdesk --json SYSTEM CODE — print the code's JSON rule bundle (a resource of the Billing module)
let arguments = Array(CommandLine.arguments.dropFirst())

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(status)
}

if arguments == ["--list"] {
    for record in BillingRules.codes { print("\(record.displayName): \(record.title)") }
    exit(0)
}
let json = arguments.first == "--json"
let lookup = json ? Array(arguments.dropFirst()) : arguments
guard lookup.count == 2 else {
    let example = BillingRules.mostBilled
    fail("usage: claimdesk SYSTEM CODE   (e.g. claimdesk \(example.system.rawValue) \(example.code))\n       claimdesk --json SYSTEM CODE\n       claimdesk --list",
         status: 2)
}
guard let system = CodeSystem(rawValue: lookup[0].uppercased()) else {
    fail("claimdesk: unknown code system '\(lookup[0])' (expected CPT or HCPCS)", status: 2)
}
if json {
    guard let url = BillingRules.jsonBundle(system, lookup[1]), let data = FileManager.default.contents(atPath: url.path(percentEncoded: false)) else {
        fail("claimdesk: no JSON bundle for \(system.rawValue) \(lookup[1])", status: 1)
    }
    FileHandle.standardOutput.write(data)
    exit(0)
}
guard let record = BillingRules.code(system, lookup[1]) else {
    let known = BillingRules.codes.map(\.displayName).joined(separator: ", ")
    fail("claimdesk: no rules for \(system.rawValue) \(lookup[1]); known codes: \(known)", status: 1)
}
print(BillingRules.describe(record))

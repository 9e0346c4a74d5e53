import Testing
import Foundation
import Rulebook
@testable import RulebookCompiler

/// Runs the real `rulebook` binary (`.build/debug/rulebook`, built by `swift build`) with pipes.
enum WorkflowProcess {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var executable: String { packageRoot.appendingPathComponent(".build/debug/rulebook").path }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLast(stdout.hasSuffix("\n") ? 1 : 0) }
    }

    /// The environment a person's shell would give, without CI markers and colour switches
    /// (each test sets what it checks).
    static func environment(_ changes: [String: String?] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for key in ["CI", "NO_COLOR", "GITHUB_ACTIONS"] { environment[key] = nil }
        environment["TERM"] = "xterm-256color"
        for (key, value) in changes { environment[key] = value }
        return environment
    }

    static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String]? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? packageRoot
        process.environment = environment ?? Self.environment()
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain stderr on another thread so neither pipe can fill up and block the child.
        let errBox = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.append(err.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    /// A fresh temporary folder; the caller removes it.
    static func temporaryFolder(_ name: String = "wf") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Bytes collected from several threads.
final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage = Data()
    func append(_ data: Data) { lock.lock(); storage.append(data); lock.unlock() }
    var data: Data { lock.lock(); defer { lock.unlock() }; return storage }
    var text: String { String(decoding: data, as: UTF8.self) }
}

/// Two copies of `seeds/` (OLD and NEW) in a temporary folder; tests edit NEW.
struct SeedPair {
    let root: URL
    var old: URL { root.appendingPathComponent("old") }
    var new: URL { root.appendingPathComponent("new") }

    init() throws {
        root = try WorkflowProcess.temporaryFolder("diff")
        let seeds = WorkflowProcess.packageRoot.appendingPathComponent("seeds")
        try FileManager.default.copyItem(at: seeds, to: old)
        try FileManager.default.copyItem(at: seeds, to: new)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// Replaces `original` (which must occur in NEW's `file`) by `replacement`.
    func edit(_ file: String, _ original: String, _ replacement: String,
              sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let url = new.appendingPathComponent(file)
        let text = try String(contentsOf: url, encoding: .utf8)
        // Some seeds have CRLF line ends: edit them in kind.
        let crlf = (try Data(contentsOf: url)).firstRange(of: Data([0x0D, 0x0A])) != nil
        let original = crlf ? original.replacingOccurrences(of: "\n", with: "\r\n") : original
        let replacement = crlf ? replacement.replacingOccurrences(of: "\n", with: "\r\n") : replacement
        try #require(text.contains(original), "seed \(file) no longer contains \(original.debugDescription)",
                     sourceLocation: sourceLocation)
        try text.replacingOccurrences(of: original, with: replacement).write(to: url, atomically: true, encoding: .utf8)
    }

    func diff(_ extra: [String] = []) throws -> WorkflowProcess.Output {
        try WorkflowProcess.run(["diff", "old", "new"] + extra, in: root)
    }
}

let tka = "001_cpt-27447-total-knee-arthroplasty.md"
let infliximab = "010_hcpcs-J1745-infliximab-10mg.txt"
let estim = "009_hcpcs-G0283-electrical-stimulation-unattended.md"

@Suite(.serialized) struct WorkflowDiffTests {
    @Test func identicalFoldersHaveNoRuleChanges() throws {
        let pair = try SeedPair()
        defer { pair.remove() }
        let result = try pair.diff()
        #expect(result.status == 0)
        #expect(result.lines == ["no rule changes (15 codes compared)"])
    }

    @Test func proseOnlyEditsPrintNothingAndExitZero() throws {
        let pair = try SeedPair()
        defer { pair.remove() }
        // Summary, clinical context, payer-note wording that keeps its meaning, a re-wrapped paragraph.
        try pair.edit(tka, "It is among the highest‑volume elective orthopedic operations",
                      "It is one of the most frequent elective orthopedic operations")
        try pair.edit(tka, "reports pain at rest and at night, difficulty with stairs,",
                      "reports pain at rest and\nat night, trouble with stairs,")
        try pair.edit(tka, "Prior authorization is required for elective total knee arthroplasty in every setting.",
                      "Prior authorization is required for elective total knee arthroplasty in all settings.")
        try pair.edit(infliximab, "Units are calculated from the dose actually administered",
                      "Units are computed from the dose actually given")
        let result = try pair.diff()
        #expect(result.status == 0)
        #expect(result.lines == ["no rule changes (15 codes compared)"])
        #expect(!result.stdout.contains("27447"))
        #expect(!result.stdout.contains("J1745"))
    }

    @Test func modifierChangesAreListedWithTheirLines() throws {
        let pair = try SeedPair()
        defer { pair.remove() }
        try pair.edit(tka, "| 78 | Unplanned return", "| 59 | Distinct procedural service | A separate site or session. |\n| 78 | Unplanned return")
        try pair.edit(tka, "| AS | Non‑physician assistant at surgery | Physician assistant, nurse practitioner or clinical nurse specialist assisting at surgery. |\n", "")
        try pair.edit(tka, "e.g. severe deformity, prior hardware", "e.g. severe valgus deformity, prior hardware")
        try pair.edit(tka, "| 80 | Assistant surgeon |", "| 80 | Assistant surgeon (physician) |")
        let result = try pair.diff()
        #expect(result.status == 1)
        let path = "new/" + tka
        #expect(result.lines == [
            "CPT 27447: modifier 22 when-to-use changed (\(path):29)",
            "    … than usual, e.g. severe {+valgus+} deformity, prior hardware or …",
            "CPT 27447: modifier 80 description \"Assistant surgeon\" → \"Assistant surgeon (physician)\" (\(path):31)",
            "CPT 27447: modifier 59 added — \"Distinct procedural service\" (\(path):32)",
            "CPT 27447: modifier AS removed (was old/\(tka):32)",
            "",
            "4 rule changes in 1 code (15 codes compared)",
        ])
    }

    @Test func payerChangesAreGroupedUnderTheCodeAndPayer() throws {
        let pair = try SeedPair()
        defer { pair.remove() }
        try pair.edit(tka, "Prior authorization is required for elective total knee arthroplasty in every setting.",
                      "Prior authorization is not required for elective total knee arthroplasty in any setting.")
        try pair.edit(tka, "Prior authorization is not required under original Medicare. Covered when medically necessary;",
                      "Prior authorization is not required under original Medicare. Not covered;")
        try pair.edit(tka, "### Cigna\n", "### Humana\n\nHumana requires prior authorization. Covered when medically necessary.\n\n### Cigna\n")
        // Medicaid leaves the J1745 document: its table row and its mention among the key payers.
        try pair.edit(infliximab, "| Medicaid | | | |\n", "")
        try pair.edit(infliximab, "Medicare, and Medicaid.", "and Medicare.")
        let result = try pair.diff()
        #expect(result.status == 1)
        let lines = result.lines
        #expect(lines.contains("CPT 27447 · aetna: prior authorization required → notRequired (new/\(tka):37)"))
        #expect(lines.contains { $0.hasPrefix("CPT 27447 · medicare: coverage covered → notCovered (new/\(tka):") })
        #expect(lines.contains { $0.hasPrefix("CPT 27447 · humana: payer added (prior authorization required, coverage covered) (new/\(tka):") })
        #expect(lines.contains { $0.hasPrefix("HCPCS J1745 · medicaid: payer removed (was old/\(infliximab):") })
        #expect(lines.last == "4 rule changes in 2 codes (15 codes compared)")
        // Grouped by code: every CPT 27447 line comes before the HCPCS J1745 one, a blank line between.
        let firstJ = try #require(lines.firstIndex { $0.hasPrefix("HCPCS J1745") })
        #expect(lines[firstJ - 1] == "")
        #expect(lines[..<firstJ].allSatisfy { $0.isEmpty || $0.hasPrefix("CPT 27447") })
    }

    @Test func codeFieldsAddedAndRemovedCodes() throws {
        let pair = try SeedPair()
        defer { pair.remove() }
        try pair.edit(estim, "title: Electrical stimulation (unattended), to one",
                      "title: Electrical stimulation (unattended), applied to one")
        try pair.edit(estim, "effective: 2025-01-01", "effective: 2025-07-01")
        try pair.edit(infliximab, "Service type: Physician‑administered drug (specialty infusion)",
                      "Service type: Physician‑administered biologic (specialty infusion)")
        try pair.edit(infliximab, ", ambulatory infusion center, or home infusion", ", or ambulatory infusion center")
        // A new document for a new code, and a document deleted.
        let source = try String(contentsOf: pair.new.appendingPathComponent(tka), encoding: .utf8)
        try source.replacingOccurrences(of: "27447", with: "27446")
            .write(to: pair.new.appendingPathComponent("015_cpt-27446.md"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: pair.new.appendingPathComponent("003_cpt-99213-office-visit-established-patient.txt"))
        let result = try pair.diff()
        #expect(result.status == 1)
        let lines = result.lines
        #expect(lines.contains("CPT 27446: added — \"Total Knee Arthroplasty\" (new/015_cpt-27446.md:1)"))
        #expect(lines.contains("CPT 99213: removed (was old/003_cpt-99213-office-visit-established-patient.txt:1)"))
        #expect(lines.contains { $0.hasPrefix("HCPCS G0283: title \"Electrical stimulation (unattended), to one") && $0.contains("→ \"Electrical stimulation (unattended), applied to one") })
        #expect(lines.contains { $0.hasPrefix("HCPCS G0283: effective date 2025-01-01 → 2025-07-01 (new/\(estim):") })
        #expect(lines.contains { $0.hasPrefix("HCPCS J1745: service type \"Physician‑administered drug (specialty infusion)\" → \"Physician‑administered biologic (specialty infusion)\"") })
        #expect(lines.contains { $0.hasPrefix("HCPCS J1745: sites of service changed: −\"home infusion\"") })
        #expect(lines.last == "6 rule changes in 4 codes (16 codes compared)")
        // Sorted: CPT before HCPCS, codes in order.
        let codes = lines.filter { !$0.isEmpty && !$0.hasPrefix(" ") }.dropLast().map { $0.prefix(while: { $0 != ":" && $0 != "·" }).trimmingCharacters(in: .whitespaces) }
        #expect(codes == ["CPT 27446", "CPT 99213", "HCPCS G0283", "HCPCS G0283", "HCPCS J1745", "HCPCS J1745"])
    }

    @Test func policyUpdatesAddedRemovedAndChanged() throws {
        let pair = try SeedPair()
        defer { pair.remove() }
        try pair.edit(infliximab, "- 2024-04-01 – Aetna: biosimilar‑first policy extended to all commercial plans.\n", "")
        try pair.edit(infliximab, "- 2025-01-01 – CMS: TB modifier required from all 340B covered entities; JG retired.",
                      "- 2025-01-01 – CMS: TB modifier required from all 340B covered entities; JG retired on that date.\n- 2026-01-01 – Cigna: infliximab moved to the specialty pharmacy benefit.")
        let result = try pair.diff()
        #expect(result.status == 1)
        let lines = result.lines
        let changed = try #require(lines.firstIndex { $0.hasPrefix("HCPCS J1745: policy update 2025-01-01") && $0.contains(" changed (new/") })
        #expect(lines[changed + 1] == "    … 340B covered entities; JG [-retired.-]{+retired on that date.+}")
        #expect(lines.contains { $0.hasPrefix("HCPCS J1745: policy update 2026-01-01") && $0.contains("added — \"Cigna: infliximab moved") || $0.contains("(cigna) added — \"infliximab moved") })
        #expect(lines.contains { $0.hasPrefix("HCPCS J1745: policy update 2024-04-01") && $0.contains("removed (was old/\(infliximab):") })
        #expect(lines.last == "3 rule changes in 1 code (15 codes compared)")
    }

    @Test func jsonFormatCarriesEveryField() throws {
        let pair = try SeedPair()
        defer { pair.remove() }
        try pair.edit(tka, "Prior authorization is required for elective total knee arthroplasty in every setting.",
                      "Prior authorization is not required for elective total knee arthroplasty in any setting.")
        try pair.edit(tka, "e.g. severe deformity, prior hardware", "e.g. severe valgus deformity, prior hardware")
        let result = try pair.diff(["--format", "json"])
        #expect(result.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["old"] as? String == "old")
        #expect(object["new"] as? String == "new")
        #expect(object["codesCompared"] as? Int == 15)
        #expect(object["codesChanged"] as? Int == 1)
        let changes = try #require(object["changes"] as? [[String: Any]])
        #expect(changes.map { $0["kind"] as? String } == ["modifierWhenToUseChanged", "priorAuthorizationChanged"])
        let auth = changes[1]
        #expect(auth["system"] as? String == "CPT")
        #expect(auth["code"] as? String == "27447")
        #expect(auth["payer"] as? String == "aetna")
        #expect(auth["old"] as? String == "required")
        #expect(auth["new"] as? String == "notRequired")
        #expect(auth["location"] as? String == "new/\(tka):37")
        #expect(changes[0]["excerpt"] as? String == "… than usual, e.g. severe {+valgus+} deformity, prior hardware or …")
        // Sorted keys, so the output is stable.
        #expect(result.stdout.hasPrefix("{\n  \"changes\" : ["))
    }

    @Test func markdownFormatIsATableForAPullRequest() throws {
        let pair = try SeedPair()
        defer { pair.remove() }
        try pair.edit(tka, "Prior authorization is required for elective total knee arthroplasty in every setting.",
                      "Prior authorization is not required for elective total knee arthroplasty in any setting.")
        try pair.edit(tka, "e.g. severe deformity, prior hardware", "e.g. severe \\| valgus deformity, prior hardware")
        let result = try pair.diff(["--format", "markdown"])
        #expect(result.status == 1)
        #expect(result.lines == [
            "### Rule changes: old → new",
            "",
            "| Code | Change | Source |",
            "|---|---|---|",
            "| CPT 27447 | modifier 22 when-to-use changed<br>… than usual, e.g. severe **\\| valgus** deformity, prior hardware or … | `new/\(tka):29` |",
            "| CPT 27447 · aetna | prior authorization required → notRequired | `new/\(tka):37` |",
            "",
            "2 rule changes in 1 code (15 codes compared).",
        ])
        // An empty diff says so instead of printing an empty table.
        let clean = try WorkflowProcess.run(["diff", "old", "old", "--format", "markdown"], in: pair.root)
        #expect(clean.status == 0)
        #expect(clean.lines == ["### Rule changes: old → old", "", "No rule changes (15 codes compared)."])
    }

    @Test func bundleFolderComparesLikeItsDocuments() throws {
        let pair = try SeedPair()
        defer { pair.remove() }
        // Bundles of OLD, written the way generate writes them: one {"schemaVersion": 1, "codes": [record]} per code.
        var options = GenerateOptions()
        options.inputs = [pair.old.path]
        options.output = pair.root.appendingPathComponent("out").path
        options.check = true
        let outcome = Generator.run(options)
        #expect(outcome.records.count == 15)
        let bundles = pair.root.appendingPathComponent("bundles")
        try FileManager.default.createDirectory(at: bundles, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        for record in outcome.records {
            try encoder.encode(RuleBundle(codes: [record]))
                .write(to: bundles.appendingPathComponent(JSONEmitter.bundleFileName(for: record)))
        }
        try Data("{\"schemaVersion\": 1, \"codes\": []}".utf8).write(to: bundles.appendingPathComponent("index.json"))
        let same = try WorkflowProcess.run(["diff", "bundles", "old"], in: pair.root)
        #expect(same.status == 0)
        #expect(same.lines == ["no rule changes (15 codes compared)"])

        try pair.edit(tka, "| 78 | Unplanned return", "| 59 | Distinct procedural service | A separate site. |\n| 78 | Unplanned return")
        let fromBundles = try WorkflowProcess.run(["diff", "bundles", "new"], in: pair.root)
        let fromDocuments = try pair.diff()
        #expect(fromBundles.status == 1)
        #expect(fromBundles.stdout == fromDocuments.stdout)
        #expect(fromBundles.lines.first == "CPT 27447: modifier 59 added — \"Distinct procedural service\" (new/\(tka):33)")
    }

    @Test func gitRevisionAgainstTheWorkingTree() throws {
        let root = try WorkflowProcess.temporaryFolder("git")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(at: WorkflowProcess.packageRoot.appendingPathComponent("seeds"),
                                         to: root.appendingPathComponent("seeds"))
        func git(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid",
                                 "-c", "commit.gpgsign=false"] + arguments
            process.currentDirectoryURL = root
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            try #require(process.terminationStatus == 0, "git \(arguments.joined(separator: " ")) failed")
        }
        try git(["init", "-q"])
        try git(["add", "seeds"])
        try git(["commit", "-q", "-m", "seeds"])
        let clean = try WorkflowProcess.run(["diff", "--git", "HEAD"], in: root)
        #expect(clean.status == 0)
        #expect(clean.lines == ["no rule changes (15 codes compared)"])

        let file = root.appendingPathComponent("seeds/" + tka)
        let text = try String(contentsOf: file, encoding: .utf8)
        try text.replacingOccurrences(of: "| AS | Non‑physician assistant at surgery | Physician assistant, nurse practitioner or clinical nurse specialist assisting at surgery. |\n", with: "")
            .write(to: file, atomically: true, encoding: .utf8)
        let changed = try WorkflowProcess.run(["diff", "--git", "HEAD", "seeds"], in: root)
        #expect(changed.status == 1)
        #expect(changed.lines.first == "CPT 27447: modifier AS removed (was HEAD:seeds/\(tka):32)")
        // From a subfolder, paths are relative to it, as git users expect.
        let fromInside = try WorkflowProcess.run(["diff", "--git", "HEAD", "."], in: root.appendingPathComponent("seeds"))
        #expect(fromInside.status == 1)
        #expect(fromInside.lines.first == "CPT 27447: modifier AS removed (was HEAD:\(tka):32)")

        let unknown = try WorkflowProcess.run(["diff", "--git", "no-such-revision"], in: root)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.hasPrefix("error: 'no-such-revision' is not a commit in this repository"))
    }

    @Test func usageErrorsExitTwo() throws {
        let one = try WorkflowProcess.run(["diff", "seeds"])
        #expect(one.status == 2)
        #expect(one.stderr.contains("diff needs OLD and NEW"))
        let format = try WorkflowProcess.run(["diff", "seeds", "seeds", "--format", "yaml"])
        #expect(format.status == 2)
        #expect(format.stderr.contains("unknown --format 'yaml'"))
        let missing = try WorkflowProcess.run(["diff", "seeds", "no-such-folder"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("'no-such-folder' does not exist"))
    }

    @Test func wordDiffMarksOnlyTheChangedWords() {
        #expect(RuleDiff.wordDiff("a b c", "a b c") == nil)
        #expect(RuleDiff.wordDiff("a  b\nc", "a b c") == nil)
        #expect(RuleDiff.wordDiff("use when billing", "use only when billing") == "use {+only+} when billing")
        #expect(RuleDiff.wordDiff("one two three", "one four three") == "one [-two-]{+four+} three")
        #expect(RuleDiff.wordDiff("", "new text") == "{+new text+}")
        let long = (1...20).map(String.init).joined(separator: " ")
        let edited = long.replacingOccurrences(of: " 10 ", with: " ten ")
        #expect(RuleDiff.wordDiff(long, edited) == "… 6 7 8 9 [-10-]{+ten+} 11 12 13 14 …")
    }
}

import Testing
import Foundation
@testable import RulebookCompiler

/// Python 3 with the `jsonschema` package, used to validate SARIF against the official schema.
enum PythonJSONSchema {
    static let available: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import jsonschema"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    static let schema = WorkflowProcess.packageRoot.appendingPathComponent("Tests/Fixtures/sarif/sarif-schema-2.1.0.json")

    /// The validation errors of `instance` against the SARIF 2.1.0 schema (draft 4, formats checked); empty when valid.
    static func errors(_ instance: URL) throws -> [String] {
        let script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1], encoding="utf-8"))
        instance = json.load(open(sys.argv[2], encoding="utf-8"))
        validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
        for error in validator.iter_errors(instance):
            print("/".join(str(p) for p in error.absolute_path) + ": " + error.message.replace("\\n", " "))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, schema.path, instance.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "the validator script failed")
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

/// A folder of documents giving diagnostics of every severity, including whole-file (line 0) ones and a
/// file name that needs percent-encoding in a URI.
struct ProblemDocuments {
    let root: URL
    var input: URL { root.appendingPathComponent("docs") }

    init() throws {
        root = try WorkflowProcess.temporaryFolder("diag")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        let seeds = WorkflowProcess.packageRoot.appendingPathComponent("seeds")
        // A truncated table row (warning, line 19) and an unknown payer (note).
        try FileManager.default.copyItem(at: seeds.appendingPathComponent("000_9b8beb7daa9829c1.txt"),
                                         to: input.appendingPathComponent("000 truncated #1.txt"))
        try FileManager.default.copyItem(at: seeds.appendingPathComponent("004_cpt-64483-transforaminal-epidural-injection-lumbar.md"),
                                         to: input.appendingPathComponent("004.md"))
        // Whole-file problems: empty (error), invalid UTF-8 (error), a hidden document (note at line 0).
        try Data().write(to: input.appendingPathComponent("empty.md"))
        try Data([0x23, 0x20, 0x43, 0x50, 0x54, 0x20, 0xFF, 0xFE, 0x0A]).write(to: input.appendingPathComponent("latin1.md"))
        try Data("# CPT 12345: Hidden\n".utf8).write(to: input.appendingPathComponent(".hidden.md"))
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    func generate(_ extra: [String]) throws -> WorkflowProcess.Output {
        try WorkflowProcess.run(["generate", "--input", "docs", "--output", "out"] + extra, in: root)
    }
}

@Suite(.serialized) struct WorkflowDiagnosticsTests {
    @Test(.enabled(if: PythonJSONSchema.available, "needs python3 with the jsonschema package (pip install jsonschema)"))
    func sarifOutputValidatesAgainstTheOfficialSchema() throws {
        let documents = try ProblemDocuments()
        defer { documents.remove() }
        let sarif = documents.root.appendingPathComponent("out.sarif")
        let result = try documents.generate(["--diagnostics-format", "sarif", "--diagnostics-output", sarif.path])
        #expect(result.status == 1)
        // The human summary still goes to stderr when the SARIF goes to a file.
        #expect(result.stderr.hasPrefix("compiled 4 documents: "))
        #expect(try PythonJSONSchema.errors(sarif) == [])

        // The validator is real: a log with a level SARIF does not have is rejected.
        let broken = documents.root.appendingPathComponent("broken.sarif")
        let text = try String(contentsOf: sarif, encoding: .utf8)
        try text.replacingOccurrences(of: "\"level\" : \"warning\"", with: "\"level\" : \"fatal\"")
            .write(to: broken, atomically: true, encoding: .utf8)
        #expect(try PythonJSONSchema.errors(broken).contains { $0.contains("'fatal' is not one of") })
    }

    @Test func sarifCarriesRulesResultsAndLocations() throws {
        let documents = try ProblemDocuments()
        defer { documents.remove() }
        let result = try documents.generate(["--diagnostics-format", "sarif"])
        #expect(result.status == 1)
        // SARIF on stderr: stderr holds the log and nothing else.
        let log = try #require(try JSONSerialization.jsonObject(with: Data(result.stderr.utf8)) as? [String: Any])
        #expect(log["version"] as? String == "2.1.0")
        #expect(log["$schema"] as? String == SARIF.schemaURI)
        let run = try #require((log["runs"] as? [[String: Any]])?.first)
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect(driver["name"] as? String == "rulebook")
        #expect(driver["version"] as? String == CommandLineTool.version)
        let rules = try #require(driver["rules"] as? [[String: Any]])
        #expect(rules.map { $0["id"] as? String } == DiagnosticID.allCases.map(\.rawValue))
        let missingCells = try #require(rules.first { $0["id"] as? String == "table.missing-cells" })
        #expect((missingCells["fullDescription"] as? [String: Any])?["text"] as? String == DiagnosticID.tableMissingCells.explanation)
        #expect((missingCells["shortDescription"] as? [String: Any])?["text"] as? String == "A table row has fewer cells than the table header.")

        // The same diagnostics as the JSON format, one result each.
        let json = try documents.generate(["--diagnostics-format", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stderr.utf8)) as? [String: Any])
        let diagnostics = try #require(document["diagnostics"] as? [[String: Any]])
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == diagnostics.count)
        #expect(results.map { $0["ruleId"] as? String } == diagnostics.map { $0["id"] as? String })
        #expect(results.map { $0["level"] as? String } == diagnostics.map { $0["severity"] as? String })
        #expect(Set(results.compactMap { $0["level"] as? String }) == ["error", "warning", "note"])

        func location(_ result: [String: Any]) -> [String: Any]? {
            ((result["locations"] as? [[String: Any]])?.first)?["physicalLocation"] as? [String: Any]
        }
        // A located warning: URI percent-encoded, region with line and column.
        let warning = try #require(results.first { $0["ruleId"] as? String == "table.missing-cells" })
        let warningLocation = try #require(location(warning))
        #expect((warningLocation["artifactLocation"] as? [String: Any])?["uri"] as? String == "docs/000%20truncated%20%231.txt")
        #expect((warningLocation["region"] as? [String: Any])?["startLine"] as? Int == 19)
        #expect((warningLocation["region"] as? [String: Any])?["startColumn"] as? Int == 5)
        // A whole-file problem (line 0: the skipped hidden file) has no region.
        let skipped = try #require(results.first { $0["ruleId"] as? String == "file.skipped" })
        #expect(location(skipped)?["region"] == nil)
        #expect((location(skipped)?["artifactLocation"] as? [String: Any])?["uri"] as? String == "docs/.hidden.md")
        let empty = try #require(results.first { $0["ruleId"] as? String == "file.empty" })
        #expect((location(empty)?["artifactLocation"] as? [String: Any])?["uri"] as? String == "docs/empty.md")
    }

    @Test func jsonFormatAndOutputFile() throws {
        let documents = try ProblemDocuments()
        defer { documents.remove() }
        let json = try documents.generate(["--diagnostics-format", "json"])
        #expect(json.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stderr.utf8)) as? [String: Any])
        let diagnostics = try #require(document["diagnostics"] as? [[String: Any]])
        #expect(document["errors"] as? Int == diagnostics.filter { $0["severity"] as? String == "error" }.count)
        #expect(Set(diagnostics.first?.keys.map { $0 } ?? []) == ["path", "line", "column", "severity", "id", "message"])

        // Text into a file: the file holds the diagnostic lines, stderr only the summary.
        let text = try documents.generate([])
        let file = documents.root.appendingPathComponent("diagnostics.txt")
        let toFile = try documents.generate(["--diagnostics-output", file.path])
        let written = try String(contentsOf: file, encoding: .utf8)
        let summary = try #require(text.stderr.split(separator: "\n").last.map(String.init))
        #expect(written + summary + "\n" == text.stderr)
        #expect(toFile.stderr == summary + "\n")
        #expect(toFile.status == text.status)

        let bad = try documents.generate(["--diagnostics-format", "xml"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("unknown --diagnostics-format 'xml' (expected text, json or sarif)"))
    }

    @Test func warningsAsErrorsQuietAndVerbose() throws {
        let root = try WorkflowProcess.temporaryFolder("werror")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("docs"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: WorkflowProcess.packageRoot.appendingPathComponent("seeds/000_9b8beb7daa9829c1.txt"),
                                         to: root.appendingPathComponent("docs/000.txt"))
        func generate(_ extra: [String]) throws -> WorkflowProcess.Output {
            try WorkflowProcess.run(["generate", "--input", "docs", "--output", "out"] + extra, in: root)
        }
        let plain = try generate([])
        #expect(plain.status == 0)
        let warning = "docs/000.txt:19:5: warning: table row has 1 of 3 cells; the missing cells are read as empty [table.missing-cells]"
        let plainLines = plain.stderr.split(separator: "\n").map(String.init)
        #expect(plainLines.count == 2)
        #expect(plainLines.first == warning)
        let summary = try #require(plainLines.last)
        #expect(summary.hasPrefix("compiled 1 document: 1 code, ") && summary.hasSuffix("; 0 errors, 1 warning"))
        // Promoted: shown as an error, counted as one, exit 1.
        let strict = try generate(["--warnings-as-errors"])
        #expect(strict.status == 1)
        #expect(strict.stderr == warning.replacingOccurrences(of: ": warning: ", with: ": error: ") + "\n"
            + summary.replacingOccurrences(of: "; 0 errors, 1 warning", with: "; 1 error, 0 warnings") + "\n")
        // Quiet: errors only, no summary.
        #expect(try generate(["--quiet"]).stderr == "")
        let quietStrict = try generate(["--quiet", "--warnings-as-errors"])
        #expect(quietStrict.stderr == "docs/000.txt:19:5: error: table row has 1 of 3 cells; the missing cells are read as empty [table.missing-cells]\n")
        #expect(quietStrict.status == 1)
        // Verbose: a line per document compiled (here none: the manifest knows it) and what was written.
        let verbose = try generate(["--verbose"])
        #expect(verbose.stderr.contains("\nreused 1 unchanged document (not compiled again)\n"))
        #expect(!verbose.stderr.contains("compiled docs/000.txt"))
        #expect(verbose.stderr.contains("wrote out: "))
        let edited = root.appendingPathComponent("docs/000.txt")
        let original = try String(contentsOf: edited, encoding: .utf8)
        try (original + "\n").write(to: edited, atomically: true, encoding: .utf8)
        let recompiled = try generate(["--verbose"])
        #expect(recompiled.stderr.contains("\ncompiled docs/000.txt: CPT 27365, "))
        try original.write(to: edited, atomically: true, encoding: .utf8)
        #expect(try generate(["--quiet", "--verbose"]).status == 2)

        // extract takes the same options; its stdout contract is unchanged.
        let extract = try WorkflowProcess.run(["extract", "docs/000.txt", "--warnings-as-errors"], in: root)
        #expect(extract.status == 1)
        #expect(extract.stderr.contains(": error: table row has 1 of 3 cells"))
        let extractSarif = try WorkflowProcess.run(["extract", "docs/000.txt", "--diagnostics-format", "sarif"], in: root)
        #expect(extractSarif.status == 0)
        #expect(extractSarif.stderr.contains("\"ruleId\" : \"table.missing-cells\""))
    }

    @Test func checkReportsDocumentDiagnosticsThroughThePresenter() throws {
        let root = try WorkflowProcess.temporaryFolder("checkdiag")
        defer { try? FileManager.default.removeItem(at: root) }
        let docs = root.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: WorkflowProcess.packageRoot.appendingPathComponent("seeds/000_9b8beb7daa9829c1.txt"),
                                         to: docs.appendingPathComponent("000.txt"))
        try Data().write(to: docs.appendingPathComponent("empty.md"))
        let base = ["check", "--code", "27365", "--modifier", "RT", "--rules", "docs"]
        let text = try WorkflowProcess.run(base, in: root)
        #expect(text.status == 0)
        #expect(text.stderr.split(separator: "\n").map { String($0) }.allSatisfy { $0.contains(": error: ") })
        #expect(text.stderr.contains("docs/empty.md:1:1: error: "))
        #expect(!text.stderr.contains("table.missing-cells"))
        let sarif = try WorkflowProcess.run(base + ["--diagnostics-format", "sarif"], in: root)
        let log = try #require(try JSONSerialization.jsonObject(with: Data(sarif.stderr.utf8)) as? [String: Any])
        let results = try #require(((log["runs"] as? [[String: Any]])?.first)?["results"] as? [[String: Any]])
        #expect(Set(results.compactMap { $0["ruleId"] as? String }).isSuperset(of: ["file.empty", "table.missing-cells"]))
    }

    @Test func explainPrintsTheExplanationOfAnId() throws {
        let known = try WorkflowProcess.run(["explain", "table.missing-cells"])
        #expect(known.status == 0)
        let words = known.stdout.split(whereSeparator: { $0.isWhitespace }).dropFirst(2).joined(separator: " ")
        #expect(known.stdout.hasPrefix("table.missing-cells (warning)\n\n"))
        #expect(words == DiagnosticID.tableMissingCells.explanation)
        #expect(known.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 })
        // As printed at the end of a diagnostic line, with brackets.
        #expect(try WorkflowProcess.run(["explain", "[payer.unknown]"]).status == 0)

        let typo = try WorkflowProcess.run(["explain", "table.missing-cell"])
        #expect(typo.status == 2)
        #expect(typo.stdout == "")
        #expect(typo.stderr == "error: unknown diagnostic id 'table.missing-cell'\nhint: did you mean 'table.missing-cells'? run 'rulebook explain' to list the ids\n")
        let nonsense = try WorkflowProcess.run(["explain", "zzzzzzzzzzzzzzzzzzzz"])
        #expect(nonsense.status == 2)
        #expect(nonsense.stderr.hasSuffix("hint: run 'rulebook explain' to list the ids\n"))

        let list = try WorkflowProcess.run(["explain"])
        #expect(list.status == 0)
        #expect(list.lines.map { String($0.prefix(while: { $0 != " " })) } == DiagnosticID.allCases.map(\.rawValue))
        #expect(try WorkflowProcess.run(["explain", "a", "b"]).status == 2)
    }
}

import Foundation
import Testing
@testable import RulebookCompiler

/// The real `rulebook` process: exit codes, stdout/stderr contracts.
@Suite(.serialized) struct CLITests {
    @Test func helpAndVersion() throws {
        let help = try RulebookProcess.run(["--help"])
        #expect(help.status == 0)
        for command in ["extract", "dump", "generate", "check"] { #expect(help.stdout.contains("  \(command)")) }
        let version = try RulebookProcess.run(["--version"])
        #expect(version.status == 0 && version.stdout == "rulebook \(CommandLineTool.version)\n")
    }

    @Test func usageErrorsExitTwoWithAHint() throws {
        for arguments in [[], ["frobnicate"], ["extract"], ["generate", "--access-level", "private"], ["generate", "--bogus"],
                          ["dump", "a", "b"], ["generate", "--jobs", "0"]] {
            let result = try RulebookProcess.run(arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.contains("hint:") || result.stderr.contains("USAGE"), "\(arguments): \(result.stderr)")
        }
    }

    @Test func extractPrintsModelAndDiagnostics() throws {
        let result = try RulebookProcess.run(["extract", "seeds/000_9b8beb7daa9829c1.txt"])
        #expect(result.status == 0) // a warning does not fail
        #expect(result.stderr.contains("seeds/000_9b8beb7daa9829c1.txt:19:5: warning: table row has 1 of 3 cells"))
        #expect(result.stderr.contains("[table.missing-cells]"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["schemaVersion"] as? Int == 1)
        let codes = try #require(object["codes"] as? [[String: Any]])
        #expect(codes.first?["code"] as? String == "27365")
        let diagnostics = try #require(object["diagnostics"] as? [[String: Any]])
        #expect(diagnostics.first?["id"] as? String == "table.missing-cells" && diagnostics.first?["line"] as? Int == 19)
    }

    @Test func extractExitsOneOnErrorsAndContinuesPastBadFiles() throws {
        let result = try RulebookProcess.run(["extract", "Tests/Fixtures/documents/invalid-utf8-at-54.md",
                                              "Tests/Fixtures/documents/empty.txt", "seeds/000_9b8beb7daa9829c1.txt"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("Tests/Fixtures/documents/invalid-utf8-at-54.md:3:20: error: file is not valid UTF-8"))
        #expect(result.stderr.contains("Tests/Fixtures/documents/empty.txt:1:1: error: file is empty [file.empty]"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((object["codes"] as? [Any])?.count == 1)
    }

    @Test func dumpPrintsTheBlockTree() throws {
        let result = try RulebookProcess.run(["dump", "seeds/000_9b8beb7daa9829c1.txt"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let blocks = try #require(object["blocks"] as? [[String: Any]])
        #expect(blocks.first?["kind"] as? String == "heading" && blocks.first?["text"] as? String == "Summary & Overview")
        let table = try #require(blocks.first { $0["kind"] as? String == "table" })
        #expect(table["header"] as? [String] == ["Modifier", "Description", "When to Use"])
        #expect((table["rows"] as? [[String]])?.last == ["50", "", ""])
        #expect(table["line"] as? Int == 16)
        let list = try #require(blocks.first { $0["kind"] as? String == "list" })
        let items = try #require(list["items"] as? [[String: Any]])
        let labelled = try #require((items.first?["blocks"] as? [[String: Any]])?.first)
        #expect(labelled["kind"] as? String == "labelled" && labelled["label"] as? String == "Service type")
    }

    @Test func generateWritesAndChecksAnOutputFolder() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let first = try RulebookProcess.run(["generate", "--output", output.path])
        #expect(first.status == 0, "\(first.stderr)")
        let summary = try #require(first.stderr.split(separator: "\n").last)
        #expect(summary.hasPrefix("compiled 15 documents: 15 codes, "))
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("JSON/cpt-27365.json").path))
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("JSON/index.json").path))
        let check = try RulebookProcess.run(["generate", "--output", output.path, "--check"])
        #expect(check.status == 0, "\(check.stderr)")
        // A stale file is reported and fails the check; a user's own file is left alone.
        try Data("{}".utf8).write(to: output.appendingPathComponent("JSON/cpt-27365.json"))
        try Data("mine".utf8).write(to: output.appendingPathComponent("notes.txt"))
        let stale = try RulebookProcess.run(["generate", "--output", output.path, "--check"])
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("stale: JSON/cpt-27365.json"))
        let repair = try RulebookProcess.run(["generate", "--output", output.path])
        #expect(repair.status == 0)
        #expect(try RulebookProcess.run(["generate", "--output", output.path, "--check"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("notes.txt").path))
    }

    @Test func generateReportsDuplicateCodesAcrossDocuments() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try RulebookProcess.run(["generate", "--input", "Tests/Fixtures/documents/duplicate-code", "--output", output.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("Tests/Fixtures/documents/duplicate-code/duplicate-code-b.md:"))
        #expect(result.stderr.contains("CPT 20550 is also defined at Tests/Fixtures/documents/duplicate-code/duplicate-code-a.md:"))
        #expect(result.stderr.contains("[code.duplicate]"))
        // The documents that compiled are still written.
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("JSON/cpt-20550.json").path))
    }
}

import Testing
import Foundation
@testable import RulebookCompiler

/// `rulebook generate --watch` as a running process: start it, edit a document, read what it prints,
/// press Ctrl-C (SIGINT), check it stops cleanly.
@Suite(.serialized) struct WorkflowWatchTests {
    /// Waits until `condition` holds for the text read so far, or the timeout passes.
    static func wait(for box: DataBox, timeout: TimeInterval = 20, _ condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(box.text) { return true }
            usleep(50_000)
        }
        return condition(box.text)
    }

    static func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    @Test func watchRecompilesOnAnEditAndStopsOnInterrupt() throws {
        let root = try WorkflowProcess.temporaryFolder("watch")
        defer { try? FileManager.default.removeItem(at: root) }
        let docs = root.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        let seeds = WorkflowProcess.packageRoot.appendingPathComponent("seeds")
        for name in [tka, "000_9b8beb7daa9829c1.txt"] {
            try FileManager.default.copyItem(at: seeds.appendingPathComponent(name), to: docs.appendingPathComponent(name))
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: WorkflowProcess.executable)
        process.arguments = ["generate", "--input", "docs", "--output", "out", "--watch"]
        process.currentDirectoryURL = root
        process.environment = WorkflowProcess.environment()
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let box = DataBox()
        err.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { box.append(data) }
        }
        try process.run()
        defer {
            err.fileHandleForReading.readabilityHandler = nil
            if process.isRunning { process.terminate() }
        }

        // First run: the diagnostics, the summary, then the watching line.
        let firstSummary = "compiled 2 documents: 2 codes, 10 modifiers, 10 payer notes; 0 errors, 1 warning"
        #expect(Self.wait(for: box) { $0.contains("watching 2 documents under docs; press Ctrl-C to stop\n") }, "output so far: \(box.text)")
        #expect(box.text.hasPrefix("docs/000_9b8beb7daa9829c1.txt:19:5: warning: table row has 1 of 3 cells"))
        #expect(box.text.contains(firstSummary + "\n"))

        // A polling interval with no change prints nothing more.
        let quiet = box.text
        usleep(1_200_000)
        #expect(box.text == quiet)

        // Edit: a modifier row with an invalid code (an error) and a new modifier.
        let file = docs.appendingPathComponent(tka)
        let text = try String(contentsOf: file, encoding: .utf8)
        try #require(text.contains("| 78 | Unplanned return"))
        try text.replacingOccurrences(of: "| 78 | Unplanned return",
                                      with: "| 5X9 | Not a modifier | x |\n| 76 | Repeat procedure by same physician | x |\n| 78 | Unplanned return")
            .write(to: file, atomically: true, encoding: .utf8)
        #expect(Self.wait(for: box) { $0.contains("; 1 error, 1 warning\n") }, "output so far: \(box.text)")
        let output = box.text
        #expect(output.contains("changed: docs/\(tka); recompiling\n"))
        #expect(output.contains("docs/\(tka):33:3: error: invalid modifier code '5X9'"))
        #expect(output.contains("[modifier.invalid]"))
        #expect(output.contains("compiled 2 documents: 2 codes, 11 modifiers, 10 payer notes; 1 error, 1 warning\n"))

        // A new document is picked up too.
        try FileManager.default.copyItem(at: seeds.appendingPathComponent("009_hcpcs-G0283-electrical-stimulation-unattended.md"),
                                         to: docs.appendingPathComponent("009.md"))
        #expect(Self.wait(for: box) { $0.contains("compiled 3 documents: ") }, "output so far: \(box.text)")
        #expect(box.text.contains("changed: docs/009.md; recompiling\n"))

        // Ctrl-C: a last line and exit 0.
        process.interrupt()
        let stopped = Self.wait(for: box, timeout: 10) { _ in !process.isRunning }
        #expect(stopped, "the watcher did not stop on SIGINT")
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        #expect(Self.wait(for: box, timeout: 2) { $0.hasSuffix("watch: stopped\n") })
        #expect(Self.occurrences(of: "watching ", in: box.text) == 1)
    }

    @Test func watchAndCheckDoNotCombine() throws {
        let result = try WorkflowProcess.run(["generate", "--watch", "--check"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: --watch cannot be combined with --check"))
    }

    @Test func fingerprintNoticesContentSizeAndNewFiles() throws {
        let root = try WorkflowProcess.temporaryFolder("fingerprint")
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("a.md")
        try Data("# CPT 27447: A\n".utf8).write(to: file)
        var options = GenerateOptions()
        options.inputs = [root.path]
        let first = Watch.fingerprint(options)
        #expect(first.entries.count == 1)
        #expect(Watch.fingerprint(options).changes(from: first).isEmpty)
        try Data("# CPT 27447: AB\n".utf8).write(to: file)
        #expect(Watch.fingerprint(options).changes(from: first) == [file.path])
        try Data("x".utf8).write(to: root.appendingPathComponent("notes.json")) // not a document
        try Data("# HCPCS E0114: B\n".utf8).write(to: root.appendingPathComponent("b.txt"))
        #expect(Watch.fingerprint(options).changes(from: first) == [file.path, root.appendingPathComponent("b.txt").path])
    }
}

import Foundation
import Testing

/// SIGKILL during `rulebook generate`, through Scripts/kill-test.sh on the real executable: after every
/// kill each output file is the complete previous or the complete new version, and the next run repairs
/// the folder (`--check` exits 0). A short run here (8 kills, 120 documents); `.ci/run` runs the script
/// with 50 kills, and `Scripts/kill-test.sh` alone defaults to 50 kills on 2,000 documents.
@Suite struct ReliabilityCrashSafetyTests {
    @Test func killedRunsLeaveCompleteFilesAndTheNextRunRepairs() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Repository.url("Scripts/kill-test.sh").path, "8", "120"]
        process.currentDirectoryURL = Repository.root
        var environment = ProcessInfo.processInfo.environment
        environment["RULEBOOK"] = RulebookProcess.executable.path
        environment["KILL_TEST_SEED"] = "11"
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.contains("8 kills in"), "\(output)")
        #expect(output.contains("every file was complete A or complete B"), "\(output)")
        #expect(output.contains("reproduced the reference and passed --check"), "\(output)")
    }
}

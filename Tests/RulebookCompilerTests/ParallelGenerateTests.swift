import Foundation
import Testing
@testable import RulebookCompiler

/// `--jobs 1`, `--jobs 2` and `--jobs 8` write the same bytes and report the same diagnostics (not timed).
@Test func parallelRunsMatchSerialRun() throws {
    let corpus = try GeneratedCorpus.write(count: 300, seed: 11)
    // Cross-document diagnostics too: a duplicate code late in the order.
    let documents = try GeneratedCorpus.documents(corpus)
    let scraped = try #require(documents.first { $0.pathExtension == "txt" })
    try FileManager.default.copyItem(at: scraped, to: corpus.appendingPathComponent("zzz_duplicate.txt"))
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-par-\(UUID().uuidString)")
    defer {
        try? FileManager.default.removeItem(at: corpus)
        try? FileManager.default.removeItem(at: work)
    }
    var outputs: [Int: (files: [String: Data], outcome: GenerateOutcome)] = [:]
    for jobs in [1, 2, 8] {
        var options = GenerateOptions()
        options.inputs = [corpus.path]
        options.output = work.appendingPathComponent("out-\(jobs)").path
        options.jobs = jobs
        options.incremental = false
        if jobs > 1 { options.bundlesOnDemandFrom = 0 }  // bundles produced again by the writer: same bytes
        let outcome = Generator.run(options)
        outputs[jobs] = (GeneratedCorpus.snapshot(URL(fileURLWithPath: options.output)), outcome)
    }
    let serial = try #require(outputs[1])
    #expect(serial.files.count > 300)
    #expect(serial.outcome.records.count == 300)
    #expect(serial.outcome.diagnostics.contains { $0.id == DiagnosticID.codeDuplicate.rawValue })
    for jobs in [2, 8] {
        let parallel = try #require(outputs[jobs])
        #expect(parallel.files == serial.files, "--jobs \(jobs): \(serial.files.keys.filter { serial.files[$0] != parallel.files[$0] }.sorted().prefix(5))")
        #expect(parallel.outcome.diagnostics == serial.outcome.diagnostics, "--jobs \(jobs): diagnostics differ")
        #expect(parallel.outcome.records == serial.outcome.records, "--jobs \(jobs): records differ")
    }
    // The emitter's parallel data file (lines written in chunks, index from their lengths) equals its serial one.
    let sorted = JSONEmitter.canonicalOrder(serial.outcome.records).map { serial.outcome.records[$0] }
    #expect(SwiftEmitter.shardFile(number: 0, count: 1, records: sorted, access: "public", header: [], jobs: 1)
            == SwiftEmitter.shardFile(number: 0, count: 1, records: sorted, access: "public", header: [], jobs: 4))
}

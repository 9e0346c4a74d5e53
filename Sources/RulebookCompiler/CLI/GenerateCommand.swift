import Foundation
import Rulebook

/// `rulebook generate`: compile the documents under the inputs into OUT/JSON and OUT/Swift.
enum GenerateCommand {
    static let command = Subcommand(
        name: "generate",
        summary: "Compile documents into JSON rule bundles and Swift sources",
        usage: """
        USAGE: rulebook generate [--input DIR]... [--output DIR] [--check] [--access-level public|package|internal]
                                 [--config FILE] [--jobs N] [--swift-shards N] [--watch] [diagnostics options]

        Reads every .md, .markdown and .txt file under each input folder (default: seeds) and writes
        OUT/JSON/<system>-<code>.json, OUT/JSON/index.json, OUT/JSON/rulebook.schema.json and the Swift
        sources under OUT/Swift/ (default OUT: Generated). Files whose bytes are unchanged are not rewritten.

        OPTIONS:
          --input DIR        A folder (or file) of documents; repeatable. Default: seeds
          --output DIR       The output folder. Default: Generated
          --check            Write nothing; exit 1 if OUT is not exactly what would be written
          --access-level L   Access level of the generated Swift declarations. Default: public
          --config FILE      A rulebook.json with accessLevel, knownPayers, knownModifiers
          --jobs N           Worker threads (default: one per core); output is identical for any N
          --swift-shards N   Number of Swift data files, 1...256 (default: one per 64 documents, rounded up
                             to a power of two, at most 64)
          --watch            After the first run, recompile whenever a document changes; Ctrl-C stops
        \(DiagnosticsOptions.usage)
        Exit status: 0 ok (warnings allowed), 1 error diagnostics or stale output (--check), 2 usage error.

        """,
        spec: ArgumentSpec(valueOptions: DiagnosticsOptions.valueOptions.union(["input", "output", "access-level", "config", "jobs", "swift-shards"]),
                           flags: DiagnosticsOptions.flags.union(["check", "watch"]))
    ) { arguments throws(UsageError) in
        guard arguments.positionals.isEmpty else {
            throw UsageError("unexpected argument '\(arguments.positionals[0])' (use --input DIR)")
        }
        var options = GenerateOptions()
        if !arguments.all("input").isEmpty { options.inputs = arguments.all("input") }
        if let output = arguments.value("output") { options.output = output }
        options.check = arguments.has("check")
        if let level = arguments.value("access-level") {
            guard let accessLevel = AccessLevel(rawValue: level) else {
                throw UsageError("--access-level must be public, package or internal (got '\(level)')")
            }
            options.accessLevel = accessLevel
        }
        options.configPath = arguments.value("config")
        if let jobs = arguments.value("jobs") {
            guard let count = Int(jobs), count >= 1 else { throw UsageError("--jobs needs a positive number (got '\(jobs)')") }
            options.jobs = count
        }
        if let shards = arguments.value("swift-shards") {
            // Up to 256 on request (file names have three digits); the default stops at 64.
            guard let count = Int(shards), (1...256).contains(count) else {
                throw UsageError("--swift-shards needs a number from 1 to 256 (got '\(shards)')")
            }
            options.swiftShards = count
        }
        let presenter = DiagnosticsPresenter(options: try DiagnosticsOptions.parse(arguments))
        if arguments.has("watch") {
            guard !options.check else { throw UsageError("--watch cannot be combined with --check") }
            return Watch.run(options, presenter: presenter)
        }
        options.freesMemoryAtEnd = false  // the process ends with this run
        return GenerateSession.runOnce(options, presenter: presenter)
    }
}

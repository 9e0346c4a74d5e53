import Foundation
import PackagePlugin

/// Command plugin `generate-rules`: runs `rulebook generate` — the same code path as the CLI — from
/// `swift package`.
///
///     swift package --allow-writing-to-package-directory generate-rules            # seeds/ → Generated/
///     swift package --allow-writing-to-package-directory generate-rules --check    # fail if Generated/ is stale
///     swift package --allow-writing-to-package-directory generate-rules --target Billing
///                                                   # Sources/Billing → Sources/Billing/Generated
///
/// Without `--target` it runs in the package folder with `--input seeds --output Generated` (each default
/// only when the arguments do not name their own `--input`/`--output`), so the result is byte-identical to
/// `swift run rulebook generate`. With `--target T` (repeatable) it compiles the documents in T's folder
/// into `<T's folder>/Generated`, using `<T's folder>/rulebook.json` when present. Every other argument
/// (`--check`, `--access-level …`, `--config …`) is passed through to `rulebook generate`.
@main
struct GenerateRules: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var extractor = ArgumentExtractor(arguments)
        let targetNames = extractor.extractOption(named: "target")
        let passThrough = extractor.remainingArguments
        let tool = try context.tool(named: "rulebook").url
        let packageDirectory = context.package.directoryURL

        if targetNames.isEmpty {
            var arguments = ["generate"]
            if !passThrough.contains(where: { $0 == "--input" || $0.hasPrefix("--input=") }) {
                let seeds = packageDirectory.appending(path: "seeds").path(percentEncoded: false)
                guard FileManager.default.fileExists(atPath: seeds) else {
                    Diagnostics.error("generate-rules: this package has no seeds/ folder; "
                        + "pass --target T to compile a target's documents, or --input DIR [--output DIR]")
                    throw GenerateRulesError.failed
                }
                arguments += ["--input", "seeds"]
            }
            if !passThrough.contains(where: { $0 == "--output" || $0.hasPrefix("--output=") }) {
                arguments += ["--output", "Generated"]
            }
            try run(tool, arguments + passThrough, in: packageDirectory, what: "the package")
            return
        }

        for target in try context.package.targets(named: targetNames) {
            guard let target = target as? SwiftSourceModuleTarget else {
                Diagnostics.error("generate-rules: target '\(target.name)' is not a Swift source module target")
                throw GenerateRulesError.failed
            }
            let directory = target.directoryURL
            var arguments = ["generate", "--input", plainPath(directory),
                             "--output", plainPath(directory.appending(path: "Generated"))]
            let config = directory.appending(path: "rulebook.json")
            if FileManager.default.fileExists(atPath: config.path(percentEncoded: false)),
               !passThrough.contains(where: { $0 == "--config" || $0.hasPrefix("--config=") }) {
                arguments += ["--config", plainPath(config)]
            }
            try run(tool, arguments + passThrough, in: packageDirectory, what: "target '\(target.name)'")
        }
    }

    /// A file system path without percent encoding or trailing slash.
    func plainPath(_ url: URL) -> String {
        var path = url.path(percentEncoded: false)
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }

    /// Runs the tool, its output going straight to ours; a non-zero exit becomes an error diagnostic.
    func run(_ tool: URL, _ arguments: [String], in directory: URL, what: String) throws {
        let process = Process()
        process.executableURL = tool
        process.arguments = arguments
        process.currentDirectoryURL = directory
        try process.run()
        process.waitUntilExit()
        let status = process.terminationStatus
        guard process.terminationReason == .exit, status == 0 else {
            let command = (["rulebook"] + arguments).joined(separator: " ")
            let meaning = switch (process.terminationReason, status) {
            case (.uncaughtSignal, _): "was killed by signal \(status)"
            case (_, 1) where arguments.contains("--check"): "found errors or stale outputs (see above)"
            case (_, 1): "reported errors (see above)"
            case (_, 2): "was given invalid arguments"
            default: "failed with exit status \(status)"
            }
            Diagnostics.error("generate-rules: '\(command)' \(meaning) for \(what)")
            throw GenerateRulesError.failed
        }
    }
}

enum GenerateRulesError: Error, CustomStringConvertible {
    case failed
    var description: String { "rulebook generate failed; see the diagnostics above" }
}

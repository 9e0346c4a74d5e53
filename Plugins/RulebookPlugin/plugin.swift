import Foundation
import PackagePlugin

/// Build tool plugin: compiles the billing documents (`.md`, `.markdown`, `.txt`) found anywhere in a
/// target's folder into Swift sources that are built into that target.
///
/// It returns one `.buildCommand` (a prebuild command cannot run a tool built from source) that runs
/// `rulebook generate --input <target folder> --output <plugin work directory>/rulebook [--config rulebook.json]`
/// with exact inputs (every document the tool will read, the config file, the tool) and outputs known before
/// it runs (the Swift files, whose names follow from the number of documents — see ``RulebookBuildCommand/swiftOutputs(documentCount:)``
/// — and the `JSON` folder of rule bundles, which SwiftPM copies into the target's resources), so SwiftPM
/// reruns it only when one of those inputs changes.
@main
struct RulebookPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        // Only Swift targets can compile the generated Swift.
        guard let target = target as? SwiftSourceModuleTarget else {
            Diagnostics.warning("RulebookPlugin: target '\(target.name)' is not a Swift target; its documents are not compiled")
            return []
        }
        return try RulebookBuildCommand.commands(
            targetName: target.name,
            targetDirectory: target.directoryURL,
            workDirectory: context.pluginWorkDirectoryURL,
            tool: context.tool(named: "rulebook").url
        )
    }
}

enum RulebookBuildCommand {
    /// Document extensions the compiler reads (compared lower-cased).
    static let documentExtensions: Set<String> = ["md", "markdown", "txt"]
    /// The optional per-target configuration file, at the top of the target's folder.
    static let configFileName = "rulebook.json"
    /// The Swift files `rulebook generate --swift-shards <shardCount(documents:)>` writes under `OUT/Swift/`:
    /// `RulebookRules.swift` and one data file per shard (`RulebookData.swift` alone, or `RulebookData-000.swift`…),
    /// every one of them whatever the documents say (as `SwiftEmitter.fileNames(shardCount:)`).
    static func swiftOutputs(documentCount: Int) -> [String] {
        let count = shardCount(documents: documentCount)
        func padded(_ number: Int) -> String {
            let digits = String(number)
            return String(repeating: "0", count: max(0, 3 - digits.count)) + digits
        }
        return ["RulebookRules.swift"] + (0..<count).map { count == 1 ? "RulebookData.swift" : "RulebookData-\(padded($0)).swift" }
    }

    /// A copy of `EmbeddedShards.shardCount(documents:)` in the Rulebook library (a plugin cannot import it;
    /// keep the two equal — the plugin passes the result with `--swift-shards`, so a mismatch would only
    /// change the file count, never leave a declared output unwritten): the smallest power of two
    /// ≥ ⌈n / 64⌉, at least 1, at most 64.
    static func shardCount(documents n: Int) -> Int {
        let needed = max(1, (max(0, n) + 63) / 64)
        var count = 1
        while count < needed && count < 64 { count *= 2 }
        return count
    }

    static func commands(targetName: String, targetDirectory: URL, workDirectory: URL, tool: URL) throws -> [Command] {
        let documents = findDocuments(in: targetDirectory)
        // A target without documents gets no command (and no generated code).
        guard !documents.isEmpty else { return [] }

        let output = workDirectory.appending(path: "rulebook", directoryHint: .isDirectory)
        var arguments = ["generate", "--input", plainPath(targetDirectory), "--output", plainPath(output),
                         "--swift-shards", String(shardCount(documents: documents.count))]
        var inputs = documents
        let config = targetDirectory.appending(path: configFileName, directoryHint: .notDirectory)
        var configSetsAccessLevel = false
        if FileManager.default.fileExists(atPath: config.path(percentEncoded: false)) {
            arguments += ["--config", plainPath(config)]
            inputs.append(config)
            configSetsAccessLevel = configMentionsAccessLevel(config)
        }
        // Generated code is internal to the target unless rulebook.json says otherwise, so two targets
        // using the plugin never export clashing declarations.
        if !configSetsAccessLevel {
            arguments += ["--access-level", "internal"]
        }
        inputs.append(tool)

        let swiftDirectory = output.appending(path: "Swift", directoryHint: .isDirectory)
        // The bundles' names come from the codes inside the documents, so the folder is the declared
        // output: SwiftPM copies it whole into the target's resources (`Bundle.module`, folder `JSON`).
        let jsonDirectory = output.appending(path: "JSON", directoryHint: .isDirectory)
        // SwiftPM declares the resource copy of this folder as a directory only if the folder exists when
        // it plans the build (right after this plugin returns); otherwise as a file, and it switches to a
        // directory at the next planning, which changes that copy command and reruns it. Creating the
        // (empty) folder now gives the same build graph on the first build as on every later one.
        try? FileManager.default.createDirectory(at: jsonDirectory, withIntermediateDirectories: true)
        return [
            .buildCommand(
                displayName: "Compiling \(documents.count) billing document\(documents.count == 1 ? "" : "s") for \(targetName) with rulebook",
                executable: tool,
                arguments: arguments,
                // The compiler's build stamp (which executable wrote the output, and the documents' file
                // identities) stays in the plugin's work directory: no write outside it (sandboxes), and a
                // rerun with unchanged documents compiles none of them.
                environment: ["RULEBOOK_CACHE_DIR": plainPath(workDirectory.appending(path: "stamp", directoryHint: .isDirectory))],
                inputFiles: inputs,
                outputFiles: swiftOutputs(documentCount: documents.count).map { swiftDirectory.appending(path: $0, directoryHint: .notDirectory) }
                    + [jsonDirectory]
            )
        ]
    }

    /// A file system path without percent encoding or trailing slash: the compiler names documents
    /// `<input folder>/<relative path>`, so diagnostics read `/…/Sources/Billing/Documents/x.md:12:3: error: …`.
    static func plainPath(_ url: URL) -> String {
        var path = url.path(percentEncoded: false)
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }

    /// Every document under `directory`, recursively, in sorted path order — the same files the compiler
    /// reads: regular files with a document extension; hidden files and folders skipped; symbolic links
    /// followed only when they stay inside the folder.
    static func findDocuments(in directory: URL) -> [URL] {
        let root = directory.standardizedFileURL.resolvingSymlinksInPath()
        let rootPath = root.path(percentEncoded: false)
        guard let enumerator = FileManager.default.enumerator(
            at: directory,
            includingPropertiesForKeys: [.isRegularFileKey],
            options: [.skipsHiddenFiles]
        ) else { return [] }
        var documents: [URL] = []
        for case let url as URL in enumerator {
            guard documentExtensions.contains(url.pathExtension.lowercased()) else { continue }
            let resolved = url.resolvingSymlinksInPath()
            guard (try? resolved.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                  resolved.path(percentEncoded: false).hasPrefix(rootPath.hasSuffix("/") ? rootPath : rootPath + "/")
            else { continue }
            documents.append(url)
        }
        return documents.sorted { $0.path(percentEncoded: false) < $1.path(percentEncoded: false) }
    }

    /// Whether the config file sets `accessLevel` (then the plugin leaves the choice to it). A file that
    /// does not parse is passed on anyway: the compiler reports the error against it.
    static func configMentionsAccessLevel(_ config: URL) -> Bool {
        guard let data = try? Data(contentsOf: config),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return false }
        return object["accessLevel"] != nil
    }
}

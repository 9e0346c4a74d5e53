import Dispatch
import Foundation
import Rulebook

/// `rulebook generate`: documents in, JSON bundles and Swift sources out.
public struct GenerateOptions: Sendable {
    public var inputs: [String] = ["seeds"]
    public var output: String = "Generated"
    public var check = false
    public var accessLevel: AccessLevel?
    public var configPath: String?
    /// Worker threads for parsing and extraction; nil = one per core. Output is identical for any value.
    public var jobs: Int?
    /// Called from the compile workers (any thread) after each document: (done, total, path).
    public var progress: (@Sendable (_ done: Int, _ total: Int, _ path: String) -> Void)?
    /// Reuse what the output folder's manifest records about documents whose bytes did not change (see
    /// ``Manifest/documents`` and ``BuildStamp``). The output is the same either way. Also off when the
    /// environment sets `RULEBOOK_NO_CACHE=1`.
    public var incremental = true
    /// Where the build stamp lives; nil = the default location (``BuildStamp/location(forOutput:directory:)``).
    public var cacheDirectory: String?
    /// From this many records on, JSON bundles are not kept in memory after emission: only their hash
    /// and size, and the writer produces a bundle again when it has to write it (less memory, a little
    /// more CPU on a first run). The output is the same either way.
    public var bundlesOnDemandFrom = 2000
    /// How many Swift data files the records are spread over; nil = ``EmbeddedShards/shardCount(documents:)``
    /// of the number of input documents (a build plugin passes the count it declared).
    public var swiftShards: Int?
    /// False when the process ends right after the run (the CLI): the documents' records and states are
    /// then left to the process's exit instead of being freed one by one (tens of milliseconds for
    /// 10,000 documents, on the critical path). Long-lived callers (tests, `--watch`) keep the default.
    public var freesMemoryAtEnd = true

    public init() {}
}

/// Objects handed over to the end of the process (see ``GenerateOptions/freesMemoryAtEnd``).
enum ProcessLifetime {
    nonisolated(unsafe) private static var kept: [Any] = []
    static func keep(_ object: Any) { kept.append(object) }
}

public struct GenerateOutcome: Sendable {
    public var diagnostics: [Diagnostic] = []
    /// The emitted records compiled in this run (not those of unchanged documents), in input order.
    /// Taken from the documents' states when asked for (`--verbose`, tests): copying 10,000 records into
    /// an array took 7 ms on the serial path of every large run.
    public var records: [CodeRecord] {
        get { storedRecords ?? keptStates.compactMap { $0.fresh?.record } }
        set { storedRecords = newValue }
    }
    private var storedRecords: [CodeRecord]?
    /// The emitted documents' states, in input order (`records` comes from them).
    var keptStates: [DocumentState] = []
    public var documentCount = 0
    /// Emitted codes, and their modifiers and payer notes (unchanged documents included).
    public var codeCount = 0
    public var modifierCount = 0
    public var payerNoteCount = 0
    /// For `--check`: `stale: …`, `missing: …`, `extra: …` lines.
    public var staleFiles: [String] = []
    public var report: OutputWriter.WriteReport?
    /// The files generate produced in this run (relative to the output folder); files known by hash from
    /// the previous run (unchanged documents) are not among them.
    public var files: [GeneratedFile] = []
    /// Documents that were not compiled because the manifest knew their bytes.
    public var reusedDocuments = 0
    /// Of those, documents not even read: their file identity was the one the build stamp recorded.
    public var unreadDocuments = 0
    /// How the run compared with the output folder: `full` (nothing reused), `unchanged` (every document
    /// reused; the folder verified against the manifest), `delta` (only the changed documents' files
    /// produced), `general` (every output named, the unchanged ones by hash).
    public var strategy = "full"
    /// The `unchanged` strategy decided by the build stamp alone: no manifest, document or output read.
    public var answeredByBuildStamp = false

    public var errorCount: Int { diagnostics.filter { $0.severity == .error }.count }
    public var warningCount: Int { diagnostics.filter { $0.severity == .warning }.count }
    public var exitCode: Int32 { errorCount > 0 || !staleFiles.isEmpty ? 1 : 0 }

    /// `compiled 14 documents: 14 codes, 61 modifiers, 52 payer notes; 0 errors, 1 warning`
    public var summary: String {
        func count(_ number: Int, _ noun: String) -> String { "\(number) \(noun)\(number == 1 ? "" : "s")" }
        return "compiled \(count(documentCount, "document")): \(count(codeCount, "code")), \(count(modifierCount, "modifier")), "
            + "\(count(payerNoteCount, "payer note")); \(count(errorCount, "error")), \(count(warningCount, "warning"))"
    }
}

/// One input document in a run: compiled now, or known from the previous run's manifest. A class: a
/// run passes 10,000 of these through several passes, and copying the struct's fields costs.
final class DocumentState: Sendable {
    let path: String
    /// `ContentHash.hex` of its bytes; nil when it could not be read.
    let hash: String?
    /// The result of compiling it in this run.
    let fresh: Pipeline.Result?
    /// What the previous run recorded, when its bytes are unchanged (then it is not compiled).
    let reused: Manifest.Document?
    /// The document's file identity when it was read (for the next run's ``BuildStamp``).
    let identity: BuildStamp.FileIdentity?
    /// Whether its hash came from the build stamp (the file was not read).
    let unread: Bool
    /// Its record's summary, and the code as `RuleBook.Key` (computed once).
    let summary: Manifest.RecordSummary?
    let key: RuleBook.Key?

    init(path: String, hash: String?, fresh: Pipeline.Result?, reused: Manifest.Document? = nil,
         identity: BuildStamp.FileIdentity? = nil, unread: Bool = false) {
        self.path = path
        self.hash = hash
        self.fresh = fresh
        self.reused = reused
        self.identity = identity
        self.unread = unread
        let summary = fresh.map { $0.record.map { Manifest.RecordSummary($0) } } ?? reused?.record
        self.summary = summary
        self.key = summary.map { RuleBook.Key($0.system, $0.code) }
    }

    var compileDiagnostics: [Diagnostic] { fresh?.diagnostics ?? reused?.diagnostics ?? [] }
}

public enum Generator {
    public static func run(_ options: GenerateOptions) -> GenerateOutcome {
        var outcome = GenerateOutcome()
        var config = RulebookConfig()
        if let configPath = options.configPath {
            let (loaded, diagnostics) = RulebookConfig.load(path: configPath)
            outcome.diagnostics += diagnostics
            guard let loaded else { return outcome }
            config = loaded
        }
        let accessLevel = options.accessLevel ?? config.accessLevel ?? .public
        let extraction = ExtractionOptions(payers: PayerDirectory(extra: config.knownPayers))

        // 1. Inputs, in sorted path order, and their file identities (`stat`); meanwhile the previous
        //    run's manifest is read and decoded on another thread.
        let timing = PhaseTimer()
        var writer = OutputWriter(outputDirectory: URL(fileURLWithPath: options.output), displayPath: options.output)
        writer.freesMemoryAtEnd = options.freesMemoryAtEnd
        let useState = options.incremental && ProcessInfo.processInfo.environment["RULEBOOK_NO_CACHE"] != "1"
        let manifestReader = writer
        let stampURL = useState ? BuildStamp.location(forOutput: options.output, directory: options.cacheDirectory) : nil
        // The build stamp here; the manifest (which the stamp must name) on another thread, unless the
        // stamp shows that nothing changed (then it is not read at all).
        let loadedStamp = useState ? BuildStamp.load(stampURL) : nil
        // With a recorded result, the outputs are checked against it on another thread meanwhile.
        let outputsCheck = loadedStamp.flatMap { stamp in
            stamp.inputs.result == nil ? nil : BackgroundTask { outputsAsRecorded(stamp.inputs, output: options.output) }
        }
        timing.lap("build stamp")
        let (files, inputDiagnostics) = InputCollector.collect(inputs: options.inputs)
        // (A CLI run leaves the stamp's and the inputs' 30,000 strings to the process exit.)
        defer { if !options.freesMemoryAtEnd { ProcessLifetime.keep((files, loadedStamp as Any)) } }
        timing.lap("list \(files.count) inputs")
        // (Without a stamp nothing is decided by identities before reading: each worker takes its
        // document's identity as it reads it, off the critical path.)
        let identities = useState && loadedStamp != nil ? Self.identities(files, jobs: options.jobs) : nil
        outcome.diagnostics += inputDiagnostics
        // Diagnostics before this point (configuration, inputs) are this run's own; the rest may come from
        // the build stamp (see `unchangedByStamp`).
        let ownDiagnosticCount = outcome.diagnostics.count
        outcome.documentCount = files.count
        let shardCount = max(1, options.swiftShards ?? EmbeddedShards.shardCount(documents: files.count))
        timing.lap("stat \(files.count) inputs")

        // 1b. Nothing changed since the run the build stamp recorded — every input and every output file,
        //     the output folders and the manifest have the identities it saw, with the same configuration:
        //     that run's result is this one's, without reading the manifest or any document.
        let salt = Self.salt(config: config, accessLevel: accessLevel, shardCount: shardCount)
        if let loadedStamp, let identities,
           let outputsCheck,
           let shortcut = unchangedByStamp(loadedStamp.inputs, manifestHash: loadedStamp.manifestHash, files: files,
                                           identities: identities, salt: salt, outputsAsRecorded: { outputsCheck.wait() },
                                           report: !options.check) {
            outcome.diagnostics += shortcut.diagnostics
            outcome.diagnostics = sortedStable(outcome.diagnostics)
            outcome.codeCount = shortcut.result.codeCount
            outcome.modifierCount = shortcut.result.modifierCount
            outcome.payerNoteCount = shortcut.result.payerNoteCount
            outcome.reusedDocuments = files.count
            outcome.unreadDocuments = files.count
            outcome.strategy = "unchanged"
            outcome.answeredByBuildStamp = true
            if !options.check { outcome.report = shortcut.report }
            timing.lap("unchanged: the build stamp's identities all hold")
            return outcome
        }
        // 1c. A few documents changed and nothing else, each keeping its code, title and source, with no
        //     claim example naming another code and no duplicate code anywhere: the stamp's result, those
        //     documents' entries and files edited in place (see `splice`), without reading the manifest's
        //     other entries or any other document.
        if !options.check, let loadedStamp, let identities, let outputsCheck,
           let spliced = splice(loadedStamp, files: files, identities: identities, salt: salt, config: config,
                                extraction: extraction, shardCount: shardCount, writer: writer, outcome: outcome,
                                ownDiagnosticCount: ownDiagnosticCount, outputsAsRecorded: { outputsCheck.wait() },
                                stampURL: stampURL, output: options.output, freesMemoryAtEnd: options.freesMemoryAtEnd,
                                timing: timing) {
            return spliced
        }
        let manifestTask = BackgroundTask { () -> (manifest: Manifest, hash: String, lines: Manifest.DocumentLines?)? in
            useState ? manifestReader.readManifestKeepingLines() : nil
        }

        // 2. The previous run's manifest: its document entries are reused when the salt (format, compiler
        //    version, configuration, output shape) matches and this executable wrote it (`BuildStamp`).
        let previousRead = manifestTask.wait()
        let stamp = previousRead != nil && loadedStamp?.manifestHash == previousRead!.hash ? loadedStamp?.inputs : nil
        let previous = previousRead.map { (manifest: $0.manifest, hash: $0.hash) }
        let previousLines = previousRead?.lines
        writer.decodedManifest = previous
        var previousDocuments: [String: Manifest.Document] = [:]
        var recordedInputs: BuildStamp.Inputs?
        if let previous, previous.manifest.version == Manifest.currentVersion, previous.manifest.salt == salt,
           let inputs = stamp {
            previousDocuments = previous.manifest.documents
            recordedInputs = inputs
            writer.knownOutputs = inputs.outputs
        }
        // Files are known by the manifest's hashes only when its state is trusted (else nothing is reused:
        // a shard or index that is empty now must not be taken from a manifest of another configuration).
        let previousFiles = recordedInputs != nil ? previous?.manifest.files ?? [:] : [:]
        let previousSizes = recordedInputs != nil ? previous?.manifest.sizes ?? [:] : [:]
        timing.lap("manifest (\(previousDocuments.count) documents known)")

        // 3. Read and hash every document, in parallel; compile those whose bytes the manifest does not know.
        let startedReading = BuildStamp.now()
        var states = compileAll(files, options: extraction, jobs: options.jobs, progress: options.progress,
                                previous: previousDocuments, recorded: recordedInputs, identities: identities)
        defer { if !options.freesMemoryAtEnd { ProcessLifetime.keep(states) } }
        timing.lap("compile (\(states.filter { $0.reused != nil }.count) reused)")

        // 4. Which record is emitted for each code: the first in input order. Documents involved in a
        //    duplicate are compiled (their full records are compared).
        var firstByKey: [RuleBook.Key: Int] = [:]
        firstByKey.reserveCapacity(states.count)
        var duplicates: [(first: Int, second: Int)] = []
        // The first document of each code, in input order (recompiling a duplicate below reads the same
        // bytes with the same options, so its key stays).
        var kept: [Int] = []
        kept.reserveCapacity(states.count)
        for (index, state) in states.enumerated() {
            guard let key = state.key else { continue }
            if let first = firstByKey[key] {
                duplicates.append((first, index))
            } else {
                firstByKey[key] = index
                kept.append(index)
            }
        }
        for index in Set(duplicates.flatMap { [$0.first, $0.second] }) where states[index].reused != nil {
            states[index] = recompile(files[index], options: extraction, hash: states[index].hash)
        }
        if !duplicates.isEmpty { kept.removeAll { states[$0].key == nil } }  // (a document gone since it was listed)
        timing.lap("first definitions")
        // A first run (no manifest) takes the general path below for certain: the emitted documents' order
        // and bundle names are made on the other core meanwhile (14 ms of 10,000 documents were serial).
        let finalKept = kept
        let emitPlanTask = previous == nil ? BackgroundTask { [states] in emitPlan(states: states, kept: finalKept) } : nil
        // The build stamp's record of the inputs depends on nothing after this: made meanwhile (10,000
        // entries; 8–9 ms on the critical path at the end of a run).
        let finalStates = states
        let stampInputsTask = useState ? BackgroundTask {
            stampInputs(finalStates, startedReading: startedReading, outputs: [:])
        } : nil
        for state in states where state.reused != nil {
            outcome.reusedDocuments += 1
            if state.unread { outcome.unreadDocuments += 1 }
        }
        timing.lap("kept")
        for index in kept {
            let state = states[index]
            outcome.codeCount += 1
            outcome.modifierCount += state.summary!.modifiers
            outcome.payerNoteCount += state.summary!.payers
        }
        outcome.keptStates = kept.map { states[$0] }
        timing.lap("codes and duplicates")

        // Nothing changed (every document reused, none added or removed, no duplicate): a full run would
        // produce exactly the files of the reused manifest, so checking that the folder still holds them
        // is the whole comparison. On any difference, the general path below repairs or reports it.
        if let previous, !states.isEmpty, duplicates.isEmpty, states.allSatisfy({ $0.reused != nil }),
           states.count == previousDocuments.count, let outputs = writer.holdsExactly(previous.manifest, manifestHash: previous.hash) {
            for state in states { outcome.diagnostics += state.compileDiagnostics }
            for index in kept { outcome.diagnostics += states[index].reused?.modifierDiagnostics ?? [] }
            for index in kept { outcome.diagnostics += states[index].reused?.exampleDiagnostics ?? [] }
            timing.lap("unchanged: output folder verified")
            outcome.strategy = "unchanged"
            if !options.check {
                writer.removeLeftoverTemporaryFiles(paths: previous.manifest.files.keys)
                outcome.report = OutputWriter.WriteReport(written: [], unchanged: previous.manifest.files.keys.sorted { $0.utf8Precedes($1) },
                                                          removed: [], manifestWritten: false, manifestHash: previous.hash)
                let result = stampResult(outcome, ownDiagnosticCount: ownDiagnosticCount, salt: salt, outputs: outputs,
                                         manifestFiles: Array(previous.manifest.files.keys), output: options.output)
                if useState && (states.contains(where: { !$0.unread }) || outputs != recordedInputs?.outputs
                                || result == nil || result != loadedStamp?.inputs.result) {
                    var inputs = stampInputs(states, startedReading: startedReading, outputs: outputs)
                    inputs.result = result
                    BuildStamp.save(stampURL, manifestHash: previous.hash, inputs: inputs)
                }
            }
            outcome.diagnostics = sortedStable(outcome.diagnostics)
            return outcome
        }
        let records = RecordSource(states: states, files: files, writer: writer, extraction: extraction,
                                   previousFiles: previousFiles)

        // 5. Diagnostics, in the order of a full run: compile, duplicates, modifiers, examples.
        for state in states { outcome.diagnostics += state.compileDiagnostics }
        for (first, second) in duplicates {
            if let a = records.record(first), let b = records.record(second) {
                outcome.diagnostics += CrossDocumentValidator.duplicateDiagnostics(first: a, second: b)
            }
        }
        var modifierDiagnostics: [Int: [Diagnostic]] = [:]
        modifierDiagnostics.reserveCapacity(kept.count)
        let knownModifiers = config.knownModifiers
        let keptStates = kept.map { states[$0] }
        let checked = concurrentMap(count: keptStates.count, chunk: 512) { position -> [Diagnostic] in
            // (The modifiers alone: taking the whole record out would copy it.)
            if let modifiers = keptStates[position].fresh?.record?.modifiers {
                return CrossDocumentValidator.modifierDiagnostics(modifiers, extraModifiers: knownModifiers)
            }
            return keptStates[position].reused?.modifierDiagnostics ?? []
        }
        for (position, index) in kept.enumerated() where !checked[position].isEmpty {
            modifierDiagnostics[index] = checked[position]
            outcome.diagnostics += checked[position]
        }
        timing.lap("modifier checks")
        let examples = checkExamples(states: states, kept: kept, firstByKey: firstByKey, records: records)
        for index in kept { outcome.diagnostics += examples.diagnostics[index] ?? [] }
        timing.lap("validate")

        // 6a. A few documents changed and nothing else (same documents, same codes, no duplicate): only
        //     their bundles, their Swift shards and perhaps the index change; the writer checks that the
        //     folder is what the manifest says and writes just those (see `OutputWriter.writeDelta`).
        if !options.check, let previous, duplicates.isEmpty, states.count == previousDocuments.count,
           states.contains(where: { $0.fresh != nil }),
           states.allSatisfy({ state in
               guard let before = previousDocuments[state.path] else { return false }
               guard state.fresh != nil else { return true }
               guard let old = before.record, before.emitted, let new = state.summary, state.hash != nil else { return false }
               return old.system == new.system && sameBytes(old.code, new.code)
           }) {
            let started = DispatchTime.now().uptimeNanoseconds
            var bundleNames: [Int: String] = [:]
            for index in kept { bundleNames[index] = previousDocuments[states[index].path]?.record?.file ?? "" }
            var changes: [GeneratedFile] = []
            var shardsToEmit = Set<Int>()
            var indexChanged = false
            for index in kept where states[index].fresh != nil {
                let record = states[index].fresh!.record!
                changes.append(GeneratedFile(path: "JSON/" + bundleNames[index]!, contents: JSONEmitter.bundle([record])))
                shardsToEmit.insert(EmbeddedShards.shard(system: record.system, code: record.code, count: shardCount))
                let old = previousDocuments[states[index].path]!.record!
                if !sameBytes(old.title, record.title) || !sameBytes(old.source, record.source) { indexChanged = true }
            }
            // Members of the changed shards, in canonical order (as the general path groups them).
            var members: [Int: [Int]] = [:]
            for index in kept {
                let summary = states[index].summary!
                let shard = EmbeddedShards.shard(system: summary.system, code: summary.code, count: shardCount)
                if shardsToEmit.contains(shard) { members[shard, default: []].append(index) }
            }
            for shard in shardsToEmit.sorted() {
                let indices = members[shard] ?? []
                let keys = indices.map { states[$0].summary!.orderKey }
                // The other members' records are read back from their bundles, on all cores.
                let ordered = JSONEmitter.canonicalOrder(keys: keys).map { indices[$0] }
                let shardRecords = concurrentMap(count: ordered.count, chunk: 8) { records.record(ordered[$0]) }.compactMap { $0 }
                changes.append(GeneratedFile(
                    path: "Swift/" + SwiftEmitter.shardFileName(shard, count: shardCount),
                    contents: SwiftEmitter.shardFile(number: shard, count: shardCount, records: shardRecords, access: accessLevel.rawValue,
                                                     header: SwiftEmitter.headerLines(sourcePaths: shardRecords.map(\.source.path)))))
            }
            if indexChanged {
                let summaries = kept.map { states[$0].summary! }
                let keys = summaries.map(\.orderKey)
                let order = JSONEmitter.canonicalOrder(keys: keys)
                let names = JSONEmitter.bundleFileNames(keys: keys, order: order)
                let entries = order.map { summaries[$0].indexEntry(file: names[$0]) }
                changes.append(GeneratedFile(path: "JSON/index.json", contents: JSONEmitter.index(entries: entries)))
            }
            let documents = manifestDocuments(states: states, kept: kept, bundleNames: bundleNames,
                                              modifierDiagnostics: modifierDiagnostics, examples: examples)
            var unchangedDocuments = Set<String>()
            for state in states where state.fresh == nil {
                if let before = state.reused, documents[state.path] == before { unchangedDocuments.insert(state.path) }
            }
            timing.lap("emit changed documents (\(changes.count) files, \(String(format: "%.3f", Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)) s)")
            do throws(OutputError) {
                // When the stamp's check of every output (run at the start, for the shortcut) found them all as
                // recorded — the stamp names this manifest — the writer need not verify them again.
                let verifiedOutputs = stamp != nil && outputsCheck?.wait() == true ? stamp?.outputs : nil
                if let report = try writer.writeDelta(base: previous.manifest, baseHash: previous.hash, baseLines: previousLines,
                                                      unchangedDocuments: unchangedDocuments, changes: changes,
                                                      verifiedOutputs: verifiedOutputs,
                                                      state: OutputWriter.IncrementalState(documents: documents, salt: salt,
                                                                 documentOrder: states.compactMap { $0.hash == nil ? nil : $0.path })) {
                    outcome.report = report
                    outcome.files = changes
                    outcome.strategy = "delta"
                    timing.lap("write (changed files only)")
                    if useState {
                        var inputs = stampInputs(states, startedReading: startedReading, outputs: report.identities)
                        inputs.result = stampResult(outcome, ownDiagnosticCount: ownDiagnosticCount, salt: salt, outputs: report.identities,
                                                    manifestFiles: report.written + report.unchanged, output: options.output)
                        BuildStamp.save(stampURL, manifestHash: report.manifestHash, inputs: inputs)
                    }
                    timing.lap("build stamp saved")
                    outcome.diagnostics = sortedStable(outcome.diagnostics)
                    return outcome
                }
            } catch {
                outcome.diagnostics.append(error.diagnostic)
                outcome.diagnostics = sortedStable(outcome.diagnostics)
                return outcome
            }
            timing.lap("the folder is not what the manifest says: general path")
        }

        outcome.strategy = outcome.reusedDocuments > 0 ? "general" : "full"

        // 7 (early). With the emit plan made beforehand (a first run), the manifest's document entries are
        //    made on the other core while the files are planned (they need only the bundle names).
        let documentsTask = emitPlanTask.map { planTask in
            BackgroundTask { [states, kept, modifierDiagnostics] in
                var bundleNames: [Int: String] = [:]
                bundleNames.reserveCapacity(kept.count)
                let names = planTask.wait().names
                for (position, index) in kept.enumerated() { bundleNames[index] = names[position] }
                return manifestDocuments(states: states, kept: kept, bundleNames: bundleNames,
                                         modifierDiagnostics: modifierDiagnostics, examples: examples)
            }
        }

        // 6. Emit. A file whose inputs did not change is known by the hash and size the manifest recorded,
        //    and produced only if the output folder does not hold it.
        let emitted = emit(states: states, kept: kept, records: records, shardCount: shardCount, access: accessLevel,
                           jobs: options.jobs, previousFiles: previousFiles, previousSizes: previousSizes,
                           previousDocuments: previousDocuments, bundlesOnDemandFrom: options.bundlesOnDemandFrom,
                           shareBundles: !options.check, plan: emitPlanTask?.wait())
        outcome.files = emitted.files
        timing.lap("emit (\(emitted.files.count) produced, \(emitted.known.count) known)")

        // 7. The manifest's document entries for the next run.
        let documents = documentsTask?.wait()
            ?? manifestDocuments(states: states, kept: kept, bundleNames: emitted.bundleNames,
                                 modifierDiagnostics: modifierDiagnostics, examples: examples)
        defer { if !options.freesMemoryAtEnd { ProcessLifetime.keep((emitted, documents, records, emitPlanTask as Any)) } }
        let state = OutputWriter.IncrementalState(documents: documents, salt: salt,
                                                                 documentOrder: states.compactMap { $0.hash == nil ? nil : $0.path })

        // 8. Compare or write.
        do throws(OutputError) {
            if options.check {
                outcome.staleFiles = try writer.check(files: outcome.files, known: emitted.known, state: state)
            } else {
                let report = try writer.write(files: outcome.files, known: emitted.known, state: state)
                outcome.report = report
                if let stampInputsTask {  // (made when `useState`)
                    var inputs = stampInputsTask.wait()
                    inputs.outputs = report.identities
                    inputs.result = stampResult(outcome, ownDiagnosticCount: ownDiagnosticCount, salt: salt, outputs: report.identities,
                                                manifestFiles: report.written + report.unchanged, output: options.output)
                    BuildStamp.save(stampURL, manifestHash: report.manifestHash, inputs: inputs)
                }
            }
            timing.lap(options.check ? "check" : "write")
        } catch {
            outcome.diagnostics.append(error.diagnostic)
        }
        outcome.diagnostics = sortedStable(outcome.diagnostics)
        return outcome
    }

    /// The manifest's entry of each readable document.
    static func manifestDocuments(states: [DocumentState], kept: [Int], bundleNames: [Int: String],
                                  modifierDiagnostics: [Int: [Diagnostic]],
                                  examples: (diagnostics: [Int: [Diagnostic]], keys: [Int: [String]])) -> [String: Manifest.Document] {
        var isKept = [Bool](repeating: false, count: states.count)
        for index in kept { isKept[index] = true }
        let keptFlags = isKept
        // The entries on all cores, then one dictionary (16 ms on one core for 10,000 documents).
        let entries = concurrentMap(count: states.count, chunk: 256) { index -> Manifest.Document? in
            let state = states[index]
            guard let hash = state.hash else { return nil }
            var document = Manifest.Document(hash: hash, diagnostics: state.compileDiagnostics)
            if var summary = state.summary {
                let kept = keptFlags[index]
                summary.file = kept ? bundleNames[index] ?? "" : ""
                document.record = summary
                document.emitted = kept
                if kept {
                    document.modifierDiagnostics = modifierDiagnostics[index] ?? []
                    document.exampleDiagnostics = examples.diagnostics[index] ?? []
                    document.exampleKeys = examples.keys[index] ?? []
                }
            }
            return document
        }
        var documents: [String: Manifest.Document] = [:]
        documents.reserveCapacity(states.count)
        for (state, document) in zip(states, entries) {
            if let document { documents[state.path] = document }
        }
        return documents
    }

    /// The documents' file identities and hashes, for the build stamp.
    static func stampInputs(_ states: [DocumentState], startedReading: Int64,
                            outputs: [String: BuildStamp.FileIdentity]) -> BuildStamp.Inputs {
        var inputs = BuildStamp.Inputs(startedReading: startedReading, files: [:], order: states.map(\.path), outputs: outputs)
        inputs.files.reserveCapacity(states.count)
        for state in states {
            if let hash = state.hash, let identity = state.identity { inputs.files[state.path] = (identity, hash) }
        }
        return inputs
    }

    /// What a build stamp records of this run for the shortcut (``unchangedByStamp``): the outcome, and the
    /// identities of the output folders and of the manifest. Nil unless `outputs` names exactly the
    /// manifest's files (then every output would be checked by the shortcut).
    static func stampResult(_ outcome: GenerateOutcome, ownDiagnosticCount: Int, salt: String,
                            outputs: [String: BuildStamp.FileIdentity], manifestFiles: [String], output: String) -> BuildStamp.Result? {
        guard !outputs.isEmpty, outputs.count == manifestFiles.count, manifestFiles.allSatisfy({ outputs[$0] != nil }),
              outcome.diagnostics.count >= ownDiagnosticCount else { return nil }
        var folders: [String: BuildStamp.FileIdentity] = [:]
        var folderPaths: Set<String> = [""]
        for path in outputs.keys { if let slash = path.utf8.lastIndex(of: 0x2F) { folderPaths.insert(String(path[..<slash])) } }
        for folder in folderPaths {
            guard let identity = fileIdentity(folder.isEmpty ? output : output + "/" + folder, follow: folder.isEmpty) else { return nil }
            folders[folder] = identity
        }
        guard let manifest = fileIdentity(output + "/" + OutputWriter.manifestName, follow: false) else { return nil }
        return BuildStamp.Result(salt: salt, documentCount: outcome.documentCount, codeCount: outcome.codeCount,
                                 modifierCount: outcome.modifierCount, payerNoteCount: outcome.payerNoteCount, folders: folders,
                                 manifest: manifest, diagnostics: sortedStable(Array(outcome.diagnostics[ownDiagnosticCount...])))
    }

    private static func fileIdentity(_ path: String, follow: Bool) -> BuildStamp.FileIdentity? {
        var info = stat()
        guard (follow ? stat(path, &info) : lstat(path, &info)) == 0 else { return nil }
        return BuildStamp.FileIdentity(info)
    }

    struct StampShortcut {
        var result: BuildStamp.Result
        var diagnostics: [Diagnostic]
        var report: OutputWriter.WriteReport?
    }

    /// The recorded result when the inputs (same paths in the same order, each with the recorded identity
    /// and not modified around that run's reading, as ``BuildStamp/Inputs/hash(of:identity:)`` requires),
    /// the configuration (`salt`), the output folders, the manifest and every output file are exactly as
    /// the stamp recorded them; nil on any difference (the run then goes the usual way). Make's rule, with
    /// the status-change time and inode as well as the modification time: nothing is read or compared.
    /// `outputsAsRecorded`: ``outputsAsRecorded(_:output:)`` of the same stamp (computed on another
    /// thread while the inputs are listed). `report`: whether to make the write report (not for `--check`).
    static func unchangedByStamp(_ inputs: BuildStamp.Inputs, manifestHash: String, files: [InputFile],
                                 identities: [BuildStamp.FileIdentity?], salt: String, outputsAsRecorded: () -> Bool,
                                 report makeReport: Bool) -> StampShortcut? {
        guard let result = inputs.result, result.salt == salt, let order = inputs.order, order.count == files.count,
              !inputs.outputs.isEmpty else { return nil }
        for index in files.indices {
            guard sameBytes(files[index].displayPath, order[index]), let identity = identities[index],
                  inputs.hash(of: order[index], identity: identity) != nil else { return nil }
        }
        guard outputsAsRecorded() else { return nil }
        let report = makeReport ? OutputWriter.WriteReport(written: [], unchanged: inputs.outputs.keys.sorted { $0.utf8Precedes($1) },
                                                           removed: [], manifestWritten: false, manifestHash: manifestHash) : nil
        return StampShortcut(result: result, diagnostics: result.diagnostics, report: report)
    }

    /// The splice path: the outcome of this run when only a few documents changed (by their identities;
    /// at most 16), every output is as the build stamp recorded it, and each changed document's record keeps
    /// its system, code, title and source, with claim examples naming no other code, while the manifest
    /// records no claim example naming another code and no duplicate code. Then a full run would change
    /// exactly those documents' manifest entries, their JSON bundles and the records' lines in their Swift
    /// shards, and the diagnostics at their paths: those are made and spliced into the previous run's
    /// files (``ManifestSplice``, ``SwiftEmitter/splicedShard(_:number:record:line:)``), the rest of the
    /// outcome is the stamp's. Nil, with nothing written, when any condition fails (the usual path follows).
    static func splice(_ loadedStamp: (manifestHash: String, inputs: BuildStamp.Inputs), files: [InputFile],
                       identities: [BuildStamp.FileIdentity?], salt: String, config: RulebookConfig,
                       extraction: ExtractionOptions, shardCount: Int, writer: OutputWriter, outcome base: GenerateOutcome,
                       ownDiagnosticCount: Int, outputsAsRecorded: () -> Bool, stampURL: URL?, output: String,
                       freesMemoryAtEnd: Bool = true, timing: PhaseTimer) -> GenerateOutcome? {
        let recorded = loadedStamp.inputs
        guard let result = recorded.result, result.salt == salt, let order = recorded.order, order.count == files.count,
              result.documentCount == files.count, !recorded.outputs.isEmpty else { return nil }
        var changed: [Int] = []
        for index in files.indices {
            guard sameBytes(files[index].displayPath, order[index]), let identity = identities[index] else { return nil }
            if recorded.hash(of: order[index], identity: identity) == nil {
                changed.append(index)
                if changed.count > 16 { return nil }
            }
        }
        guard !changed.isEmpty, outputsAsRecorded() else { return nil }
        let startedReading = BuildStamp.now()
        // The changed documents: read and hashed; compiled when their bytes differ from the recorded ones.
        var hashes: [Int: String] = [:]
        var compiled: [(index: Int, result: Pipeline.Result)] = []
        for index in changed {
            guard let bytes = try? files[index].read() else { return nil }
            let hash = ContentHash.hex(bytes)
            hashes[index] = hash
            if recorded.files[files[index].displayPath]?.hash != hash {
                var compiledResult = Pipeline.compile(bytes: bytes, path: files[index].displayPath, options: extraction)
                compiledResult.document = nil
                compiled.append((index, compiledResult))
            }
        }
        timing.lap("splice: \(changed.count) changed inputs read, \(compiled.count) compiled")
        var outcome = base
        var diagnostics = result.diagnostics
        var codeCount = result.codeCount, modifierCount = result.modifierCount, payerNoteCount = result.payerNoteCount
        var records: [CodeRecord] = []
        var writeReport: OutputWriter.WriteReport
        var changes: [(path: String, bytes: [UInt8])] = []
        /// The outcome's part that the write does not change: `diagnostics` (the stamp's, with the compiled
        /// documents' replaced) added, counts, records and what was read.
        func fill(_ diagnostics: [Diagnostic]) {
            outcome.diagnostics += diagnostics
            outcome.codeCount = codeCount
            outcome.modifierCount = modifierCount
            outcome.payerNoteCount = payerNoteCount
            outcome.records = records
            outcome.reusedDocuments = files.count - compiled.count
            outcome.unreadDocuments = files.count - changed.count
            outcome.strategy = compiled.isEmpty ? "unchanged" : "splice"
        }
        if compiled.isEmpty {
            // Only file identities changed (say, a document saved again with the same bytes).
            writeReport = OutputWriter.WriteReport(written: [], unchanged: recorded.outputs.keys.sorted { $0.utf8Precedes($1) },
                                                   removed: [], manifestWritten: false, manifestHash: loadedStamp.manifestHash)
            writeReport.identities = recorded.outputs
        } else {
            let compiledPaths = Set(compiled.map { files[$0.index].displayPath })
            var newDiagnostics: [Diagnostic] = []
            let planned: OutputWriter.WriteReport?
            do throws(OutputError) {
                planned = try writer.writeSplice(baseHash: loadedStamp.manifestHash, verifiedOutputs: recorded.outputs) { bytes, read in
                    guard var text = ManifestSplice(bytes), !text.contains("\"emitted\":false") else { return nil }
                    var shardTexts: [String: [UInt8]] = [:]
                    var bundles: [(path: String, bytes: [UInt8])] = []
                    for (index, compiledResult) in compiled {
                        let path = files[index].displayPath
                        guard let old = text.document(path), old.emitted, let oldRecord = old.record, old.exampleKeys.isEmpty,
                              let record = compiledResult.record, record.system == oldRecord.system, sameBytes(record.code, oldRecord.code),
                              sameBytes(record.title, oldRecord.title), sameBytes(record.source, oldRecord.source) else { return nil }
                        // The recorded diagnostics at this path must be exactly this entry's (no other source).
                        let before = sortedStable(old.diagnostics + old.modifierDiagnostics + old.exampleDiagnostics)
                        guard diagnostics.filter({ $0.path == path }) == before else { return nil }
                        // No other document's examples may depend on this record.
                        guard !text.examplesName("\(record.system.rawValue) \(record.code)") else { return nil }
                        let own = RuleBook.Key(record.system, record.code)
                        guard ExampleChecker.referencedKeys(record).allSatisfy({ $0 == own }) else { return nil }
                        let modifierDiagnostics = CrossDocumentValidator.modifierDiagnostics(record, extraModifiers: config.knownModifiers)
                        let exampleDiagnostics = record.examples.isEmpty ? [] : ExampleChecker.check(record, in: RuleBook(records: [record]))
                        let document = Manifest.Document(hash: hashes[index]!, record: Manifest.RecordSummary(record, file: oldRecord.file),
                                                         emitted: true, diagnostics: compiledResult.diagnostics,
                                                         modifierDiagnostics: modifierDiagnostics, exampleDiagnostics: exampleDiagnostics)
                        guard text.setDocument(path, document) else { return nil }
                        newDiagnostics += compiledResult.diagnostics + modifierDiagnostics + exampleDiagnostics
                        modifierCount += record.modifiers.count - oldRecord.modifiers
                        payerNoteCount += record.payers.count - oldRecord.payers
                        records.append(record)
                        let (bundle, line) = JSONEmitter.bundleAndDataLine(record)
                        bundles.append(("JSON/" + oldRecord.file, Array(bundle.utf8)))
                        let shard = EmbeddedShards.shard(system: record.system, code: record.code, count: shardCount)
                        let shardPath = "Swift/" + SwiftEmitter.shardFileName(shard, count: shardCount)
                        guard let current = shardTexts[shardPath] ?? read(shardPath),
                              let spliced = SwiftEmitter.splicedShard(current, number: shard, record: record, line: line) else { return nil }
                        shardTexts[shardPath] = spliced
                    }
                    // Each file whose bytes differ from the recorded ones, in path order.
                    for (path, bytes) in bundles + shardTexts.map({ ($0.key, $0.value) }) {
                        let hash = ContentHash.hex(bytes)
                        guard let oldHash = text.fileHash(path) else { return nil }
                        if oldHash == hash { continue }
                        guard text.setFile(path, hash: hash, size: bytes.count) else { return nil }
                        changes.append((path, bytes))
                    }
                    changes.sort { $0.path.utf8Precedes($1.path) }
                    return OutputWriter.Splice(changes: changes, manifest: text.edited(), fileOrder: text.fileOrder())
                }
            } catch {
                // Files may have been replaced: the run reports what it compiled, and the error (the stamp is
                // not saved, so the next run verifies the folder).
                fill(diagnostics.filter { !compiledPaths.contains($0.path) } + newDiagnostics + [error.diagnostic])
                outcome.diagnostics = sortedStable(outcome.diagnostics)
                return outcome
            }
            guard let planned else { return nil }
            writeReport = planned
            diagnostics = diagnostics.filter { !compiledPaths.contains($0.path) } + newDiagnostics
        }
        let report = writeReport
        fill(diagnostics)  // sorted below, after the stamp's result takes those past ownDiagnosticCount
        outcome.files = changes.map { GeneratedFile(path: $0.path, contents: String(decoding: $0.bytes, as: UTF8.self)) }
        outcome.report = report
        timing.lap("splice: \(report.written.count) files written")
        var inputs = recorded
        inputs.startedReading = startedReading
        for index in changed { inputs.files[files[index].displayPath] = (identities[index]!, hashes[index]!) }
        inputs.outputs = report.identities
        // Nothing written: the recorded result (just verified by the outputs' identities) still holds.
        inputs.result = compiled.isEmpty ? result
            : stampResult(outcome, ownDiagnosticCount: ownDiagnosticCount, salt: salt, outputs: report.identities,
                          manifestFiles: report.written + report.unchanged, output: output)
        BuildStamp.save(stampURL, manifestHash: report.manifestHash, inputs: inputs)
        if !freesMemoryAtEnd { ProcessLifetime.keep(inputs) }
        outcome.diagnostics = sortedStable(outcome.diagnostics)
        timing.lap("splice: build stamp saved")
        return outcome
    }

    /// Whether two texts have the same UTF-8 bytes. (`==` on `String` compares by canonical equivalence: an
    /// "é" written as one code point equals "e" and a combining accent, but the outputs hold the bytes.)
    static func sameBytes(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    /// ``sameBytes(_:_:)`` for every text of two source locations.
    static func sameBytes(_ a: SourceLocation, _ b: SourceLocation) -> Bool {
        a.line == b.line && sameBytes(a.path, b.path) && a.section.count == b.section.count
            && zip(a.section, b.section).allSatisfy { sameBytes($0, $1) }
    }

    /// Whether the output folders, the manifest and every output file have the identities the stamp
    /// recorded with its result.
    static func outputsAsRecorded(_ inputs: BuildStamp.Inputs, output: String) -> Bool {
        guard let result = inputs.result, !inputs.outputs.isEmpty else { return false }
        for (folder, recorded) in result.folders {
            guard fileIdentity(folder.isEmpty ? output : output + "/" + folder, follow: folder.isEmpty) == recorded else { return false }
        }
        guard fileIdentity(output + "/" + OutputWriter.manifestName, follow: false) == result.manifest else { return false }
        // Each output by its folder's descriptor and its name (one lookup per file, not a path walk).
        let paths = Array(inputs.outputs.keys)
        var folderDescriptors: [Substring: Int32] = [:]
        defer { for descriptor in folderDescriptors.values { close(descriptor) } }
        var targets: [(folder: Int32, name: String)] = []
        targets.reserveCapacity(paths.count)
        for path in paths {
            let slash = path.utf8.lastIndex(of: 0x2F)
            let folder = slash.map { path[..<$0] } ?? ""
            let descriptor: Int32
            if let known = folderDescriptors[folder] {
                descriptor = known
            } else {
                let folderPath = folder.isEmpty ? output : output + "/" + folder
                descriptor = open(folderPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (folder.isEmpty ? 0 : O_NOFOLLOW))
                guard descriptor >= 0 else { return false }
                folderDescriptors[folder] = descriptor
            }
            targets.append((descriptor, slash.map { String(path[path.utf8.index(after: $0)...]) } ?? path))
        }
        let recorded = inputs.outputs
        let lookups = targets
        let same = concurrentMap(count: paths.count, chunk: 512) { index -> Bool in
            var info = stat()
            guard fstatat(lookups[index].folder, lookups[index].name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
            return BuildStamp.FileIdentity(info) == recorded[paths[index]]
        }
        return !same.contains(false)
    }

    /// What the manifest's document entries depend on besides the documents' bytes.
    static func salt(config: RulebookConfig, accessLevel: AccessLevel, shardCount: Int) -> String {
        var text = "rulebook generate state 1; format \(RulebookFormatVersion1.number); \(CommandLineTool.version)"
        text += "; access \(accessLevel.rawValue); swift shards \(shardCount)"
        func sorted(_ values: some Sequence<String>) -> [String] { values.sorted { $0.utf8Precedes($1) } }
        for key in sorted(config.knownPayers.keys) { text += "; payer \(key.utf8.count):\(key)=\(config.knownPayers[key]!)" }
        for modifier in sorted(config.knownModifiers) { text += "; modifier \(modifier.utf8.count):\(modifier)" }
        return ContentHash.hex(text)
    }

    /// The file identity of each document, on `jobs` threads.
    static func identities(_ files: [InputFile], jobs: Int?) -> [BuildStamp.FileIdentity?] {
        concurrentMap(count: files.count) { BuildStamp.FileIdentity(files[$0]) }
    }

    static func recompile(_ file: InputFile, options: ExtractionOptions, hash: String?) -> DocumentState {
        var result: Pipeline.Result
        switch Result(catching: { () throws(InputReadError) -> [UInt8] in try file.read() }) {
        case .success(let bytes): result = Pipeline.compile(bytes: bytes, path: file.displayPath, options: options)
        case .failure(let error): result = Pipeline.Result(path: file.displayPath, record: nil, diagnostics: [error.diagnostic])
        }
        result.document = nil
        return DocumentState(path: file.displayPath, hash: hash, fresh: result, reused: nil)
    }

    /// The examples of the emitted records: checked again for compiled documents and for those whose
    /// examples name other codes; otherwise the manifest's results. Diagnostics and the other codes
    /// named, by document index.
    static func checkExamples(states: [DocumentState], kept: [Int], firstByKey: [RuleBook.Key: Int], records: RecordSource)
        -> (diagnostics: [Int: [Diagnostic]], keys: [Int: [String]]) {
        var diagnostics: [Int: [Diagnostic]] = [:]
        var keys: [Int: [String]] = [:]
        var toCheck: [Int] = []
        for index in kept {
            if let record = states[index].fresh?.record {
                guard !record.examples.isEmpty else { continue }
                toCheck.append(index)
            } else if let reused = states[index].reused {
                if reused.exampleKeys.isEmpty {
                    diagnostics[index] = reused.exampleDiagnostics
                } else {
                    toCheck.append(index)
                }
            }
        }
        guard !toCheck.isEmpty else { return (diagnostics, keys) }
        var named: [Int: [RuleBook.Key]] = [:]
        var needed = Set<Int>()
        for index in toCheck {
            guard let record = records.record(index) else { continue }
            let own = RuleBook.Key(record.system, record.code)
            let referenced = ExampleChecker.referencedKeys(record)
            named[index] = referenced
            keys[index] = referenced.filter { $0 != own }.map { "\($0.system.rawValue) \($0.code)" }
            needed.insert(index)
            for key in referenced { if let other = firstByKey[key] { needed.insert(other) } }
        }
        let book = RuleBook(records: needed.sorted().compactMap { records.record($0) })
        for index in toCheck {
            guard let record = records.record(index) else { continue }
            diagnostics[index] = ExampleChecker.check(record, in: book)
        }
        return (diagnostics, keys)
    }

    /// All output files, relative to the output folder, for records compiled in memory (tests, tools).
    static func emit(_ records: [CodeRecord], accessLevel: AccessLevel, jobs: Int? = nil, swiftShards: Int? = nil) -> [GeneratedFile] {
        let states = records.map { record in
            DocumentState(path: record.source.path, hash: "", fresh: Pipeline.Result(path: record.source.path, record: record, diagnostics: []))
        }
        let source = RecordSource(states: states, files: [], writer: nil, extraction: ExtractionOptions())
        return emit(states: states, kept: Array(states.indices), records: source,
                    shardCount: max(1, swiftShards ?? EmbeddedShards.shardCount(documents: Set(records.map(\.source.path)).count)),
                    access: accessLevel, jobs: jobs,
                    previousFiles: [:], previousSizes: [:], previousDocuments: [:], bundlesOnDemandFrom: .max).files
    }

    /// The emitted documents' summaries, their canonical order (positions in `kept`) and their bundle
    /// file names (by position in `kept`).
    typealias EmitPlan = (summaries: [Manifest.RecordSummary], order: [Int], names: [String])

    static func emitPlan(states: [DocumentState], kept: [Int]) -> EmitPlan {
        let summaries = kept.map { states[$0].summary! }
        let orderKeys = summaries.map(\.orderKey)
        let order = JSONEmitter.canonicalOrder(keys: orderKeys)
        return (summaries, order, JSONEmitter.bundleFileNames(keys: orderKeys, order: order))
    }

    /// Bundles, index, schema and Swift sources, on `jobs` threads (the same bytes for any number).
    /// `bundleNames`: the bundle file name of each emitted document, by document index.
    static func emit(states: [DocumentState], kept: [Int], records: RecordSource, shardCount: Int, access: AccessLevel,
                     jobs: Int?, previousFiles: [String: String], previousSizes: [String: Int],
                     previousDocuments: [String: Manifest.Document], bundlesOnDemandFrom: Int, shareBundles: Bool = false,
                     plan: EmitPlan? = nil)
        -> (files: [GeneratedFile], known: [OutputWriter.KnownFile], bundleNames: [Int: String]) {
        let workers = max(1, jobs ?? ProcessInfo.processInfo.activeProcessorCount)
        let timing = PhaseTimer(prefix: "    emit: ")
        let (summaries, order, names) = plan ?? emitPlan(states: states, kept: kept)
        timing.lap("order and names")
        var bundleNames: [Int: String] = [:]
        for (position, index) in kept.enumerated() { bundleNames[index] = names[position] }
        @Sendable func known(_ path: String, produce: @escaping @Sendable () -> String) -> OutputWriter.KnownFile? {
            guard let hash = previousFiles[path], !hash.isEmpty, let size = previousSizes[path] else { return nil }
            return OutputWriter.KnownFile(path: path, hash: hash, size: size, produce: produce)
        }
        /// A document whose record and bundle name are what the previous run emitted.
        @Sendable func unchanged(_ position: Int) -> Bool {
            guard let reused = states[kept[position]].reused else { return false }
            return reused.emitted && reused.record?.file == names[position]
        }

        // Tasks: shards, then the index, then bundles in chunks.
        var members = [[Int]](repeating: [], count: shardCount)  // positions in `kept`, canonical order
        for position in order {
            let summary = summaries[position]
            members[EmbeddedShards.shard(system: summary.system, code: summary.code, count: shardCount)].append(position)
        }
        let shardMembers = members
        var shardOf = [Int](repeating: 0, count: kept.count)
        for (shard, positions) in members.enumerated() { for position in positions { shardOf[position] = shard } }
        let shardOfPosition = shardOf
        var previous = [Set<String>](repeating: [], count: shardCount)
        for (path, document) in previousDocuments where document.emitted {
            guard let record = document.record else { continue }
            previous[EmbeddedShards.shard(system: record.system, code: record.code, count: shardCount)].insert(path)
        }
        let previousMembers = previous
        let accessName = access.rawValue
        let chunk = 64
        let chunks = (kept.count + chunk - 1) / chunk
        let taskCount = shardCount + 1 + chunks
        let onDemand = kept.count >= bundlesOnDemandFrom
        // A record's bundle and its line in its shard's Swift data are written in one walk over the record
        // (`JSONEmitter.bundleAndDataLine`). When the writer produces shards (a large first run), each
        // bundle's producer leaves the record's line here, and the writer produces a shard's bundles, then
        // the shard (`KnownFile.order`), so only a few lines wait here at a time (not for `--check`, which
        // compares in path order). When the files are produced here, shards come first and leave their
        // bundles' texts for the bundle tasks.
        let lazyShards = (0..<shardCount).map { onDemand && shareBundles && previousFiles["Swift/" + SwiftEmitter.shardFileName($0, count: shardCount)] == nil }
        timing.lap("shards planned")
        let bundleTexts = Handoff<String>()
        let dataLines = Handoff<[UInt8]>()
        let produced = SlotBox<[GeneratedFile]>(count: taskCount)
        let knownFiles = SlotBox<[OutputWriter.KnownFile]>(count: taskCount)
        let next = AtomicCounter()
        DispatchQueue.concurrentPerform(iterations: min(workers, taskCount)) { _ in
            while true {
                let task = next.increment()
                guard task < taskCount else { return }
                var files: [GeneratedFile] = []
                var knownHere: [OutputWriter.KnownFile] = []
                defer {
                    produced.set(task, files)
                    knownFiles.set(task, knownHere)
                }
                if task < shardCount {
                    let members = shardMembers[task]
                    let path = "Swift/" + SwiftEmitter.shardFileName(task, count: shardCount)
                    let memberIndices = members.map { kept[$0] }
                    @Sendable func text() -> String { String(decoding: bytes(), as: UTF8.self) }
                    @Sendable func bytes() -> [UInt8] {
                        var shardRecords: [CodeRecord] = []
                        var lines: [[UInt8]] = []
                        shardRecords.reserveCapacity(members.count)
                        for position in members {
                            guard let record = records.record(kept[position]) else { continue }
                            shardRecords.append(record)
                            if let line = dataLines.take(position) {
                                lines.append(line)
                            } else if !onDemand {
                                // Produced here first (a run that holds its files in memory emits shards
                                // before bundles): the bundle is left for its own task.
                                let (bundle, line) = JSONEmitter.bundleAndDataLine(record)
                                bundleTexts.put(position, bundle)
                                lines.append(line)
                            } else {
                                lines.append(JSONEmitter.compactLineBytes(record))
                            }
                        }
                        return SwiftEmitter.shardFileBytes(number: task, count: shardCount, records: shardRecords,
                                                      lines: lines, access: accessName,
                                                      header: SwiftEmitter.headerLines(sourcePaths: shardRecords.map(\.source.path)),
                                                      jobs: shardCount == 1 ? workers : 1)
                    }
                    let clean = members.allSatisfy(unchanged)
                        && Set(memberIndices.map { states[$0].path }) == previousMembers[task]
                    if clean, let file = known(path, produce: text) {
                        knownHere.append(file)
                    } else if onDemand && previousFiles[path] == nil {
                        // A large first run: produced by the writer's threads together with the bundles
                        // (no shard text held in memory, no phase waiting for the slowest shard).
                        knownHere.append(OutputWriter.KnownFile(lazyBytes: path, order: 2 * task + 1, produce: bytes))
                    } else {
                        files.append(GeneratedFile(path: path, contents: text()))
                    }
                } else if task == shardCount {
                    if onDemand && previousFiles["JSON/index.json"] == nil {
                        // A large first run: the 2.6 MB index is produced by the writer's threads too (not
                        // by this one while the other has nothing left to do).
                        knownHere.append(OutputWriter.KnownFile(lazy: "JSON/index.json") {
                            JSONEmitter.index(entries: order.map { summaries[$0].indexEntry(file: names[$0]) })
                        })
                        continue
                    }
                    let entries = order.map { summaries[$0].indexEntry(file: names[$0]) }
                    let previousEmitted = Set(previousDocuments.compactMap { $0.value.emitted ? $0.key : nil })
                    let clean = kept.indices.allSatisfy(unchanged) && previousEmitted == Set(kept.map { states[$0].path })
                    if clean, let file = known("JSON/index.json", produce: { JSONEmitter.index(entries: entries) }) {
                        knownHere.append(file)
                    } else {
                        files.append(GeneratedFile(path: "JSON/index.json", contents: JSONEmitter.index(entries: entries)))
                    }
                } else {
                    let start = (task - shardCount - 1) * chunk
                    for position in start..<min(start + chunk, kept.count) {
                        let index = kept[position]
                        let path = "JSON/" + names[position]
                        @Sendable func text() -> String { records.record(index).map { JSONEmitter.bundle([$0]) } ?? "" }
                        if unchanged(position), let file = known(path, produce: text) {
                            knownHere.append(file)
                            continue
                        }
                        if onDemand {
                            // Large runs do not hold the bundles (most of the output) in memory: the writer
                            // produces each one when it compares or writes it, on its own threads.
                            let shard = shardOfPosition[position]
                            if lazyShards[shard] {
                                knownHere.append(OutputWriter.KnownFile(lazyBytes: path, order: 2 * shard) {
                                    guard let record = records.record(index) else { return [] }
                                    let (bundle, line) = JSONEmitter.bundleBytesAndDataLine(record)
                                    dataLines.put(position, line)
                                    return bundle
                                })
                            } else {
                                knownHere.append(OutputWriter.KnownFile(lazy: path, produce: text))
                            }
                        } else {
                            files.append(GeneratedFile(path: path, contents: bundleTexts.take(position) ?? text()))
                        }
                    }
                }
            }
        }
        timing.lap("tasks")
        var files = produced.values().flatMap { $0 }
        var knownList = knownFiles.values().flatMap { $0 }
        files.append(GeneratedFile(path: "JSON/rulebook.schema.json", contents: SchemaEmitter.schema()))
        @Sendable func mainFile() -> String {
            SwiftEmitter.mainFile(shardCount: shardCount, access: accessName,
                                  header: SwiftEmitter.headerLines(sourcePaths: summaries.map(\.source.path)))
        }
        let mainPath = "Swift/" + SwiftEmitter.mainFileName
        if onDemand && previousFiles[mainPath] == nil {
            knownList.append(OutputWriter.KnownFile(lazy: mainPath, produce: mainFile))  // (its header sorts every path)
        } else {
            files.append(GeneratedFile(path: mainPath, contents: mainFile()))
        }
        return (files, knownList, bundleNames)
    }

    /// Compiles documents on `jobs` threads; the result order is the input order whatever the scheduling.
    static func compileAll(_ files: [InputFile], options: ExtractionOptions, jobs: Int?,
                           progress: (@Sendable (Int, Int, String) -> Void)? = nil) -> [Pipeline.Result] {
        compileAll(files, options: options, jobs: jobs, progress: progress, previous: [:], recorded: nil).map { $0.fresh! }
    }

    /// As above; a document whose bytes hash to what `previous` recorded for its path (and whose record,
    /// if any, was emitted) is not compiled but reused. A document whose file identity `recorded` knows
    /// is not even read (its recorded hash is its hash).
    static func compileAll(_ files: [InputFile], options: ExtractionOptions, jobs: Int?,
                           progress: (@Sendable (Int, Int, String) -> Void)?, previous: [String: Manifest.Document],
                           recorded: BuildStamp.Inputs?, identities: [BuildStamp.FileIdentity?]? = nil) -> [DocumentState] {
        let box = SlotBox<DocumentState>(count: files.count)
        let finished = AtomicCounter()
        let workers = max(1, min(jobs ?? ProcessInfo.processInfo.activeProcessorCount, files.count))
        let next = AtomicCounter()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let index = next.increment()
                guard index < files.count else { return }
                let file = files[index]
                defer { if let progress { progress(finished.increment() + 1, files.count, file.displayPath) } }
                let known = previous[file.displayPath]
                // The identity is needed before reading only to skip the read; else `fstat` on the open file gives it.
                var identity = identities?[index] ?? (recorded != nil && known != nil ? BuildStamp.FileIdentity(file) : nil)
                if let known, known.record == nil || known.emitted, let identity,
                   let hash = recorded?.hash(of: file.displayPath, identity: identity), hash == known.hash {
                    box.set(index, DocumentState(path: file.displayPath, hash: hash, fresh: nil, reused: known, identity: identity,
                                                 unread: true))
                    continue
                }
                switch Result(catching: { () throws(InputReadError) in try file.readWithIdentity() }) {
                case .success(let (bytes, opened)):
                    if identities == nil && !(recorded != nil && known != nil) { identity = opened }
                    let hash = ContentHash.hex(bytes)
                    if let known = previous[file.displayPath], known.hash == hash, known.record == nil || known.emitted {
                        box.set(index, DocumentState(path: file.displayPath, hash: hash, fresh: nil, reused: known, identity: identity))
                    } else {
                        var result = Pipeline.compile(bytes: bytes, path: file.displayPath, options: options)
                        result.document = nil  // stream: only the record and diagnostics outlive the worker
                        box.set(index, DocumentState(path: file.displayPath, hash: hash, fresh: result, reused: nil, identity: identity))
                    }
                case .failure(let error):
                    box.set(index, DocumentState(path: file.displayPath, hash: nil,
                                                 fresh: Pipeline.Result(path: file.displayPath, record: nil, diagnostics: [error.diagnostic])))
                }
            }
        }
        return box.values()
    }

    /// Diagnostics grouped by file (in path order), each file's in line order; ties keep their order.
    static func sortedStable(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        diagnostics.enumerated().sorted { a, b in
            if a.element.path != b.element.path { return a.element.path.utf8Precedes(b.element.path) }
            if a.element.line != b.element.line { return a.element.line < b.element.line }
            if a.element.column != b.element.column { return a.element.column < b.element.column }
            return a.offset < b.offset
        }.map(\.element)
    }
}

extension Manifest.RecordSummary {
    /// What the canonical order and the bundle file name depend on.
    var orderKey: JSONEmitter.OrderKey { JSONEmitter.OrderKey(system: system, code: code, path: source.path, line: source.line) }

    /// This record's entry in `index.json`, with bundle file `file`.
    func indexEntry(file: String) -> JSONEmitter.IndexEntry {
        JSONEmitter.IndexEntry(system: system, code: code, title: title, source: source, file: file)
    }
}

/// The full record of a document, whether compiled in this run or not: a reused document's record is
/// its JSON bundle in the output folder (the previous run's output), or, when that is missing or does
/// not parse, the document compiled again. Each record is decoded at most once; thread-safe.
final class RecordSource: @unchecked Sendable {
    private let states: [DocumentState]
    private let files: [InputFile]
    private let writer: OutputWriter?
    private let extraction: ExtractionOptions
    /// The previous manifest's file hashes: a bundle is used only if it still holds what was written.
    private let previousFiles: [String: String]
    private var decoded: [Int: CodeRecord?] = [:]
    private let lock = NSLock()

    init(states: [DocumentState], files: [InputFile], writer: OutputWriter?, extraction: ExtractionOptions,
         previousFiles: [String: String] = [:]) {
        self.states = states
        self.files = files
        self.writer = writer
        self.extraction = extraction
        self.previousFiles = previousFiles
    }

    func record(_ index: Int) -> CodeRecord? {
        let state = states[index]
        if let fresh = state.fresh { return fresh.record }
        lock.lock()
        if let cached = decoded[index] { lock.unlock(); return cached }
        lock.unlock()
        var record: CodeRecord?
        if let summary = state.reused?.record, !summary.file.isEmpty, let bytes = writer?.readFile("JSON/" + summary.file),
           let expected = previousFiles["JSON/" + summary.file], ContentHash.hex(bytes) == expected,
           let bundle = try? EmbeddedRuleData.decodeBundle(json: String(decoding: bytes, as: UTF8.self)),
           bundle.codes.count == 1, bundle.codes[0].source.path == state.path,
           bundle.codes[0].system == summary.system, bundle.codes[0].code == summary.code {
            record = bundle.codes[0]
        } else if index < files.count {
            record = Generator.recompile(files[index], options: extraction, hash: state.hash).fresh?.record
        }
        lock.lock()
        decoded[index] = record
        lock.unlock()
        return record
    }
}

/// `RULEBOOK_TIMING=1`: prints the time of each phase of a run to standard error.
final class PhaseTimer {
    let enabled = ProcessInfo.processInfo.environment["RULEBOOK_TIMING"] == "1"
    let prefix: String
    var last = DispatchTime.now().uptimeNanoseconds
    init(prefix: String = "") { self.prefix = prefix }
    func lap(_ name: @autoclosure () -> String) {
        guard enabled else { return }
        let name = name()
        let now = DispatchTime.now().uptimeNanoseconds
        FileHandle.standardError.write(Data("timing: \(prefix)\(name): \(String(format: "%.3f", Double(now - last) / 1e9)) s\n".utf8))
        last = now
    }
}

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
    /// Reuse the compile results of unchanged documents from the previous run (see `IncrementalCache`).
    /// The output is the same either way. Also off when the environment sets `RULEBOOK_NO_CACHE=1`.
    public var incremental = true
    /// Where the incremental cache lives; nil = the default location (`IncrementalCache.location`).
    public var cacheDirectory: String?
    /// From this many records on, JSON bundles are not kept in memory after emission: only their hash
    /// and size, and the writer produces a bundle again when it has to write it (less memory, a little
    /// more CPU on a first run). The output is the same either way.
    public var bundlesOnDemandFrom = 2000
    /// Number of Swift data files (shards, see `EmbeddedShards`); nil = `EmbeddedShards.shardCount(documents:)`
    /// of the number of input documents (what the build plugin declares).
    public var swiftShards: Int?

    public init() {}
}

public struct GenerateOutcome: Sendable {
    public var diagnostics: [Diagnostic] = []
    /// Records that were emitted, in output order.
    public var records: [CodeRecord] = []
    public var documentCount = 0
    /// For `--check`: `stale: …`, `missing: …`, `extra: …` lines.
    public var staleFiles: [String] = []
    public var report: OutputWriter.WriteReport?
    /// The files generate produces (relative to the output folder), except the JSON bundles of unchanged
    /// documents that an incremental run took from the previous run without producing them.
    public var files: [GeneratedFile] = []
    /// Documents whose compile result came from the incremental cache.
    public var reusedDocuments = 0

    public var errorCount: Int { diagnostics.filter { $0.severity == .error }.count }
    public var warningCount: Int { diagnostics.filter { $0.severity == .warning }.count }
    public var exitCode: Int32 { errorCount > 0 || !staleFiles.isEmpty ? 1 : 0 }

    /// `compiled 14 documents: 14 codes, 61 modifiers, 52 payer notes; 0 errors, 1 warning`
    public var summary: String {
        func count(_ number: Int, _ noun: String) -> String { "\(number) \(noun)\(number == 1 ? "" : "s")" }
        let modifiers = records.reduce(0) { $0 + $1.modifiers.count }
        let payers = records.reduce(0) { $0 + $1.payers.count }
        return "compiled \(count(documentCount, "document")): \(count(records.count, "code")), \(count(modifiers, "modifier")), "
            + "\(count(payers, "payer note")); \(count(errorCount, "error")), \(count(warningCount, "warning"))"
    }
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

        // 1. Inputs, in sorted path order.
        let timing = PhaseTimer()
        let (files, inputDiagnostics) = InputCollector.collect(inputs: options.inputs)
        outcome.diagnostics += inputDiagnostics
        outcome.documentCount = files.count
        timing.lap("collect \(files.count) inputs")

        // 2. Parse and extract every document, in parallel; results kept in input order. Documents whose
        //    bytes the cache knows are not compiled again.
        let useCache = options.incremental && ProcessInfo.processInfo.environment["RULEBOOK_NO_CACHE"] != "1"
        let salt = IncrementalCache.salt(knownPayers: config.knownPayers)
        let cacheURL = useCache ? IncrementalCache.location(forOutput: options.output, directory: options.cacheDirectory) : nil
        let cache = IncrementalCache.load(from: cacheURL, salt: salt)
        timing.lap("cache load (\(cache.count) entries)")
        let compiled = compileAll(files, options: extraction, jobs: options.jobs, progress: options.progress,
                                  cache: useCache ? cache : nil)
        let results = compiled.results
        outcome.reusedDocuments = compiled.reused
        for result in results { outcome.diagnostics += result.diagnostics }
        timing.lap("compile (\(compiled.reused) reused)")

        // 3. Cross-document checks, then the examples documents carry.
        let (records, validation) = CrossDocumentValidator.validate(results.compactMap(\.record), extraModifiers: config.knownModifiers)
        outcome.diagnostics += validation
        let book = RuleBook(records: records)
        for record in records where !record.examples.isEmpty {
            outcome.diagnostics += ExampleChecker.check(record, in: book)
        }
        outcome.records = records
        timing.lap("validate")

        // 4. Emit. The bundle of a record from an unchanged document is known by hash and size and is
        //    produced only if the output folder does not hold it already.
        var reusable: [String: IncrementalCache.BundleInfo] = [:]
        for entry in compiled.entries where entry.reused {
            if let bundle = entry.bundle { reusable[entry.path] = bundle }
        }
        let emitted = emit(records, accessLevel: accessLevel, jobs: options.jobs, reusable: reusable,
                           bundlesOnDemandFrom: options.bundlesOnDemandFrom,
                           swiftShards: options.swiftShards ?? EmbeddedShards.shardCount(documents: files.count))
        outcome.files = emitted.files
        timing.lap("emit (\(emitted.known.count) bundles known)")

        // 5. Compare or write.
        let writer = OutputWriter(outputDirectory: URL(fileURLWithPath: options.output), displayPath: options.output)
        do throws(OutputError) {
            if options.check {
                outcome.staleFiles = try writer.check(files: outcome.files, known: emitted.known)
            } else {
                outcome.report = try writer.write(files: outcome.files, known: emitted.known)
            }
            timing.lap(options.check ? "check" : "write")
            if useCache && !options.check {
                let entries = compiled.entries.map { entry in
                    var entry = entry
                    entry.bundle = emitted.bundles[entry.path] ?? (entry.reused && reusable[entry.path] != nil && emitted.knownPaths.contains(entry.path) ? entry.bundle : nil)
                    return entry
                }
                IncrementalCache.save(entries, results: results, salt: salt, to: cacheURL)
                timing.lap("cache save")
            }
        } catch {
            outcome.diagnostics.append(error.diagnostic)
        }
        outcome.diagnostics = sortedStable(outcome.diagnostics)
        return outcome
    }

    /// All output files, relative to the output folder. The bundles, the index and the Swift sources
    /// are produced on `jobs` threads; the result is the same for any number of threads.
    static func emit(_ records: [CodeRecord], accessLevel: AccessLevel, jobs: Int? = nil, swiftShards: Int? = nil) -> [GeneratedFile] {
        emit(records, accessLevel: accessLevel, jobs: jobs, reusable: [:], swiftShards: swiftShards).files
    }

    /// As above; the bundle of a record whose source path is in `reusable` is not emitted but returned in
    /// `known` (hash and size from the previous run, produced on demand). `bundles` gives the hash and
    /// size of each bundle emitted now, by source path; `knownPaths` the source paths of `known`.
    static func emit(_ records: [CodeRecord], accessLevel: AccessLevel, jobs: Int?,
                     reusable: [String: IncrementalCache.BundleInfo], bundlesOnDemandFrom: Int = .max,
                     swiftShards: Int? = nil)
        -> (files: [GeneratedFile], known: [OutputWriter.KnownFile], bundles: [String: IncrementalCache.BundleInfo], knownPaths: Set<String>) {
        let workers = max(1, jobs ?? ProcessInfo.processInfo.activeProcessorCount)
        // Tasks: 0 = index, 1 = the main Swift file, 2… = the Swift shards (as SwiftEmitter.emit writes
        // them), then the bundle chunks.
        let chunk = 64
        let chunks = (records.count + chunk - 1) / chunk
        let bundles = SlotBox<GeneratedFile?>(count: records.count)
        let infos = SlotBox<IncrementalCache.BundleInfo?>(count: records.count)
        let shardCount = max(1, swiftShards ?? EmbeddedShards.shardCount(documents: Set(records.map(\.source.path)).count))
        let shards = SwiftEmitter.shards(records, count: shardCount)
        let swift = SlotBox<GeneratedFile>(count: 1 + shardCount)
        let index = SlotBox<GeneratedFile>(count: 1)
        let header = SwiftEmitter.headerLines(sourcePaths: records.map(\.source.path))
        let access = accessLevel.rawValue
        let firstBundleTask = 2 + shardCount
        let taskCount = firstBundleTask + chunks
        let onDemand = records.count >= bundlesOnDemandFrom
        let next = AtomicCounter()
        DispatchQueue.concurrentPerform(iterations: min(workers, taskCount)) { _ in
            while true {
                let task = next.increment()
                guard task < taskCount else { return }
                switch task {
                case 0:
                    index.set(0, GeneratedFile(path: "JSON/index.json", contents: JSONEmitter.index(records)))
                case 1:
                    swift.set(0, GeneratedFile(path: "Swift/" + SwiftEmitter.mainFileName,
                                               contents: SwiftEmitter.mainFile(shardCount: shardCount, access: access, header: header)))
                case 2..<firstBundleTask:
                    let number = task - 2
                    let records = shards[number]
                    swift.set(1 + number, GeneratedFile(
                        path: "Swift/" + SwiftEmitter.shardFileName(number, count: shardCount),
                        contents: SwiftEmitter.shardFile(number: number, count: shardCount, records: records, access: access,
                                                         header: SwiftEmitter.headerLines(sourcePaths: records.map(\.source.path)),
                                                         jobs: shardCount == 1 ? workers : 1)))
                default:
                    let start = (task - firstBundleTask) * chunk
                    for position in start..<min(start + chunk, records.count) {
                        let record = records[position]
                        if reusable[record.source.path] != nil {
                            bundles.set(position, nil)
                            infos.set(position, nil)
                            continue
                        }
                        var contents = JSONEmitter.bundle([record])
                        let info = contents.withUTF8 { IncrementalCache.BundleInfo(hash: ContentHash.hex($0), size: $0.count) }
                        // Large runs keep only the hash and size; the writer produces the text again if it
                        // has to write it (memory: the bundles are most of the output).
                        bundles.set(position, onDemand ? nil
                                    : GeneratedFile(path: "JSON/" + JSONEmitter.bundleFileName(for: record), contents: contents))
                        infos.set(position, info)
                    }
                }
            }
        }
        var files = bundles.values().compactMap { $0 }
        files.reserveCapacity(records.count + 4)
        files += index.values()
        files.append(GeneratedFile(path: "JSON/rulebook.schema.json", contents: SchemaEmitter.schema()))
        files += swift.values()
        var known: [OutputWriter.KnownFile] = []
        var knownPaths: Set<String> = []
        var emittedInfo: [String: IncrementalCache.BundleInfo] = [:]
        for (record, info) in zip(records, infos.values()) {
            if let info {
                emittedInfo[record.source.path] = info
                if onDemand {
                    known.append(OutputWriter.KnownFile(path: "JSON/" + JSONEmitter.bundleFileName(for: record), hash: info.hash,
                                                        size: info.size, produce: { JSONEmitter.bundle([record]) }))
                }
            } else if let reused = reusable[record.source.path] {
                known.append(OutputWriter.KnownFile(path: "JSON/" + JSONEmitter.bundleFileName(for: record), hash: reused.hash,
                                                    size: reused.size, produce: { JSONEmitter.bundle([record]) }))
                knownPaths.insert(record.source.path)
            }
        }
        return (files, known, emittedInfo, knownPaths)
    }

    /// Compiles documents on `jobs` threads; the result order is the input order whatever the scheduling.
    static func compileAll(_ files: [InputFile], options: ExtractionOptions, jobs: Int?,
                           progress: (@Sendable (Int, Int, String) -> Void)? = nil) -> [Pipeline.Result] {
        compileAll(files, options: options, jobs: jobs, progress: progress, cache: nil).results
    }

    /// As above; with a cache, documents whose bytes it knows are decoded from it rather than compiled,
    /// and `entries` is the cache for the next run (one per readable document, in input order).
    static func compileAll(_ files: [InputFile], options: ExtractionOptions, jobs: Int?,
                           progress: (@Sendable (Int, Int, String) -> Void)?, cache: IncrementalCache?)
        -> (results: [Pipeline.Result], entries: [IncrementalCache.Entry], reused: Int) {
        let box = SlotBox<Pipeline.Result>(count: files.count)
        let entries = SlotBox<IncrementalCache.Entry?>(count: files.count)
        let reused = AtomicCounter()
        let finished = AtomicCounter()
        let workers = max(1, min(jobs ?? ProcessInfo.processInfo.activeProcessorCount, files.count))
        let next = AtomicCounter()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let index = next.increment()
                guard index < files.count else { return }
                let file = files[index]
                let result: Pipeline.Result
                switch Result(catching: { () throws(InputReadError) -> [UInt8] in try file.read() }) {
                case .success(let bytes):
                    if let cache {
                        let hash = ContentHash.value(bytes)
                        if let hit = cache.lookup(path: file.displayPath, hash: hash) {
                            result = hit.result
                            _ = reused.increment()
                            entries.set(index, IncrementalCache.Entry(path: file.displayPath, hash: hash, payload: hit.payload,
                                                                      index: index, reused: true, bundle: hit.bundle))
                        } else {
                            result = Pipeline.compile(bytes: bytes, path: file.displayPath, options: options)
                            entries.set(index, IncrementalCache.Entry(path: file.displayPath, hash: hash,
                                                                      payload: nil, index: index))
                        }
                    } else {
                        result = Pipeline.compile(bytes: bytes, path: file.displayPath, options: options)
                        entries.set(index, nil)
                    }
                case .failure(let error):
                    result = Pipeline.Result(path: file.displayPath, record: nil, diagnostics: [error.diagnostic])
                    entries.set(index, nil)
                }
                var kept = result
                kept.document = nil  // stream: only the record and diagnostics outlive the worker
                box.set(index, kept)
                if let progress { progress(finished.increment() + 1, files.count, file.displayPath) }
            }
        }
        return (box.values(), entries.values().compactMap { $0 }, reused.increment())
    }

    /// Diagnostics grouped by file (in path order), each file's in line order; ties keep their order.
    static func sortedStable(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        diagnostics.enumerated().sorted { a, b in
            if a.element.path != b.element.path { return a.element.path.utf8.lexicographicallyPrecedes(b.element.path.utf8) }
            if a.element.line != b.element.line { return a.element.line < b.element.line }
            if a.element.column != b.element.column { return a.element.column < b.element.column }
            return a.offset < b.offset
        }.map(\.element)
    }
}

/// Values written by worker threads, each index by exactly one worker.
final class SlotBox<Value>: @unchecked Sendable {
    private var storage: [Value?]
    private let lock = NSLock()
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Value) {
        lock.lock()
        storage[index] = value
        lock.unlock()
    }
    func values() -> [Value] { storage.map { $0! } }
}



/// `RULEBOOK_TIMING=1`: prints the time of each phase of a run to standard error.
final class PhaseTimer {
    let enabled = ProcessInfo.processInfo.environment["RULEBOOK_TIMING"] == "1"
    var last = DispatchTime.now().uptimeNanoseconds
    func lap(_ name: String) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        FileHandle.standardError.write(Data("timing: \(name): \(String(format: "%.3f", Double(now - last) / 1e9)) s\n".utf8))
        last = now
    }
}

final class AtomicCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        let current = value
        value += 1
        return current
    }
}

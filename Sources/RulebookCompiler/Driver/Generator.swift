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
    /// The files generate produces (relative to the output folder).
    public var files: [GeneratedFile] = []

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
        let (files, inputDiagnostics) = InputCollector.collect(inputs: options.inputs)
        outcome.diagnostics += inputDiagnostics
        outcome.documentCount = files.count

        // 2. Parse and extract every document, in parallel; results kept in input order.
        let results = compileAll(files, options: extraction, jobs: options.jobs, progress: options.progress)
        for result in results { outcome.diagnostics += result.diagnostics }

        // 3. Cross-document checks, then the examples documents carry.
        let (records, validation) = CrossDocumentValidator.validate(results.compactMap(\.record), extraModifiers: config.knownModifiers)
        outcome.diagnostics += validation
        let book = RuleBook(records: records)
        for record in records where !record.examples.isEmpty {
            outcome.diagnostics += ExampleChecker.check(record, in: book)
        }
        outcome.records = records

        // 4. Emit.
        outcome.files = emit(records, accessLevel: accessLevel)

        // 5. Compare or write.
        let writer = OutputWriter(outputDirectory: URL(fileURLWithPath: options.output), displayPath: options.output)
        do throws(OutputError) {
            if options.check {
                outcome.staleFiles = try writer.check(files: outcome.files)
            } else {
                outcome.report = try writer.write(files: outcome.files)
            }
        } catch {
            outcome.diagnostics.append(error.diagnostic)
        }
        outcome.diagnostics = sortedStable(outcome.diagnostics)
        return outcome
    }

    /// All output files, relative to the output folder.
    static func emit(_ records: [CodeRecord], accessLevel: AccessLevel) -> [GeneratedFile] {
        var files: [GeneratedFile] = []
        for record in records {
            files.append(GeneratedFile(path: "JSON/" + JSONEmitter.bundleFileName(for: record), contents: JSONEmitter.bundle([record])))
        }
        files.append(GeneratedFile(path: "JSON/index.json", contents: JSONEmitter.index(records)))
        files.append(GeneratedFile(path: "JSON/rulebook.schema.json", contents: SchemaEmitter.schema()))
        for file in SwiftEmitter.emit(records, accessLevel: accessLevel) {
            files.append(GeneratedFile(path: "Swift/" + file.path, contents: file.contents))
        }
        return files
    }

    /// Compiles documents on `jobs` threads; the result order is the input order whatever the scheduling.
    static func compileAll(_ files: [InputFile], options: ExtractionOptions, jobs: Int?,
                           progress: (@Sendable (Int, Int, String) -> Void)? = nil) -> [Pipeline.Result] {
        let box = ResultBox(count: files.count)
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
                    result = Pipeline.compile(bytes: bytes, path: file.displayPath, options: options)
                case .failure(let error):
                    result = Pipeline.Result(path: file.displayPath, record: nil, diagnostics: [error.diagnostic])
                }
                box.set(index, result)
                if let progress { progress(finished.increment() + 1, files.count, file.displayPath) }
            }
        }
        return box.values()
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

/// Results written by worker threads, each index by exactly one worker.
private final class ResultBox: @unchecked Sendable {
    private var storage: [Pipeline.Result?]
    private let lock = NSLock()
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Pipeline.Result) {
        lock.lock()
        storage[index] = value
        lock.unlock()
    }
    func values() -> [Pipeline.Result] { storage.map { $0! } }
}

private final class AtomicCounter: @unchecked Sendable {
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

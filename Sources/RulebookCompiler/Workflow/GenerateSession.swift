import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `rulebook generate` for the command line: the progress line, the diagnostics in the chosen format,
/// the stale-file list of `--check`, the summary, and `--watch`.
public enum GenerateSession {
    /// Documents from which the progress line is shown (a run of a few documents would only flash it).
    public static let progressThreshold = 20

    /// One run; returns the exit code.
    public static func runOnce(_ options: GenerateOptions, presenter: DiagnosticsPresenter) -> Int32 {
        var options = options
        let progress = ProgressLine(enabled: presenter.terminal.progress && presenter.showsHumanLines)
        options.progress = { done, total, path in
            if total >= progressThreshold { progress.update(done: done, total: total, path: path) }
        }
        let outcome = Generator.run(options)
        progress.finish()
        return present(outcome, options: options, presenter: presenter)
    }

    /// Shows an outcome; returns the exit code (1 on errors, promoted warnings or stale output).
    static func present(_ outcome: GenerateOutcome, options: GenerateOptions, presenter: DiagnosticsPresenter) -> Int32 {
        var diagnostics = outcome.diagnostics
        if presenter.options.format != .text {
            // In JSON and SARIF, stale outputs are diagnostics too, so a tool sees them.
            diagnostics += outcome.staleFiles.map { entry in
                Diagnostic(path: options.output, line: 0, column: 0, severity: .error, id: DiagnosticID.outputStale.rawValue,
                           message: "\(entry) (run 'swift run rulebook generate')")
            }
        }
        presenter.present(diagnostics)
        if presenter.options.format == .text, !outcome.staleFiles.isEmpty {
            presenter.writeError("\(options.output) is not up to date with the documents (run 'swift run rulebook generate'):\n"
                + outcome.staleFiles.map { "  \($0)\n" }.joined())
        }
        for record in presenter.options.verbosity == .verbose ? outcome.records : [] {  // (made only then)
            presenter.verbose("compiled \(record.source.path): \(record.displayName), \(record.modifiers.count) modifiers, "
                + "\(record.payers.count) payer notes, \(record.policyUpdates.count) policy updates")
        }
        if outcome.reusedDocuments > 0 {
            presenter.verbose("reused \(outcome.reusedDocuments) unchanged document\(outcome.reusedDocuments == 1 ? "" : "s") (not compiled again"
                + (outcome.unreadDocuments > 0 ? "; \(outcome.unreadDocuments) not even read)" : ")"))
        }
        if let report = outcome.report {
            presenter.verbose("wrote \(options.output): \(report.written.count) written, \(report.unchanged.count) unchanged, \(report.removed.count) removed")
        }
        presenter.summary(outcome.summary, diagnostics: outcome.diagnostics)
        let failed = presenter.hasErrors(outcome.diagnostics) || !outcome.staleFiles.isEmpty
        return failed ? 1 : 0
    }
}

/// `rulebook generate --watch`: runs, then polls the inputs (paths, modification times and sizes of the
/// documents, and the config file) every `interval` and runs again on a change, until SIGINT or SIGTERM.
public enum Watch {
    /// A snapshot of what a run read.
    struct Fingerprint: Equatable {
        var entries: [String: Entry]
        struct Entry: Equatable { var modified: Int64; var size: Int64 }

        /// Paths added, removed or changed from `old` to `self`, sorted.
        func changes(from old: Fingerprint) -> [String] {
            Set(entries.keys).union(old.entries.keys).filter { entries[$0] != old.entries[$0] }.sorted()
        }
    }

    static func fingerprint(_ options: GenerateOptions) -> Fingerprint {
        var entries: [String: Fingerprint.Entry] = [:]
        let (files, _) = InputCollector.collect(inputs: options.inputs)
        var paths = files.map(\.displayPath)
        if let config = options.configPath { paths.append(config) }
        for path in paths {
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            #if canImport(Darwin)
            let nanoseconds = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
            #else
            let nanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
            #endif
            entries[path] = Fingerprint.Entry(modified: nanoseconds, size: Int64(info.st_size))
        }
        return Fingerprint(entries: entries)
    }

    /// Set by the signal handler, read by the polling loop.
    final class StopFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.lock(); value = true; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    }

    /// Runs until interrupted; returns 0 after printing `watch: stopped`.
    public static func run(_ options: GenerateOptions, presenter: DiagnosticsPresenter, interval: TimeInterval = 0.5) -> Int32 {
        let stop = StopFlag()
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stop.set() }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }

        var last = fingerprint(options)
        _ = GenerateSession.runOnce(options, presenter: presenter)
        presenter.human("watching \(last.entries.count) document\(last.entries.count == 1 ? "" : "s") under \(options.inputs.joined(separator: ", ")); press Ctrl-C to stop")
        while !stop.isSet {
            // Sleep in short steps so Ctrl-C is answered quickly.
            let deadline = Date().addingTimeInterval(interval)
            while !stop.isSet, Date() < deadline { usleep(50_000) }
            if stop.isSet { break }
            let current = fingerprint(options)
            let changed = current.changes(from: last)
            guard !changed.isEmpty else { continue }
            // Let an editor finish writing (several writes, or write-then-rename) before reading.
            usleep(100_000)
            last = fingerprint(options)
            let shown = changed.prefix(3).joined(separator: ", ") + (changed.count > 3 ? " and \(changed.count - 3) more" : "")
            presenter.human("changed: \(shown); recompiling")
            _ = GenerateSession.runOnce(options, presenter: presenter)
        }
        presenter.writeError("watch: stopped\n")
        return 0
    }
}

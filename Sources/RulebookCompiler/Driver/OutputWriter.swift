import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the output folder could not be planned or written. `description` is the message to print, e.g.
/// `cannot write Generated/JSON/x.json: Permission denied`. Existing outputs are intact when this is thrown.
public struct OutputError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A wanted path is not a safe relative path (absolute, `..`, empty component, NUL, hidden, …).
        case invalidPath
        /// A symbolic link (or a file where a folder is needed) is in the way inside the output folder.
        case unsafePath
        /// The operating system refused (permissions, read-only or full file system, …).
        case io
    }

    public let kind: Kind
    /// The path concerned, as shown to people (output folder display path joined with the relative path).
    public let path: String
    public let description: String

    /// The `output.write-failed` error diagnostic for this failure.
    public var diagnostic: Diagnostic {
        Diagnostic(path: path, line: 0, column: 0, severity: .error, id: DiagnosticID.outputWriteFailed.rawValue,
                   message: description)
    }
}

/// Writes generated files into an output folder safely:
///
/// - each changed file goes to a temporary file (`.rulebook-tmp-<pid>-<n>`) in its target's folder; all
///   temporary files are complete before they are renamed over their targets, so every target holds
///   either its complete old or its complete new bytes after a kill. Flushing to disk before the renames
///   (one `syncfs`, or `fsync` per file), which also covers a power loss, is opt-in (`durable`, set by
///   `RULEBOOK_FSYNC=1`): like other compilers, the default trusts the kernel's page cache, because
///   waiting for the disk costs more than the rest of a large run (ext4 on the benchmark machine: seconds
///   for 10,000 files) and generated files can always be generated again;
/// - files whose bytes are unchanged are not touched (their modification time stays);
/// - only files the manifest of a previous run lists and that are no longer produced are removed; any
///   other file in the output folder survives. Before the first rename the manifest is rewritten to
///   list the files about to be created, so an interrupted run's files are still known to the next run;
/// - `OUT/.rulebook-manifest.json` is written last; leftover temporary files of a killed run are removed
///   by the next run;
/// - every relative path is validated, and no symbolic link inside the output folder is followed
///   (`openat` with `O_NOFOLLOW` from the output folder down): the writer cannot leave the folder.
///
/// One writer at a time per output folder: `write` holds an exclusive `flock` on the folder, `plan`
/// and `check` a shared one.
public struct OutputWriter: Sendable {
    public static let manifestName = ".rulebook-manifest.json"
    static let temporaryPrefix = ".rulebook-tmp-"

    public let outputDirectory: URL
    /// How the folder is named in messages (`Generated`); defaults to the URL's path.
    public let displayPath: String

    /// Test hook: simulate a crash part-way through `write`.
    enum FailurePoint: Sendable {
        case none
        /// Throw after this many files were renamed into place (like an I/O error mid-run).
        case afterRenames(Int)
        /// After this many renames, leave a half-written temporary file behind and stop (like SIGKILL).
        case abandonAfterRenames(Int)
    }
    var failurePoint: FailurePoint = .none

    /// Flush temporary files and the manifest to disk before renaming them (survives a power loss, not
    /// only a kill). Off by default; `RULEBOOK_FSYNC=1` turns it on.
    public var durable: Bool = ProcessInfo.processInfo.environment["RULEBOOK_FSYNC"] == "1"

    /// The manifest the caller already decoded (``readManifestAndHash()``): used instead of decoding the
    /// folder's manifest again when that still has these bytes.
    var decodedManifest: (manifest: Manifest, hash: String)?

    /// The identities the output files had when this executable last left the folder (from the build
    /// stamp). A file whose manifest hash is the wanted one is taken as unchanged without reading it only
    /// if its identity is still exactly this one; otherwise it is read and compared.
    var knownOutputs: [String: BuildStamp.FileIdentity] = [:]
    /// False when the process ends right after the write (see ``GenerateOptions/freesMemoryAtEnd``): the
    /// wanted files (10,000 objects in a large run) are then left to the process's exit.
    var freesMemoryAtEnd = true

    public init(outputDirectory: URL, displayPath: String? = nil) {
        self.outputDirectory = outputDirectory
        var shown = displayPath ?? outputDirectory.path
        while shown.count > 1 && shown.hasSuffix("/") { shown.removeLast() }
        self.displayPath = shown
    }

    /// What a `write` would do.
    public struct Plan: Sendable, Hashable {
        /// Exist with different bytes (or something other than a regular file is in their place).
        public var stale: [String] = []
        /// Do not exist.
        public var missing: [String] = []
        /// Listed in the previous manifest, still on disk, no longer produced: `write` removes them.
        public var extra: [String] = []
        /// Exist with exactly the wanted bytes.
        public var unchanged: [String] = []
        /// Whether `OUT/.rulebook-manifest.json` already lists exactly the wanted files and hashes.
        public var manifestUpToDate: Bool = false
        /// Whether a manifest file exists at all.
        public var manifestExists: Bool = false

        public var isUpToDate: Bool { stale.isEmpty && missing.isEmpty && extra.isEmpty && manifestUpToDate }
    }

    /// What `write` did. Paths are relative to the output folder, sorted.
    public struct WriteReport: Sendable, Hashable {
        public var written: [String] = []
        public var unchanged: [String] = []
        public var removed: [String] = []
        public var manifestWritten: Bool = false
        /// `ContentHash.hex` of the manifest in the folder after the write.
        public var manifestHash: String = ""
        /// The identity of every file the manifest lists, after the write (for the build stamp); empty
        /// when not known.
        var identities: [String: BuildStamp.FileIdentity] = [:]
    }

    // MARK: - Public API

    /// Compares the wanted files with the output folder. Reads only.
    public func plan(files: [GeneratedFile]) throws(OutputError) -> Plan {
        try plan(files: files, known: [])
    }

    /// As `plan(files:)`, with `known` files given by hash and size, produced only if needed.
    func plan(files: [GeneratedFile], known: [KnownFile], state: IncrementalState? = nil) throws(OutputError) -> Plan {
        let wanted = try prepare(files, known: known)
        guard let root = try openRoot(create: false) else {
            var plan = Plan()
            plan.missing = wanted.map(\.path)
            return plan
        }
        defer { root.closeAll() }
        flock(root.fd, LOCK_SH)
        return try survey(wanted, root: root, state: state).plan
    }

    /// For `--check`: one line per difference, sorted by path: `stale: JSON/cpt-27365.json`,
    /// `missing: …`, `extra: …` (and `stale:`/`missing: .rulebook-manifest.json` when the manifest does not
    /// list exactly the wanted files). Empty when the folder is up to date. Writes nothing.
    public func check(files: [GeneratedFile]) throws(OutputError) -> [String] {
        try check(files: files, known: [])
    }

    func check(files: [GeneratedFile], known: [KnownFile], state: IncrementalState? = nil) throws(OutputError) -> [String] {
        let plan = try plan(files: files, known: known, state: state)
        var lines: [(String, String)] = []
        lines += plan.stale.map { ($0, "stale") }
        lines += plan.missing.map { ($0, "missing") }
        lines += plan.extra.map { ($0, "extra") }
        if !plan.manifestUpToDate {
            lines.append((Self.manifestName, plan.manifestExists ? "stale" : "missing"))
        }
        lines.sort { $0.0.utf8Precedes($1.0) }
        return lines.map { "\($0.1): \($0.0)" }
    }

    /// Brings the output folder to exactly `files` (see the type's documentation), then writes the
    /// manifest with each file's hash and `inputHashes` as its `inputs`.
    @discardableResult
    public func write(files: [GeneratedFile], inputHashes: [String: String] = [:]) throws(OutputError) -> WriteReport {
        try write(files: files, known: [], inputHashes: inputHashes)
    }

    /// A file the caller knows by the hash and size of its bytes (e.g. from the previous run) and can
    /// produce on demand: when the output folder already holds it (per the manifest, size and time) it is
    /// never produced; otherwise `produce` is called and it is treated like any other file.
    struct KnownFile: Sendable {
        var path: String
        /// "" when not known yet (a *lazy* file, with `size` -1): it is produced once, when the writer has to
        /// compare or write it, and its hash computed then (a first run does not produce each bundle twice).
        var hash: String
        var size: Int
        var produce: @Sendable () -> String
        /// When files are produced to be written, lower `order` first (then path order): lets files that
        /// share work be produced one after the other (a shard's bundles, then the shard).
        var order: Int

        /// `produce` as bytes, when the producer makes bytes: the writer writes them without making a
        /// `String` (which validates the UTF-8 of 100+ MB of a first run's output once more).
        var produceBytes: (@Sendable () -> [UInt8])?

        init(path: String, hash: String, size: Int, order: Int = 0, produce: @escaping @Sendable () -> String) {
            self.path = path
            self.hash = hash
            self.size = size
            self.order = order
            self.produce = produce
        }

        /// A file known only by how to produce it.
        init(lazy path: String, order: Int = 0, produce: @escaping @Sendable () -> String) {
            self.init(path: path, hash: "", size: -1, order: order, produce: produce)
        }

        /// A file known only by how to produce its bytes (valid UTF-8).
        init(lazyBytes path: String, order: Int = 0, produce: @escaping @Sendable () -> [UInt8]) {
            self.init(path: path, hash: "", size: -1, order: order, produce: { String(decoding: produce(), as: UTF8.self) })
            produceBytes = produce
        }
    }

    /// The incremental state a run stores in the manifest next to its files (see ``Manifest``).
    struct IncrementalState: Sendable, Hashable {
        var documents: [String: Manifest.Document]
        var salt: String
        /// The documents' paths in byte order, when the caller has them (spares sorting them again).
        var documentOrder: [String] = []
    }

    func write(files: [GeneratedFile], known: [KnownFile], inputHashes: [String: String] = [:],
               state: IncrementalState? = nil) throws(OutputError) -> WriteReport {
        let timing = PhaseTimer(prefix: "  write: ")
        let wanted = try prepare(files, known: known)
        defer { if !freesMemoryAtEnd { ProcessLifetime.keep(wanted) } }
        timing.lap("prepare \(wanted.count)")
        let root = try openRoot(create: true)!
        defer { root.closeAll() }
        flock(root.fd, LOCK_EX)

        let survey = try survey(wanted, root: root, state: state, compareManifest: false)
        timing.lap("survey")
        if let path = survey.blocked.first {
            throw OutputError(kind: .unsafePath, path: shown(path),
                              description: "cannot write \(shown(path)): a folder or special file is in the way")
        }
        try removeTemporaryFiles(root: root, folders: survey.foldersToClean)

        let changed = wanted.filter { survey.changed.contains($0.path) }
        var report = WriteReport()
        report.written = changed.map(\.path)
        report.unchanged = survey.plan.unchanged
        report.removed = survey.plan.extra
        // Hashes and sizes of lazy files: from the comparison (unchanged ones) or from staging (written ones).
        let produced = survey.produced
        func finalManifest() -> Manifest {
            Self.finalManifest(wanted, produced: produced, inputs: inputHashes, state: state)
        }
        report.identities = survey.identities
        if changed.isEmpty && survey.plan.extra.isEmpty {
            let finalBytes = finalManifest().encoded(reusing: nil, unchanged: [], documentOrder: state?.documentOrder ?? [],
                                                     fileOrder: wanted.map(\.path))
            report.manifestHash = ContentHash.hex(finalBytes)
            if survey.previousHash != report.manifestHash {
                try writeManifest(finalBytes, root: root)
                report.manifestWritten = true
            }
            return report
        }

        // 1. Every changed file and the intent manifest into temporary files, flushed to disk.
        var staged: [Staged] = []
        var counter = 0
        let pid = getpid()
        func stage(_ bytes: [UInt8], folder: Int32, name: String, path: String) throws(OutputError) {
            counter += 1
            let temp = "\(Self.temporaryPrefix)\(pid)-\(counter)"
            try writeTemporary(bytes, folder: folder, temp: temp, path: path, flush: durable && Self.syncFileSystem == nil)
            staged.append(Staged(folder: folder, temp: temp, name: name, path: path))
        }
        var intentFiles: [String: String] = [:]
        for file in wanted { intentFiles[file.path] = survey.changed.contains(file.path) ? "" : file.hash.isEmpty ? produced[file.path]?.0 ?? "" : file.hash }
        for path in survey.plan.extra { intentFiles[path] = "" }
        // The final manifest's documents do not depend on the files: they are encoded meanwhile (3 MB for
        // 10,000 documents; waiting for them after the renames took 40–50 ms).
        let manifestStart = BackgroundTask {
            Manifest(files: [:], documents: state?.documents ?? [:])
                .encodedDocumentsPart(reusing: nil, unchanged: [], documentOrder: state?.documentOrder ?? [])
        }
        // Files that do not exist yet (a first run: all of them) are renamed into place by the worker that
        // wrote them: no previous bytes can be lost, and 10,000 renames in one thread after the writes took
        // 80–100 ms of a 1.5 s run. The intent manifest goes first, so those files are known before they
        // appear; the previous manifest stays linked under a temporary name, so a failure (a full disk, a
        // blocked path) removes the placed files and puts it back: the folder is as before, as when every
        // file waits for the batch. Replacements keep the batch below (every temporary file complete before
        // the first rename); so does a durable write (its one `syncfs` must precede every rename) and a
        // test hook.
        let missing = Set(survey.plan.missing)
        let hooked: Bool = { if case .none = failurePoint { return false } else { return true } }()
        var placeEarly = changed.map { !durable && !hooked && missing.contains($0.path) }
        let needsIntent = changed.contains(where: { survey.previous?.files[$0.path] == nil }) || survey.previous == nil
        var intentPlaced = false
        var changedInfo: [(String, Int)?] = []  // hash and size of each changed file produced while staging
        let previousManifestLink = "\(Self.temporaryPrefix)\(pid)-previous-manifest"
        var previousManifestLinked = false
        /// Undoes the early placements: the files placed go, the previous manifest comes back.
        func rollBackEarlyPlacements(_ placed: [(folder: Int32, name: String)]) {
            for file in placed { unlinkat(file.folder, file.name, 0) }
            if previousManifestLinked {
                renameat(root.fd, previousManifestLink, root.fd, Self.manifestName)
            } else if intentPlaced {
                unlinkat(root.fd, Self.manifestName, 0)
            }
        }
        do throws(OutputError) {
            // The changed files are produced and written on all cores (a first run of 10,000 documents
            // produces and creates 10,000 files); the temporary names follow the order of `changed`.
            var folders: [Int32] = []
            folders.reserveCapacity(changed.count)
            var lastParent: ArraySlice<String>?
            var lastFolder: Int32 = -1
            for file in changed {
                let parent = file.components.dropLast()
                if parent != lastParent {
                    lastFolder = try root.folder(parent, create: true, for: file.path)!
                    lastParent = parent
                }
                folders.append(lastFolder)
            }
            if placeEarly.contains(true) && survey.plan.manifestExists {
                if linkat(root.fd, Self.manifestName, root.fd, previousManifestLink, 0) == 0 {
                    previousManifestLinked = true
                } else {
                    placeEarly = placeEarly.map { _ in false }  // no way back: the batch it is
                }
            }
            if needsIntent && placeEarly.contains(true) {
                let temp = "\(Self.temporaryPrefix)\(pid)-intent"
                do throws(OutputError) {
                    try writeTemporary(Manifest(files: intentFiles).encoded(), folder: root.fd, temp: temp,
                                       path: Self.manifestName, flush: false)
                    guard renameat(root.fd, temp, root.fd, Self.manifestName) == 0 else {
                        let code = errno
                        unlinkat(root.fd, temp, 0)
                        throw ioError(Self.manifestName, code)
                    }
                } catch {
                    if previousManifestLinked { unlinkat(root.fd, previousManifestLink, 0) }
                    throw error
                }
                intentPlaced = true
            }
            let placeEarlyNow = placeEarly
            let failures = SlotBox<OutputError?>(count: changed.count)
            let lazyInfo = SlotBox<(String, Int)?>(count: changed.count)
            let placedIdentities = SlotBox<BuildStamp.FileIdentity?>(count: changed.count)
            let flush = durable && Self.syncFileSystem == nil
            let next = AtomicCounter()
            let workers = changed.count >= 32 ? ProcessInfo.processInfo.activeProcessorCount : 1
            let targets = folders
            // Production order: by `order`, then path (temporary names follow `changed` whatever the order).
            let sequence = changed.indices.sorted { (changed[$0].order, $0) < (changed[$1].order, $1) }
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let step = next.increment()
                    guard step < changed.count else { return }
                    let index = sequence[step]
                    let file = changed[index]
                    placedIdentities.set(index, nil)
                    lazyInfo.set(index, nil)
                    let temp = "\(Self.temporaryPrefix)\(pid)-\(index + 1)"
                    let outcome = file.withBytes { bytes in
                        Result { () throws(OutputError) in
                            if file.contents == nil { lazyInfo.set(index, (ContentHash.hex(bytes), bytes.count)) }
                            if placeEarlyNow[index] {
                                placedIdentities.set(index, try writeAndPlace(bytes, folder: targets[index], temp: temp,
                                                                              name: file.components.last!, path: file.path))
                            } else {
                                try writeTemporary(bytes, folder: targets[index], temp: temp, path: file.path, flush: flush)
                            }
                        }
                    }
                    if case .failure(let error) = outcome { failures.set(index, error) } else { failures.set(index, nil) }
                }
            }
            counter = changed.count
            changedInfo = lazyInfo.values()
            for (index, identity) in placedIdentities.values().enumerated() {
                if let identity { report.identities[changed[index].path] = identity }
            }
            var firstFailure: OutputError?
            for (index, failure) in failures.values().enumerated() {
                if let failure {
                    if firstFailure == nil { firstFailure = failure }
                } else if !placeEarly[index] {
                    staged.append(Staged(folder: folders[index], temp: "\(Self.temporaryPrefix)\(pid)-\(index + 1)",
                                         name: changed[index].components.last!, path: changed[index].path))
                }
            }
            if let firstFailure {
                if placeEarly.contains(true) {
                    var placed: [(folder: Int32, name: String)] = []
                    for (index, failure) in failures.values().enumerated() where failure == nil && placeEarly[index] {
                        placed.append((folders[index], changed[index].components.last!))
                    }
                    rollBackEarlyPlacements(placed)
                }
                throw firstFailure
            }
            if previousManifestLinked { unlinkat(root.fd, previousManifestLink, 0) }
            // The intent manifest makes files this run creates known before they appear. When every
            // changed file is one the previous manifest already owns, it would change nothing that
            // matters (an interrupted run's renamed files are newer than that manifest, so they are read
            // and compared next time, never trusted by hash), and it is skipped: a large incremental run
            // does not write its manifest twice.
            if needsIntent && !intentPlaced {
                try stage(Manifest(files: intentFiles).encoded(), folder: root.fd, name: Self.manifestName,
                          path: Self.manifestName)
                staged.insert(staged.removeLast(), at: 0)  // renamed first
            }
            try flushFileSystem(root: root, staged: staged)
        } catch {
            for item in staged { unlinkat(item.folder, item.temp, 0) }
            throw error
        }

        // The final manifest depends only on what was produced: it is encoded on another thread while
        // this one renames the files into place.
        let producedFiles = produced
        let wantedFiles = wanted
        let hashes = inputHashes
        let changedFiles = changed
        let stagedInfo = changedInfo
        let finalManifestTask = BackgroundTask {
            // What `finalManifest` holds, as lists: `wanted` is in strictly increasing path order (`prepare`),
            // `changed` a subsequence of it whose produced files' hashes and sizes staging recorded.
            var files: [(path: String, hash: String)] = [], sizes: [(path: String, size: Int)] = []
            files.reserveCapacity(wantedFiles.count)
            sizes.reserveCapacity(wantedFiles.count)
            var next = 0
            for file in wantedFiles {
                var info = producedFiles[file.path] ?? (file.hash.isEmpty ? ("", 0) : (file.hash, file.size))
                if next < changedFiles.count && changedFiles[next] === file {
                    if let staged = stagedInfo[next] { info = staged }
                    next += 1
                }
                files.append((file.path, info.0))
                sizes.append((file.path, info.1))
            }
            return Manifest.encoded(continuing: manifestStart.wait(), files: files, sizes: sizes, inputs: hashes,
                                    salt: state?.salt ?? "")
        }

        // 2. Intent manifest into place (durably), then the files.
        var renamed = 0
        for (index, item) in staged.enumerated() {
            if case .afterRenames(let limit) = failurePoint, renamed == limit + 1 {
                for rest in staged[index...] { unlinkat(rest.folder, rest.temp, 0) }
                throw OutputError(kind: .io, path: shown(item.path), description: "injected failure")
            }
            if case .abandonAfterRenames(let limit) = failurePoint, renamed == limit + 1 {
                // Simulate SIGKILL: temporary files stay, one of them truncated to half its size.
                let fd = openat(item.folder, item.temp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
                var info = stat()
                if fd >= 0 { fstat(fd, &info); ftruncate(fd, info.st_size / 2); close(fd) }
                throw OutputError(kind: .io, path: shown(item.path), description: "injected kill")
            }
            guard renameat(item.folder, item.temp, item.folder, item.name) == 0 else {
                let code = errno
                for rest in staged[index...] { unlinkat(rest.folder, rest.temp, 0) }
                throw ioError(item.path, code)
            }
            renamed += 1
            if index == 0 && durable { fsync(root.fd) }
        }
        // The identities of the files just written (for the build stamp), on all cores.
        let written = staged.filter { $0.path != Self.manifestName }
        let writtenIdentities = SlotBox<BuildStamp.FileIdentity?>(count: written.count)
        DispatchQueue.concurrentPerform(iterations: written.count >= 64 ? ProcessInfo.processInfo.activeProcessorCount : 1) { worker in
            let workers = written.count >= 64 ? ProcessInfo.processInfo.activeProcessorCount : 1
            var index = worker
            while index < written.count {
                var info = stat()
                writtenIdentities.set(index, fstatat(written[index].folder, written[index].name, &info, AT_SYMLINK_NOFOLLOW) == 0
                                      ? BuildStamp.FileIdentity(info) : nil)
                index += workers
            }
        }
        for (item, identity) in zip(written, writtenIdentities.values()) {
            if let identity { report.identities[item.path] = identity }
        }

        // 3. Files the previous run wrote and this one does not produce.
        var emptied: Set<[String]> = []
        for path in survey.plan.extra {
            let components = path.split(separator: "/").map(String.init)
            guard let folder = try? root.folder(components.dropLast(), create: false, for: path) else { continue }
            if unlinkat(folder, components.last!, 0) != 0 && errno != ENOENT { throw ioError(path, errno, "remove") }
            if components.count > 1 { emptied.insert(Array(components.dropLast())) }
        }
        // Folders left empty by those removals go too (rmdir fails on anything non-empty).
        var folders = emptied
        while !folders.isEmpty {
            let deepest = folders.max { $0.count < $1.count }!
            folders.remove(deepest)
            guard let parent = try? root.folder(deepest.dropLast(), create: false, for: deepest.joined(separator: "/"))
            else { continue }
            if unlinkat(parent, deepest.last!, AT_REMOVEDIR) == 0 && deepest.count > 1 {
                folders.insert(Array(deepest.dropLast()))
            }
        }

        // 4. The final manifest, last.
        timing.lap("stage, rename, remove \(changed.count)")
        let finalBytes = finalManifestTask.wait()
        timing.lap("encode manifest (the rest of it)")
        report.manifestHash = ContentHash.hex(finalBytes)
        try writeManifest(finalBytes, root: root)
        timing.lap("write manifest")
        report.manifestWritten = true
        return report
    }

    /// Whether the output folder holds exactly what `manifest` (whose bytes hash to `manifestHash`) lists:
    /// the manifest file itself unchanged, and every listed file a regular file of the recorded size,
    /// with the identity ``knownOutputs`` recorded (else read and compared with the recorded hash). Reads
    /// only; false on any doubt. A run whose inputs are all unchanged produces exactly the files of the
    /// manifest it reused, so this is its whole comparison (`--check` of 10,000 unchanged documents
    /// without producing or even naming each output again).
    /// The identities of the files when it does (for the build stamp); nil otherwise.
    func holdsExactly(_ manifest: Manifest, manifestHash: String) -> [String: BuildStamp.FileIdentity]? {
        guard let root = try? openRoot(create: false) else { return nil }
        defer { root.closeAll() }
        flock(root.fd, LOCK_SH)
        guard let bytes = Self.readManifestBytes(root: root), ContentHash.hex(bytes) == manifestHash else { return nil }
        return verify(manifest, except: [], root: root)
    }

    /// Whether every file `manifest` lists (but those in `except`) is a regular file of the recorded size
    /// whose identity is the one ``knownOutputs`` recorded (else it is read and compared with the recorded
    /// hash); their identities if so, else nil. On all cores.
    func verify(_ manifest: Manifest, except: Set<String>, root: Folders) -> [String: BuildStamp.FileIdentity]? {
        let paths = manifest.files.keys.filter { !except.contains($0) }
        // Each path validated (on all cores) and its folder opened once per distinct folder.
        let components = concurrentMap(count: paths.count, chunk: 512) { try? Self.validatedComponents(of: paths[$0]) }
        var folders: [Int32] = []
        folders.reserveCapacity(paths.count)
        var opened: [Substring: Int32] = [:]
        for (path, parts) in zip(paths, components) {
            guard let parts, !(manifest.files[path] ?? "").isEmpty, manifest.sizes[path] != nil else { return nil }
            let parentPath = path[..<(path.utf8.lastIndex(of: 0x2F) ?? path.startIndex)]
            if let folder = opened[parentPath] {
                folders.append(folder)
            } else {
                guard let folder = try? root.folder(parts.dropLast(), create: false, for: path) else { return nil }
                opened[parentPath] = folder
                folders.append(folder)
            }
        }
        let failed = AtomicCounter()
        let targets = folders
        let names = components.map { $0!.last! }
        let found = SlotBox<BuildStamp.FileIdentity?>(count: paths.count)
        let known = knownOutputs
        let workers = ProcessInfo.processInfo.activeProcessorCount
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var index = worker
            while index < paths.count {
                let path = paths[index]
                let name = names[index]
                var info = stat()
                let fine: Bool
                var identity: BuildStamp.FileIdentity?
                if fstatat(targets[index], name, &info, AT_SYMLINK_NOFOLLOW) != 0 || info.st_mode & S_IFMT != S_IFREG
                    || Int(info.st_size) != manifest.sizes[path]! {
                    fine = false
                } else if let recorded = known[path], recorded == BuildStamp.FileIdentity(info) {
                    fine = true
                    identity = recorded
                } else {
                    identity = BuildStamp.FileIdentity(info)
                    let fd = openat(targets[index], name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                    if fd >= 0, let bytes = try? FSCalls.readAll(fd: fd, sizeHint: Int(info.st_size)) {
                        fine = ContentHash.hex(bytes) == manifest.files[path]!
                    } else {
                        fine = false
                    }
                    if fd >= 0 { close(fd) }
                }
                if !fine { _ = failed.increment() }
                found.set(index, fine ? identity : nil)
                index += workers
            }
        }
        guard failed.increment() == 0 else { return nil }
        var identities: [String: BuildStamp.FileIdentity] = [:]
        identities.reserveCapacity(paths.count)
        for (path, identity) in zip(paths, found.values()) { if let identity { identities[path] = identity } }
        return identities
    }

    /// A run that changes a few files the previous manifest already lists, and nothing else: when the
    /// folder still holds exactly what `base` (the manifest file, bytes hashing to `baseHash`) lists, the
    /// changed files are compared and, if different, written (temporary file + rename; no intent manifest
    /// is needed, the manifest already owns every path), then the manifest is rewritten — copying the
    /// entries of unchanged documents from its old text. Nil (nothing touched) when the folder is not as
    /// `base` says: the caller then takes the general path. This keeps a one-document edit of a 10,000-document
    /// folder from naming, sorting and comparing every output again.
    /// `verifiedOutputs`: the identity of every file `base` lists, as just checked against the build
    /// stamp (with the output folders, so no temporary file was left since); the folder is then not
    /// verified again.
    func writeDelta(base: Manifest, baseHash: String, baseLines: Manifest.DocumentLines?, unchangedDocuments: Set<String>,
                    changes: [GeneratedFile], verifiedOutputs: [String: BuildStamp.FileIdentity]? = nil,
                    state: IncrementalState) throws(OutputError) -> WriteReport? {
        guard !changes.isEmpty, changes.allSatisfy({ base.files[$0.path] != nil && base.sizes[$0.path] != nil }),
              Set(changes.map(\.path)).count == changes.count,
              let root = try openRoot(create: false) else { return nil }
        defer { root.closeAll() }
        flock(root.fd, LOCK_EX)
        let timing = PhaseTimer(prefix: "  delta: ")
        guard let bytes = Self.readManifestBytes(root: root), ContentHash.hex(bytes) == baseHash else { return nil }
        var identities: [String: BuildStamp.FileIdentity]
        if let verifiedOutputs, verifiedOutputs.count == base.files.count, base.files.keys.allSatisfy({ verifiedOutputs[$0] != nil }) {
            identities = verifiedOutputs
            for change in changes { identities[change.path] = nil }
            timing.lap("\(base.files.count) outputs verified by the build stamp")
        } else {
            guard let verified = verify(base, except: Set(changes.map(\.path)), root: root) else { return nil }
            identities = verified
            timing.lap("verify \(base.files.count) outputs")
            try removeTemporaryFiles(root: root, folders: Self.folders(of: base.files.keys))
            timing.lap("leftover temporary files")
        }
        var files = base.files, sizes = base.sizes
        var report = WriteReport()
        report.identities = identities
        let pid = getpid()
        for (number, change) in changes.enumerated() {
            let components = try Self.validatedComponents(of: change.path)
            guard let folder = try root.folder(components.dropLast(), create: false, for: change.path) else { return nil }
            var text = change.contents
            let (hash, size) = text.withUTF8 { (ContentHash.hex($0), $0.count) }
            files[change.path] = hash
            sizes[change.path] = size
            let wanted = Wanted(path: change.path, components: components, contents: text, size: size, hash: hash)
            var computed: (String, Int)?
            var identity: BuildStamp.FileIdentity?
            switch try existing(wanted, folder: folder, trusted: nil, computed: &computed, identity: &identity) {
            case .same:
                report.unchanged.append(change.path)
                if let identity { report.identities[change.path] = identity }
                continue
            case .notAFile:
                throw OutputError(kind: .unsafePath, path: shown(change.path),
                                  description: "cannot write \(shown(change.path)): a folder or special file is in the way")
            case .different, .absent:
                break
            }
            let temp = "\(Self.temporaryPrefix)\(pid)-d\(number + 1)"
            try writeTemporary(text, folder: folder, temp: temp, path: change.path, flush: durable)
            report.identities[change.path] = try renameIntoPlace(folder: folder, temp: temp, name: components.last!, path: change.path)
            report.written.append(change.path)
        }
        report.written.sort { $0.utf8Precedes($1) }
        let written = Set(report.written)
        if let order = baseLines?.fileOrder, order.count == base.files.count, order.allSatisfy({ base.files[$0] != nil }),
           zip(order, order.dropFirst()).allSatisfy({ $0.utf8Precedes($1) }) {  // the base's keys, sorted
            report.unchanged = order.filter { !written.contains($0) }
        } else {
            report.unchanged = (base.files.keys.filter { !written.contains($0) }).sorted { $0.utf8Precedes($1) }
        }
        timing.lap("write \(changes.count) files")
        let final = Manifest(files: files, sizes: sizes, inputs: base.inputs, documents: state.documents, salt: state.salt)
        let finalBytes = final.encoded(reusing: baseLines, unchanged: unchangedDocuments)
        report.manifestHash = ContentHash.hex(finalBytes)
        timing.lap("encode manifest")
        if report.manifestHash != baseHash {
            try writeManifest(finalBytes, root: root)
            report.manifestWritten = true
        }
        timing.lap("write manifest")
        return report
    }

    /// Renames the written temporary file `temp` in `folder` to `name` (output `path`), removing it if that
    /// fails; the identity of the file now in place (nil when it cannot be read), for the build stamp.
    func renameIntoPlace(folder: Int32, temp: String, name: String, path: String) throws(OutputError) -> BuildStamp.FileIdentity? {
        guard renameat(folder, temp, folder, name) == 0 else {
            let code = errno
            unlinkat(folder, temp, 0)
            throw ioError(path, code)
        }
        var info = stat()
        return fstatat(folder, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? BuildStamp.FileIdentity(info) : nil
    }

    /// The folders (as components) that hold `paths`, the output folder itself included, shallowest first.
    static func folders(of paths: some Sequence<String>) -> [[String]] {
        var prefixes: Set<Substring> = []
        for path in paths { if let slash = path.utf8.lastIndex(of: 0x2F) { prefixes.insert(path[..<slash]) } }
        var folders: Set<[String]> = [[]]
        for prefix in prefixes {
            guard let components = try? validatedComponents(of: String(prefix)) else { continue }
            folders.insert(components)
        }
        return folders.sorted { $0.count < $1.count }
    }

    /// Removes the temporary files a killed run left in the output folder and in the folders of `paths`
    /// (a run that writes nothing still cleans up after an interrupted one).
    func removeLeftoverTemporaryFiles(paths: some Sequence<String>) {
        guard let root = try? openRoot(create: false) else { return }
        defer { root.closeAll() }
        flock(root.fd, LOCK_EX)
        try? removeTemporaryFiles(root: root, folders: Self.folders(of: paths))
    }

    /// The manifest currently in the output folder, if any (nil when missing or unreadable).
    public func readManifest() -> Manifest? {
        readManifestAndHash()?.manifest
    }

    /// The bytes of a file in the output folder (a valid relative path, no symbolic link followed); nil when
    /// it cannot be read.
    func readFile(_ relative: String) -> [UInt8]? {
        guard let components = try? Self.validatedComponents(of: relative),
              let root = try? openRoot(create: false) else { return nil }
        defer { root.closeAll() }
        guard let folder = try? root.folder(components.dropLast(), create: false, for: relative) else { return nil }
        let fd = openat(folder, components.last!, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return try? FSCalls.readAll(fd: fd, sizeHint: Int(info.st_size))
    }

    /// The manifest and `ContentHash.hex` of its bytes.
    func readManifestAndHash() -> (manifest: Manifest, hash: String)? {
        readManifestKeepingLines().map { ($0.manifest, $0.hash) }
    }

    /// The manifest, the hash of its bytes, and where its document entries are in them.
    func readManifestKeepingLines() -> (manifest: Manifest, hash: String, lines: Manifest.DocumentLines?)? {
        guard let root = try? openRoot(create: false) else { return nil }
        defer { root.closeAll() }
        flock(root.fd, LOCK_SH)
        guard let bytes = Self.readManifestBytes(root: root), let decoded = Manifest.decodeKeepingLines(bytes) else { return nil }
        return (decoded.manifest, ContentHash.hex(bytes), decoded.lines)
    }

    /// Checks that `path` is a safe relative output path and returns its components. Rejected: empty,
    /// absolute, `\`, NUL or control characters, empty / `.` / `..` / hidden (leading `.`) components,
    /// components over 255 bytes, characters or names that are invalid on Windows (`<>:"|?*`, `CON`,
    /// `NUL`, `COM1`…, trailing `.` or space).
    public static func validatedComponents(of path: String) throws(OutputError) -> [String] {
        if let components = plainComponents(of: path) { return components }
        return try checkedComponents(of: path)
    }

    /// ``validatedComponents(of:)`` without the shortcut for plain paths.
    static func checkedComponents(of path: String) throws(OutputError) -> [String] {
        func reject(_ reason: String) -> OutputError {
            OutputError(kind: .invalidPath, path: path, description: "invalid output path \"\(path)\": \(reason)")
        }
        if path.isEmpty { throw reject("empty") }
        if path.hasPrefix("/") { throw reject("absolute path") }
        let components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for component in components {
            if component.isEmpty { throw reject("empty path component") }
            if component == "." || component == ".." { throw reject("'\(component)' component") }
            if component.hasPrefix(".") { throw reject("hidden name (leading '.') is reserved") }
            if component.utf8.count > 255 { throw reject("name longer than 255 bytes") }
            // Names made of ASCII letters, digits, `-`, `_` and `.` (every name the emitters produce) need
            // no scalar-by-scalar check.
            let plain = component.allUTF8 { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == 0x2D || byte == 0x5F || byte == 0x2E
            }
            if !plain {
                for scalar in component.unicodeScalars {
                    if scalar.value < 0x20 || scalar.value == 0x7F { throw reject("control character or NUL") }
                    if "\\<>:\"|?*".unicodeScalars.contains(scalar) { throw reject("character '\(scalar)' is not portable") }
                }
            }
            if component.hasSuffix(" ") || component.hasSuffix(".") { throw reject("trailing space or '.'") }
            let stemLength = component.utf8.firstIndex(of: 0x2E).map { component.utf8.distance(from: component.utf8.startIndex, to: $0) }
                ?? component.utf8.count
            if !plain || stemLength == 3 || stemLength == 4 {  // device names are 3 or 4 ASCII characters
                let stem = component.split(separator: ".", maxSplits: 1).first.map { $0.uppercased() } ?? ""
                if reservedStems.contains(stem) || (stem.count == 4 && (stem.hasPrefix("COM") || stem.hasPrefix("LPT"))
                                               && stem.last!.isNumber) {
                    throw reject("reserved device name on Windows")
                }
            }
        }
        return components
    }

    /// The components of a path that passes every check of ``validatedComponents(of:)`` and is made only
    /// of ASCII letters, digits, `-`, `_` and `.` between `/` — every path the emitters produce — read
    /// byte by byte (a run checks 10,000 such paths); nil for anything else, which the full check decides.
    static func plainComponents(of path: String) -> [String]? {
        let result: [String]?? = path.utf8.withContiguousStorageIfAvailable { bytes in
            guard !bytes.isEmpty else { return nil }
            var components: [String] = []
            var start = 0
            for end in 0...bytes.count where end == bytes.count || bytes[end] == 0x2F {
                let length = end - start
                guard length > 0, length <= 255, bytes[start] != 0x2E, bytes[end - 1] != 0x2E else { return nil }
                var stemLength = length
                for offset in start..<end {
                    let byte = bytes[offset]
                    let allowed = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                        || byte == 0x2D || byte == 0x5F || byte == 0x2E
                    guard allowed else { return nil }
                    if byte == 0x2E && stemLength == length { stemLength = offset - start }
                }
                if stemLength == 3 || stemLength == 4 {  // Windows device names: CON, PRN, AUX, NUL, COM0–9, LPT0–9
                    let stem = bytes[start..<(start + stemLength)].map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }
                    let name = String(decoding: stem.prefix(3), as: UTF8.self)
                    if stemLength == 3 && reservedStems.contains(name) { return nil }
                    if stemLength == 4 && (name == "COM" || name == "LPT") && (0x30...0x39).contains(stem[3]) { return nil }
                }
                components.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
                start = end + 1
            }
            return components
        }
        return result ?? nil
    }

    // MARK: - Internals

    private static let reservedStems: Set<String> = ["CON", "PRN", "AUX", "NUL"]

    /// A class: the writer passes 10,000 of these through sorting and several passes; copying a struct
    /// of strings, arrays and a closure costs a retain and a release per field each time.
    final class Wanted: Sendable {
        let path: String
        let components: [String]
        /// The file's text (native UTF-8: hashed, compared and written without copying it to an array);
        /// nil for a known file, produced by `produce` when needed.
        let contents: String?
        let size: Int
        let hash: String
        let produce: (@Sendable () -> String)?
        /// ``KnownFile/produceBytes``.
        let produceBytes: (@Sendable () -> [UInt8])?
        /// ``KnownFile/order``.
        let order: Int

        init(path: String, components: [String], contents: String?, size: Int, hash: String, order: Int = 0,
             produce: (@Sendable () -> String)? = nil, produceBytes: (@Sendable () -> [UInt8])? = nil) {
            self.path = path
            self.components = components
            self.contents = contents
            self.size = size
            self.hash = hash
            self.order = order
            self.produce = produce
            self.produceBytes = produceBytes
        }

        func text() -> String { contents ?? produce!() }

        /// `body` with the file's bytes: produced as bytes when the producer makes them, else the text's UTF-8.
        func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
            if contents == nil, let produceBytes { return produceBytes().withUnsafeBufferPointer(body) }
            var text = text()
            return text.withUTF8(body)
        }

        func bytes() -> [UInt8] { Array(text().utf8) }

        func hasBytes(_ other: [UInt8]) -> Bool {
            var contents = text()
            return contents.withUTF8 { own in other.withUnsafeBufferPointer { own.elementsEqual($0) } }
        }
    }

    struct Staged {
        var folder: Int32
        var temp: String
        var name: String
        var path: String
    }

    struct Survey {
        var plan: Plan
        var changed: Set<String>
        /// Wanted paths where a folder or special file stands: `write` refuses before changing anything.
        var blocked: [String]
        var previous: Manifest?
        /// `ContentHash.hex` of the manifest file's bytes ("" when there is none).
        var previousHash: String
        var foldersToClean: [[String]]
        /// Hash and size of each lazy file that was produced for the comparison.
        var produced: [String: (String, Int)] = [:]
        /// The identity of each unchanged file.
        var identities: [String: BuildStamp.FileIdentity] = [:]
    }

    /// `path.lowercased()`, without Unicode tables for the usual all-ASCII path.
    static func foldedCase(_ path: String) -> String {
        guard path.allUTF8({ $0 < 0x80 }) else { return path.lowercased() }
        guard !path.allUTF8({ !(0x41...0x5A).contains($0) }) else { return path }
        return String(decoding: path.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    static func isValid(_ path: String) -> Bool { (try? validatedComponents(of: path)) != nil }

    func shown(_ relative: String) -> String { displayPath == "/" ? "/" + relative : displayPath + "/" + relative }

    func ioError(_ relative: String, _ code: Int32, _ verb: String = "write") -> OutputError {
        OutputError(kind: .io, path: shown(relative),
                    description: "cannot \(verb) \(shown(relative)): \(FSCalls.message(code))")
    }

    /// Validates and sorts the wanted files; rejects duplicates, case-only collisions and a path that
    /// is both a file and a folder.
    func prepare(_ files: [GeneratedFile], known: [KnownFile] = []) throws(OutputError) -> [Wanted] {
        // Bytes and hashes of many files are computed on all cores (the first invalid path, in input order, is reported).
        @Sendable func make(_ file: GeneratedFile) -> Result<Wanted, OutputError> {
            Result { () throws(OutputError) -> Wanted in
                let components = try Self.validatedComponents(of: file.path)
                var contents = file.contents
                contents.makeContiguousUTF8()
                let (size, hash) = contents.withUTF8 { ($0.count, ContentHash.hex($0)) }
                return Wanted(path: file.path, components: components, contents: contents, size: size, hash: hash)
            }
        }
        let timing = PhaseTimer(prefix: "    prepare: ")
        let made = files.count >= 64 ? concurrentMap(count: files.count, chunk: 32) { make(files[$0]) } : files.map(make)
        var wanted: [Wanted] = []
        wanted.reserveCapacity(files.count + known.count)
        for result in made { wanted.append(try result.get()) }
        // Validated on all cores when there are many (an incremental run names 10,000 known files).
        let validated = concurrentMap(count: known.count, chunk: 512) { index in
            Result { () throws(OutputError) in try Self.validatedComponents(of: known[index].path) }
        }
        for (file, components) in zip(known, validated) {
            wanted.append(Wanted(path: file.path, components: try components.get(), contents: nil,
                                 size: file.size, hash: file.hash, order: file.order, produce: file.produce,
                                 produceBytes: file.produceBytes))
        }
        // Sorted through their indices: moving the structs themselves in the sort costs a retain and a
        // release per field and swap.
        timing.lap("validated")
        wanted = wanted.indices.sorted { wanted[$0].path.utf8Precedes(wanted[$1].path) }.map { wanted[$0] }
        timing.lap("sorted")
        var folded: [String: String] = [:]
        folded.reserveCapacity(wanted.count)
        let sortedWanted = wanted
        // Case-folded on all cores (a tenth of this function's serial time for 10,000 files).
        let foldedPaths = concurrentMap(count: wanted.count, chunk: 512) { Self.foldedCase(sortedWanted[$0].path) }
        var folders: Set<String> = []
        var parents: Set<ArraySlice<String>> = []  // folders already listed (10,000 files share a few)
        for (file, foldedPath) in zip(wanted, foldedPaths) {
            if let other = folded.updateValue(file.path, forKey: foldedPath) {
                let reason = other == file.path ? "produced twice"
                    : "differs from \"\(other)\" only in letter case (they collide on macOS and Windows)"
                throw OutputError(kind: .invalidPath, path: file.path,
                                  description: "invalid output path \"\(file.path)\": \(reason)")
            }
            guard file.components.count > 1, parents.insert(file.components.dropLast()).inserted else { continue }
            var prefix = ""
            for component in file.components.dropLast() {
                prefix += prefix.isEmpty ? component : "/" + component
                folders.insert(Self.foldedCase(prefix))
            }
        }
        for (file, foldedPath) in zip(wanted, foldedPaths) where folders.contains(foldedPath) {
            throw OutputError(kind: .invalidPath, path: file.path,
                              description: "invalid output path \"\(file.path)\": is both a file and a folder")
        }
        return wanted
    }

    func openRoot(create: Bool) throws(OutputError) -> Folders? {
        let path = outputDirectory.path
        var fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 && errno == ENOENT {
            guard create else { return nil }
            do {
                try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
            } catch {
                throw OutputError(kind: .io, path: displayPath,
                                  description: "cannot create \(displayPath): \(Self.describe(error))")
            }
            fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        guard fd >= 0 else {
            let code = errno
            if !create && code == ENOTDIR { return nil }
            throw OutputError(kind: .io, path: displayPath, description: "cannot open \(displayPath): \(FSCalls.message(code))")
        }
        return Folders(root: fd, writer: self)
    }

    static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return FSCalls.message(Int32(underlying.code))
        }
        if ns.domain == NSPOSIXErrorDomain { return FSCalls.message(Int32(ns.code)) }
        return ns.localizedDescription
    }

    static func readManifest(root: Folders) -> Manifest? {
        readManifestBytes(root: root).flatMap(Manifest.decode)
    }

    static func readManifestBytes(root: Folders) -> [UInt8]? {
        let fd = openat(root.fd, manifestName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
              let bytes = try? FSCalls.readAll(fd: fd, sizeHint: Int(info.st_size)) else { return nil }
        return bytes
    }

    /// The manifest a write leaves: every wanted file's hash and size (lazy ones from `produced`).
    static func finalManifest(_ wanted: [Wanted], produced: [String: (String, Int)], inputs: [String: String],
                              state: IncrementalState?) -> Manifest {
        var files: [String: String] = [:], sizes: [String: Int] = [:]
        files.reserveCapacity(wanted.count)
        sizes.reserveCapacity(wanted.count)
        for file in wanted {
            // What was produced (lazy files, and known files written again) is what the folder holds.
            let info = produced[file.path] ?? (file.hash.isEmpty ? ("", 0) : (file.hash, file.size))
            files[file.path] = info.0
            sizes[file.path] = info.1
        }
        return Manifest(files: files, sizes: sizes, inputs: inputs, documents: state?.documents ?? [:], salt: state?.salt ?? "")
    }

    /// `compareManifest`: whether to work out `plan.manifestUpToDate` (for `plan`/`check`; `write` compares
    /// the bytes of the manifest it would write instead).
    func survey(_ wanted: [Wanted], root: Folders, state: IncrementalState? = nil, compareManifest: Bool = true) throws(OutputError) -> Survey {
        var plan = Plan()
        var changed: Set<String> = []
        var blocked: [String] = []
        var previous: Manifest?
        var previousHash = ""
        if let bytes = Self.readManifestBytes(root: root) {
            previousHash = ContentHash.hex(bytes)
            if let decodedManifest, decodedManifest.hash == previousHash {
                previous = decodedManifest.manifest
            } else {
                previous = Manifest.decode(bytes)
            }
        }
        var manifestInfo = stat()
        plan.manifestExists = fstatat(root.fd, Self.manifestName, &manifestInfo, AT_SYMLINK_NOFOLLOW) == 0
        var folderSet: Set<[String]> = [[]]
        // A file the previous manifest lists with the wanted hash, of the wanted size and not modified
        // after the manifest was written, is taken as unchanged without reading it.
        let trusted: ManifestTrust? = plan.manifestExists && previous != nil && !knownOutputs.isEmpty
            ? ManifestTrust(files: previous!.files, identities: knownOutputs) : nil
        var produced: [String: (String, Int)] = [:]
        // Folders resolved here (one descriptor cache); the files compared on all cores when there are
        // many (comparing means producing lazy files).
        var folders: [Int32?] = []
        folders.reserveCapacity(wanted.count)
        var lastParent: ArraySlice<String>?
        var lastFolder: Int32?
        for file in wanted {
            // Consecutive files (in path order) mostly share their folder: looked up once per run of them.
            let parent = file.components.dropLast()
            if parent != lastParent {
                folderSet.insert(Array(parent))
                lastFolder = try root.folder(parent, create: false, for: file.path)
                lastParent = parent
            }
            folders.append(lastFolder)
        }
        let outcomes = SlotBox<Result<(Existing, (String, Int)?, BuildStamp.FileIdentity?), OutputError>>(count: wanted.count)
        let targets = folders
        let next = AtomicCounter()
        DispatchQueue.concurrentPerform(iterations: wanted.count >= 256 ? ProcessInfo.processInfo.activeProcessorCount : 1) { _ in
            while true {
                let index = next.increment()
                guard index < wanted.count else { return }
                var computed: (String, Int)?
                var identity: BuildStamp.FileIdentity?
                do throws(OutputError) {
                    let state = try existing(wanted[index], folder: targets[index], trusted: trusted, computed: &computed,
                                             identity: &identity)
                    outcomes.set(index, .success((state, computed, identity)))
                } catch {
                    outcomes.set(index, .failure(error))
                }
            }
        }
        var identities: [String: BuildStamp.FileIdentity] = [:]
        identities.reserveCapacity(wanted.count)
        for (file, outcome) in zip(wanted, outcomes.values()) {
            let (state, computed, identity) = try outcome.get()
            if let computed { produced[file.path] = computed }
            switch state {
            case .same:
                plan.unchanged.append(file.path)
                if let identity { identities[file.path] = identity }
            case .different: plan.stale.append(file.path); changed.insert(file.path)
            case .notAFile: plan.stale.append(file.path); changed.insert(file.path); blocked.append(file.path)
            case .absent: plan.missing.append(file.path); changed.insert(file.path)
            }
        }
        if let previous {
            let wantedPaths = Set(wanted.map(\.path))
            for path in previous.files.keys.filter({ !wantedPaths.contains($0) }).sorted(by: { $0.utf8Precedes($1) }) {
                // A hostile or corrupt manifest cannot make the writer touch anything outside OUT.
                guard let components = try? Self.validatedComponents(of: path) else { continue }
                folderSet.insert(Array(components.dropLast()))
                guard let folder = try? root.folder(components.dropLast(), create: false, for: path) else { continue }
                var info = stat()
                guard fstatat(folder, components.last!, &info, AT_SYMLINK_NOFOLLOW) == 0,
                      info.st_mode & S_IFMT == S_IFREG else { continue }
                plan.extra.append(path)
            }
        }
        if compareManifest, let previous {
            if let state {
                // The manifest a write would leave, byte for byte (its encoding is canonical).
                let wantedManifest = Self.finalManifest(wanted, produced: produced, inputs: previous.inputs, state: state)
                plan.manifestUpToDate = ContentHash.hex(wantedManifest.encoded()) == previousHash
            } else {
                let hashes = Dictionary(uniqueKeysWithValues: wanted.map { ($0.path, $0.hash.isEmpty ? produced[$0.path]?.0 ?? "" : $0.hash) })
                plan.manifestUpToDate = previous.files == hashes && previous.version == Manifest.currentVersion
            }
        }
        return Survey(plan: plan, changed: changed, blocked: blocked, previous: previous, previousHash: previousHash,
                      foldersToClean: folderSet.sorted { $0.count < $1.count }, produced: produced, identities: identities)
    }

    enum Existing { case same, different, absent, notAFile }

    struct ManifestTrust: Sendable {
        var files: [String: String]
        var identities: [String: BuildStamp.FileIdentity]
    }


    /// `computed`: set to the hash and size of a lazy file's bytes when they had to be produced.
    func existing(_ file: Wanted, folder: Int32?, trusted: ManifestTrust? = nil, computed: inout (String, Int)?) throws(OutputError) -> Existing {
        var identity: BuildStamp.FileIdentity?
        return try existing(file, folder: folder, trusted: trusted, computed: &computed, identity: &identity)
    }

    /// As above; `identity` is set to the file's identity when it exists.
    func existing(_ file: Wanted, folder: Int32?, trusted: ManifestTrust?, computed: inout (String, Int)?,
                  identity: inout BuildStamp.FileIdentity?) throws(OutputError) -> Existing {
        guard let folder else { return .absent }
        // Most files of a large incremental run are unchanged and known to the manifest: one `fstatat`
        // settles them (a symbolic link or anything else falls through to the checks below).
        if let trusted, !file.hash.isEmpty, trusted.files[file.path] == file.hash {
            var info = stat()
            if fstatat(folder, file.components.last!, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFREG,
               Int(info.st_size) == file.size, let known = trusted.identities[file.path], known == BuildStamp.FileIdentity(info) {
                identity = known
                return .same
            }
        }
        let fd = openat(folder, file.components.last!, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return .absent }
            if code == ELOOP {
                throw OutputError(kind: .unsafePath, path: shown(file.path),
                                  description: "cannot write \(shown(file.path)): it is a symbolic link; refusing to write through it")
            }
            if code == EISDIR { return .notAFile }
            throw ioError(file.path, code, "read")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ioError(file.path, errno, "read") }
        guard info.st_mode & S_IFMT == S_IFREG else { return .notAFile }
        identity = BuildStamp.FileIdentity(info)
        if file.hash.isEmpty {  // lazy: produce it once, compare, remember its hash
            var text = file.text()
            let (hash, size) = text.withUTF8 { (ContentHash.hex($0), $0.count) }
            computed = (hash, size)
            guard Int(info.st_size) == size else { return .different }
            do {
                let bytes = try FSCalls.readAll(fd: fd, sizeHint: size)
                return text.withUTF8 { own in bytes.withUnsafeBufferPointer { own.elementsEqual($0) } } ? .same : .different
            } catch {
                throw ioError(file.path, error.code, "read")
            }
        }
        guard Int(info.st_size) == file.size else { return .different }
        do {
            return file.hasBytes(try FSCalls.readAll(fd: fd, sizeHint: file.size)) ? .same : .different
        } catch {
            throw ioError(file.path, error.code, "read")
        }
    }

    /// Removes `.rulebook-tmp-*` entries a killed run left in the folders this run touches.
    func removeTemporaryFiles(root: Folders, folders: [[String]]) throws(OutputError) {
        for components in folders {
            guard let folder = try? root.folder(components[...], create: false, for: components.joined(separator: "/"))
            else { continue }
            let copy = dup(folder)
            guard copy >= 0, let dir = fdopendir(copy) else { if copy >= 0 { close(copy) }; continue }
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(strnlen(raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)),
                           as: UTF8.self)
                }
                if name.hasPrefix(Self.temporaryPrefix) && entry.pointee.d_type != UInt8(DT_DIR) { names.append(name) }
            }
            closedir(dir)
            for name in names { unlinkat(folder, name, 0) }
        }
    }

    func writeTemporary(_ text: String, folder: Int32, temp: String, path: String, flush: Bool) throws(OutputError) {
        var text = text
        var failure: OutputError?
        text.withUTF8 { buffer in
            do throws(OutputError) { try writeTemporary(buffer, folder: folder, temp: temp, path: path, flush: flush) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    func writeTemporary(_ bytes: [UInt8], folder: Int32, temp: String, path: String, flush: Bool) throws(OutputError) {
        var failure: OutputError?
        bytes.withUnsafeBufferPointer { buffer in
            do throws(OutputError) { try writeTemporary(buffer, folder: folder, temp: temp, path: path, flush: flush) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    func writeTemporary(_ bytes: UnsafeBufferPointer<UInt8>, folder: Int32, temp: String, path: String, flush: Bool) throws(OutputError) {
        let fd = openat(folder, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ioError(path, errno) }
        do throws(FSCalls.Errno) {
            try FSCalls.writeAll(fd: fd, bytes)
            if flush && fsync(fd) != 0 { throw FSCalls.Errno(code: errno) }
        } catch {
            close(fd)
            unlinkat(folder, temp, 0)
            throw ioError(path, error.code)
        }
        if close(fd) != 0 {
            let code = errno
            unlinkat(folder, temp, 0)
            throw ioError(path, code)
        }
    }

    /// Writes `buffer` to the temporary file `temp` and renames it to `name` in `folder` (a file that did not
    /// exist: nothing is replaced); the identity of the file in place, for the build stamp (nil if `fstat`
    /// fails). The open descriptor gives it after the rename (which changes the file's ctime) without a
    /// second path lookup.
    func writeAndPlace(_ buffer: UnsafeBufferPointer<UInt8>, folder: Int32, temp: String, name: String, path: String) throws(OutputError) -> BuildStamp.FileIdentity? {
        let fd = openat(folder, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ioError(path, errno) }
        do throws(FSCalls.Errno) {
            try FSCalls.writeAll(fd: fd, buffer)
        } catch {
            close(fd)
            unlinkat(folder, temp, 0)
            throw ioError(path, error.code)
        }
        guard renameat(folder, temp, folder, name) == 0 else {
            let code = errno
            close(fd)
            unlinkat(folder, temp, 0)
            throw ioError(path, code)
        }
        var info = stat()
        let identity = fstat(fd, &info) == 0 ? BuildStamp.FileIdentity(info) : nil
        // A failed close (a network file system's deferred write error) takes the new file away again.
        guard close(fd) == 0 else {
            let code = errno
            unlinkat(folder, name, 0)
            throw ioError(path, code)
        }
        return identity
    }

    /// `syncfs(2)` when the C library has it (looked up at run time: Swift's Glibc module omits it).
    static let syncFileSystem: (@convention(c) (Int32) -> Int32)? = {
        #if os(Linux)
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
        #else
        return nil
        #endif
    }()

    func flushFileSystem(root: Folders, staged: [Staged]) throws(OutputError) {
        guard durable, let syncfs = Self.syncFileSystem else { return }  // files were fsync'd one by one
        if syncfs(root.fd) != 0 { throw ioError(staged.first?.path ?? "", errno) }
    }

    func writeManifest(_ bytes: [UInt8], root: Folders) throws(OutputError) {
        let temp = "\(Self.temporaryPrefix)\(getpid())-manifest"
        try writeTemporary(bytes, folder: root.fd, temp: temp, path: Self.manifestName, flush: durable)
        if durable, let syncfs = Self.syncFileSystem { _ = syncfs(root.fd) }  // renames and removals before it
        guard renameat(root.fd, temp, root.fd, Self.manifestName) == 0 else {
            let code = errno
            unlinkat(root.fd, temp, 0)
            throw ioError(Self.manifestName, code)
        }
        if durable { fsync(root.fd) }
    }

    /// Open folder descriptors below the output folder, opened one component at a time without
    /// following symbolic links.
    final class Folders {
        let fd: Int32
        let writer: OutputWriter
        var cache: [[String]: Int32] = [:]

        init(root: Int32, writer: OutputWriter) {
            self.fd = root
            self.writer = writer
        }

        func closeAll() {
            for descriptor in cache.values where descriptor >= 0 { close(descriptor) }
            cache = [:]
            close(fd)
        }

        /// The descriptor of the folder at `components`; nil when it (or a parent) does not exist and
        /// `create` is false, or when a regular file stands where a folder is needed and `create` is false.
        /// A folder found missing is remembered as such (-1) until it is asked for with `create`: a survey
        /// of 10,000 files in a folder not created yet looks for it once.
        func folder(_ components: ArraySlice<String>, create: Bool, for path: String) throws(OutputError) -> Int32? {
            if components.isEmpty { return fd }
            let key = Array(components)
            if let cached = cache[key] {
                if cached >= 0 { return cached }
                if !create { return nil }
            }
            guard let parent = try folder(components.dropLast(), create: create, for: path) else { return nil }
            let name = components.last!
            var child = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if child < 0 && errno == ENOENT && create {
                if mkdirat(parent, name, 0o755) != 0 && errno != EEXIST { throw writer.ioError(path, errno) }
                child = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            if child < 0 {
                let code = errno
                let shownFolder = writer.shown(key.joined(separator: "/"))
                var info = stat()
                let isLink = fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && info.st_mode & S_IFMT == S_IFLNK
                if isLink {
                    throw OutputError(kind: .unsafePath, path: writer.shown(path),
                                      description: "cannot write \(writer.shown(path)): \(shownFolder) is a symbolic link; refusing to write through it")
                }
                if code == ENOENT && !create {
                    cache[key] = -1
                    return nil
                }
                if code == ENOTDIR {
                    if !create { return nil }
                    throw OutputError(kind: .unsafePath, path: writer.shown(path),
                                      description: "cannot write \(writer.shown(path)): \(shownFolder) is not a folder")
                }
                throw writer.ioError(path, code)
            }
            cache[key] = child
            return child
        }
    }
}

/// Small POSIX helpers shared by the input collector and the output writer.
enum FSCalls {
    struct Errno: Error { var code: Int32 }

    static func message(_ code: Int32) -> String { String(cString: strerror(code)) }

    static func withCPath<T>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
        var terminated = path
        terminated.append(0)
        return terminated.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { body($0) }
        }
    }

    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        if !bytes.contains(where: { $0 >= 0x80 }) { return true }
        return String(validating: bytes, as: UTF8.self) != nil
    }

    /// Byte order (memcmp), the order paths are sorted in.
    static func lessThan(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let common = min(a.count, b.count)
        let order = a.withUnsafeBytes { x in b.withUnsafeBytes { y in common == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, common) } }
        return order != 0 ? order < 0 : a.count < b.count
    }

    /// A path as a set key, hashed in one call rather than byte by byte.
    struct PathKey: Hashable {
        var bytes: [UInt8]
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
        static func == (a: PathKey, b: PathKey) -> Bool { a.bytes == b.bytes }
    }

    static func join(_ base: [UInt8], _ name: [UInt8]) -> [UInt8] {
        if base.isEmpty { return name }
        var result = base
        if result.last != UInt8(ascii: "/") { result.append(UInt8(ascii: "/")) }
        result.append(contentsOf: name)
        return result
    }

    /// `realpath(3)` on raw bytes.
    static func realPath(_ path: [UInt8]) -> [UInt8]? {
        guard let resolved = withCPath(path, { realpath($0, nil) }) else { return nil }
        defer { free(resolved) }
        return Array(UnsafeRawBufferPointer(start: resolved, count: strlen(resolved)))
    }

    /// Whether `path` is `root` or below it (both real paths).
    static func isInside(_ path: [UInt8], _ root: [UInt8]) -> Bool {
        if root == [UInt8(ascii: "/")] { return true }
        guard path.starts(with: root) else { return false }
        return path.count == root.count || path[root.count] == UInt8(ascii: "/")
    }

    static func readAll(fd: Int32, sizeHint: Int) throws(Errno) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: max(sizeHint, 0) + 1)
        var count = 0
        while true {
            if count == result.count { result.append(contentsOf: repeatElement(0, count: max(result.count, 4096))) }
            let got = result.withUnsafeMutableBytes { buffer in
                read(fd, buffer.baseAddress! + count, buffer.count - count)
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw Errno(code: errno)
            }
            if got == 0 { break }
            count += got
            // Exactly the size `fstat` gave, and a read for one byte more came back short: the end of the
            // file (one `read` per file instead of two; a file that grows is read on until `read` says 0).
            if count == sizeHint && count < result.count { break }
        }
        result.removeSubrange(count...)
        return result
    }

    static func writeAll(fd: Int32, _ bytes: [UInt8]) throws(Errno) {
        var failure: Errno?
        bytes.withUnsafeBufferPointer { buffer in
            do throws(Errno) { try writeAll(fd: fd, buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    static func writeAll(fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            let done = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if done < 0 {
                if errno == EINTR { continue }
                throw Errno(code: errno)
            }
            offset += done
        }
    }
}

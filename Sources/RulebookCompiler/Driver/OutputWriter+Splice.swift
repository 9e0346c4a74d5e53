#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension OutputWriter {
    /// What the splice path writes: whole files (each one the manifest lists) and the new manifest's text.
    struct Splice {
        var changes: [(path: String, bytes: [UInt8])]
        var manifest: [UInt8]
        /// Every output path in byte order, when the plan has it (else the paths are sorted here).
        var fileOrder: [String]? = nil
    }

    /// The splice path's write (see `Generator`): under the folder's lock, the manifest is read and must
    /// still have `baseHash`; `plan` makes the changed files and the edited manifest from its text, reading
    /// any output it needs with the given function (relative path → bytes). Then each change is written
    /// through a temporary file and renamed, and the manifest last — as ``writeDelta`` does.
    /// `verifiedOutputs`: the identity of every file the manifest lists, just checked (the build stamp).
    /// Nil (nothing written) when the manifest is not the expected one or `plan` gives nil.
    func writeSplice(baseHash: String, verifiedOutputs: [String: BuildStamp.FileIdentity],
                     plan: (_ manifest: [UInt8], _ read: (String) -> [UInt8]?) -> Splice?) throws(OutputError) -> WriteReport? {
        guard let root = try openRoot(create: false) else { return nil }
        defer { root.closeAll() }
        flock(root.fd, LOCK_EX)
        let timing = PhaseTimer(prefix: "  splice: ")
        guard let bytes = Self.readManifestBytes(root: root), ContentHash.hex(bytes) == baseHash else { return nil }
        func read(_ relative: String) -> [UInt8]? {
            guard verifiedOutputs[relative] != nil, let components = try? Self.validatedComponents(of: relative),
                  let folder = try? root.folder(components.dropLast(), create: false, for: relative) else { return nil }
            let fd = openat(folder, components.last!, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
                  BuildStamp.FileIdentity(info) == verifiedOutputs[relative] else { return nil }
            return try? FSCalls.readAll(fd: fd, sizeHint: Int(info.st_size))
        }
        timing.lap("manifest read")
        guard let splice = plan(bytes, read),
              splice.changes.allSatisfy({ verifiedOutputs[$0.path] != nil }),
              Set(splice.changes.map(\.path)).count == splice.changes.count else { return nil }
        timing.lap("planned")
        // Every folder is opened before anything is written: past this point the write goes through or throws.
        var targets: [(folder: Int32, name: String)] = []
        for change in splice.changes {
            let components = try Self.validatedComponents(of: change.path)
            guard let folder = try root.folder(components.dropLast(), create: false, for: change.path) else { return nil }
            targets.append((folder, components.last!))
        }
        var report = WriteReport()
        report.identities = verifiedOutputs
        let pid = getpid()
        for (number, change) in splice.changes.enumerated() {
            let (folder, name) = targets[number]
            let temp = "\(Self.temporaryPrefix)\(pid)-s\(number + 1)"
            try writeTemporary(change.bytes, folder: folder, temp: temp, path: change.path, flush: durable)
            report.identities[change.path] = try renameIntoPlace(folder: folder, temp: temp, name: name, path: change.path)
            report.written.append(change.path)
        }
        timing.lap("files written")
        report.written.sort { $0.utf8Precedes($1) }
        let written = Set(report.written)
        if let order = splice.fileOrder, order.count == verifiedOutputs.count, order.allSatisfy({ verifiedOutputs[$0] != nil }),
           zip(order, order.dropFirst()).allSatisfy({ $0.utf8Precedes($1) }) {
            report.unchanged = order.filter { !written.contains($0) }
        } else {
            report.unchanged = verifiedOutputs.keys.filter { !written.contains($0) }.sorted { $0.utf8Precedes($1) }
        }
        timing.lap("unchanged listed")
        report.manifestHash = ContentHash.hex(splice.manifest)
        if report.manifestHash != baseHash {
            try writeManifest(splice.manifest, root: root)
            report.manifestWritten = true
        }
        timing.lap("manifest written")
        return report
    }
}

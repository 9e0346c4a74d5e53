import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which `rulebook` executable last brought an output folder up to date, on this machine.
///
/// The incremental state of a run lives in the output folder's manifest (``Manifest/documents``) and is
/// deterministic, so a committed `Generated/` does not change from machine to machine. It does not say
/// which build of the compiler produced it: a rebuilt compiler (a developer changing the extractor)
/// must not reuse an older one's results. So the identity of the executable (path, size, modification
/// time, inode) is kept outside the output folder, in `$RULEBOOK_CACHE_DIR` (else
/// `$XDG_CACHE_HOME/rulebook`, else `~/.cache/rulebook`), one small file per output folder. Without a
/// matching stamp (a fresh clone, another machine, a new build) a run compiles every document once.
/// The stamp also records each document's file identity and hash (``Inputs``), so an incremental run
/// does not even read unchanged documents.
enum BuildStamp {
    /// The stamp file for an output folder.
    static func location(forOutput output: String, directory: String? = nil) -> URL? {
        let environment = ProcessInfo.processInfo.environment
        var folder: URL
        if let directory {
            folder = URL(fileURLWithPath: directory)
        } else if let explicit = environment["RULEBOOK_CACHE_DIR"], !explicit.isEmpty {
            folder = URL(fileURLWithPath: explicit)
        } else if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            folder = URL(fileURLWithPath: xdg).appendingPathComponent("rulebook")
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            folder = URL(fileURLWithPath: home).appendingPathComponent(".cache/rulebook")
        } else {
            return nil
        }
        let absolute = URL(fileURLWithPath: output).standardizedFileURL.path
        return folder.appendingPathComponent("out-" + ContentHash.hex(absolute) + ".stamp")
    }

    /// The file-system identity of an input document when its bytes were hashed: size, modification and
    /// status-change times, inode. Like git's index: a document whose identity is unchanged (and was last
    /// modified before the run that recorded it started reading) is not read again; its recorded hash is used.
    struct FileIdentity: Hashable, Sendable {
        var size: Int64
        var modified: Int64
        var changed: Int64
        var inode: UInt64

        init(size: Int64, modified: Int64, changed: Int64, inode: UInt64) {
            self.size = size
            self.modified = modified
            self.changed = changed
            self.inode = inode
        }

        /// The identity in `info`.
        init(_ info: stat) {
            size = Int64(info.st_size)
            #if canImport(Darwin)
            modified = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
            changed = Int64(info.st_ctimespec.tv_sec) * 1_000_000_000 + Int64(info.st_ctimespec.tv_nsec)
            #else
            modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
            changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
            #endif
            inode = UInt64(info.st_ino)
        }

        /// `stat` of `file`; nil when it cannot be read.
        init?(_ file: InputFile) {
            var info = stat()
            guard FSCalls.withCPath(file.pathBytes, { stat($0, &info) }) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
            self.init(info)
        }
    }

    /// What a stamp records besides the executable and the manifest: per document path, its identity
    /// and content hash, and when the run that recorded them started reading (nanoseconds, wall clock).
    struct Inputs: Sendable {
        var startedReading: Int64
        var files: [String: (identity: FileIdentity, hash: String)]
        /// The paths of `files` in the order to write them (the run's input order); nil = sorted.
        var order: [String]? = nil
        /// The identity of each output file (relative path) when the run left the folder: an output is
        /// taken as unchanged without reading it only if its identity is still exactly this one (its
        /// status-change time cannot be set back, so an edit is always noticed).
        var outputs: [String: FileIdentity] = [:]

        /// The recorded hash of `path` if its identity is unchanged and it was not modified while or after
        /// that run read it (then its bytes might differ from the recorded hash).
        func hash(of path: String, identity: FileIdentity) -> String? {
            // File times come from a coarse clock (a jiffy, or a second on some file systems): a change
            // just after that run read the file could carry a time just before its start. So a file
            // changed less than two seconds before that start is read again.
            let margin: Int64 = 2_000_000_000
            guard let entry = files[path], entry.identity == identity,
                  identity.modified < startedReading - margin, identity.changed < startedReading - margin else { return nil }
            return entry.hash
        }
    }

    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// The stamp's recorded inputs when it names this executable and this manifest; nil otherwise.
    static func load(_ url: URL?, manifestHash: String) -> Inputs? {
        guard let url, let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let header = Array(text(manifestHash: manifestHash).utf8)
        let bytes = [UInt8](data)
        guard bytes.count >= header.count, bytes[..<header.count].elementsEqual(header) else { return nil }
        // Then: "started <ns>\n", and per document "<size> <mtime> <ctime> <inode> <hash> <path>\n"; read
        // byte by byte (10,000 lines on every incremental run).
        var inputs = Inputs(startedReading: 0, files: [:])
        var position = header.count
        func integer() -> Int64? {
            let negative = position < bytes.count && bytes[position] == 0x2D
            if negative { position += 1 }
            guard let magnitude = unsigned(), magnitude <= UInt64(Int64.max) else { return nil }
            return negative ? -Int64(magnitude) : Int64(magnitude)
        }
        func unsigned() -> UInt64? {
            var value: UInt64 = 0
            var digits = 0
            while position < bytes.count, (0x30...0x39).contains(bytes[position]) {
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(UInt64(bytes[position] - 0x30))
                guard !overflow1 && !overflow2 else { return nil }
                value = sum
                digits += 1
                position += 1
            }
            return digits > 0 ? value : nil
        }
        func expect(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }
        func field(until terminator: UInt8) -> String? {
            guard let end = bytes[position...].firstIndex(of: terminator) else { return nil }
            defer { position = end + 1 }
            return String(decoding: bytes[position..<end], as: UTF8.self)
        }
        let started = Array("started ".utf8)
        guard bytes.count >= position + started.count, bytes[position..<(position + started.count)].elementsEqual(started) else { return nil }
        position += started.count
        guard let start = integer(), expect(0x0A) else { return nil }
        inputs.startedReading = start
        inputs.files.reserveCapacity(bytes.count / 96)
        let outputsMarker = Array("outputs\n".utf8)
        var readingOutputs = false
        while position < bytes.count {
            if !readingOutputs, bytes.count >= position + outputsMarker.count,
               bytes[position..<(position + outputsMarker.count)].elementsEqual(outputsMarker) {
                readingOutputs = true
                position += outputsMarker.count
                continue
            }
            guard let size = integer(), expect(0x20), let modified = integer(), expect(0x20),
                  let changed = integer(), expect(0x20), let inode = unsigned(), expect(0x20),
                  let hash = field(until: 0x20), let path = field(until: 0x0A) else { return nil }
            let identity = FileIdentity(size: size, modified: modified, changed: changed, inode: inode)
            if readingOutputs {
                inputs.outputs[path] = identity
            } else {
                inputs.files[path] = (identity, hash)
            }
        }
        return inputs
    }

    /// Records that this executable wrote the manifest with `manifestHash`, and the inputs it read
    /// (atomically; failures ignored: the next run then reads every document).
    static func save(_ url: URL?, manifestHash: String, inputs: Inputs) {
        guard let url else { return }
        let folder = url.deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var bytes = Array((text(manifestHash: manifestHash) + "started \(inputs.startedReading)\n").utf8)
        bytes.reserveCapacity(bytes.count + inputs.files.count * 100)
        // Decimal digits written straight into the buffer (20,000 lines of four numbers each).
        var digits = [UInt8](repeating: 0, count: 20)
        func number<T: BinaryInteger>(_ value: T) {
            var magnitude = UInt64(truncatingIfNeeded: value.magnitude)
            if value < 0 { bytes.append(0x2D) }
            var count = 0
            repeat {
                digits[count] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(digits[index]) }
            bytes.append(0x20)
        }
        for path in inputs.order ?? inputs.files.keys.sorted() where !path.utf8.contains(0x0A) {
            guard let (identity, hash) = inputs.files[path] else { continue }
            number(identity.size)
            number(identity.modified)
            number(identity.changed)
            number(identity.inode)
            bytes += hash.utf8
            bytes.append(0x20)
            bytes += path.utf8
            bytes.append(0x0A)
        }
        bytes += "outputs\n".utf8
        for path in inputs.outputs.keys.sorted(by: { $0.utf8Precedes($1) }) where !path.utf8.contains(0x0A) {
            let identity = inputs.outputs[path]!
            number(identity.size)
            number(identity.modified)
            number(identity.changed)
            number(identity.inode)
            bytes += "- ".utf8
            bytes += path.utf8
            bytes.append(0x0A)
        }
        let temp = folder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        guard FileManager.default.createFile(atPath: temp.path, contents: Data(bytes)) else { return }
        if rename(temp.path, url.path) != 0 { unlink(temp.path) }
    }

    private static func text(manifestHash: String) -> String {
        "rulebook build stamp 3\n" + executableIdentity() + "\nmanifest " + manifestHash + "\n"
    }

    /// Path, size, modification time and inode of the running executable (a rebuild changes them).
    static func executableIdentity() -> String {
        #if os(Linux)
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first ?? ""
        #else
        let path = Bundle.main.executablePath ?? CommandLine.arguments.first ?? ""
        #endif
        var info = stat()
        guard stat(path, &info) == 0 else { return "unknown executable \(path)" }
        let identity = FileIdentity(info)
        return "\(path) \(identity.size) \(identity.modified) \(identity.inode)"
    }
}

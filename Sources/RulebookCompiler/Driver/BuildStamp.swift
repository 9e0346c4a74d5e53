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
        /// What that run reported, for a run that finds nothing changed (see ``Result``).
        var result: Result? = nil

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

    /// A run's outcome and the state of the output folder it left, so that a later run which finds
    /// every input and every output exactly as recorded can report it without reading the manifest or
    /// compiling anything (`Generator`'s shortcut). The folders' identities show that no file was added to
    /// or removed from them since (a leftover temporary file, a stray file); the manifest's that it is the
    /// one that run wrote.
    struct Result: Sendable, Equatable {
        var salt: String
        var documentCount: Int
        var codeCount: Int
        var modifierCount: Int
        var payerNoteCount: Int
        /// The output folder ("") and each folder holding outputs (relative path).
        var folders: [String: FileIdentity]
        var manifest: FileIdentity
        /// Sorted as the run reported them.
        var diagnostics: [Diagnostic]
    }

    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// The stamp's recorded inputs when it names this executable and this manifest; nil otherwise.
    static func load(_ url: URL?, manifestHash: String) -> Inputs? {
        guard let loaded = load(url), loaded.manifestHash == manifestHash else { return nil }
        return loaded.inputs
    }

    /// The stamp's manifest hash and recorded inputs when it names this executable; nil otherwise.
    static func load(_ url: URL?) -> (manifestHash: String, inputs: Inputs)? {
        guard let url, let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let header = Array(headerText().utf8)
        let bytes = [UInt8](data)
        guard bytes.count >= header.count, bytes[..<header.count].elementsEqual(header) else { return nil }
        let manifestLine = Array("manifest ".utf8)
        var start = header.count
        guard bytes.count >= start + manifestLine.count, bytes[start..<(start + manifestLine.count)].elementsEqual(manifestLine),
              let lineEnd = bytes[start...].firstIndex(of: 0x0A) else { return nil }
        start += manifestLine.count
        let manifestHash = String(decoding: bytes[start..<lineEnd], as: UTF8.self)
        // Then: "started <ns>\n", and per document "<size> <mtime> <ctime> <inode> <hash> <path>\n"; read
        // byte by byte (10,000 lines on every incremental run).
        var inputs = Inputs(startedReading: 0, files: [:])
        var position = lineEnd + 1
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
        /// `<size> <mtime> <ctime> <inode>`.
        func identity() -> FileIdentity? {
            guard let size = integer(), expect(0x20), let modified = integer(), expect(0x20),
                  let changed = integer(), expect(0x20), let inode = unsigned() else { return nil }
            return FileIdentity(size: size, modified: modified, changed: changed, inode: inode)
        }
        /// `<salt> <documents> <codes> <modifiers> <payer notes>`, then `folder <identity> - <path>` lines,
        /// `manifest <identity>`, one `diagnostic <compact JSON>` line each, and `end`.
        func readResult() -> Result? {
            guard let salt = field(until: 0x20), let documents = integer(), expect(0x20), let codes = integer(), expect(0x20),
                  let modifiers = integer(), expect(0x20), let payers = integer(), expect(0x0A) else { return nil }
            var result = Result(salt: salt, documentCount: Int(documents), codeCount: Int(codes), modifierCount: Int(modifiers),
                                payerNoteCount: Int(payers), folders: [:],
                                manifest: FileIdentity(size: 0, modified: 0, changed: 0, inode: 0), diagnostics: [])
            while true {
                // The line's first word, up to a space or the line's end.
                let wordStart = position
                while position < bytes.count, bytes[position] != 0x20, bytes[position] != 0x0A { position += 1 }
                guard position < bytes.count else { return nil }
                let word = String(decoding: bytes[wordStart..<position], as: UTF8.self)
                position += 1
                switch word {
                case "folder":
                    guard let found = identity(), expect(0x20), expect(0x2D), expect(0x20), let path = field(until: 0x0A) else { return nil }
                    result.folders[path] = found
                case "manifest":
                    guard let found = identity(), expect(0x0A) else { return nil }
                    result.manifest = found
                case "diagnostic":
                    guard let line = field(until: 0x0A), let diagnostic = Diagnostic.fromStampLine(line) else { return nil }
                    result.diagnostics.append(diagnostic)
                case "end":
                    return result
                default:
                    return nil
                }
            }
        }
        let outputsMarker = Array("outputs\n".utf8)
        let resultMarker = Array("result ".utf8)
        var readingOutputs = false
        var order: [String] = []
        order.reserveCapacity(bytes.count / 96)
        func startsWith(_ marker: [UInt8]) -> Bool {
            bytes.count >= position + marker.count && bytes[position..<(position + marker.count)].elementsEqual(marker)
        }
        while position < bytes.count {
            if !readingOutputs, startsWith(outputsMarker) {
                readingOutputs = true
                position += outputsMarker.count
                continue
            }
            if readingOutputs, startsWith(resultMarker) {
                position += resultMarker.count
                guard let result = readResult() else { return nil }
                inputs.result = result
                break
            }
            guard let recorded = identity(), expect(0x20), let hash = field(until: 0x20),
                  let path = field(until: 0x0A) else { return nil }
            if readingOutputs {
                inputs.outputs[path] = recorded
            } else {
                inputs.files[path] = (recorded, hash)
                order.append(path)
            }
        }
        inputs.order = order
        return (manifestHash, inputs)
    }

    /// Records that this executable wrote the manifest with `manifestHash`, and the inputs it read
    /// (atomically; failures ignored: the next run then reads every document).
    static func save(_ url: URL?, manifestHash: String, inputs: Inputs) {
        guard let url else { return }
        let folder = url.deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var bytes = Array((headerText() + "manifest " + manifestHash + "\n" + "started \(inputs.startedReading)\n").utf8)
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
        /// `<size> <mtime> <ctime> <inode> ` — every identity in the stamp is written so.
        func identity(_ identity: FileIdentity) {
            number(identity.size)
            number(identity.modified)
            number(identity.changed)
            number(identity.inode)
        }
        for path in inputs.order ?? inputs.files.keys.sorted() where !path.utf8.contains(0x0A) {
            guard let (fileIdentity, hash) = inputs.files[path] else { continue }
            identity(fileIdentity)
            bytes += hash.utf8
            bytes.append(0x20)
            bytes += path.utf8
            bytes.append(0x0A)
        }
        bytes += "outputs\n".utf8
        // (In the dictionary's order: a stamp is read into dictionaries, and is no canonical text.)
        for (path, outputIdentity) in inputs.outputs where !path.utf8.contains(0x0A) {
            identity(outputIdentity)
            bytes += "- ".utf8
            bytes += path.utf8
            bytes.append(0x0A)
        }
        if let result = inputs.result, !result.salt.utf8.contains(0x20), !result.salt.isEmpty {
            bytes += "result \(result.salt) \(result.documentCount) \(result.codeCount) \(result.modifierCount) \(result.payerNoteCount)\n".utf8
            for path in result.folders.keys.sorted(by: { $0.utf8Precedes($1) }) where !path.utf8.contains(0x0A) {
                bytes += "folder ".utf8
                identity(result.folders[path]!)
                bytes += "- ".utf8
                bytes += path.utf8
                bytes.append(0x0A)
            }
            bytes += "manifest ".utf8
            identity(result.manifest)
            bytes[bytes.count - 1] = 0x0A
            for diagnostic in result.diagnostics {
                bytes += "diagnostic ".utf8
                bytes += diagnostic.stampLine
                bytes.append(0x0A)
            }
            bytes += "end\n".utf8
        }
        let temp = folder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        guard FileManager.default.createFile(atPath: temp.path, contents: Data(bytes)) else { return }
        if rename(temp.path, url.path) != 0 { unlink(temp.path) }
    }

    private static func headerText() -> String {
        "rulebook build stamp 4\n" + executableIdentity() + "\n"
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

extension Diagnostic {
    /// One line of compact JSON (no line break inside) for the build stamp.
    var stampLine: [UInt8] {
        var writer = CanonicalJSONWriter(style: .compact)
        writer.beginArray()
        writer.string(path)
        writer.integer(line)
        writer.integer(column)
        writer.string(severity.rawValue)
        writer.string(id)
        writer.string(message)
        writer.endArray()
        return writer.bytes
    }

    /// The diagnostic a ``stampLine`` holds; nil when the line is not one.
    static func fromStampLine(_ line: String) -> Diagnostic? {
        guard let elements = JSONValueParser.parse(Array(line.utf8))?.elements, elements.count == 6,
              let path = elements[0].stringValue, let line = elements[1].integerValue, let column = elements[2].integerValue,
              let severityName = elements[3].stringValue, let severity = Diagnostic.Severity(rawValue: severityName),
              let id = elements[4].stringValue, let message = elements[5].stringValue else { return nil }
        return Diagnostic(path: path, line: line, column: column, severity: severity, id: id, message: message)
    }
}

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
        guard let url, let bytes = readFile(url.path) else { return nil }
        let header = Array(headerText().utf8)
        return bytes.withUnsafeBufferPointer { parse($0, header: header) }
    }

    /// The whole file at `path` (one `fstat`, one `read` for a file that does not grow meanwhile); nil when it
    /// cannot be read.
    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        // Read into uninitialised memory (no pass clearing 2 MB first); one byte more than the size, to
        // see the end of the file.
        var failed = false
        var full = false
        var bytes = [UInt8](unsafeUninitializedCapacity: max(Int(info.st_size), 0) + 1) { buffer, count in
            count = 0
            while count < buffer.count {
                let got = read(fd, buffer.baseAddress! + count, buffer.count - count)
                if got < 0 {
                    if errno == EINTR { continue }
                    failed = true
                    return
                }
                if got == 0 { return }
                count += got
            }
            full = true
        }
        if failed { return nil }
        if full {  // the file grew meanwhile: the rest too
            guard let rest = try? FSCalls.readAll(fd: fd, sizeHint: 4096) else { return nil }
            bytes += rest
        }
        return bytes
    }

    /// The stamp in `bytes` (see ``save(_:manifestHash:inputs:)`` for its lines) when it begins with `header`
    /// (the format line and this executable's identity); nil when it does not, or is damaged or cut short.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, header: [UInt8]) -> (manifestHash: String, inputs: Inputs)? {
        guard let base = bytes.baseAddress, bytes.count >= header.count,
              header.isEmpty || header.withUnsafeBytes({ memcmp(base, $0.baseAddress!, header.count) == 0 }) else { return nil }
        var reader = StampReader(base: base, count: bytes.count, position: header.count)
        guard reader.skip("manifest "), let manifestHash = reader.field(until: 0x0A) else { return nil }
        // Then: "started <ns>\n", and per document "<size> <mtime> <ctime> <inode> <hash> <path>\n" (10,000
        // lines on every incremental run), "outputs\n" and per output "<identity> - <path>\n", and maybe the
        // run's result.
        guard reader.skip("started "), let start = reader.integer(), reader.expect(0x0A) else { return nil }
        var inputs = Inputs(startedReading: start, files: [:])
        inputs.files.reserveCapacity(bytes.count / 96)
        var order: [String] = []
        order.reserveCapacity(bytes.count / 96)
        // A large stamp is read by two threads: the outputs, from the first line "outputs" on, on another
        // thread while this one reads the documents up to that line. Should the documents not end exactly
        // there (that "line" is inside a document's line: a damaged stamp), the stamp is read in one go.
        if reader.count - reader.position >= 256 * 1024, let marker = reader.find("\noutputs\n", from: reader.position - 1) {
            let tail = UncheckedSendable(StampReader(base: base, count: bytes.count, position: marker + 9))
            let task = BackgroundTask { () -> OutputsSection? in
                var reader = tail.value
                return reader.outputs()
            }
            var head = StampReader(base: base, count: marker + 1, position: reader.position)
            let documentsRead = head.documents(into: &inputs.files, order: &order)
            let outputs = task.wait()  // (before any return: that thread reads `bytes`)
            if documentsRead == .end, head.position == marker + 1 {
                guard let outputs else { return nil }
                inputs.outputs = outputs.outputs
                inputs.result = outputs.result
                inputs.order = order
                return (manifestHash, inputs)
            }
            inputs.files.removeAll(keepingCapacity: true)
            order.removeAll(keepingCapacity: true)
        }
        switch reader.documents(into: &inputs.files, order: &order) {
        case .damaged:
            return nil
        case .end:
            break
        case .outputs:
            guard let outputs = reader.outputs() else { return nil }
            inputs.outputs = outputs.outputs
            inputs.result = outputs.result
        }
        inputs.order = order
        return (manifestHash, inputs)
    }

    private struct UncheckedSendable<Value>: @unchecked Sendable {
        var value: Value
        init(_ value: Value) { self.value = value }
    }

    /// What follows a stamp's line "outputs".
    private struct OutputsSection: Sendable {
        var outputs: [String: FileIdentity] = [:]
        var result: Result?
    }

    /// Reads a stamp's bytes in place: numbers digit by digit, text fields as one `String` each.
    private struct StampReader {
        let base: UnsafePointer<UInt8>
        let count: Int
        var position: Int

        /// Skips `marker` if the bytes at the position are exactly it.
        @inline(__always)
        mutating func skip(_ marker: StaticString) -> Bool {
            let length = marker.utf8CodeUnitCount
            guard count - position >= length, memcmp(base + position, marker.utf8Start, length) == 0 else { return false }
            position += length
            return true
        }

        @inline(__always)
        mutating func expect(_ byte: UInt8) -> Bool {
            guard position < count, base[position] == byte else { return false }
            position += 1
            return true
        }

        /// `-`? and digits; nil when there are no digits or the value does not fit.
        @inline(__always)
        mutating func integer() -> Int64? {
            let negative = position < count && base[position] == 0x2D
            if negative { position += 1 }
            guard let magnitude = unsigned(), magnitude <= UInt64(Int64.max) else { return nil }
            return negative ? -Int64(magnitude) : Int64(magnitude)
        }

        /// Digits; nil when there are none or the value does not fit in 64 bits.
        @inline(__always)
        mutating func unsigned() -> UInt64? {
            var value: UInt64 = 0
            let first = position
            #if _endian(little)
            // Eight digits at a time while the value stays below 10^16 (the times are 19-digit numbers).
            while count - position >= 8, position - first <= 8 {
                let chunk = UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self)
                guard Self.isEightDigits(chunk) else { break }
                value = value &* 100_000_000 &+ Self.eightDigits(chunk)
                position += 8
            }
            #endif
            // Up to 19 digits cannot overflow (10^19 - 1 < 2^64); only a longer number is checked digit by digit.
            let quickEnd = min(count, first + 19)
            while position < quickEnd {
                let digit = base[position] &- 0x30
                guard digit < 10 else { return position > first ? value : nil }
                value = value &* 10 &+ UInt64(digit)
                position += 1
            }
            while position < count {
                let digit = base[position] &- 0x30
                guard digit < 10 else { break }
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(UInt64(digit))
                guard !overflow1 && !overflow2 else { return nil }
                value = sum
                position += 1
            }
            return position > first ? value : nil
        }

        /// Whether the eight bytes of `chunk` are all ASCII digits.
        @inline(__always)
        static func isEightDigits(_ chunk: UInt64) -> Bool {
            let high: UInt64 = 0xF0F0_F0F0_F0F0_F0F0
            return (chunk & high) | (((chunk &+ 0x0606_0606_0606_0606) & high) >> 4) == 0x3333_3333_3333_3333
        }

        /// The value of eight ASCII digits read as a little-endian word (the first digit the most significant).
        @inline(__always)
        static func eightDigits(_ chunk: UInt64) -> UInt64 {
            var value = chunk & 0x0F0F_0F0F_0F0F_0F0F
            value = (value &* 2561) >> 8
            value = ((value & 0x00FF_00FF_00FF_00FF) &* 6_553_601) >> 16
            return ((value & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) >> 32
        }

        /// The offset of the next `terminator` at or after the position.
        @inline(__always)
        func end(of terminator: UInt8) -> Int? {
            guard position < count, let found = memchr(base + position, Int32(terminator), count - position) else { return nil }
            return UnsafeRawPointer(found).assumingMemoryBound(to: UInt8.self) - base
        }

        /// The bytes up to the next `terminator` as text (invalid UTF-8 as U+FFFD); the position moves past it.
        @inline(__always)
        mutating func field(until terminator: UInt8) -> String? {
            guard let end = end(of: terminator) else { return nil }
            defer { position = end + 1 }
            return String(decoding: UnsafeBufferPointer(start: base + position, count: end - position), as: UTF8.self)
        }

        /// As `field(until:)`, without making the text.
        @inline(__always)
        mutating func skipField(until terminator: UInt8) -> Bool {
            guard let end = end(of: terminator) else { return false }
            position = end + 1
            return true
        }

        enum DocumentsEnd { case end, outputs, damaged }

        /// The document lines (`<identity> <hash> <path>`) up to the line "outputs" (read too) or the end.
        mutating func documents(into files: inout [String: (identity: FileIdentity, hash: String)], order: inout [String]) -> DocumentsEnd {
            while position < count {
                if skip("outputs\n") { return .outputs }
                guard let recorded = identity(), expect(0x20), let hash = field(until: 0x20),
                      let path = field(until: 0x0A) else { return .damaged }
                files[path] = (recorded, hash)
                order.append(path)
            }
            return .end
        }

        /// The output lines (`<identity> - <path>`; the hash field is not kept) up to the end or the line
        /// `result …` and what follows it; nil when a line is damaged.
        mutating func outputs() -> OutputsSection? {
            var section = OutputsSection()
            while position < count {
                if skip("result ") {
                    guard let result = result() else { return nil }
                    section.result = result
                    return section
                }
                guard let recorded = identity(), expect(0x20), skipField(until: 0x20),
                      let path = field(until: 0x0A) else { return nil }
                section.outputs[path] = recorded
            }
            return section
        }

        /// The offset of the first `marker` at or after `start` (`marker` is at least two bytes long).
        func find(_ marker: StaticString, from start: Int) -> Int? {
            let length = marker.utf8CodeUnitCount
            let (first, second) = (marker.utf8Start[0], marker.utf8Start[1])
            var at = start
            while count - at >= length, let found = memchr(base + at, Int32(first), count - at - length + 1) {
                let offset = UnsafeRawPointer(found).assumingMemoryBound(to: UInt8.self) - base
                if base[offset + 1] == second, memcmp(base + offset, marker.utf8Start, length) == 0 { return offset }
                at = offset + 1
            }
            return nil
        }

        /// `<size> <mtime> <ctime> <inode>`.
        @inline(__always)
        mutating func identity() -> FileIdentity? {
            guard let size = integer(), expect(0x20), let modified = integer(), expect(0x20),
                  let changed = integer(), expect(0x20), let inode = unsigned() else { return nil }
            return FileIdentity(size: size, modified: modified, changed: changed, inode: inode)
        }

        /// `<salt> <documents> <codes> <modifiers> <payer notes>`, then `folder <identity> - <path>` lines,
        /// `manifest <identity>`, one `diagnostic <compact JSON>` line each, and `end`.
        mutating func result() -> Result? {
            guard let salt = field(until: 0x20), let documents = integer(), expect(0x20), let codes = integer(), expect(0x20),
                  let modifiers = integer(), expect(0x20), let payers = integer(), expect(0x0A) else { return nil }
            var result = Result(salt: salt, documentCount: Int(documents), codeCount: Int(codes), modifierCount: Int(modifiers),
                                payerNoteCount: Int(payers), folders: [:],
                                manifest: FileIdentity(size: 0, modified: 0, changed: 0, inode: 0), diagnostics: [])
            while true {
                // The line's first word, up to a space or the line's end.
                let wordStart = position
                while position < count, base[position] != 0x20, base[position] != 0x0A { position += 1 }
                guard position < count else { return nil }
                let word = UnsafeBufferPointer(start: base + wordStart, count: position - wordStart)
                position += 1
                if word.elementsEqual("folder".utf8) {
                    guard let found = identity(), expect(0x20), expect(0x2D), expect(0x20), let path = field(until: 0x0A) else { return nil }
                    result.folders[path] = found
                } else if word.elementsEqual("manifest".utf8) {
                    guard let found = identity(), expect(0x0A) else { return nil }
                    result.manifest = found
                } else if word.elementsEqual("diagnostic".utf8) {
                    guard let line = field(until: 0x0A), let diagnostic = Diagnostic.fromStampLine(line) else { return nil }
                    result.diagnostics.append(diagnostic)
                } else if word.elementsEqual("end".utf8) {
                    return result
                } else {
                    return nil
                }
            }
        }
    }

    /// Records that this executable wrote the manifest with `manifestHash`, and the inputs it read
    /// (atomically; failures ignored: the next run then reads every document).
    static func save(_ url: URL?, manifestHash: String, inputs: Inputs) {
        guard let url else { return }
        let folder = url.deletingLastPathComponent()
        let folderPath = folder.path
        if mkdir(folderPath, 0o777) != 0 && errno != EEXIST {
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        // A temporary file in the same folder, renamed over the stamp once complete.
        let temp = folder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        unlink(temp)  // a leftover of a killed process with this id
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666)
        guard fd >= 0 else { return }
        var written = withEncoded(manifestHash: manifestHash, inputs: inputs) { bytes -> Bool in
            do throws(FSCalls.Errno) { try FSCalls.writeAll(fd: fd, bytes) } catch { return false }
            return true
        }
        if close(fd) != 0 { written = false }
        if !written || rename(temp, url.path) != 0 { unlink(temp) }
    }

    /// The bytes ``save(_:manifestHash:inputs:)`` writes.
    static func encode(manifestHash: String, inputs: Inputs) -> [UInt8] {
        withEncoded(manifestHash: manifestHash, inputs: inputs) { Array($0) }
    }

    /// `body` with the text of a stamp: the format line, this executable's identity, `manifest <hash>`,
    /// `started <ns>`, one line per document (`<size> <mtime> <ctime> <inode> <hash> <path>`, in
    /// `inputs.order`, else sorted), `outputs`, one line per output (`<identity> - <path>`), and the run's
    /// result when there is one (`result …`, `folder` lines, `manifest`, `diagnostic` lines, `end`). A path
    /// with a line break is left out.
    static func withEncoded<T>(manifestHash: String, inputs: Inputs, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        var writer = StampWriter(capacity: 4096 + inputs.files.count * 128 + inputs.outputs.count * 96)
        defer { writer.deallocate() }
        writer.append(headerText())
        writer.append("manifest ")
        writer.append(manifestHash)
        writer.append("\nstarted ")
        writer.number(inputs.startedReading, then: 0x0A)
        if let order = inputs.order {
            for path in order {
                guard let (fileIdentity, hash) = inputs.files[path] else { continue }
                writer.line(fileIdentity, hash, path)
            }
        } else {
            for path in inputs.files.keys.sorted() {
                let (fileIdentity, hash) = inputs.files[path]!
                writer.line(fileIdentity, hash, path)
            }
        }
        writer.append("outputs\n")
        // (In the dictionary's order: a stamp is read into dictionaries, and is no canonical text.)
        for (path, outputIdentity) in inputs.outputs {
            writer.line(outputIdentity, "-", path)
        }
        if let result = inputs.result, !result.salt.utf8.contains(0x20), !result.salt.isEmpty {
            writer.append("result ")
            writer.append(result.salt)
            writer.append(" ")
            writer.number(Int64(result.documentCount), then: 0x20)
            writer.number(Int64(result.codeCount), then: 0x20)
            writer.number(Int64(result.modifierCount), then: 0x20)
            writer.number(Int64(result.payerNoteCount), then: 0x0A)
            for path in result.folders.keys.sorted(by: { $0.utf8Precedes($1) }) where !path.utf8.contains(0x0A) {
                writer.append("folder ")
                writer.line(result.folders[path]!, "-", path)
            }
            writer.append("manifest ")
            writer.identity(result.manifest, then: 0x0A)
            for diagnostic in result.diagnostics {
                writer.append("diagnostic ")
                diagnostic.stampLine.withUnsafeBufferPointer { writer.append($0) }
                writer.append("\n")
            }
            writer.append("end\n")
        }
        return body(UnsafeBufferPointer(start: writer.base, count: writer.count))
    }

    /// `body` with the UTF-8 bytes of `text`, in place when its storage is contiguous.
    @inline(__always)
    private static func withUTF8<T>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(text.utf8).withUnsafeBufferPointer(body)
    }

    /// Appends a stamp's bytes to one buffer, grown ahead of each piece; numbers written two digits at a
    /// time. `deallocate()` when done.
    private struct StampWriter {
        var base: UnsafeMutablePointer<UInt8>
        var capacity: Int
        var count = 0
        /// "00", "01", … "99".
        let pairs: UnsafePointer<UInt8>

        init(capacity: Int) {
            self.capacity = max(capacity, 64)
            base = .allocate(capacity: self.capacity)
            let table: StaticString = """
                00010203040506070809101112131415161718192021222324252627282930313233343536373839\
                40414243444546474849505152535455565758596061626364656667686970717273747576777879\
                8081828384858687888990919293949596979899
                """
            pairs = table.utf8Start
        }

        func deallocate() { base.deallocate() }

        /// Room for `extra` more bytes.
        @inline(__always)
        mutating func reserve(_ extra: Int) {
            guard count + extra > capacity else { return }
            let grown = max(capacity * 2, count + extra)
            let new = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
            new.update(from: base, count: count)
            base.deallocate()
            base = new
            capacity = grown
        }

        @inline(__always)
        mutating func append(_ source: UnsafeBufferPointer<UInt8>) {
            guard let start = source.baseAddress, !source.isEmpty else { return }
            reserve(source.count)
            (base + count).update(from: start, count: source.count)
            count += source.count
        }

        @inline(__always)
        mutating func append(_ text: String) {
            BuildStamp.withUTF8(text) { append($0) }
        }

        @inline(__always)
        mutating func append(_ text: StaticString) {
            append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        /// `<identity> <hash> <path>` and a line break — unless `path` holds a line break (then nothing).
        @inline(__always)
        mutating func line(_ identity: FileIdentity, _ hash: String, _ path: String) {
            BuildStamp.withUTF8(path) { path in
                if path.isEmpty || memchr(path.baseAddress!, 0x0A, path.count) == nil { write(identity, hash, path) }
            }
        }

        @inline(__always)
        private mutating func write(_ identity: FileIdentity, _ hash: String, _ path: UnsafeBufferPointer<UInt8>) {
            self.identity(identity, then: 0x20)
            append(hash)
            reserve(path.count + 2)
            base[count] = 0x20
            count += 1
            append(path)
            base[count] = 0x0A
            count += 1
        }

        /// The decimal digits of `value` (`-` first when negative), then `terminator`.
        @inline(__always)
        mutating func number(_ value: Int64, then terminator: UInt8) {
            unsigned(value.magnitude, negative: value < 0, then: terminator)
        }

        /// The decimal digits of `value` (after a `-` when `negative`), then `terminator`.
        @inline(__always)
        mutating func unsigned(_ value: UInt64, negative: Bool = false, then terminator: UInt8) {
            // Written backwards at the end of a 22-byte window, then moved to its start.
            reserve(22)
            let window = base + count
            var cursor = window + 21
            cursor.pointee = terminator
            var rest = value
            while rest >= 100 {
                let pair = Int(rest % 100) &* 2
                rest /= 100
                cursor -= 2
                cursor[0] = pairs[pair]
                cursor[1] = pairs[pair &+ 1]
            }
            if rest >= 10 {
                cursor -= 2
                cursor[0] = pairs[Int(rest) &* 2]
                cursor[1] = pairs[Int(rest) &* 2 &+ 1]
            } else {
                cursor -= 1
                cursor.pointee = UInt8(truncatingIfNeeded: rest) &+ 0x30
            }
            if negative {
                cursor -= 1
                cursor.pointee = 0x2D
            }
            let length = window + 22 - cursor
            if cursor != window { memmove(window, cursor, length) }
            count += length
        }

        /// `<size> <mtime> <ctime> <inode>` and `terminator` — every identity in the stamp is written so.
        @inline(__always)
        mutating func identity(_ identity: FileIdentity, then terminator: UInt8) {
            number(identity.size, then: 0x20)
            number(identity.modified, then: 0x20)
            number(identity.changed, then: 0x20)
            unsigned(identity.inode, then: terminator)
        }
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

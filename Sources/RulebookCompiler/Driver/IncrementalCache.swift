import Foundation
import Rulebook
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The memo of `rulebook generate`: per input document, the content hash of its bytes and what compiling
/// it gave (its code record and its diagnostics), so a later run compiles only documents whose bytes
/// changed. Everything after extraction (cross-document checks, examples, emission, the comparison with
/// the output folder) runs on all records as in a full run, so the output is the same bytes.
///
/// An entry is a pure function of (display path, content hash, salt): the salt covers the cache format,
/// the identity of the running executable (so a rebuilt compiler never reuses results of an older one)
/// and the configuration that extraction reads (extra payer names). A missing, corrupt or foreign cache
/// is ignored: the run is then a full run.
///
/// The file is binary (`RBCACHE2`, salt, entries of path, hash, payload, bundle hash and size) and lives outside the output
/// folder, so a committed output folder holds only generated sources: `$RULEBOOK_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/rulebook`, else `~/.cache/rulebook`, one file per output folder (named by a hash of
/// its absolute path). It is replaced atomically (temporary file, then rename).
final class IncrementalCache: @unchecked Sendable {
    static let magic = Array("RBCACHE2".utf8)

    let salt: UInt64
    /// The previous run's bytes (immutable once loaded; read by the worker threads).
    private let stored: [UInt8]
    private let entries: [String: (hash: UInt64, payload: Range<Int>, bundle: BundleInfo?)]

    /// The hash and size of the JSON bundle emitted for a document's record.
    struct BundleInfo: Sendable, Hashable {
        var hash: String
        var size: Int
    }

    init(salt: UInt64, stored: [UInt8] = [], entries: [String: (hash: UInt64, payload: Range<Int>, bundle: BundleInfo?)] = [:]) {
        self.salt = salt
        self.stored = stored
        self.entries = entries
    }

    var count: Int { entries.count }

    /// The cached result for `path` when its bytes hash to `hash`; nil otherwise (or when undecodable).
    func lookup(path: String, hash: UInt64) -> (result: Pipeline.Result, payload: ArraySlice<UInt8>, bundle: BundleInfo?)? {
        guard let entry = entries[path], entry.hash == hash else { return nil }
        let payload = stored[entry.payload]
        guard let result = try? CacheCodec.decodeResult(payload, path: path) else { return nil }
        return (result, payload, entry.bundle)
    }

    // MARK: Location

    /// The cache file for an output folder (see the type's documentation).
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
        return folder.appendingPathComponent("out-" + ContentHash.hex(absolute) + ".cache")
    }

    /// Format, executable and the extraction configuration.
    static func salt(knownPayers: [String: String]) -> UInt64 {
        var text = "rulebook incremental cache 1\n"
        text += executableIdentity() + "\n"
        for key in knownPayers.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            text += key.utf8.count.description + ":" + key + "=" + knownPayers[key]! + "\n"
        }
        return ContentHash.value(Array(text.utf8))
    }

    /// Path, size and modification time of the running executable (a rebuild changes them).
    static func executableIdentity() -> String {
        #if os(Linux)
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first ?? ""
        #else
        let path = Bundle.main.executablePath ?? CommandLine.arguments.first ?? ""
        #endif
        var info = stat()
        guard stat(path, &info) == 0 else { return "unknown executable \(path)" }
        #if canImport(Darwin)
        let modified = "\(info.st_mtimespec.tv_sec).\(info.st_mtimespec.tv_nsec)"
        #else
        let modified = "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        #endif
        return "\(path) \(info.st_size) \(modified) \(info.st_ino)"
    }

    // MARK: Load and save

    /// The cache at `url` when it exists, is well formed and has this salt; otherwise an empty cache.
    static func load(from url: URL?, salt: UInt64) -> IncrementalCache {
        guard let url, let data = FileManager.default.contents(atPath: url.path) else { return IncrementalCache(salt: salt) }
        let bytes = [UInt8](data)
        var reader = CacheCodec.Reader(bytes[...])
        do {
            guard try reader.bytes(magic.count).elementsEqual(magic), try reader.uint64() == salt else {
                return IncrementalCache(salt: salt)
            }
            let count = try reader.count()
            var entries: [String: (hash: UInt64, payload: Range<Int>, bundle: BundleInfo?)] = [:]
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let path = try reader.string()
                let hash = try reader.uint64()
                let length = try reader.count()
                let start = reader.offset
                _ = try reader.bytes(length)
                var bundle: BundleInfo?
                switch try reader.byte() {
                case 0: bundle = nil
                case 1: bundle = BundleInfo(hash: try reader.string(), size: try reader.count())
                default: throw CacheCodec.Corrupt()
                }
                entries[path] = (hash, start..<(start + length), bundle)
            }
            guard reader.isAtEnd else { return IncrementalCache(salt: salt) }
            return IncrementalCache(salt: salt, stored: bytes, entries: entries)
        } catch {
            return IncrementalCache(salt: salt)
        }
    }

    /// One document's entry for the next run.
    struct Entry {
        var path: String
        var hash: UInt64
        /// The encoded result from the previous run; nil = encode `results[index]` when saving.
        var payload: ArraySlice<UInt8>?
        /// The document's position in the run's input order.
        var index: Int
        /// Whether the result came from the cache (the document's bytes were unchanged).
        var reused = false
        var bundle: BundleInfo?
    }

    /// Writes the cache for the next run (best effort: a failure only costs the next run its speed).
    /// Writes the cache for the next run (best effort: a failure only costs the next run its speed).
    /// Streamed in pieces of about 1 MB; an entry without a payload is encoded from `results[entry.index]`.
    static func save(_ entries: [Entry], results: [Pipeline.Result], salt: UInt64, to url: URL?) {
        guard let url else { return }
        let folder = url.deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        var failed = false
        var writer = CacheCodec.Writer()
        writer.bytes.reserveCapacity(1 << 21)
        func flush() {
            if !failed && (try? FSCalls.writeAll(fd: fd, writer.bytes)) == nil { failed = true }
            writer.bytes.removeAll(keepingCapacity: true)
        }
        writer.bytes += magic
        writer.uint64(salt)
        writer.count(entries.count)
        for entry in entries {
            writer.string(entry.path)
            writer.uint64(entry.hash)
            let payload = entry.payload ?? CacheCodec.encode(results[entry.index])[...]
            writer.count(payload.count)
            writer.bytes += payload
            if let bundle = entry.bundle {
                writer.bytes.append(1)
                writer.string(bundle.hash)
                writer.count(bundle.size)
            } else {
                writer.bytes.append(0)
            }
            if writer.bytes.count >= 1 << 20 { flush() }
        }
        flush()
        if close(fd) != 0 || failed || rename(temporary.path, url.path) != 0 { unlink(temporary.path) }
    }
}

/// A compact binary encoding of a compile result (record and diagnostics). Lengths and integers are
/// LEB128 (zig-zag for signed), strings are UTF-8 with a length.
enum CacheCodec {
    struct Corrupt: Error {}

    struct Writer {
        var bytes: [UInt8] = []

        mutating func uint64(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            bytes.append(UInt8(value))
        }
        mutating func count(_ value: Int) { uint64(UInt64(value)) }
        mutating func int(_ value: Int) { uint64(UInt64(bitPattern: Int64((value << 1) ^ (value >> (Int.bitWidth - 1))))) }
        mutating func string(_ text: String) {
            var text = text
            text.withUTF8 { utf8 in
                uint64(UInt64(utf8.count))
                bytes.append(contentsOf: utf8)
            }
        }
        mutating func optionalString(_ text: String?) {
            if let text { bytes.append(1); string(text) } else { bytes.append(0) }
        }
        mutating func strings(_ list: [String]) {
            count(list.count)
            for text in list { string(text) }
        }
        mutating func source(_ location: SourceLocation) {
            string(location.path)
            int(location.line)
            strings(location.section)
        }
    }

    struct Reader {
        let data: ArraySlice<UInt8>
        var offset: Int
        init(_ data: ArraySlice<UInt8>) {
            self.data = data
            self.offset = data.startIndex
        }
        var isAtEnd: Bool { offset == data.endIndex }

        mutating func byte() throws(Corrupt) -> UInt8 {
            guard offset < data.endIndex else { throw Corrupt() }
            defer { offset += 1 }
            return data[offset]
        }
        mutating func uint64() throws(Corrupt) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let byte = try byte()
                guard shift < 64 else { throw Corrupt() }
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }
        mutating func int() throws(Corrupt) -> Int {
            let raw = try uint64()
            return Int(truncatingIfNeeded: Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
        }
        mutating func count() throws(Corrupt) -> Int {
            let value = try uint64()
            guard value <= UInt64(data.endIndex - offset) + 1 << 32 else { throw Corrupt() }
            return Int(value)
        }
        mutating func bytes(_ count: Int) throws(Corrupt) -> ArraySlice<UInt8> {
            guard count >= 0, count <= data.endIndex - offset else { throw Corrupt() }
            defer { offset += count }
            return data[offset..<(offset + count)]
        }
        mutating func string() throws(Corrupt) -> String {
            let length = try uint64()
            guard length <= UInt64(data.endIndex - offset) else { throw Corrupt() }
            let slice = try bytes(Int(length))
            guard let text = slice.withUnsafeBufferPointer({ String(validating: $0, as: UTF8.self) }) else { throw Corrupt() }
            return text
        }
        mutating func optionalString() throws(Corrupt) -> String? {
            switch try byte() {
            case 0: return nil
            case 1: return try string()
            default: throw Corrupt()
            }
        }
        mutating func strings() throws(Corrupt) -> [String] {
            let count = try count()
            var list: [String] = []
            list.reserveCapacity(min(count, 1024))
            for _ in 0..<count { list.append(try string()) }
            return list
        }
        mutating func source() throws(Corrupt) -> SourceLocation {
            SourceLocation(path: try string(), line: try int(), section: try strings())
        }
        mutating func raw<T: RawRepresentable>(_ type: T.Type) throws(Corrupt) -> T where T.RawValue == String {
            guard let value = T(rawValue: try string()) else { throw Corrupt() }
            return value
        }
    }

    static func encode(_ result: Pipeline.Result) -> [UInt8] {
        var writer = Writer()
        writer.bytes.reserveCapacity(4096)
        if let record = result.record {
            writer.bytes.append(1)
            encode(record, to: &writer)
        } else {
            writer.bytes.append(0)
        }
        writer.count(result.diagnostics.count)
        for diagnostic in result.diagnostics {
            writer.string(diagnostic.path)
            writer.int(diagnostic.line)
            writer.int(diagnostic.column)
            writer.string(diagnostic.severity.rawValue)
            writer.string(diagnostic.id)
            writer.string(diagnostic.message)
        }
        return writer.bytes
    }

    static func decodeResult(_ bytes: ArraySlice<UInt8>, path: String) throws(Corrupt) -> Pipeline.Result {
        var reader = Reader(bytes)
        var record: CodeRecord?
        switch try reader.byte() {
        case 0: record = nil
        case 1: record = try decodeRecord(&reader)
        default: throw Corrupt()
        }
        let count = try reader.count()
        var diagnostics: [Diagnostic] = []
        for _ in 0..<count {
            let diagnosticPath = try reader.string()
            let line = try reader.int()
            let column = try reader.int()
            let severity = try reader.raw(Diagnostic.Severity.self)
            diagnostics.append(Diagnostic(path: diagnosticPath, line: line, column: column, severity: severity,
                                          id: try reader.string(), message: try reader.string()))
        }
        guard reader.isAtEnd else { throw Corrupt() }
        return Pipeline.Result(path: path, record: record, diagnostics: diagnostics)
    }

    static func encode(_ record: CodeRecord, to writer: inout Writer) {
        writer.string(record.system.rawValue)
        writer.string(record.code)
        writer.string(record.title)
        writer.string(record.summary)
        writer.string(record.serviceType)
        writer.strings(record.sitesOfService)
        writer.optionalString(record.effective)
        writer.source(record.source)
        writer.count(record.modifiers.count)
        for modifier in record.modifiers {
            writer.string(modifier.code)
            writer.string(modifier.description)
            writer.string(modifier.whenToUse)
            writer.source(modifier.source)
        }
        writer.count(record.payers.count)
        for payer in record.payers {
            writer.string(payer.payer)
            writer.string(payer.name)
            writer.string(payer.priorAuthorization.rawValue)
            writer.string(payer.coverage.rawValue)
            writer.string(payer.notes)
            writer.source(payer.source)
        }
        writer.count(record.policyUpdates.count)
        for update in record.policyUpdates {
            writer.string(update.date)
            writer.optionalString(update.payer)
            writer.string(update.text)
            writer.source(update.source)
        }
        writer.count(record.examples.count)
        for example in record.examples {
            writer.string(example.claim)
            writer.string(example.payer)
            writer.string(example.expected)
            writer.source(example.source)
        }
        writer.count(record.sections.count)
        for section in record.sections {
            writer.strings(section.heading)
            writer.string(section.text)
            writer.source(section.source)
        }
    }

    static func decodeRecord(_ reader: inout Reader) throws(Corrupt) -> CodeRecord {
        let system = try reader.raw(CodeSystem.self)
        let code = try reader.string()
        let title = try reader.string()
        let summary = try reader.string()
        let serviceType = try reader.string()
        let sites = try reader.strings()
        let effective = try reader.optionalString()
        let source = try reader.source()
        var modifiers: [Modifier] = []
        for _ in 0..<(try reader.count()) {
            modifiers.append(Modifier(code: try reader.string(), description: try reader.string(),
                                      whenToUse: try reader.string(), source: try reader.source()))
        }
        var payers: [PayerNote] = []
        for _ in 0..<(try reader.count()) {
            payers.append(PayerNote(payer: try reader.string(), name: try reader.string(),
                                    priorAuthorization: try reader.raw(PriorAuthorization.self),
                                    coverage: try reader.raw(Coverage.self), notes: try reader.string(),
                                    source: try reader.source()))
        }
        var updates: [PolicyUpdate] = []
        for _ in 0..<(try reader.count()) {
            updates.append(PolicyUpdate(date: try reader.string(), payer: try reader.optionalString(),
                                        text: try reader.string(), source: try reader.source()))
        }
        var examples: [ClaimExample] = []
        for _ in 0..<(try reader.count()) {
            examples.append(ClaimExample(claim: try reader.string(), payer: try reader.string(),
                                         expected: try reader.string(), source: try reader.source()))
        }
        var sections: [SectionText] = []
        for _ in 0..<(try reader.count()) {
            sections.append(SectionText(heading: try reader.strings(), text: try reader.string(), source: try reader.source()))
        }
        return CodeRecord(system: system, code: code, title: title, summary: summary, serviceType: serviceType,
                          sitesOfService: sites, effective: effective, source: source, modifiers: modifiers,
                          payers: payers, policyUpdates: updates, examples: examples, sections: sections)
    }
}

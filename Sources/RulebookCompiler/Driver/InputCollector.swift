import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One document found by `InputCollector`.
///
/// File names on Linux are arbitrary bytes, so the exact path is kept as bytes (`pathBytes`) and
/// `read()` opens it with POSIX calls. `displayPath` and `url` are for people and Foundation: any byte
/// that is not valid UTF-8 is shown as U+FFFD there, so for such a name `url` does not reach the file.
public struct InputFile: Sendable, Hashable {
    /// The exact path used to open the file: the normalised input argument joined with the relative path.
    public let pathBytes: [UInt8]
    /// `pathBytes` as text (invalid UTF-8 replaced by U+FFFD): `seeds/000_x.txt`, or absolute for an
    /// absolute input. The name used in diagnostics and provenance.
    public let displayPath: String
    /// The path below the input folder (`sub/000_x.txt`); the file name when the input is a file.
    public let relativePath: String
    /// False when the path holds bytes that are not valid UTF-8 (then `displayPath` is lossy).
    public let hasValidUTF8Path: Bool

    /// A file URL for the path. Exact only when `hasValidUTF8Path`; prefer `read()`.
    public var url: URL { URL(fileURLWithPath: displayPath) }

    public init(pathBytes: [UInt8], relativePath: String) {
        self.pathBytes = pathBytes
        self.relativePath = relativePath
        self.hasValidUTF8Path = Self.isASCII(pathBytes) || FSCalls.isValidUTF8(pathBytes)
        self.displayPath = String(decoding: pathBytes, as: UTF8.self)
    }

    /// Whether every byte is below 0x80 (eight bytes at a time).
    static func isASCII(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var index = 0
            var seen: UInt64 = 0
            while raw.count - index >= 8 {
                seen |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                index += 8
            }
            while index < raw.count {
                seen |= UInt64(raw[index])
                index += 1
            }
            return seen & 0x8080_8080_8080_8080 == 0
        }
    }

    /// Reads the whole file. Works for any file name; never blocks on a FIFO swapped in since collection.
    public func read() throws(InputReadError) -> [UInt8] {
        try readWithIdentity().bytes
    }

    /// The bytes, and the file's identity as `fstat` gave it on the open file before its bytes were read
    /// (what ``BuildStamp/FileIdentity/init(_:)-(InputFile)`` would have given just before: one `stat`
    /// less per document when the identity is not needed before reading).
    func readWithIdentity() throws(InputReadError) -> (bytes: [UInt8], identity: BuildStamp.FileIdentity) {
        let fd = FSCalls.withCPath(pathBytes) { open($0, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) }
        guard fd >= 0 else { throw InputReadError(path: displayPath, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw InputReadError(path: displayPath, errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw InputReadError(path: displayPath, message: "not a regular file")
        }
        do {
            return (try FSCalls.readAll(fd: fd, sizeHint: Int(info.st_size)), BuildStamp.FileIdentity(info))
        } catch {
            throw InputReadError(path: displayPath, errno: error.code)
        }
    }
}

/// Why `InputFile.read()` failed; `description` is `cannot read file: <reason>`.
public struct InputReadError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String
    init(path: String, errno code: Int32) { self.init(path: path, message: FSCalls.message(code)) }
    init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "cannot read file: \(message)" }
    /// The `file.unreadable` error diagnostic for this failure.
    public var diagnostic: Diagnostic {
        Diagnostic(path: path, line: 0, column: 0, severity: .error, id: DiagnosticID.fileUnreadable.rawValue,
                   message: description)
    }
}

/// Finds the documents to compile: every `.md`, `.markdown` and `.txt` file (extension matched without
/// regard to ASCII case) under each input folder, recursively, or an input that is itself a file.
///
/// - Order: sorted by the bytes of `pathBytes`, whatever order the file system lists entries in.
/// - Each file is collected once, even when inputs overlap or symlinks lead to it twice; the copy
///   reached without going through a symbolic link wins.
/// - Hidden entries (name starting with `.`) are skipped; a note (`file.skipped`) is given for hidden
///   folders and hidden files with a document extension.
/// - A symbolic link is followed only when its target lies inside the input folder; otherwise, or when
///   it leads back to a folder already read (a loop), it is skipped with a note. A link that cannot be
///   resolved (dangling, or a loop of links) is an error `file.unreadable` when its name has a document
///   extension, else a note.
/// - An unreadable folder, or an entry with a document extension that is not a regular file (FIFO,
///   socket, device), is an error `file.unreadable`; the rest is still collected.
/// - A path that is not valid UTF-8 is collected, shown with U+FFFD, with a warning `file.invalid-utf8`.
/// - A missing input is an error `file.unreadable` at line 0.
/// - Diagnostics are sorted by path.
public enum InputCollector {
    public static let documentExtensions: Set<String> = ["md", "markdown", "txt"]

    public static func collect(inputs: [String]) -> (files: [InputFile], diagnostics: [Diagnostic]) {
        var walker = Walker()
        for input in inputs { walker.collect(input: input) }
        walker.found.sort { FSCalls.lessThan($0.pathBytes, $1.pathBytes) }
        // Diagnostics by path too (stable: several for one path keep the order they were found in).
        let diagnostics = walker.diagnostics.enumerated().sorted { a, b in
            a.element.path == b.element.path ? a.offset < b.offset
                : a.element.path.utf8Precedes(b.element.path)
        }.map(\.element)
        return (walker.found, diagnostics)
    }

    /// `a//b/./c/` → `a/b/c`; `./x` → `x`; `.` → `` (the current folder); `/` stays `/`. `..` is kept.
    static func normalise(_ path: [UInt8]) -> [UInt8] {
        let absolute = path.first == UInt8(ascii: "/")
        let parts = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
            .filter { !($0.count == 1 && $0.first == UInt8(ascii: ".")) }
        var result: [UInt8] = absolute ? [UInt8(ascii: "/")] : []
        for (index, part) in parts.enumerated() {
            if index > 0 { result.append(UInt8(ascii: "/")) }
            result.append(contentsOf: part)
        }
        return result
    }

    /// `hasDocumentExtension(name)` without making text: the bytes after the last `.`, ASCII letters
    /// lowered, are `md`, `markdown` or `txt`.
    static func hasDocumentExtension(bytes name: UnsafeBufferPointer<UInt8>) -> Bool {
        // The extensions are letters only, so the "." before one of them is the last "." of the name.
        guard let base = name.baseAddress, name.count >= 3 else { return false }
        let end = base + name.count
        @inline(__always) func lowered(_ byte: UInt8) -> UInt8 { (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte }
        @inline(__always) func matches(_ ext: StaticString) -> Bool {
            let length = ext.utf8CodeUnitCount
            guard name.count > length, (end - length - 1).pointee == UInt8(ascii: ".") else { return false }
            for index in 0..<length where lowered((end - length + index).pointee) != ext.utf8Start[index] { return false }
            return true
        }
        return matches("md") || matches("txt") || matches("markdown")
    }

    static func hasDocumentExtension<C: BidirectionalCollection<UInt8>>(_ name: C) -> Bool {
        guard let dot = name.lastIndex(of: UInt8(ascii: ".")) else { return false }
        let ext = name[name.index(after: dot)...]
        guard ext.count <= 8, !ext.isEmpty else { return false }
        var lower = ""
        for byte in ext {
            let b = (byte >= 0x41 && byte <= 0x5A) ? byte + 0x20 : byte
            guard b < 0x80 else { return false }
            lower.unicodeScalars.append(Unicode.Scalar(b))
        }
        return documentExtensions.contains(lower)
    }
}

/// The state of one `collect` call.
private struct Walker {
    struct DirectoryID: Hashable { var device: UInt64; var inode: UInt64 }

    /// A folder to read: how to open it, its path below the input, and its real path.
    struct Pending {
        var path: [UInt8]
        var relative: [UInt8]
        var real: [UInt8]
        var viaLink: Bool
    }

    var found: [InputFile] = []
    var diagnostics: [Diagnostic] = []
    var visitedDirectories: Set<DirectoryID> = []

    /// The real paths of the files found (each file is collected once), kept from the first file that
    /// could repeat one on; nil until then. A file found in a folder listing has the real path
    /// `<folder's real path>/<name>`; as long as every file was found so (not through a link, not an input
    /// that is a file), in folders of different real paths each listing names no two alike, no two of
    /// them can be the same file, and they are not put in a set: `listedFolders` and `foundFolder` give
    /// each one's real path when the set is made (``makeSeenFiles()``).
    var seenFiles: Set<FSCalls.PathKey>?
    /// The real paths of the folders whose listings gave the files found, while `seenFiles` is nil.
    var listedFolders: [[UInt8]] = []
    var listedFolderSet: Set<FSCalls.PathKey> = []
    /// For each file found while `seenFiles` is nil, its folder in `listedFolders`.
    var foundFolder: [Int] = []
    /// Reused for the relative paths of files in subfolders.
    var scratch: [UInt8] = []

    mutating func note(_ path: [UInt8], _ severity: Diagnostic.Severity, _ id: DiagnosticID, _ message: String) {
        diagnostics.append(Diagnostic(path: String(decoding: path, as: UTF8.self), line: 0, column: 0,
                                      severity: severity, id: id.rawValue, message: message))
    }

    mutating func collect(input: String) {
        let path = InputCollector.normalise(Array(input.utf8))
        let openPath = path.isEmpty ? [UInt8(ascii: ".")] : path
        var info = stat()
        guard FSCalls.withCPath(openPath, { stat($0, &info) }) == 0 else {
            let code = errno
            let shown = input.isEmpty ? "." : input
            if code == ENOENT {
                note(Array(shown.utf8), .error, .fileUnreadable, "input folder does not exist")
            } else {
                note(Array(shown.utf8), .error, .fileUnreadable, "cannot read input: \(FSCalls.message(code))")
            }
            return
        }
        guard let real = FSCalls.realPath(openPath) else {
            note(openPath, .error, .fileUnreadable, "cannot resolve input path: \(FSCalls.message(errno))")
            return
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            let name = path.split(separator: UInt8(ascii: "/")).last.map(Array.init) ?? path
            add(path: path, relative: name, real: real)
        case S_IFDIR:
            walk(root: path, rootReal: real)
        default:
            note(openPath, .error, .fileUnreadable, "input is neither a folder nor a regular file")
        }
    }

    mutating func add(path: [UInt8], relative: [UInt8], real: [UInt8]) {
        makeSeenFiles()
        guard seenFiles!.insert(FSCalls.PathKey(bytes: real)).inserted else { return }
        found.append(InputFile(pathBytes: path, relativePath: String(decoding: relative, as: UTF8.self)))
    }

    /// The set of the real paths of the files found so far, from here on kept up to date.
    mutating func makeSeenFiles() {
        guard seenFiles == nil else { return }
        var seen = Set<FSCalls.PathKey>(minimumCapacity: found.count)
        for (file, folder) in zip(found, foundFolder) {
            // The name is what follows the last "/" of the path (a folder's path joined with the name).
            let name = file.pathBytes.lastIndex(of: UInt8(ascii: "/")).map { file.pathBytes[($0 + 1)...] } ?? file.pathBytes[...]
            seen.insert(FSCalls.PathKey(bytes: FSCalls.join(listedFolders[folder], Array(name))))
        }
        seenFiles = seen
        listedFolders = []
        listedFolderSet = []
        foundFolder = []
    }

    /// Adds the document `name` found in the listing of `folder` (its real path `folder.real/name`).
    /// `listed`: the folder's index in `listedFolders`, set by the first call for a listing while `seenFiles`
    /// is nil.
    mutating func addListed(_ name: UnsafeBufferPointer<UInt8>, in folder: Pending, listed: inout Int?) {
        if seenFiles == nil && listed == nil {
            // (Compared without a trailing "/": `a` and `a/` give the same paths.)
            var key = folder.real
            while key.last == UInt8(ascii: "/") { key.removeLast() }
            if listedFolderSet.insert(FSCalls.PathKey(bytes: key)).inserted {
                listed = listedFolders.count
                listedFolders.append(folder.real)
            } else {
                makeSeenFiles()  // a folder listed before under this real path: compare by real path
            }
        }
        if seenFiles != nil {
            guard seenFiles!.insert(FSCalls.PathKey(bytes: Self.join(folder.real, name))).inserted else { return }
        }
        let relative: String
        if folder.relative.isEmpty {
            relative = String(decoding: name, as: UTF8.self)
        } else {
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: folder.relative)
            if folder.relative.last != UInt8(ascii: "/") { scratch.append(UInt8(ascii: "/")) }
            scratch.append(contentsOf: name)
            relative = String(decoding: scratch, as: UTF8.self)
        }
        found.append(InputFile(pathBytes: Self.join(folder.path, name), relativePath: relative))
        if seenFiles == nil { foundFolder.append(listed!) }
    }

    /// `FSCalls.isValidUTF8(Array(bytes))`.
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if !bytes.contains(where: { $0 >= 0x80 }) { return true }
        return String(validating: bytes, as: UTF8.self) != nil
    }

    /// `FSCalls.join(base, Array(name))` in one allocation.
    static func join(_ base: [UInt8], _ name: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let separator = !base.isEmpty && base.last != UInt8(ascii: "/")
        let count = base.count + (separator ? 1 : 0) + name.count
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var at = 0
            base.withUnsafeBufferPointer { source in
                if let start = source.baseAddress, !source.isEmpty { buffer.baseAddress!.update(from: start, count: source.count) }
            }
            at = base.count
            if separator {
                buffer[at] = UInt8(ascii: "/")
                at += 1
            }
            if let start = name.baseAddress, !name.isEmpty { (buffer.baseAddress! + at).update(from: start, count: name.count) }
            initialized = count
        }
    }

    /// An entry of a folder listing: its name is `count` bytes from `start` of the listing's name buffer,
    /// `key` its first eight bytes (zero-padded) read big-endian.
    struct ListedName {
        var key: UInt64
        var start: Int
        var count: Int
        var type: UInt8
    }

    /// A symbolic link met while reading a folder, followed later.
    struct Link {
        var path: [UInt8]
        var relative: [UInt8]
        var isDocument: Bool
    }

    /// Reads the tree below `root`: first everything reachable without symbolic links, then what the
    /// links lead to, in sorted order (so the link-free path of a file is the one kept).
    mutating func walk(root: [UInt8], rootReal: [UInt8]) {
        var stack: [Pending] = [Pending(path: root, relative: [], real: rootReal, viaLink: false)]
        var links: [Link] = []
        var linkIndex = 0
        while true {
            if let next = stack.popLast() {
                read(next, rootReal: rootReal, stack: &stack, links: &links)
            } else if linkIndex < links.count {
                if let folder = followLink(links[linkIndex], rootReal: rootReal) { stack.append(folder) }
                linkIndex += 1
            } else {
                break
            }
        }
    }

    mutating func read(_ folder: Pending, rootReal: [UInt8], stack: inout [Pending], links: inout [Link]) {
        let openPath = folder.path.isEmpty ? [UInt8(ascii: ".")] : folder.path
        guard let dir = FSCalls.withCPath(openPath, { opendir($0) }) else {
            note(openPath, .error, .fileUnreadable, "cannot read folder: \(FSCalls.message(errno))")
            return
        }
        defer { closedir(dir) }
        var info = stat()
        if fstat(dirfd(dir), &info) == 0 {
            let id = DirectoryID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
            guard visitedDirectories.insert(id).inserted else {
                // Overlapping inputs reach the same real folder silently; a link doing so is reported.
                if folder.viaLink {
                    let isAncestor = rootRelation(folder.real, isPrefixOfLinkAt: folder.path, rootReal: rootReal)
                    note(openPath, .note, .fileSkipped, isAncestor
                         ? "symbolic link loop: the link leads back to a folder that contains it; skipped"
                         : "symbolic link leads to a folder already read; skipped")
                }
                return
            }
        }
        // Read the whole folder, then handle its entries in byte order: which copy of a file is kept
        // and the order of diagnostics must not depend on the order the file system lists entries in.
        // The names go into one buffer (`names`), each entry a range of it.
        var names: [UInt8] = []
        var entries: [ListedName] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 {
                    note(openPath, .error, .fileUnreadable, "cannot list folder: \(FSCalls.message(errno))")
                }
                break
            }
            let type = entry.pointee.d_type
            withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                let length = strnlen(raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
                if length <= 2 && raw[0] == 0x2E && (length == 1 || raw[1] == 0x2E) { return }  // "." and ".."
                var key: UInt64 = 0
                for index in 0..<8 { key = key << 8 | UInt64(index < length ? raw[index] : 0) }
                entries.append(ListedName(key: key, start: names.count, count: length, type: type))
                names.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[..<length]))
            }
        }
        var subfolders: [Pending] = []
        names.withUnsafeBufferPointer { names in
            func name(_ index: Int) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: names[entries[index].start..<(entries[index].start + entries[index].count)])
            }
            // Byte order (memcmp, then the shorter first). Names hold no NUL byte, so the first eight bytes
            // (zero-padded) as a big-endian number settle most comparisons.
            func precedes(_ a: ListedName, _ b: ListedName) -> Bool {
                if a.key != b.key { return a.key < b.key }
                let common = min(a.count, b.count)
                let order = common == 0 ? 0 : memcmp(names.baseAddress! + a.start, names.baseAddress! + b.start, common)
                return order != 0 ? order < 0 : a.count < b.count
            }
            entries.sort(by: precedes)
            // A listing naming a file twice (a folder changed while read) gives files that may be the same.
            if seenFiles == nil, entries.indices.dropFirst().contains(where: { !precedes(entries[$0 - 1], entries[$0]) }) {
                makeSeenFiles()
            }
            var listed: Int?
            if found.capacity < found.count + entries.count {  // (growing at least twofold: many small folders)
                found.reserveCapacity(max(found.count + entries.count, found.capacity * 2))
            }
            for index in entries.indices {
                let name = name(index)
                let type = entries[index].type
                let isDocument = InputCollector.hasDocumentExtension(bytes: name)
                var kind = mode_t(0)
                switch Int(type) {
                case Int(DT_REG): kind = S_IFREG
                case Int(DT_DIR): kind = S_IFDIR
                case Int(DT_LNK): kind = S_IFLNK
                case Int(DT_UNKNOWN):
                    var childInfo = stat()
                    if FSCalls.withCPath(Self.join(folder.path, name), { lstat($0, &childInfo) }) == 0 { kind = childInfo.st_mode & S_IFMT }
                default: kind = S_IFIFO // some other special file; reported below if it looks like a document
                }
                if name.first == UInt8(ascii: ".") {
                    if kind == S_IFDIR {
                        note(Self.join(folder.path, name), .note, .fileSkipped, "hidden folder skipped")
                    } else if isDocument {
                        note(Self.join(folder.path, name), .note, .fileSkipped, "hidden file skipped")
                    }
                    continue
                }
                if (kind == S_IFDIR || isDocument) && !Self.isValidUTF8(name) {
                    note(Self.join(folder.path, name), .warning, .fileInvalidUTF8,
                         "file name is not valid UTF-8; shown with U+FFFD in place of the invalid bytes")
                }
                switch kind {
                case S_IFREG:
                    if isDocument { addListed(name, in: folder, listed: &listed) }
                case S_IFDIR:
                    subfolders.append(Pending(path: Self.join(folder.path, name), relative: Self.join(folder.relative, name),
                                              real: Self.join(folder.real, name), viaLink: false))
                case S_IFLNK:
                    // Links are followed after the link-free tree, so a file's own path wins over an alias.
                    links.append(Link(path: Self.join(folder.path, name), relative: Self.join(folder.relative, name), isDocument: isDocument))
                default:
                    if isDocument {
                        note(Self.join(folder.path, name), .error, .fileUnreadable, "not a regular file (a FIFO, socket or device); skipped")
                    }
                }
            }
        }
        // Depth-first in sorted order (the result is sorted anyway; this keeps link order deterministic).
        subfolders.sort { FSCalls.lessThan($1.path, $0.path) }
        stack.append(contentsOf: subfolders)
    }

    /// Follows a link: adds the file it leads to, or returns the folder to read.
    mutating func followLink(_ link: Link, rootReal: [UInt8]) -> Pending? {
        let (path, relative, isDocument) = (link.path, link.relative, link.isDocument)
        var info = stat()
        guard FSCalls.withCPath(path, { stat($0, &info) }) == 0 else {
            let code = errno
            let reason = code == ELOOP ? "symbolic link loop" : code == ENOENT ? "broken symbolic link"
                : "symbolic link cannot be followed: \(FSCalls.message(code))"
            if isDocument {
                note(path, .error, .fileUnreadable, "cannot read file: \(reason)")
            } else {
                note(path, .note, .fileSkipped, "\(reason); skipped")
            }
            return nil
        }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFDIR || isDocument else { return nil }
        guard let real = FSCalls.realPath(path) else {
            note(path, isDocument ? .error : .note, isDocument ? .fileUnreadable : .fileSkipped,
                 "symbolic link cannot be resolved: \(FSCalls.message(errno))")
            return nil
        }
        guard FSCalls.isInside(real, rootReal) else {
            note(path, .note, .fileSkipped,
                 "symbolic link leads outside the input folder (to \(String(decoding: real, as: UTF8.self))); skipped")
            return nil
        }
        switch kind {
        case S_IFREG: add(path: path, relative: relative, real: real)
        case S_IFDIR: return Pending(path: path, relative: relative, real: real, viaLink: true)
        default: note(path, .error, .fileUnreadable, "not a regular file (a FIFO, socket or device); skipped")
        }
        return nil
    }

    /// Whether the real folder a link leads to contains the link itself (a loop rather than a duplicate).
    func rootRelation(_ targetReal: [UInt8], isPrefixOfLinkAt linkPath: [UInt8], rootReal: [UInt8]) -> Bool {
        var parent = linkPath
        while let last = parent.last, last != UInt8(ascii: "/") { parent.removeLast() }
        if !parent.isEmpty { parent.removeLast() }
        guard let parentReal = FSCalls.realPath(parent.isEmpty ? [UInt8(ascii: ".")] : parent) else { return false }
        return FSCalls.isInside(parentReal, targetReal)
    }
}

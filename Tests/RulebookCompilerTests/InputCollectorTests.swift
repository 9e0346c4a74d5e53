import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import RulebookCompiler

/// A fresh folder under the system temporary folder, removed by `remove()`.
struct DriverIOTempFolder {
    let path: String
    var url: URL { URL(fileURLWithPath: path) }

    init(_ label: String = #function) {
        let name = label.filter { $0.isLetter || $0.isNumber }.prefix(40)
        var base = NSTemporaryDirectory()
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        path = base + "/rulebook-driverio-\(name)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        // Make everything writable again first (tests may leave read-only folders behind).
        _ = try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `contents` at `relative`, creating folders.
    @discardableResult
    func write(_ relative: String, _ contents: String = "x") -> String {
        let full = path + "/" + relative
        let folder = (full as NSString).deletingLastPathComponent
        try! FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try! Data(contents.utf8).write(to: URL(fileURLWithPath: full))
        return full
    }

    func mkdir(_ relative: String) {
        try! FileManager.default.createDirectory(atPath: path + "/" + relative, withIntermediateDirectories: true)
    }

    func link(_ relative: String, to target: String) {
        #expect(symlink(target, path + "/" + relative) == 0)
    }

    func read(_ relative: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path + "/" + relative) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Every entry below the folder (files, folders, links), relative, sorted.
    func listing() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: path)
        var all: [String] = []
        while let next = enumerator?.nextObject() as? String { all.append(next) }
        return all.sorted()
    }
}

/// Creates a file whose name is raw bytes (possibly invalid UTF-8) inside `folder`.
func driverIOCreateRawName(_ folder: String, _ name: [UInt8], contents: String) {
    var path = Array(folder.utf8) + [UInt8(ascii: "/")] + name + [0]
    let fd = path.withUnsafeMutableBufferPointer { buffer in
        buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
            open($0, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        }
    }
    #expect(fd >= 0)
    let bytes = Array(contents.utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
    close(fd)
}

@Suite struct InputCollectorTests {
    @Test func collectsDocumentsRecursivelyInByteOrder() {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        // Created deliberately out of order; names chosen so byte order differs from "natural" orders.
        for name in ["sub/c.markdown", "b.md", "a/b.md", "a-b.md", "Z.MD", "a.txt", "sub/deeper/e.md",
                     "notes.json", "image.png", "README"] {
            temp.write(name, name)
        }
        let (files, diagnostics) = InputCollector.collect(inputs: [temp.path])
        #expect(diagnostics.isEmpty)
        let relative = files.map(\.relativePath)
        #expect(relative == ["Z.MD", "a-b.md", "a.txt", "a/b.md", "b.md", "sub/c.markdown", "sub/deeper/e.md"])
        #expect(files.map(\.displayPath) == relative.map { temp.path + "/" + $0 })
        // Sorted by bytes, whatever order the names were created in.
        #expect(files.map(\.pathBytes) == files.map(\.pathBytes).sorted { $0.lexicographicallyPrecedes($1) })
        // Each file reads back with exactly its bytes.
        for file in files { #expect(String(decoding: try! file.read(), as: UTF8.self) == file.relativePath) }
    }

    @Test func orderDoesNotDependOnCreationOrder() {
        let first = DriverIOTempFolder("order1"), second = DriverIOTempFolder("order2")
        defer { first.remove(); second.remove() }
        let names = (0..<200).map { "d\($0 % 7)/f\(($0 * 37) % 200).md" }
        for name in names { first.write(name) }
        for name in names.reversed() { second.write(name) }
        let a = InputCollector.collect(inputs: [first.path]).files.map(\.relativePath)
        let b = InputCollector.collect(inputs: [second.path]).files.map(\.relativePath)
        #expect(a.count == Set(names).count)
        #expect(a == b)
    }

    @Test func overlappingInputsAreDeduplicatedAndPathsNormalised() {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("top.md")
        temp.write("sub/inner.md")
        let expected = [temp.path + "/sub/inner.md", temp.path + "/top.md"]
        let both = InputCollector.collect(inputs: [temp.path, temp.path + "/sub"])
        #expect(both.files.map(\.displayPath) == expected)
        let reversed = InputCollector.collect(inputs: [temp.path + "/sub", temp.path])
        #expect(reversed.files.map(\.displayPath) == expected)
        #expect(reversed.files.first?.relativePath == "inner.md")  // reached first through the sub input
        let messy = InputCollector.collect(inputs: [temp.path + "//./sub/", temp.path + "/./"])
        #expect(messy.files.map(\.displayPath) == expected)
        #expect(both.diagnostics.isEmpty && reversed.diagnostics.isEmpty && messy.diagnostics.isEmpty)
    }

    @Test func normalisesInputArguments() {
        func n(_ s: String) -> String { String(decoding: InputCollector.normalise(Array(s.utf8)), as: UTF8.self) }
        #expect(n("./seeds") == "seeds")
        #expect(n("seeds//a/./b/") == "seeds/a/b")
        #expect(n(".") == "")
        #expect(n("/") == "/")
        #expect(n("//abs//x") == "/abs/x")
        #expect(n("../seeds") == "../seeds")
    }

    @Test func relativeInputGivesRelativeDisplayPaths() throws {
        // Relative to the current directory: build a relative path from it to a temp folder.
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("seeds/000_x.txt")
        let cwd = FileManager.default.currentDirectoryPath
        let ups = cwd.split(separator: "/").map { _ in ".." }.joined(separator: "/")
        let relativeInput = "./" + ups + temp.path + "/seeds/"
        let (files, _) = InputCollector.collect(inputs: [relativeInput])
        let tempComponents = temp.path.split(separator: "/").joined(separator: "/")
        #expect(files.map(\.displayPath) == [ups + "/" + tempComponents + "/seeds/000_x.txt"])
        #expect(files.first?.relativePath == "000_x.txt")
        #expect(files.first?.displayPath.contains("/./") == false)
        #expect(files.first?.displayPath.contains("//") == false)
    }

    @Test func singleFileInput() {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        let path = temp.write("doc.markdown", "hello")
        let (files, diagnostics) = InputCollector.collect(inputs: [path, path])
        #expect(diagnostics.isEmpty)
        #expect(files.count == 1)
        #expect(files.first?.displayPath == path)
        #expect(files.first?.relativePath == "doc.markdown")
        #expect(files.first?.url == URL(fileURLWithPath: path))
    }

    @Test func missingInputIsAnErrorAtLineZero() {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("ok.md")
        let missing = temp.path + "/nope"
        let (files, diagnostics) = InputCollector.collect(inputs: [missing, temp.path])
        #expect(files.map(\.relativePath) == ["ok.md"])
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.path == missing)
        #expect(diagnostics.first?.line == 0)
        #expect(diagnostics.first?.severity == .error)
        #expect(diagnostics.first?.id == DiagnosticID.fileUnreadable.rawValue)
    }

    @Test func hiddenEntriesAreSkippedWithNotes() {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("visible.md")
        temp.write(".hidden.md")
        temp.write(".git/inside.md")
        temp.write(".DS_Store")
        temp.write("sub/.draft.txt")
        let (files, diagnostics) = InputCollector.collect(inputs: [temp.path])
        #expect(files.map(\.relativePath) == ["visible.md"])
        #expect(diagnostics.allSatisfy { $0.severity == .note && $0.id == DiagnosticID.fileSkipped.rawValue })
        #expect(diagnostics.map(\.path) == [temp.path + "/.git", temp.path + "/.hidden.md", temp.path + "/sub/.draft.txt"])
    }

    @Test func symlinksLeavingTheInputAreSkipped() {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("outside/secret.md")
        temp.write("in/real.md", "real")
        temp.link("in/leak.md", to: temp.path + "/outside/secret.md")
        temp.link("in/leakdir", to: "../outside")
        temp.link("in/alias.md", to: "real.md")          // inside: same file, kept once under its own name
        temp.link("in/zlink.md", to: "sub/linked.md")    // inside: a file only reachable... also directly
        temp.write("in/sub/linked.md")
        let (files, diagnostics) = InputCollector.collect(inputs: [temp.path + "/in"])
        #expect(files.map(\.relativePath) == ["real.md", "sub/linked.md"])
        let skipped = diagnostics.filter { $0.id == DiagnosticID.fileSkipped.rawValue }.map(\.path)
        #expect(skipped == [temp.path + "/in/leak.md", temp.path + "/in/leakdir"])
        #expect(diagnostics.allSatisfy { $0.severity == .note })
        #expect(diagnostics.first?.message.contains("outside the input folder") == true)
    }

    @Test func symlinkToFolderInsideIsFollowedOnce() {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("in/docs/a.md")
        temp.write("in/.private/b.md")
        temp.link("in/alias", to: "docs")          // same folder again: a note, no duplicate
        temp.link("in/published", to: ".private")  // a hidden folder made visible on purpose
        let (files, diagnostics) = InputCollector.collect(inputs: [temp.path + "/in"])
        #expect(files.map(\.relativePath) == ["docs/a.md", "published/b.md"])
        #expect(diagnostics.contains { $0.path == temp.path + "/in/alias" && $0.message.contains("already read") })
    }

    @Test func symlinkLoopsTerminate() {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("in/a.md")
        temp.write("in/sub/b.md")
        temp.link("in/sub/up", to: "..")              // loop back to the input folder
        temp.link("in/sub/self", to: ".")             // loop to itself
        temp.link("in/x", to: "y")                    // x → y → x: ELOOP
        temp.link("in/y", to: "x")
        temp.link("in/selfref.md", to: "selfref.md")  // a "document" that is a link loop
        let (files, diagnostics) = InputCollector.collect(inputs: [temp.path + "/in"])
        #expect(files.map(\.relativePath) == ["a.md", "sub/b.md"])
        let byPath = Dictionary(diagnostics.map { ($0.path.replacingOccurrences(of: temp.path + "/in/", with: ""), $0) },
                                uniquingKeysWith: { a, _ in a })
        #expect(byPath["sub/up"]?.message.contains("loop") == true)
        #expect(byPath["sub/self"]?.message.contains("loop") == true)
        #expect(byPath["x"]?.severity == .note)
        #expect(byPath["selfref.md"]?.severity == .error)
        #expect(byPath["selfref.md"]?.id == DiagnosticID.fileUnreadable.rawValue)
    }

    @Test func unreadableEntriesGiveErrorsAndTheRestIsCollected() {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("good.md")
        temp.link("dangling.md", to: "does-not-exist.md")
        #expect(mkfifo(temp.path + "/pipe.md", 0o644) == 0)   // opening it would block: must not be read
        let (files, diagnostics) = InputCollector.collect(inputs: [temp.path])
        #expect(files.map(\.relativePath) == ["good.md"])
        #expect(diagnostics.map(\.path) == [temp.path + "/dangling.md", temp.path + "/pipe.md"])  // sorted by path
        #expect(diagnostics.allSatisfy { $0.severity == .error && $0.id == DiagnosticID.fileUnreadable.rawValue })
        #expect(diagnostics.first?.message.contains("broken symbolic link") == true)
    }

    /// Permission bits do not stop root, so this runs only as another user.
    @Test(.enabled(if: getuid() != 0, "root ignores permission bits")) func unreadableFolderAsNonRoot() {
        let temp = DriverIOTempFolder()
        defer { chmod(temp.path + "/locked", 0o755); temp.remove() }
        temp.write("good.md")
        temp.write("locked/hidden-from-us.md")
        chmod(temp.path + "/locked", 0)
        let (files, diagnostics) = InputCollector.collect(inputs: [temp.path])
        #expect(files.map(\.relativePath) == ["good.md"])
        #expect(diagnostics.map(\.id) == [DiagnosticID.fileUnreadable.rawValue])
    }

    @Test func fileReadReportsAFileSwappedForAFolder() throws {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("doc.md", "text")
        let file = try #require(InputCollector.collect(inputs: [temp.path]).files.first)
        try FileManager.default.removeItem(atPath: temp.path + "/doc.md")
        #expect(throws: InputReadError.self) { try file.read() }
        temp.mkdir("doc.md")
        do {
            _ = try file.read()
            Issue.record("reading a folder must fail")
        } catch {
            #expect(error.diagnostic.id == DiagnosticID.fileUnreadable.rawValue)
            #expect(error.description.hasPrefix("cannot read file:"))
        }
    }

    @Test func nonUTF8NamesDoNotCrashAndAreShownReplaced() throws {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("ok.md", "fine")
        driverIOCreateRawName(temp.path, [0x62, 0x61, 0x64, 0xFF, 0xFE, 0x2E, 0x6D, 0x64], contents: "bad name")  // bad\xFF\xFE.md
        temp.mkdir("dir")
        driverIOCreateRawName(temp.path + "/dir", [0xC3, 0x28, 0x2E, 0x74, 0x78, 0x74], contents: "inner")    // \xC3(.txt
        let (files, diagnostics) = InputCollector.collect(inputs: [temp.path])
        #expect(files.count == 3)
        let bad = try #require(files.first { !$0.hasValidUTF8Path && $0.relativePath.hasPrefix("bad") })
        #expect(bad.relativePath == "bad\u{FFFD}\u{FFFD}.md")
        #expect(bad.displayPath == temp.path + "/bad\u{FFFD}\u{FFFD}.md")
        #expect(bad.pathBytes.suffix(8) == [0x62, 0x61, 0x64, 0xFF, 0xFE, 0x2E, 0x6D, 0x64])
        #expect(try String(decoding: bad.read(), as: UTF8.self) == "bad name")
        let inner = try #require(files.first { $0.relativePath.hasPrefix("dir/") })
        #expect(try String(decoding: inner.read(), as: UTF8.self) == "inner")
        #expect(diagnostics.count == 2)
        #expect(diagnostics.allSatisfy { $0.severity == .warning && $0.id == DiagnosticID.fileInvalidUTF8.rawValue })
    }

    @Test func documentExtensionsIgnoreCase() {
        #expect(InputCollector.hasDocumentExtension(Array("a.MD".utf8)))
        #expect(InputCollector.hasDocumentExtension(Array("a.Markdown".utf8)))
        #expect(InputCollector.hasDocumentExtension(Array("a.b.txt".utf8)))
        #expect(!InputCollector.hasDocumentExtension(Array("a.mdx".utf8)))
        #expect(!InputCollector.hasDocumentExtension(Array("md".utf8)))
        #expect(!InputCollector.hasDocumentExtension(Array("a.".utf8)))
    }

    /// The byte-level check used while listing folders agrees with `hasDocumentExtension` on every name
    /// built from extension-like pieces (case, dots, non-ASCII bytes, lengths around 2, 3 and 8).
    @Test func documentExtensionBytesAgreeWithTheGenericCheck() {
        let pieces: [[UInt8]] = ["", ".", "..", "a", "md", "MD", "mD", "m", "d", "txt", "TxT", "tx", "markdown", "MarkDown", "markdow",
                                 "arkdown", "xmarkdown", "mdx", "[d", "m@", "m\u{7F}", "txT "].map { Array($0.utf8) }
            + [[0xC3, 0xA9], [0xFF], [0x6D, 0x80 | 0x64], [0x4D, 0x44 | 0x80]]
        var names: [[UInt8]] = []
        for a in pieces { for b in pieces { names.append(a + b); names.append(a + [0x2E] + b); names.append(a + [0x2E] + b + [0x2E, 0x6D, 0x64]) } }
        for name in names {
            let fast = name.withUnsafeBufferPointer { InputCollector.hasDocumentExtension(bytes: $0) }
            #expect(fast == InputCollector.hasDocumentExtension(name), "\(name)")
        }
    }

    /// A file reached first in a folder listing and again as an input of its own, through a link, or
    /// through a second input naming the same folder by another path is collected once, wherever it
    /// was met first; files of different folders with the same name are all kept.
    @Test func filesListedAndReachedOtherwiseAreCollectedOnce() {
        let temp = DriverIOTempFolder()
        defer { temp.remove() }
        temp.write("in/a.md")
        temp.write("in/b.md")
        temp.write("in/sub/a.md")
        temp.write("in/sub/deeper/a.md")
        temp.link("in/z-alias.md", to: "sub/a.md")   // a link to a file listed in another folder
        temp.link("in/sub/up.md", to: "../b.md")
        temp.link("via", to: "in")                    // the same folder by another path
        func displayPaths(_ inputs: [String]) -> [String] { InputCollector.collect(inputs: inputs).files.map(\.displayPath) }
        let folder = displayPaths([temp.path + "/in"])
        #expect(folder == ["a.md", "b.md", "sub/a.md", "sub/deeper/a.md"].map { temp.path + "/in/" + $0 })
        #expect(displayPaths([temp.path + "/in/a.md", temp.path + "/in"]) == folder)
        #expect(displayPaths([temp.path + "/in", temp.path + "/in/a.md"]) == folder)
        #expect(displayPaths([temp.path + "/in/sub/a.md", temp.path + "/in"]) == folder)
        #expect(displayPaths([temp.path + "/in", temp.path + "/via"]) == folder)
        #expect(displayPaths([temp.path + "/via/sub", temp.path + "/in"]).count == 4)
        #expect(displayPaths([temp.path + "/in/z-alias.md", temp.path + "/in"]) == [temp.path + "/in/a.md", temp.path + "/in/b.md",
                                                                              temp.path + "/in/sub/deeper/a.md", temp.path + "/in/z-alias.md"])
        // Many files in one folder, and a second input that is one of them.
        for index in 0..<300 { temp.write("many/f\(index).md") }
        #expect(InputCollector.collect(inputs: [temp.path + "/many"]).files.count == 300)
        #expect(InputCollector.collect(inputs: [temp.path + "/many/f7.md", temp.path + "/many"]).files.count == 300)
        #expect(InputCollector.collect(inputs: [temp.path + "/many", temp.path + "/many/f299.md", temp.path + "/many/"]).files.count == 300)
    }
}

import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import RulebookCompiler

/// Runs the real binary with stdin, stdout and stderr on a pseudo-terminal, as a person's shell would,
/// and returns every byte it wrote to the terminal.
enum PseudoTerminal {
    struct Output {
        var status: Int32
        var bytes: Data
        var raw: String { String(decoding: bytes, as: UTF8.self) }
        /// The screen a terminal would show at the end (see `Screen`).
        var screen: [String] { Screen.render(raw) }
    }

    static func run(_ arguments: [String], in directory: URL, environment: [String: String], columns: UInt16 = 120) throws -> Output {
        let master = Functions.posixOpenpt(O_RDWR | O_NOCTTY | O_CLOEXEC)
        try #require(master >= 0, "posix_openpt failed: errno \(errno)")
        defer { close(master) }
        try #require(Functions.grantpt(master) == 0 && Functions.unlockpt(master) == 0, "grantpt/unlockpt failed")
        var nameBuffer = [CChar](repeating: 0, count: 256)
        try #require(Functions.ptsnameR(master, &nameBuffer, nameBuffer.count) == 0, "ptsname_r failed")
        let name = String(decoding: nameBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)
        try #require(slave >= 0, "cannot open \(name)")
        var size = winsize(ws_row: 40, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(slave, UInt(TIOCSWINSZ), &size)

        let terminal = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: WorkflowProcess.executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment
        process.standardInput = terminal
        process.standardOutput = terminal
        process.standardError = terminal
        try process.run()
        close(slave) // only the child holds the terminal now: reading ends with EIO when it exits

        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 200)
            if ready == 0 {
                if !process.isRunning { break }
                continue
            }
            let count = read(master, &buffer, buffer.count)
            if count <= 0 { break }
            output.append(contentsOf: buffer[0..<count])
        }
        process.waitUntilExit()
        return Output(status: process.terminationStatus, bytes: output)
    }
}

/// The pseudo-terminal calls of the C library, which the Glibc module does not import (they need
/// `_XOPEN_SOURCE`); looked up by name at run time.
enum Functions {
    #if canImport(Glibc)
    typealias OpenPT = @convention(c) (Int32) -> Int32
    typealias OnFD = @convention(c) (Int32) -> Int32
    typealias PTSName = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32

    static func symbol<T>(_ name: String, as type: T.Type) -> T {
        guard let address = dlsym(nil, name) else { fatalError("\(name) is not in the C library") }
        return unsafeBitCast(address, to: type)
    }

    static let posixOpenpt = symbol("posix_openpt", as: OpenPT.self)
    static let grantpt = symbol("grantpt", as: OnFD.self)
    static let unlockpt = symbol("unlockpt", as: OnFD.self)
    static let ptsnameR = symbol("ptsname_r", as: PTSName.self)
    #else
    static func posixOpenpt(_ flags: Int32) -> Int32 { Darwin.posix_openpt(flags) }
    static func grantpt(_ fd: Int32) -> Int32 { Darwin.grantpt(fd) }
    static func unlockpt(_ fd: Int32) -> Int32 { Darwin.unlockpt(fd) }
    static func ptsnameR(_ fd: Int32, _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int32 {
        guard let name = Darwin.ptsname(fd), let buffer else { return -1 }
        strlcpy(buffer, name, size)
        return 0
    }
    #endif
}

/// A tiny terminal: applies `\r`, `\n`, `ESC[2K` (erase line) and drops SGR colour sequences, giving the
/// lines a person would read on the screen at the end.
enum Screen {
    static func render(_ text: String) -> [String] {
        var lines: [[Character]] = [[]]
        var column = 0
        let characters = Array(text)
        var index = 0
        func put(_ character: Character) {
            var line = lines[lines.count - 1]
            while line.count < column { line.append(" ") }
            if column < line.count { line[column] = character } else { line.append(character) }
            lines[lines.count - 1] = line
            column += 1
        }
        while index < characters.count {
            let character = characters[index]
            index += 1
            switch character {
            case "\r\n", "\n":
                lines.append([])
                column = 0
            case "\r":
                column = 0
            case "\u{1B}":
                // CSI: ESC [ parameters final-byte
                guard index < characters.count, characters[index] == "[" else { continue }
                index += 1
                var parameters = ""
                while index < characters.count, let ascii = characters[index].asciiValue, !(0x40...0x7E).contains(ascii) {
                    parameters.append(characters[index])
                    index += 1
                }
                guard index < characters.count else { break }
                let final = characters[index]
                index += 1
                if final == "K", parameters == "2" { lines[lines.count - 1] = [] }
            default:
                put(character)
            }
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        return lines.map { String($0).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
    }
}

@Suite(.serialized) struct WorkflowTerminalTests {
    static let documents = ["seeds/000_9b8beb7daa9829c1.txt", "seeds/004_cpt-64483-transforaminal-epidural-injection-lumbar.md"]
    static let plainLines = [
        "seeds/000_9b8beb7daa9829c1.txt:19:5: warning: table row has 1 of 3 cells; the missing cells are read as empty [table.missing-cells]",
        "seeds/004_cpt-64483-transforaminal-epidural-injection-lumbar.md:42:1: note: unknown payer 'Kaiser Permanente'; kept as 'kaiser-permanente' (add it to knownPayers in rulebook.json to name it) [payer.unknown]",
    ]

    /// On the terminal stdout (extract's JSON) and stderr mix; the diagnostics are the lines starting `seeds/`.
    static func diagnosticLines(_ screen: [String]) -> [String] { screen.filter { $0.hasPrefix("seeds/") } }

    @Test func severityWordsAreColouredOnATerminal() throws {
        let result = try PseudoTerminal.run(["extract"] + Self.documents, in: WorkflowProcess.packageRoot,
                                            environment: WorkflowProcess.environment())
        #expect(result.status == 0)
        #expect(result.raw.contains("\u{1B}[1m\u{1B}[33mwarning:\u{1B}[0m table row has 1 of 3 cells"))
        #expect(result.raw.contains("\u{1B}[1m\u{1B}[36mnote:\u{1B}[0m unknown payer 'Kaiser Permanente'"))
        #expect(result.raw.contains("\u{1B}[1mseeds/000_9b8beb7daa9829c1.txt:19:5:\u{1B}[0m "))
        // What a person reads is the same text as without colour.
        #expect(Self.diagnosticLines(result.screen) == Self.plainLines)
    }

    @Test func noColorTermDumbAndPipesGetPlainText() throws {
        for environment in [WorkflowProcess.environment(["NO_COLOR": "1"]), WorkflowProcess.environment(["NO_COLOR": ""]),
                            WorkflowProcess.environment(["TERM": "dumb"])] {
            let result = try PseudoTerminal.run(["extract"] + Self.documents, in: WorkflowProcess.packageRoot, environment: environment)
            #expect(result.status == 0)
            #expect(!result.raw.contains("\u{1B}"), "escape sequences with NO_COLOR=\(environment["NO_COLOR"] ?? "-") TERM=\(environment["TERM"] ?? "-")")
            #expect(Self.diagnosticLines(result.screen) == Self.plainLines)
        }
        // Not a terminal: plain, even with TERM set.
        let piped = try WorkflowProcess.run(["extract"] + Self.documents)
        #expect(!piped.stderr.contains("\u{1B}"))
        #expect(piped.stderr == Self.plainLines.map { $0 + "\n" }.joined())
        // Diagnostics written to a file are never coloured, even from a terminal.
        let folder = try WorkflowProcess.temporaryFolder("tty")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("d.txt")
        let toFile = try PseudoTerminal.run(["extract", "--diagnostics-output", file.path] + Self.documents,
                                            in: WorkflowProcess.packageRoot, environment: WorkflowProcess.environment())
        #expect(toFile.status == 0)
        #expect(try String(contentsOf: file, encoding: .utf8) == Self.plainLines.map { $0 + "\n" }.joined())
    }

    /// A folder of `count` documents (the TKA seed under distinct codes).
    static func manyDocuments(_ count: Int) throws -> URL {
        let root = try WorkflowProcess.temporaryFolder("many")
        let input = root.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        let text = try String(contentsOf: WorkflowProcess.packageRoot.appendingPathComponent("seeds/" + tka), encoding: .utf8)
        for index in 0..<count {
            let code = String(27000 + index)
            try text.replacingOccurrences(of: "27447", with: code)
                .write(to: input.appendingPathComponent("doc-\(code).md"), atomically: true, encoding: .utf8)
        }
        return root
    }

    @Test func progressLineIsDrawnOnATerminalAndCleared() throws {
        let root = try Self.manyDocuments(40)
        defer { try? FileManager.default.removeItem(at: root) }
        let arguments = ["generate", "--input", "docs", "--output", "out", "--jobs", "1"]
        let result = try PseudoTerminal.run(arguments, in: root, environment: WorkflowProcess.environment())
        #expect(result.status == 0)
        // The first document is always drawn, the last too, each over the previous one.
        #expect(result.raw.contains("\r\u{1B}[2Kcompiling 1/40 docs/doc-27000.md"))
        #expect(result.raw.contains("\r\u{1B}[2Kcompiling 40/40 docs/doc-27039.md\r\u{1B}[2K"))
        #expect(!result.raw.contains("compiling 1/40 docs/doc-27000.md\n"))
        // What stays on the screen: the (coloured) summary alone, the progress line cleared.
        let summary = "compiled 40 documents: 40 codes, 320 modifiers, 200 payer notes; 0 errors, 0 warnings"
        #expect(result.screen == [summary])
        #expect(result.raw.contains("\u{1B}[32m" + summary + "\u{1B}[0m"))

        // Never in pipes, in CI (even on a terminal), with TERM=dumb, or with --quiet.
        let piped = try WorkflowProcess.run(arguments, in: root)
        #expect(piped.stderr == summary + "\n")
        for environment in [WorkflowProcess.environment(["CI": "true"]), WorkflowProcess.environment(["TERM": "dumb"])] {
            let quietTerminal = try PseudoTerminal.run(arguments, in: root, environment: environment)
            #expect(!quietTerminal.raw.contains("compiling 1/40"))
            #expect(quietTerminal.screen == [summary])
        }
        let quiet = try PseudoTerminal.run(arguments + ["--quiet"], in: root, environment: WorkflowProcess.environment())
        #expect(quiet.bytes.isEmpty)
    }

    @Test func fewDocumentsDrawNoProgressLine() throws {
        let root = try Self.manyDocuments(3)
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try PseudoTerminal.run(["generate", "--input", "docs", "--output", "out"], in: root,
                                            environment: WorkflowProcess.environment(["NO_COLOR": "1"]))
        #expect(result.status == 0)
        #expect(!result.raw.contains("compiling 1/3"))
        #expect(result.raw == "compiled 3 documents: 3 codes, 24 modifiers, 15 payer notes; 0 errors, 0 warnings\r\n")
    }

    @Test func terminalDetectionFollowsTheEnvironment() {
        #expect(Terminal.detect(isTTY: true, environment: ["TERM": "xterm"]) == Terminal(isTTY: true, colour: true, progress: true))
        #expect(Terminal.detect(isTTY: true, environment: ["TERM": "xterm", "NO_COLOR": ""]).colour == false)
        #expect(Terminal.detect(isTTY: true, environment: ["TERM": "dumb"]) == Terminal(isTTY: true, colour: false, progress: false))
        #expect(Terminal.detect(isTTY: true, environment: ["CI": "1"]) == Terminal(isTTY: true, colour: true, progress: false))
        #expect(Terminal.detect(isTTY: false, environment: [:]) == .plain)
    }
}

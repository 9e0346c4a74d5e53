import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import RulebookCompiler

/// The build stamp's reader and writer against the straightforward ones they replaced (kept here as the
/// reference): the same bytes written for any inputs, the same value (or none) read from any bytes —
/// whole stamps, stamps cut at any byte, damaged ones — on one thread or two.
@Suite struct BuildStampTests {
    typealias Identity = BuildStamp.FileIdentity

    // MARK: - Reference implementations (the former `load` and `save`, on bytes)

    static func referenceParse(_ bytes: [UInt8], header: [UInt8]) -> (manifestHash: String, inputs: BuildStamp.Inputs)? {
        guard bytes.count >= header.count, bytes[..<header.count].elementsEqual(header) else { return nil }
        let manifestLine = Array("manifest ".utf8)
        var start = header.count
        guard bytes.count >= start + manifestLine.count, bytes[start..<(start + manifestLine.count)].elementsEqual(manifestLine),
              let lineEnd = bytes[start...].firstIndex(of: 0x0A) else { return nil }
        start += manifestLine.count
        let manifestHash = String(decoding: bytes[start..<lineEnd], as: UTF8.self)
        var inputs = BuildStamp.Inputs(startedReading: 0, files: [:])
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
        guard let begin = integer(), expect(0x0A) else { return nil }
        inputs.startedReading = begin
        func identity() -> Identity? {
            guard let size = integer(), expect(0x20), let modified = integer(), expect(0x20),
                  let changed = integer(), expect(0x20), let inode = unsigned() else { return nil }
            return Identity(size: size, modified: modified, changed: changed, inode: inode)
        }
        func readResult() -> BuildStamp.Result? {
            guard let salt = field(until: 0x20), let documents = integer(), expect(0x20), let codes = integer(), expect(0x20),
                  let modifiers = integer(), expect(0x20), let payers = integer(), expect(0x0A) else { return nil }
            var result = BuildStamp.Result(salt: salt, documentCount: Int(documents), codeCount: Int(codes), modifierCount: Int(modifiers),
                                           payerNoteCount: Int(payers), folders: [:],
                                           manifest: Identity(size: 0, modified: 0, changed: 0, inode: 0), diagnostics: [])
            while true {
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

    static func referenceEncode(manifestHash: String, inputs: BuildStamp.Inputs) -> [UInt8] {
        let header = "rulebook build stamp 4\n" + BuildStamp.executableIdentity() + "\n"
        var bytes = Array((header + "manifest " + manifestHash + "\n" + "started \(inputs.startedReading)\n").utf8)
        func number<T: BinaryInteger>(_ value: T) { bytes += "\(value) ".utf8 }
        func identity(_ identity: Identity) {
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
        return bytes
    }

    // MARK: - Helpers

    static var header: [UInt8] { Array(("rulebook build stamp 4\n" + BuildStamp.executableIdentity() + "\n").utf8) }

    /// A description of a loaded stamp that is equal exactly when the values are.
    static func describe(_ loaded: (manifestHash: String, inputs: BuildStamp.Inputs)?) -> String {
        guard let (hash, inputs) = loaded else { return "nil" }
        func identity(_ value: Identity) -> String { "\(value.size),\(value.modified),\(value.changed),\(value.inode)" }
        var text = "manifest \(hash.debugDescription) started \(inputs.startedReading)\n"
        for path in inputs.files.keys.sorted() { text += "file \(path.debugDescription) \(identity(inputs.files[path]!.identity)) \(inputs.files[path]!.hash.debugDescription)\n" }
        text += "order \(inputs.order.map { $0.map(\.debugDescription).joined(separator: ",") } ?? "nil")\n"
        for path in inputs.outputs.keys.sorted() { text += "output \(path.debugDescription) \(identity(inputs.outputs[path]!))\n" }
        if let result = inputs.result {
            text += "result \(result.salt.debugDescription) \(result.documentCount) \(result.codeCount) \(result.modifierCount) \(result.payerNoteCount) manifest \(identity(result.manifest))\n"
            for path in result.folders.keys.sorted() { text += "folder \(path.debugDescription) \(identity(result.folders[path]!))\n" }
            for diagnostic in result.diagnostics { text += "diagnostic \(diagnostic)\n" }
        }
        return text
    }

    static func parse(_ bytes: [UInt8]) -> (manifestHash: String, inputs: BuildStamp.Inputs)? {
        let header = header
        return bytes.withUnsafeBufferPointer { BuildStamp.parse($0, header: header) }
    }

    /// Inputs with `count` documents and outputs, odd paths and numbers among them.
    static func sampleInputs(count: Int, withResult: Bool = true) -> BuildStamp.Inputs {
        var generator = SystemRandomNumberGenerator()
        var inputs = BuildStamp.Inputs(startedReading: 1_796_311_440_057_769_217, files: [:])
        var order: [String] = []
        let odd = ["with space.md", "é/ü.txt", "", "tab\there.md", "semi;colon", "- dash", "outputs", "result x", "12 34 56 78 ab cd",
                   "🙂.md", "back\\slash", "trailing space ", String(repeating: "long/", count: 400) + "end.md"]
        for index in 0..<count {
            let path = index < odd.count ? odd[index] : "/work/bench/c10k/\(String(index).leftPad(5))_cpt-\(index * 7919 % 100_000).md"
            let identity = Identity(size: Int64(index * 313 % 9000), modified: 1_796_311_432_451_157_792 + Int64(index),
                                    changed: index % 97 == 0 ? -Int64(index) : 1_796_311_432_451_157_792 - Int64(index),
                                    inode: index % 101 == 0 ? UInt64.max - UInt64(index) : UInt64(10_000 + index))
            inputs.files[path] = (identity, String(generator.next() as UInt64, radix: 16).leftPad(16))
            order.append(path)
            inputs.outputs["JSON/cpt-\(index).json"] = Identity(size: Int64(index), modified: Int64(index) * 1_000_000_007,
                                                               changed: 1_796_311_442_458_657_388, inode: UInt64(index))
        }
        inputs.order = order
        if withResult {
            inputs.result = BuildStamp.Result(
                salt: "1090d887779523a3", documentCount: count, codeCount: count - 1, modifierCount: -5, payerNoteCount: Int.max,
                folders: ["": Identity(size: 100, modified: 1, changed: 2, inode: 3), "JSON": Identity(size: 5, modified: 6, changed: 7, inode: 8),
                          "a b": Identity(size: 0, modified: 0, changed: 0, inode: 0)],
                manifest: Identity(size: 3_867_972, modified: 1_796_311_442_458_657_388, changed: 1_796_311_442_458_657_388, inode: 30174),
                diagnostics: [Diagnostic(path: "a \"b\"\n", line: 3, column: 1, severity: .warning, id: "modifier.unknown", message: "é \u{202E} x\ny"),
                              Diagnostic(path: "z.md", line: 0, column: 0, severity: .error, id: "file.unreadable", message: "cannot read")])
        }
        return inputs
    }

    // MARK: - Tests

    /// The writer's bytes are the reference writer's, for odd paths and numbers (negative, Int64.min, the
    /// largest inode), a path with a line break (left out), no order (sorted), an order naming a path twice
    /// or one without an entry, and results with and without a usable salt.
    @Test func writesTheReferenceBytes() {
        var inputs = Self.sampleInputs(count: 40)
        inputs.files["line\nbreak.md"] = (Identity(size: 1, modified: 2, changed: 3, inode: 4), "abc")
        inputs.outputs["out\nput"] = Identity(size: 1, modified: 2, changed: 3, inode: 4)
        inputs.files["extremes.md"] = (Identity(size: Int64.min, modified: Int64.max, changed: -1, inode: UInt64.max), "hash with space")
        inputs.order! += ["line\nbreak.md", "extremes.md", "missing.md", "extremes.md"]
        inputs.startedReading = -42
        #expect(BuildStamp.encode(manifestHash: "88acc20843b62da7", inputs: inputs) == Self.referenceEncode(manifestHash: "88acc20843b62da7", inputs: inputs))
        var sorted = inputs
        sorted.order = nil
        sorted.result?.folders["with\nbreak"] = Identity(size: 9, modified: 9, changed: 9, inode: 9)
        #expect(BuildStamp.encode(manifestHash: "", inputs: sorted) == Self.referenceEncode(manifestHash: "", inputs: sorted))
        for salt in ["", "with space", "ok"] {
            var other = inputs
            other.result?.salt = salt
            #expect(BuildStamp.encode(manifestHash: "x", inputs: other) == Self.referenceEncode(manifestHash: "x", inputs: other))
        }
        let empty = BuildStamp.Inputs(startedReading: 0, files: [:])
        #expect(BuildStamp.encode(manifestHash: "m", inputs: empty) == Self.referenceEncode(manifestHash: "m", inputs: empty))
        // Numbers of every length.
        var numbers = BuildStamp.Inputs(startedReading: 1, files: [:], order: [])
        var value: UInt64 = 1
        for digits in 1...20 {
            let path = "n\(digits)"
            numbers.files[path] = (Identity(size: Int64(truncatingIfNeeded: value), modified: -Int64(truncatingIfNeeded: value / 2),
                                            changed: Int64(truncatingIfNeeded: value &- 1), inode: value &* 9), "h")
            numbers.order!.append(path)
            value = value &* 10
        }
        #expect(BuildStamp.encode(manifestHash: "m", inputs: numbers) == Self.referenceEncode(manifestHash: "m", inputs: numbers))
    }

    /// Saved and loaded back through the file: the same value; the file is replaced atomically (no
    /// temporary file left) and a missing folder is created.
    @Test func savesAndLoadsThroughTheFile() throws {
        let folder = NSTemporaryDirectory() + "/rulebook-stamp-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let url = URL(fileURLWithPath: folder + "/deeper/out.stamp")
        let inputs = Self.sampleInputs(count: 3000)
        BuildStamp.save(url, manifestHash: "00ff", inputs: inputs)
        let bytes = try [UInt8](Data(contentsOf: url))
        #expect(bytes == Self.referenceEncode(manifestHash: "00ff", inputs: inputs))
        #expect(Self.describe(BuildStamp.load(url)) == Self.describe(Self.referenceParse(bytes, header: Self.header)))
        #expect(BuildStamp.load(url, manifestHash: "00ff")?.order == inputs.order)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/deeper") == ["out.stamp"])
        BuildStamp.save(url, manifestHash: "0100", inputs: BuildStamp.Inputs(startedReading: 5, files: [:]))
        #expect(BuildStamp.load(url, manifestHash: "0100")?.startedReading == 5)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/deeper") == ["out.stamp"])
        // A folder that cannot be made: nothing written, nothing thrown.
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/file"))
        BuildStamp.save(URL(fileURLWithPath: folder + "/file/out.stamp"), manifestHash: "1", inputs: inputs)
        #expect(BuildStamp.load(URL(fileURLWithPath: folder + "/file/out.stamp")) == nil)
    }

    /// A small stamp cut at every byte, and every byte of it changed to one of a few others: read as
    /// the reference reads it (nil, or the same value).
    @Test func smallStampCutOrDamagedAnywhereReadsAsTheReference() {
        let bytes = BuildStamp.encode(manifestHash: "00ff", inputs: Self.sampleInputs(count: 10))
        for length in 0...bytes.count {
            let cut = Array(bytes[..<length])
            #expect(Self.describe(Self.parse(cut)) == Self.describe(Self.referenceParse(cut, header: Self.header)), "cut at \(length)")
        }
        let header = Self.header.count
        for index in header..<bytes.count {
            for replacement: UInt8 in [0x0A, 0x20, 0x2D, 0x39, 0xFF] where bytes[index] != replacement && (index + Int(replacement)) % 3 == 0 {
                var damaged = bytes
                damaged[index] = replacement
                #expect(Self.describe(Self.parse(damaged)) == Self.describe(Self.referenceParse(damaged, header: Self.header)),
                        "byte \(index) → \(replacement)")
            }
        }
    }

    /// A large stamp (read on two threads) whole, cut at many places (around the outputs line above all),
    /// damaged, and with a document hash holding a line "outputs" of its own.
    @Test func largeStampReadsAsTheReference() {
        var inputs = Self.sampleInputs(count: 2400)
        var bytes = BuildStamp.encode(manifestHash: "00ff", inputs: inputs)
        #expect(bytes.count > 300_000)
        func check(_ bytes: [UInt8], _ label: String) {
            #expect(Self.describe(Self.parse(bytes)) == Self.describe(Self.referenceParse(bytes, header: Self.header)), "\(label)")
        }
        check(bytes, "whole")
        #expect(Self.parse(bytes) != nil)
        let marker = Array("\noutputs\n".utf8)
        let at = (0...(bytes.count - marker.count)).first { bytes[$0..<($0 + marker.count)].elementsEqual(marker) }!
        var cuts = Array((at - 3)...(at + 11))
        cuts += [0, 10, bytes.count / 3, bytes.count / 2 + 1, bytes.count - 300, bytes.count - 5, bytes.count - 1]
        for length in cuts { check(Array(bytes[..<length]), "cut at \(length)") }
        for index in [at - 1, at, at + 1, at + 8, at + 9, at + 200, 1000, bytes.count - 5] {
            for replacement: UInt8 in [0x0A, 0x41] {
                var damaged = bytes
                damaged[index] = replacement
                check(damaged, "byte \(index) → \(replacement)")
            }
        }
        // A hash with line breaks: "\noutputs\n" inside a document line, before the real outputs line.
        let first = inputs.order![20]
        inputs.files[first]!.hash = "ab\noutputs\n12"
        bytes = BuildStamp.encode(manifestHash: "00ff", inputs: inputs)
        check(bytes, "hash holding an outputs line")
        inputs.files[first]!.hash = "ab\noutputs\n1 2 3 4 - x"
        bytes = BuildStamp.encode(manifestHash: "00ff", inputs: inputs)
        check(bytes, "hash holding an outputs line and an output")
        // No outputs line at all, or only the outputs.
        let withoutOutputs = Array(BuildStamp.encode(manifestHash: "00ff", inputs: Self.sampleInputs(count: 2400))[..<(at + 1)])
        check(withoutOutputs, "no outputs line")
        var onlyOutputs = Self.sampleInputs(count: 3000)
        onlyOutputs.files = [:]
        check(BuildStamp.encode(manifestHash: "1", inputs: onlyOutputs), "only outputs")
    }
}

private extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

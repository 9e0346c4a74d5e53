import Rulebook

/// Reads a manifest's document line (`    "path": {…compact…},`) exactly as `Manifest.encoded()` writes it,
/// straight into a `Manifest.Document`: no JSON tree is built and freed per line (that was most of a
/// no-change run's instructions for 10,000 documents). Anything unexpected — another key order, white
/// space, an escape in a string, an unknown key — gives nil, and the caller parses the line with the
/// general `JSONValueParser` instead; so this is a shortcut, never a second definition of the format.
struct ManifestLineDecoder {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position: Int
    private let end: Int

    /// The path and document of the line at `range` of `bytes`.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, line range: Range<Int>) -> (String, Manifest.Document)? {
        var end = range.upperBound
        if end > range.lowerBound, bytes[end - 1] == 0x2C { end -= 1 }
        var reader = ManifestLineDecoder(bytes: bytes, position: range.lowerBound, end: end)
        guard reader.skipIndentation(), let path = reader.string(), reader.take(0x3A), reader.take(0x20),
              let document = reader.document(), reader.position == end else { return nil }
        return (path, document)
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, position: Int, end: Int) {
        self.bytes = bytes
        self.position = position
        self.end = end
    }

    // MARK: Document

    private mutating func document() -> Manifest.Document? {
        guard take(0x7B) else { return nil }
        var document = Manifest.Document(hash: "")
        var emitted: Bool?
        var hash: String?
        var first = true
        while !take(0x7D) {
            guard first || take(0x2C), let key = keyRange() else { return nil }
            first = false
            if matches(key, "diagnostics") {
                guard let list = diagnostics() else { return nil }
                document.diagnostics = list
            } else if matches(key, "emitted") {
                guard let value = bool() else { return nil }
                emitted = value
            } else if matches(key, "exampleDiagnostics") {
                guard let list = diagnostics() else { return nil }
                document.exampleDiagnostics = list
            } else if matches(key, "exampleKeys") {
                guard let list = stringArray() else { return nil }
                document.exampleKeys = list
            } else if matches(key, "hash") {
                guard let value = string() else { return nil }
                hash = value
            } else if matches(key, "modifierDiagnostics") {
                guard let list = diagnostics() else { return nil }
                document.modifierDiagnostics = list
            } else if matches(key, "record") {
                guard let record = record() else { return nil }
                document.record = record
            } else {
                return nil
            }
        }
        // As the general decoder: a hash always; `emitted` exactly when there is a record.
        guard let hash, (emitted != nil) == (document.record != nil) else { return nil }
        document.hash = hash
        document.emitted = emitted ?? false
        return document
    }

    private mutating func record() -> Manifest.RecordSummary? {
        guard take(0x7B),
              key("code"), let code = string(), take(0x2C),
              key("file"), let file = string(), take(0x2C),
              key("modifiers"), let modifiers = integer(), take(0x2C),
              key("payers"), let payers = integer(), take(0x2C),
              key("source"), let source = source(), take(0x2C),
              key("system"), let systemName = string(), let system = CodeSystem(rawValue: systemName), take(0x2C),
              key("title"), let title = string(), take(0x7D) else { return nil }
        return Manifest.RecordSummary(system: system, code: code, title: title, source: source, file: file,
                                      modifiers: modifiers, payers: payers)
    }

    private mutating func source() -> SourceLocation? {
        guard take(0x7B), key("line"), let line = integer(), take(0x2C), key("path"), let path = string(), take(0x2C),
              key("section"), let section = stringArray(), take(0x7D) else { return nil }
        return SourceLocation(path: path, line: line, section: section)
    }

    private mutating func diagnostics() -> [Diagnostic]? {
        guard take(0x5B) else { return nil }
        var list: [Diagnostic] = []
        while !take(0x5D) {
            guard list.isEmpty || take(0x2C), take(0x7B),
                  key("column"), let column = integer(), take(0x2C),
                  key("id"), let id = string(), take(0x2C),
                  key("line"), let line = integer(), take(0x2C),
                  key("message"), let message = string(), take(0x2C),
                  key("path"), let path = string(), take(0x2C),
                  key("severity"), let severityName = string(), let severity = Diagnostic.Severity(rawValue: severityName),
                  take(0x7D) else { return nil }
            list.append(Diagnostic(path: path, line: line, column: column, severity: severity, id: id, message: message))
        }
        return list
    }

    // MARK: Tokens

    private mutating func skipIndentation() -> Bool {
        var spaces = 0
        while position < end, bytes[position] == 0x20 {
            position += 1
            spaces += 1
        }
        return spaces == 4
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard position < end, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// The byte range of a key's text (without quotes), and the `:` after it consumed.
    private mutating func keyRange() -> Range<Int>? {
        guard take(0x22) else { return nil }
        let start = position
        while position < end, bytes[position] != 0x22 {
            if bytes[position] == 0x5C { return nil }
            position += 1
        }
        let range = start..<position
        guard take(0x22), take(0x3A) else { return nil }
        return range
    }

    private func matches(_ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        for offset in 0..<range.count where bytes[range.lowerBound + offset] != name.utf8Start[offset] { return false }
        return true
    }

    /// Consumes `"name":`.
    private mutating func key(_ name: StaticString) -> Bool {
        guard let range = keyRange() else { return false }
        return matches(range, name)
    }

    /// A string without escapes (nil otherwise: the general parser decodes escapes).
    private mutating func string() -> String? {
        guard take(0x22) else { return nil }
        let start = position
        var ascii = true
        while position < end {
            let byte = bytes[position]
            if byte == 0x22 { break }
            if byte == 0x5C || byte < 0x20 { return nil }
            if byte >= 0x80 { ascii = false }
            position += 1
        }
        guard position < end else { return nil }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<position])
        position += 1
        return ascii ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
    }

    private mutating func stringArray() -> [String]? {
        guard take(0x5B) else { return nil }
        var list: [String] = []
        while !take(0x5D) {
            guard list.isEmpty || take(0x2C), let value = string() else { return nil }
            list.append(value)
        }
        return list
    }

    /// A non-negative integer of at most 18 digits without leading zeros (what the writer writes for
    /// lines, columns and counts).
    private mutating func integer() -> Int? {
        let start = position
        var value = 0
        while position < end, (0x30...0x39).contains(bytes[position]), position - start < 18 {
            value = value * 10 + Int(bytes[position] - 0x30)
            position += 1
        }
        let digits = position - start
        guard digits > 0, digits == 1 || bytes[start] != 0x30 else { return nil }
        guard position == end || !(0x30...0x39).contains(bytes[position]) else { return nil }
        return value
    }

    private mutating func bool() -> Bool? {
        if matchesWord("true") { return true }
        if matchesWord("false") { return false }
        return nil
    }

    private mutating func matchesWord(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard position + count <= end else { return false }
        for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] { return false }
        position += count
        return true
    }
}

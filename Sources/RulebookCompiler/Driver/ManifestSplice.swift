import Rulebook

/// A manifest's text, in the layout ``Manifest/encoded()`` writes (one line per document, per file and per
/// size), edited in place: a run that changes a few documents and files but no key (the splice path of
/// `Generator`) replaces those lines' values and copies the rest, instead of decoding and encoding
/// megabytes. Only for a manifest this executable wrote (the build stamp names its hash): any other
/// layout is simply not found (nil), and the caller goes the usual way.
struct ManifestSplice {
    let bytes: [UInt8]
    private let documents: Range<Int>
    private let files: Range<Int>
    private let sizes: Range<Int>
    private var edits: [(range: Range<Int>, bytes: [UInt8])] = []

    init?(_ bytes: [UInt8]) {
        /// The lines between `opening` and the section's closing line (`  },` / `  }`), from `from`.
        func section(_ opening: String, from: Int) -> Range<Int>? {
            guard let found = ByteSearch.first(Array(opening.utf8), in: bytes, from: from) else { return nil }
            let start = found + opening.utf8.count
            guard let close = ByteSearch.first(Array("\n  }".utf8), in: bytes, from: start - 1) else { return nil }
            return start..<(close + 1)
        }
        guard bytes.starts(with: Array("{\n  \"documents\": {\n".utf8)),
              let documents = section("{\n  \"documents\": {\n", from: 0),
              let files = section("\n  \"files\": {\n", from: documents.upperBound - 1),
              let sizes = section("\n  \"sizes\": {\n", from: files.upperBound - 1) else { return nil }
        self.bytes = bytes
        self.documents = documents
        self.files = files
        self.sizes = sizes
    }

    /// The range of the value of `key`'s line in `section` (`    "key": value,`), without the comma.
    private func value(of key: String, in section: Range<Int>) -> Range<Int>? {
        var quoted = CanonicalJSONWriter(style: .compact, capacity: key.utf8.count + 16)
        quoted.string(key)
        let needle = [0x0A, 0x20, 0x20, 0x20, 0x20] + quoted.bytes + [0x3A, 0x20]
        guard let found = ByteSearch.first(needle, in: bytes, from: section.lowerBound - 1, to: section.upperBound),
              let lineEnd = ByteSearch.first([0x0A], in: bytes, from: found + needle.count, to: section.upperBound + 1) else { return nil }
        let start = found + needle.count
        let end = bytes[lineEnd - 1] == 0x2C ? lineEnd - 1 : lineEnd
        return start < end ? start..<end : nil
    }

    /// The entry of document `path`, decoded; nil when it is not there or not in the writer's layout.
    func document(_ path: String) -> Manifest.Document? {
        guard let range = value(of: path, in: documents) else { return nil }
        let lineStart = ByteSearch.lineStart(in: bytes, before: range.lowerBound)
        guard case .entry(let decodedPath, let document) = Manifest.documentLine(lineStart..<range.upperBound, in: bytes),
              decodedPath == path else { return nil }
        return document
    }

    /// The hash recorded for output `path`.
    func fileHash(_ path: String) -> String? {
        guard let range = value(of: path, in: files), range.count >= 2 else { return nil }
        return String(decoding: bytes[(range.lowerBound + 1)..<(range.upperBound - 1)], as: UTF8.self)
    }

    /// The output paths of the files section in the text's order (sorted, as the writer writes them); nil
    /// when a key is not a plain string (an escape) or a line is not `    "path": "hash"`.
    func fileOrder() -> [String]? {
        var paths: [String] = []
        paths.reserveCapacity(bytes.count / 400)
        var position = files.lowerBound
        while position < files.upperBound {
            guard let end = ByteSearch.first([0x0A], in: bytes, from: position, to: files.upperBound + 1),
                  end - position > 8, bytes[position + 4] == 0x22 else { return nil }
            var close = position + 5
            while close < end, bytes[close] != 0x22 {
                guard bytes[close] != 0x5C else { return nil }
                close += 1
            }
            guard close + 2 < end, bytes[close + 1] == 0x3A else { return nil }
            paths.append(String(decoding: bytes[(position + 5)..<close], as: UTF8.self))
            position = end + 1
        }
        return paths
    }

    /// Whether any document's claim examples name `key` (`CPT 27365`): whether an `exampleKeys` list holds it.
    func examplesName(_ key: String) -> Bool {
        // The checks match keys as Swift strings (canonical equivalence); bytes decide only for ASCII.
        guard key.utf8.allSatisfy({ $0 < 0x80 }) else { return true }
        var quoted = CanonicalJSONWriter(style: .compact, capacity: key.utf8.count + 16)
        quoted.string(key)
        let marker = Array("\"exampleKeys\":[".utf8)
        var from = documents.lowerBound
        while let found = ByteSearch.first(marker, in: bytes, from: from, to: documents.upperBound) {
            let start = found + marker.count
            // A list of strings ends at the first `]` outside a string; a code holding `]` or `"` (rare) is
            // taken as named (the usual path then decides).
            guard let end = ByteSearch.first([0x5D], in: bytes, from: start, to: documents.upperBound) else { return true }
            guard !bytes[start..<end].contains(0x5C), bytes[start..<end].reduce(0, { $0 + ($1 == 0x22 ? 1 : 0) }) % 2 == 0,
                  end + 1 < bytes.count, bytes[end + 1] == 0x2C || bytes[end + 1] == 0x7D else { return true }
            if ByteSearch.first(quoted.bytes, in: bytes, from: start, to: end) != nil { return true }
            from = end
        }
        return false
    }

    /// Whether the text holds `fragment` anywhere (e.g. a key no splice may overlook).
    func contains(_ fragment: String) -> Bool { ByteSearch.first(Array(fragment.utf8), in: bytes) != nil }

    /// Replaces the entry of document `path`; false when it is not there.
    mutating func setDocument(_ path: String, _ document: Manifest.Document) -> Bool {
        guard let range = value(of: path, in: documents) else { return false }
        var line = CanonicalJSONWriter(style: .compact, capacity: 512)
        Manifest.write(document, to: &line)
        edits.append((range, line.bytes))
        return true
    }

    /// Replaces the hash and size recorded for output `path`; false when either is not there.
    mutating func setFile(_ path: String, hash: String, size: Int) -> Bool {
        guard let hashRange = value(of: path, in: files), let sizeRange = value(of: path, in: sizes) else { return false }
        var quoted = CanonicalJSONWriter(style: .compact, capacity: 24)
        quoted.string(hash)
        edits.append((hashRange, quoted.bytes))
        edits.append((sizeRange, ByteSearch.digits(size)))
        return true
    }

    /// The text with every replacement made.
    func edited() -> [UInt8] { ByteSearch.replacing(bytes, edits) }
}

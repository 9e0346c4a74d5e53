import Dispatch
import Rulebook

/// A file an emitter produces, relative to its output folder.
public struct GeneratedFile: Sendable, Hashable {
    /// Relative path with `/` separators, e.g. `JSON/cpt-27365.json`. Never derived unsanitised from document text.
    public var path: String
    public var contents: String
    public init(path: String, contents: String) {
        self.path = path
        self.contents = contents
    }
}

public enum AccessLevel: String, Sendable, CaseIterable {
    case `public`, package, `internal`
}

/// Model → Swift sources that compile (Swift 6, no warnings) in any target depending only on `Rulebook`.
///
/// Shape, chosen on measured compile times (`Scripts/measure-swift-compile.sh`), and sharded so that a
/// change to one record changes one small file (``EmbeddedShards``):
/// - `RulebookRules.swift` (``mainFileName``): `enum GeneratedCodes` with `formatVersion`, `store` (an
///   `EmbeddedRuleStore` over every shard), `all`, and `RuleBook.generated`. It depends only on the shard
///   count, the access level and the header — never on the records.
/// - One data file per shard (``shardFileName(_:count:)``: `RulebookData.swift` when there is one shard,
///   else `RulebookData-000.swift`…): the shard's records as JSON lines in one raw string literal plus an
///   index of their byte ranges, which the compiler digests fast (typed initialiser expressions per record
///   would take minutes for thousands of codes), and the typed constants of those records
///   (`GeneratedCodes.cpt27365: CodeRecord`, doc comment with title and provenance of the record and of
///   each modifier and payer rule), each decoding only its own record on first use.
///
/// A record's shard is `EmbeddedShards.shard(system:code:count:)`; its constant's name depends only on
/// the record (``constantName(system:code:)``, `_2`… only for the same system and code twice, which share
/// a shard). Every file names `RulebookFormatVersion1.self`: code generated for another data format does
/// not compile.
public enum SwiftEmitter {
    /// The file that declares `GeneratedCodes`, its store and `RuleBook.generated`.
    public static let mainFileName = "RulebookRules.swift"

    /// The data file of shard `number` of `count`: `RulebookData.swift` when `count` is 1, else
    /// `RulebookData-007.swift` (at least three digits).
    public static func shardFileName(_ number: Int, count: Int) -> String {
        count == 1 ? "RulebookData.swift" : "RulebookData-" + paddedNumber(number) + ".swift"
    }

    /// Every file written for `shardCount` shards, the main file first, then the shards in order: always
    /// all of them (an empty shard too), whatever the records, so a build plugin can declare them first.
    public static func fileNames(shardCount: Int) -> [String] {
        [mainFileName] + (0..<shardCount).map { shardFileName($0, count: shardCount) }
    }

    /// At most this many source paths are named in a file header; the rest are counted.
    public static let headerPathLimit = 8

    /// Files relative to the Swift output folder; the headers name the records' source paths.
    public static func emit(_ records: [CodeRecord], accessLevel: AccessLevel) -> [GeneratedFile] {
        emit(records, accessLevel: accessLevel, sourcePaths: records.map(\.source.path))
    }

    /// Files relative to the Swift output folder (``fileNames(shardCount:)``) for
    /// `EmbeddedShards.shardCount(documents:)` of the number of distinct `sourcePaths`; the main file's
    /// header names `sourcePaths` (sorted, duplicates removed), e.g. every input document, including those
    /// that gave no record.
    public static func emit(_ records: [CodeRecord], accessLevel: AccessLevel, sourcePaths: [String]) -> [GeneratedFile] {
        emit(records, accessLevel: accessLevel, sourcePaths: sourcePaths,
             shardCount: EmbeddedShards.shardCount(documents: Set(sourcePaths).count))
    }

    /// As above with an explicit number of shards (≥ 1).
    public static func emit(_ records: [CodeRecord], accessLevel: AccessLevel, sourcePaths: [String],
                            shardCount: Int) -> [GeneratedFile] {
        let access = accessLevel.rawValue
        var files = [GeneratedFile(path: mainFileName,
                                   contents: mainFile(shardCount: shardCount, access: access,
                                                      header: headerLines(sourcePaths: sourcePaths)))]
        for (number, shard) in shards(records, count: shardCount).enumerated() {
            files.append(GeneratedFile(path: shardFileName(number, count: shardCount),
                                       contents: shardFile(number: number, count: shardCount, records: shard, access: access,
                                                           header: headerLines(sourcePaths: shard.map(\.source.path)))))
        }
        return files
    }

    /// `records` in canonical order (system, code, path, line; as `JSONEmitter`), split into `count`
    /// shards by `EmbeddedShards.shard(system:code:count:)`: what ``shardFile(number:count:records:access:header:jobs:)``
    /// takes for each shard.
    public static func shards(_ records: [CodeRecord], count: Int) -> [[CodeRecord]] {
        precondition(count >= 1, "a shard count is at least 1")
        var shards = [[CodeRecord]](repeating: [], count: count)
        for position in JSONEmitter.canonicalOrder(records) {
            let record = records[position]
            shards[EmbeddedShards.shard(system: record.system, code: record.code, count: count)].append(record)
        }
        return shards
    }

    // MARK: Files

    static func headerLines(sourcePaths: [String]) -> [String] {
        let paths = Array(Set(sourcePaths)).sorted { $0.utf8Precedes($1) }
        var from: String
        if paths.isEmpty {
            from = "no documents"
        } else {
            let shown = paths.prefix(headerPathLimit).map { SwiftStringLiteral.commentText($0, limit: 120) }
            from = shown.joined(separator: ", ")
            if paths.count > headerPathLimit { from += " and \(paths.count - headerPathLimit) more" }
        }
        return [
            "// Generated by rulebook from \(from). Do not edit.",
            "// Data format: RulebookFormatVersion1 (needs a Rulebook runtime of this format; run `rulebook generate` after upgrading).",
        ]
    }

    /// `007`: at least three digits.
    private static func paddedNumber(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    /// The name of shard `number`'s `EmbeddedRuleStore.Shard` in `GeneratedCodes` (never a constant's name:
    /// those start with the system's name).
    static func shardMemberName(_ number: Int) -> String { "shard" + paddedNumber(number) }

    /// The name of the function through which shard `number`'s constants decode their records.
    static func recordFunctionName(_ number: Int) -> String { "record" + paddedNumber(number) }

    // Every stored declaration is written with its type: without one, a compile job that needs the type
    // of `store` (every file's constants use it) would type-check the initialisers of every shard and their
    // literals — all the data, in each of a debug build's batch jobs — and depend on all of it.

    /// `RulebookRules.swift`: `GeneratedCodes`, its store over the `shardCount` shards, `all`,
    /// `RuleBook.generated`. Independent of the records: the same bytes for the same shard count, access
    /// level and header.
    public static func mainFile(shardCount: Int, access: String, header: [String]) -> String {
        precondition(shardCount >= 1, "a shard count is at least 1")
        var printer = CodePrinter(capacity: 2048 + shardCount * 12)
        for line in header { printer.line(line) }
        printer.line()
        printer.line("import Rulebook")
        printer.line()
        let files = shardCount == 1 ? shardFileName(0, count: 1)
            : "\(shardFileName(0, count: shardCount)) … \(shardFileName(shardCount - 1, count: shardCount))"
        printer.line("/// Typed constants for the generated codes (declared in \(files)), e.g. `GeneratedCodes.cpt27365`.")
        printer.line("/// Lookup by system and code: `RuleBook.generated.code(.cpt, \"27365\")`.")
        printer.block("\(access) enum GeneratedCodes") { printer in
            printer.line("/// The format of the generated data; this file does not compile against a runtime of another format.")
            printer.line("\(access) static var formatVersion: Int { RulebookFormatVersion1.number }")
            printer.line()
            printer.line("/// The generated records, sorted by system and code, from \(shardCount) data file\(shardCount == 1 ? "" : "s"); "
                + "each record is decoded on first use.")
            printer.line("\(access) static let store: EmbeddedRuleStore = EmbeddedRuleStore(shards: [")
            printer.indent()
            let names = (0..<shardCount).map(shardMemberName)
            for start in stride(from: 0, to: names.count, by: 8) {
                printer.line(names[start..<min(names.count, start + 8)].joined(separator: ", ") + ",")
            }
            printer.outdent()
            printer.line("], format: RulebookFormatVersion1.self)")
            printer.line()
            printer.line("/// Every generated code record, sorted by system and code (all decoded at the first call).")
            printer.line("\(access) static var all: [CodeRecord] { store.allRecords() }")
        }
        printer.line()
        printer.block("extension RuleBook") { printer in
            printer.line("/// The generated rules, e.g. `RuleBook.generated.code(.cpt, \"27365\")`; built on first use.")
            printer.line("\(access) static let generated: RuleBook = RuleBook(embedded: GeneratedCodes.store)")
        }
        return printer.text
    }

    /// The data file of shard `number` of `count`: the shard's `EmbeddedRuleStore.Shard` (records as JSON
    /// lines and their index) and the typed constants of its records. `records`: this shard's records in
    /// canonical order (``shards(_:count:)``). The JSON lines are written in chunks on `jobs` threads
    /// (the same bytes for any `jobs`).
    /// `lines`: the records' JSON lines when the caller has them (``JSONEmitter/bundleAndDataLine(_:)``),
    /// else they are written here.
    public static func shardFile(number: Int, count: Int, records: [CodeRecord], access: String, header: [String],
                                 jobs: Int = 1) -> String {
        shardFile(number: number, count: count, records: records, lines: nil, access: access, header: header, jobs: jobs)
    }

    static func shardFile(number: Int, count: Int, records: [CodeRecord], lines: [[UInt8]]?, access: String,
                          header: [String], jobs: Int = 1) -> String {
        String(decoding: shardFileBytes(number: number, count: count, records: records, lines: lines, access: access,
                                        header: header, jobs: jobs), as: UTF8.self)
    }

    /// ``shardFile(number:count:records:lines:access:header:jobs:)`` as UTF-8 bytes.
    static func shardFileBytes(number: Int, count: Int, records: [CodeRecord], lines: [[UInt8]]?, access: String,
                               header: [String], jobs: Int = 1) -> [UInt8] {
        precondition(count >= 1 && (0..<count).contains(number), "shard \(number) of \(count)")
        let (payload, index) = lines.map { dataLiterals(records, lines: $0) } ?? dataLiterals(records, jobs: jobs)
        // The data is written inside a function body, which is not part of the file's interface for an
        // incremental build: a changed record recompiles this file only. (A top-level `let` holding it
        // would change the interface, and every file using `GeneratedCodes` would be recompiled.) Names
        // are the file's own for the same reason: incremental builds track top-level names module-wide.
        let recordsName = "rulebookEmbeddedRecords" + paddedNumber(number)
        let indexName = "rulebookEmbeddedIndex" + paddedNumber(number)
        let dataFunction = "rulebookShard" + paddedNumber(number)

        var printer = CodePrinter(capacity: records.count * 600 + 4096)
        for line in header { printer.line(line) }
        printer.line()
        printer.line("import Rulebook")
        printer.line()
        let shown = count == 1 ? "" : " (shard \(number) of \(count))"
        printer.line("/// The \(records.count) generated record\(records.count == 1 ? "" : "s") of this file\(shown) and their typed constants.")
        printer.block("extension GeneratedCodes") { printer in
            printer.line("/// This file's records for `store`: JSON lines, decoded one by one on first use.")
            printer.line("internal static let \(shardMemberName(number)): EmbeddedRuleStore.Shard = \(dataFunction)()")
            if !records.isEmpty {
                printer.line()
                // One name per shard: calls to one private `record(_:)` per file would each weigh every
                // file's overload (a minute of type checking for 256 files).
                printer.line("/// One function for all constants of this file: a debug build compiles a call much faster than an expression.")
                printer.line("private static func \(recordFunctionName(number))(_ index: Int) -> CodeRecord { store.record(shard: \(number), at: index) }")
            }
            var names = SafeIdentifier.Registry()
            for (offset, record) in records.enumerated() {
                printer.line()
                appendDocComment(record, to: &printer)
                let name = names.unique(constantName(system: record.system, code: record.code))
                printer.line("\(access) static var \(name): CodeRecord { \(recordFunctionName(number))(\(offset)) }")
            }
        }
        printer.line()
        printer.line("/// This file's records as JSON lines and their index (literals from column 0).")
        printer.line("private func \(dataFunction)() -> EmbeddedRuleStore.Shard {")
        var head = printer.bytes
        appendRawLiteral(&head, name: indexName, content: index,
                         comment: "Per record: system, code, and the byte range of its line in `\(recordsName)`.")
        // The records literal, the largest part, is copied once, straight into the string's storage.
        let (opening, closing) = rawLiteralEnds(name: recordsName, content: payload,
                                                comment: "The records as JSON, one per line, in the order of the constants above.")
        head += opening
        let tail = closing + Array("""
                return EmbeddedRuleStore.Shard(jsonLines: \(recordsName), index: \(indexName), format: RulebookFormatVersion1.self)
            }

            """.utf8)
        let parts = [head, payload, tail]
        return [UInt8](unsafeUninitializedCapacity: parts.reduce(0) { $0 + $1.count }) { buffer, initialized in
            var position = 0
            for part in parts {
                part.withUnsafeBufferPointer { source in
                    guard let base = source.baseAddress, source.count > 0 else { return }
                    (buffer.baseAddress! + position).initialize(from: base, count: source.count)
                    position += source.count
                }
            }
            initialized = position
        }
    }

    /// The name of a record's typed constant: a function of its system and code alone, distinct for
    /// distinct (system, code) — so no shard needs to know another's names. `SafeIdentifier.make` of the
    /// lower-cased system followed by the code, with `_` in the code first spelled `_lowbar_`: the
    /// result is ASCII letters and digits plus `_name_` tokens, which read back one way only (`a_b` and
    /// `a-b` give `cpta_lowbar_b` and `cpta_hyphen_b`). Codes of letters and digits keep their plain
    /// name (`cpt27365`, `hcpcsJ1234`); with the system's name in front, a name is never a keyword,
    /// never starts with a digit and never equals another member of `GeneratedCodes`.
    public static func constantName(system: CodeSystem, code: String) -> String {
        var escaped = code
        if code.utf8.contains(0x5F) {
            escaped = ""
            for scalar in code.unicodeScalars {
                if scalar == "_" { escaped += "_lowbar_" } else { escaped.unicodeScalars.append(scalar) }
            }
        }
        return SafeIdentifier.make(system.rawValue.lowercased() + escaped)
    }

    /// The JSON lines of `records` (compact, invisibles escaped: no line break inside a record, no code
    /// point to escape) and their index. The lines are written in chunks of records on `jobs` threads,
    /// then joined (the same bytes for any `jobs`); the index of byte ranges is built from the line lengths.
    static func dataLiterals(_ records: [CodeRecord], jobs: Int) -> (payload: [UInt8], index: [UInt8]) {
        let chunkSize = 256
        let chunkCount = (records.count + chunkSize - 1) / chunkSize
        @Sendable func chunk(_ number: Int) -> (bytes: [UInt8], lengths: [Int]) {
            let range = (number * chunkSize)..<min(records.count, (number + 1) * chunkSize)
            var writer = CanonicalJSONWriter(style: .compact, escapeInvisibles: true, capacity: range.count * 6144)
            var lengths: [Int] = []
            lengths.reserveCapacity(range.count)
            for offset in range {
                if offset > range.lowerBound { writer.lineBreak() }
                let start = writer.byteCount
                JSONEmitter.write(records[offset], to: &writer)
                lengths.append(writer.byteCount - start)
            }
            return (writer.bytes, lengths)
        }
        var chunks = jobs > 1 && chunkCount > 1 ? concurrentMap(count: chunkCount, chunk: 1, chunk) : (0..<chunkCount).map(chunk)
        var payload: [UInt8] = []
        payload.reserveCapacity(chunks.reduce(chunkCount) { $0 + $1.bytes.count })
        var index = CanonicalJSONWriter(style: .compact, escapeInvisibles: true, capacity: records.count * 40)
        for number in chunks.indices {
            if number > 0 { payload.append(0x0A) }
            var start = payload.count
            payload += chunks[number].bytes
            for (offset, length) in chunks[number].lengths.enumerated() {
                appendIndexEntry(&index, records[number * chunkSize + offset], start: start, length: length,
                                 first: number * chunkSize + offset == 0)
                start += length + 1
            }
            chunks[number] = ([], [])
        }
        return (payload, index.bytes)
    }

    /// ``dataLiterals(_:jobs:)`` from the records' lines, already written.
    static func dataLiterals(_ records: [CodeRecord], lines: [[UInt8]]) -> (payload: [UInt8], index: [UInt8]) {
        precondition(records.count == lines.count, "one line per record")
        var payload: [UInt8] = []
        payload.reserveCapacity(lines.reduce(lines.count) { $0 + $1.count })
        var index = CanonicalJSONWriter(style: .compact, escapeInvisibles: true, capacity: records.count * 40)
        for (position, line) in lines.enumerated() {
            if position > 0 { payload.append(0x0A) }
            appendIndexEntry(&index, records[position], start: payload.count, length: line.count, first: position == 0)
            payload += line
        }
        return (payload, index.bytes)
    }

    /// `["CPT","27365",start,length]`, a line of the index.
    private static func appendIndexEntry(_ index: inout CanonicalJSONWriter, _ record: CodeRecord, start: Int, length: Int,
                                         first: Bool) {
        if !first { index.lineBreak() }
        index.beginArray()
        index.string(record.system.rawValue)
        index.string(record.code)
        index.integer(start)
        index.integer(length)
        index.endArray()
    }

    /// The text before and after `content` in ``appendRawLiteral(_:name:content:comment:)``.
    private static func rawLiteralEnds(name: String, content: [UInt8], comment: String) -> (opening: [UInt8], closing: [UInt8]) {
        let delimiterCount = content.withUnsafeBufferPointer { bytes in
            // The content is JSON that `CanonicalJSONWriter` wrote with `escapeInvisibles`: no control
            // character or invisible code point by construction (checked in debug builds and by the tests'
            // hostile documents; the scan took 2 % of a release run).
            assert(SwiftStringLiteral.isRawMultilineSafe(utf8: bytes), "embedded JSON needs escaping")
            return SwiftStringLiteral.rawDelimiterCount(utf8: bytes)
        }
        let delimiter = String(repeating: "#", count: delimiterCount)
        return (Array("    /// \(comment)\n    let \(name): String = \(delimiter)\"\"\"\n".utf8), Array("\n\"\"\"\(delimiter)\n".utf8))
    }

    /// `/// comment`, `let name: String = #"""` (indented, in a function), the content from column 0, `"""#`.
    private static func appendRawLiteral(_ file: inout [UInt8], name: String, content: [UInt8], comment: String) {
        let (opening, closing) = rawLiteralEnds(name: name, content: content, comment: comment)
        file.reserveCapacity(file.count + opening.count + content.count + closing.count)
        file += opening
        file += content
        file += closing
    }

    // MARK: Doc comments

    /// `path:line (A > B)`; just `line N (A > B)` when `path` is the record's own (said once, above).
    private static func appendProvenance(_ source: SourceLocation, recordPath: String? = nil, to printer: inout CodePrinter) {
        if source.path == recordPath {
            printer.append("line ")
        } else {
            printer.appendCommentText(source.path, limit: 120)
            printer.append(":")
        }
        printer.append(source.line)
        if !source.section.isEmpty {
            printer.append(" (")
            for (position, heading) in source.section.enumerated() {
                if position > 0 { printer.append(" > ") }
                printer.appendCommentText(heading, limit: 60)
            }
            printer.append(")")
        }
    }

    /// The doc comment of a record's constant, as lines without indentation.
    static func docComment(_ record: CodeRecord) -> [String] {
        var printer = CodePrinter(capacity: 1024)
        appendDocComment(record, to: &printer)
        return printer.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// Title and provenance of the record, of each modifier and of each payer rule, at the printer's indentation.
    static func appendDocComment(_ record: CodeRecord, to printer: inout CodePrinter) {
        printer.beginLine()
        printer.append("/// ")
        printer.append(record.system.rawValue)
        printer.append(" ")
        printer.appendCommentText(record.code, limit: 40)
        printer.append(": ")
        printer.appendCommentText(record.title)
        printer.endLine()
        printer.line("///")
        printer.beginLine()
        printer.append("/// Source: ")
        appendProvenance(record.source, to: &printer)
        printer.endLine()
        if let effective = record.effective {
            printer.line("///")
            printer.beginLine()
            printer.append("/// Effective: ")
            printer.appendCommentText(effective, limit: 40)
            printer.endLine()
        }
        if !record.modifiers.isEmpty {
            printer.line("///")
            printer.line("/// Modifiers:")
            for modifier in record.modifiers {
                printer.beginLine()
                printer.append("/// - ")
                printer.appendCommentText(modifier.code, limit: 20)
                printer.append(": ")
                appendProvenance(modifier.source, recordPath: record.source.path, to: &printer)
                printer.endLine()
            }
        }
        if !record.payers.isEmpty {
            printer.line("///")
            printer.line("/// Payer rules:")
            for payer in record.payers {
                printer.beginLine()
                printer.append("/// - ")
                printer.appendCommentText(payer.payer, limit: 40)
                printer.append(" (prior authorization ")
                printer.append(payer.priorAuthorization.rawValue)
                printer.append(", ")
                printer.append(payer.coverage.rawValue)
                printer.append("): ")
                appendProvenance(payer.source, recordPath: record.source.path, to: &printer)
                printer.endLine()
            }
        }
    }
}

// MARK: Splicing one record into a shard file

extension SwiftEmitter {
    /// Shard `number`'s file `old`, as ``shardFile(number:count:records:lines:access:header:jobs:)`` wrote it,
    /// with the record of `record`'s system and code replaced by `record` (`line`: its JSON line, from
    /// ``JSONEmitter/bundleAndDataLine(_:)``): the bytes that function writes for the shard's records with
    /// that one replaced — its constant's doc comment, its JSON line and the index after it change, nothing
    /// else (same codes, same order, same constant names). Nil when `old` is not in that layout or does not
    /// hold the record; the caller then writes the file whole.
    static func splicedShard(_ old: [UInt8], number: Int, record: CodeRecord, line: [UInt8]) -> [UInt8]? {
        let padded = paddedNumber(number)
        let indexName = "rulebookEmbeddedIndex" + padded, recordsName = "rulebookEmbeddedRecords" + padded
        // The data function's first line ends the constants part.
        guard let functionStart = ByteSearch.first(Array("\nprivate func rulebookShard\(padded)() -> EmbeddedRuleStore.Shard {\n".utf8), in: old)
        else { return nil }
        let constantsEnd = functionStart + 1
        let functionBodyStart = ByteSearch.lineEnd(in: old, from: constantsEnd)!
        /// A raw literal `let name: String = ##"""` … `"""##` after `from`: its content's range and the end of its closing line.
        func literal(_ name: String, from: Int) -> (content: Range<Int>, end: Int)? {
            guard let declaration = ByteSearch.first(Array("\n    let \(name): String = ".utf8), in: old, from: from) else { return nil }
            var position = declaration + 1 + "    let \(name): String = ".utf8.count
            var delimiter = 0
            while position < old.count, old[position] == 0x23 { delimiter += 1; position += 1 }
            guard old.count - position >= 4, old[position..<(position + 4)].elementsEqual(Array("\"\"\"\n".utf8)) else { return nil }
            let contentStart = position + 4
            let closing = Array(("\n\"\"\"" + String(repeating: "#", count: delimiter) + "\n").utf8)
            guard let contentEnd = ByteSearch.first(closing, in: old, from: contentStart - 1) else { return nil }
            return (contentStart..<max(contentStart, contentEnd), contentEnd + closing.count)
        }
        guard let index = literal(indexName, from: functionBodyStart - 1), let records = literal(recordsName, from: index.end - 1)
        else { return nil }
        // The index: one `[system,code,start,length]` per line, the lines of the records literal in order.
        var entries: [(prefix: Range<Int>, start: Int, length: Int)] = []
        var position = index.content.lowerBound
        while position < index.content.upperBound {
            let end = ByteSearch.first([0x0A], in: old, from: position, to: index.content.upperBound) ?? index.content.upperBound
            // `...,start,length]`: the last two commas.
            guard end - position > 2, old[end - 1] == 0x5D,
                  let lastComma = old[position..<end].lastIndex(of: 0x2C),
                  let comma = old[position..<lastComma].lastIndex(of: 0x2C),
                  let start = ByteSearch.number(old, (comma + 1)..<lastComma),
                  let length = ByteSearch.number(old, (lastComma + 1)..<(end - 1)) else { return nil }
            entries.append((position..<(comma + 1), start, length))
            position = end + 1
        }
        var wanted = CanonicalJSONWriter(style: .compact, escapeInvisibles: true, capacity: 64)
        wanted.beginArray()
        wanted.string(record.system.rawValue)
        wanted.string(record.code)
        let prefix = wanted.bytes + [0x2C]
        guard let offset = entries.firstIndex(where: { old[$0.prefix].elementsEqual(prefix) }) else { return nil }
        // The lines must tile the records literal exactly (else this is not a file the emitter wrote).
        var expectedStart = 0
        for entry in entries {
            guard entry.start == expectedStart else { return nil }
            expectedStart += entry.length + 1
        }
        guard expectedStart - 1 == records.content.count else { return nil }
        let payloadStart = records.content.lowerBound
        let oldLine = (payloadStart + entries[offset].start)..<(payloadStart + entries[offset].start + entries[offset].length)
        var payload = Array(old[records.content.lowerBound..<oldLine.lowerBound])
        payload += line
        payload += old[oldLine.upperBound..<records.content.upperBound]
        var newIndex: [UInt8] = []
        newIndex.reserveCapacity(index.content.count + 8)
        let delta = line.count - entries[offset].length
        for (position, entry) in entries.enumerated() {
            if position > 0 { newIndex.append(0x0A) }
            newIndex += old[entry.prefix]
            newIndex += ByteSearch.digits(position > offset ? entry.start + delta : entry.start)
            newIndex.append(0x2C)
            newIndex += ByteSearch.digits(position == offset ? line.count : entry.length)
            newIndex.append(0x5D)
        }
        // The record's constant: a blank line, its doc comment, its declaration (kept: a function of the code).
        let function = recordFunctionName(number)
        /// The range of the declaration line of constant `position` (`… static var name: CodeRecord { record000(7) }`):
        /// the line ending so that is not a doc comment (whose text comes from a document).
        func declaration(_ position: Int) -> Range<Int>? {
            let ending = Array("{ \(function)(\(position)) }\n".utf8)
            var from = 0
            while let found = ByteSearch.first(ending, in: old, from: from, to: constantsEnd) {
                let start = ByteSearch.lineStart(in: old, before: found)
                let end = found + ending.count
                if end < old.count, old[end] == 0x0A || old[end] == 0x7D, !old[start..<found].contains(0x2F) {
                    return start..<end
                }
                from = found + 1
            }
            return nil
        }
        guard let ownDeclaration = declaration(offset) else { return nil }
        let declarationStart = ownDeclaration.lowerBound
        let blockStart: Int
        if offset == 0 {
            guard let opener = ByteSearch.first(Array("    private static func \(function)(_ index: Int) -> CodeRecord {".utf8), in: old, to: constantsEnd)
            else { return nil }
            blockStart = ByteSearch.lineEnd(in: old, from: opener)!
        } else {
            guard let previous = declaration(offset - 1) else { return nil }
            blockStart = previous.upperBound
        }
        guard blockStart < declarationStart, old[blockStart] == 0x0A else { return nil }
        var printer = CodePrinter(capacity: 2048)
        printer.indent()
        printer.line()
        appendDocComment(record, to: &printer)
        var file: [UInt8] = []
        file.reserveCapacity(old.count + payload.count - records.content.count + 4096)
        file += old[..<blockStart]
        file += printer.bytes
        file += old[declarationStart..<functionBodyStart]
        appendRawLiteral(&file, name: indexName, content: newIndex,
                         comment: "Per record: system, code, and the byte range of its line in `\(recordsName)`.")
        let (opening, closing) = rawLiteralEnds(name: recordsName, content: payload,
                                                comment: "The records as JSON, one per line, in the order of the constants above.")
        file += opening
        file += payload
        file += closing
        file += old[records.end...]
        return file
    }
}

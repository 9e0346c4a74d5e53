import Foundation
import Synchronization
import HostileRulesFixture
@testable import Rulebook
@testable import RulebookCompiler
import Testing

@Suite struct EmitterSwiftTests {
    let records = EmitterFixtures.records

    // MARK: Reference files (also compiled: the HostileRulesFixture target)

    @Test func emittedSwiftMatchesTheCompiledFixture() throws {
        let files = SwiftEmitter.emit(records, accessLevel: .public)
        #expect(files.map(\.path) == SwiftEmitter.fileNames(shardCount: 1))
        for file in files {
            try EmitterFixtures.expectMatchesReference(file.contents, "HostileSwift/" + file.path)
        }
    }

    @Test func internalAccessMatchesReference() throws {
        for file in SwiftEmitter.emit([EmitterFixtures.minimal], accessLevel: .internal) {
            try EmitterFixtures.expectMatchesReference(file.contents, "InternalSwift/" + file.path)
        }
    }

    // MARK: The compiled hostile fixture round-trips exactly

    @Test func compiledRecordsEqualTheOriginalsByteForByte() throws {
        let expected = JSONEmitter.canonicalOrder(records).map { records[$0] }
        #expect(GeneratedCodes.all == expected)
        expectSameBytes(GeneratedCodes.all, expected)
        let hostile = try #require(GeneratedCodes.all.first { $0.system == .hcpcs && $0.code.hasPrefix("../") })
        #expect(Array(hostile.title.utf8) == Array(("Title " + EmitterFixtures.hostileText).utf8))
        #expect(hostile.modifiers.first?.code == "5\"")
        #expect(hostile.source.path == EmitterFixtures.hostilePath)
    }

    @Test func compiledLookupAndTypedConstants() throws {
        #expect(RuleBook.generated.codes.count == records.count)
        #expect(RuleBook.generated.code(.cpt, "27365") == EmitterFixtures.typical)
        #expect(RuleBook.generated[.hcpcs, "j1234"] == EmitterFixtures.minimal)
        #expect(RuleBook.generated.code(.hcpcs, EmitterFixtures.hostile.code) == EmitterFixtures.hostile)
        #expect(GeneratedCodes.cpt27365 == EmitterFixtures.typical)
        #expect(GeneratedCodes.hcpcsJ1234 == EmitterFixtures.minimal)
        // The hostile code's constant: every punctuation character spelled out.
        #expect(GeneratedCodes.hcpcs_period__period__sol_Evil_quot_Code_bsol__lpar_x_rpar__num__quot_
            == EmitterFixtures.hostile)
        #expect(GeneratedCodes.formatVersion == RulebookFormatVersion1.number)
    }

    // MARK: Hostile text never reaches the source raw

    @Test func noRawInvisibleOrBidiCharacterInEmittedSwift() {
        let inputs = [records, SyntheticRecords.make(count: 30), [EmitterFixtures.hostile]]
        for input in inputs {
            for access in AccessLevel.allCases {
                for file in SwiftEmitter.emit(input, accessLevel: access, sourcePaths: [EmitterFixtures.hostilePath]) {
                    let offending = file.contents.unicodeScalars.filter { $0 != "\n" && SwiftStringLiteral.mustEscape($0.value) }
                    #expect(offending.isEmpty, "\(file.path): \(offending.map { String($0.value, radix: 16) })")
                    for bidi in SwiftStringLiteral.bidiControls {
                        #expect(!file.contents.unicodeScalars.contains(bidi))
                    }
                }
            }
        }
    }

    @Test(arguments: [1, 3])
    func commentsCannotBeEndedByDocumentText(shardCount: Int) throws {
        let files = SwiftEmitter.emit(records, accessLevel: .public, sourcePaths: [EmitterFixtures.hostilePath],
                                      shardCount: shardCount)
        // Outside the data literals, every line is a comment, blank, or code the emitter wrote itself.
        let allowed = try Regex(#"^(import Rulebook|public enum GeneratedCodes \{|extension GeneratedCodes \{|extension RuleBook \{|\}|public static var formatVersion: Int \{ RulebookFormatVersion1\.number \}|public static let store: EmbeddedRuleStore = EmbeddedRuleStore\(shards: \[|(shard[0-9]{3}, )*shard[0-9]{3},|\], format: RulebookFormatVersion1\.self\)|public static var all: \[CodeRecord\] \{ store\.allRecords\(\) \}|public static let generated: RuleBook = RuleBook\(embedded: GeneratedCodes\.store\)|internal static let shard[0-9]{3}: EmbeddedRuleStore\.Shard = rulebookShard[0-9]{3}\(\)|private func rulebookShard[0-9]{3}\(\) -> EmbeddedRuleStore\.Shard \{|return EmbeddedRuleStore\.Shard\(jsonLines: rulebookEmbeddedRecords[0-9]{3}, index: rulebookEmbeddedIndex[0-9]{3}, format: RulebookFormatVersion1\.self\)|private static func record[0-9]{3}\(_ index: Int\) -> CodeRecord \{ store\.record\(shard: [0-9]+, at: index\) \}|public static var [A-Za-z_][A-Za-z0-9_]*: CodeRecord \{ record[0-9]{3}\([0-9]+\) \})$"#)
        var constants = 0
        for file in files {
            // A data file ends with its two literals and a return; the rest is the emitter's code.
            var code = file.contents
            if let literals = code.range(of: "/// Per record: system, code, and the byte range") {
                let end = try #require(code.range(of: "\n\"\"\"", options: .backwards))
                let after = code[end.upperBound...].drop { $0 == "#" }
                code = String(code[..<literals.lowerBound]) + after
                _ = try EmitterMeasurementTests.embeddedPayload(file.contents)
                _ = try EmitterMeasurementTests.embeddedPayload(file.contents, name: "rulebookEmbeddedIndex")
            } else {
                #expect(file.path == SwiftEmitter.mainFileName)
            }
            let codeLines = code.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.hasPrefix("//") && !$0.isEmpty }
            for line in codeLines {
                #expect(line.wholeMatch(of: allowed) != nil, "\(file.path): unexpected code line: \(line)")
            }
            constants += codeLines.filter { $0.contains(": CodeRecord { record") }.count
            let header = try #require(file.contents.split(separator: "\n").first)
            #expect(header.hasPrefix("// Generated by rulebook from ") && header.hasSuffix(". Do not edit."))
        }
        #expect(constants == records.count)
        let main = try #require(files.first { $0.path == SwiftEmitter.mainFileName })
        let header = try #require(main.contents.split(separator: "\n").first)
        #expect(header.contains("\\u{A}") && header.contains("\\u{202E}"))
    }

    @Test func dataLiteralCannotBeClosedEarly() throws {
        let files = SwiftEmitter.emit(records, accessLevel: .public)
        let data = try #require(files.first { $0.path == "RulebookData.swift" })
        let payload = try EmitterMeasurementTests.embeddedPayload(data.contents)
        let decoded = try EmbeddedRuleData.decodeRecords(jsonLines: payload)
        expectSameBytes(decoded, JSONEmitter.canonicalOrder(records).map { records[$0] })
        // The hostile record holds `"##`: the literal needs at least three `#`.
        #expect(SwiftStringLiteral.rawDelimiterCount(payload) >= 3)
        #expect(data.contents.contains("\n    let rulebookEmbeddedRecords000: String = ###\"\"\"\n"))
    }

    @Test func storeDecodesSingleRecordsThroughTheIndex() throws {
        let input = records + SyntheticRecords.make(count: 40)
        let data = try #require(SwiftEmitter.emit(input, accessLevel: .public).first { $0.path == "RulebookData.swift" })
        let payload = try EmitterMeasurementTests.embeddedPayload(data.contents)
        let index = try EmitterMeasurementTests.embeddedPayload(data.contents, name: "rulebookEmbeddedIndex")
        let expected = JSONEmitter.canonicalOrder(input).map { input[$0] }
        let store = EmbeddedRuleStore(jsonLines: payload, index: index, format: RulebookFormatVersion1.self)
        #expect(store.count == expected.count)
        #expect(store.keys.map(\.code) == expected.map(\.code) && store.keys.map(\.system) == expected.map(\.system))
        for position in [expected.count - 1, 0, 17, 1, 17] {
            expectSameBytes([store.record(at: position)], [expected[position]])
        }
        expectSameBytes(store.allRecords(), expected)
        #expect(store.record(at: 2) == expected[2])
        // An index that does not fit the data is an error, not a crash.
        #expect(throws: RuleBookLoadError.self) {
            try EmbeddedRuleStore.readIndex(#"["CPT","1",0,99999999]"#, payloadCount: payload.utf8.count)
        }
        #expect(throws: RuleBookLoadError.self) { try EmbeddedRuleStore.readIndex(#"["XYZ","1",0,1]"#, payloadCount: 10) }
        #expect(try EmbeddedRuleStore.readIndex("", payloadCount: 0).0.isEmpty)
    }

    @Test(arguments: [1, 8])
    func storeIsSafeToUseFromManyThreads(shardCount: Int) throws {
        let input = SyntheticRecords.make(count: 300)
        let store = try Self.store(SwiftEmitter.emit(input, accessLevel: .public, sourcePaths: [], shardCount: shardCount))
        #expect(store.shardCount == shardCount)
        let expected = JSONEmitter.canonicalOrder(input).map { input[$0] }
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 16) { worker in
            for step in 0..<200 {
                let position = (worker * 37 + step * 11) % expected.count
                let record = worker == 5 && step == 50 ? store.allRecords()[position] : store.record(at: position)
                if record != expected[position] { mismatches.withLock { $0 += 1 } }
            }
        }
        #expect(mismatches.withLock { $0 } == 0)
        #expect(store.allRecords() == expected)
    }

    // MARK: Shape

    @Test(arguments: [0, 1, 50])
    func fileNamesNeverDependOnTheInput(count: Int) {
        let input = Array(SyntheticRecords.make(count: count))
        for access in AccessLevel.allCases {
            #expect(SwiftEmitter.emit(input, accessLevel: access).map(\.path) == SwiftEmitter.fileNames(shardCount: 1))
            #expect(SwiftEmitter.emit(input, accessLevel: access, sourcePaths: [], shardCount: 16).map(\.path)
                == SwiftEmitter.fileNames(shardCount: 16))
        }
        #expect(SwiftEmitter.fileNames(shardCount: 1) == ["RulebookRules.swift", "RulebookData.swift"])
        #expect(SwiftEmitter.fileNames(shardCount: 3)
            == ["RulebookRules.swift", "RulebookData-000.swift", "RulebookData-001.swift", "RulebookData-002.swift"])
        #expect(SwiftEmitter.shardFileName(255, count: 256) == "RulebookData-255.swift")
    }

    @Test(arguments: AccessLevel.allCases)
    func accessLevelOnEveryDeclaration(access: AccessLevel) {
        for file in SwiftEmitter.emit(records, accessLevel: access) {
            for line in file.contents.split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                let declares = ["enum ", "static var ", "static let ", "struct ", "func "].contains { trimmed.contains($0) }
                    && !trimmed.hasPrefix("//")
                guard declares else { continue }
                // The shards' stores are internal whatever the access level: only the main file uses them.
                let shardStore = trimmed.hasPrefix("internal static let shard")
                #expect(trimmed.hasPrefix(access.rawValue + " ") || trimmed.hasPrefix("private ") || shardStore, "\(trimmed)")
            }
        }
    }

    @Test func outputIsDeterministicWhateverTheInputOrder() {
        let synthetic = SyntheticRecords.make(count: 40)
        let paths = synthetic.map(\.source.path)
        let first = SwiftEmitter.emit(synthetic, accessLevel: .public, sourcePaths: paths)
        let second = SwiftEmitter.emit(synthetic.reversed(), accessLevel: .public, sourcePaths: paths.reversed())
        #expect(first == second)
    }

    @Test func headerListsSortedPathsThenCountsTheRest() {
        let paths = (0..<20).map { "docs/\(String(format: "%02d", 19 - $0)).md" }
        let header = SwiftEmitter.headerLines(sourcePaths: paths + ["docs/00.md"])[0]
        let shown = (0..<SwiftEmitter.headerPathLimit).map { "docs/\(String(format: "%02d", $0)).md" }
        #expect(header == "// Generated by rulebook from \(shown.joined(separator: ", ")) and \(20 - SwiftEmitter.headerPathLimit) more. Do not edit.")
        #expect(SwiftEmitter.headerLines(sourcePaths: [])[0] == "// Generated by rulebook from no documents. Do not edit.")
    }

    @Test func docCommentsNameOtherDocumentsInFull() throws {
        var record = EmitterFixtures.typical
        record.modifiers[0].source.path = "seeds/other.md"
        let rules = try #require(SwiftEmitter.emit([record], accessLevel: .public).last)
        #expect(rules.contents.contains("/// - 26: seeds/other.md:17 (Clinical & Coding Specifications > Coding Specifications)\n"))
        #expect(rules.contents.contains("/// - LT: line 18 (Clinical & Coding Specifications > Coding Specifications)\n"))
    }

    @Test func docCommentsGiveTitleAndProvenance() throws {
        let rules = try #require(SwiftEmitter.emit([EmitterFixtures.typical], accessLevel: .public).last)
        let lines = rules.contents.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("/// CPT 27365: Excision of Tumor, Femur or Knee"))
        #expect(lines.contains("/// Source: seeds/cpt-27365.md:2 (Summary & Overview)"))
        for modifier in EmitterFixtures.typical.modifiers {
            #expect(lines.contains { $0.hasPrefix("/// - \(modifier.code): line \(modifier.source.line) (") })
        }
        for payer in EmitterFixtures.typical.payers {
            #expect(lines.contains { $0.hasPrefix("/// - \(payer.payer) (") && $0.hasSuffix(": line \(payer.source.line) (Payer Rules)") })
        }
    }

    // MARK: SwiftStringLiteral and SafeIdentifier

    @Test func rawDelimiterOutnumbersEveryHashRun() {
        #expect(SwiftStringLiteral.rawDelimiterCount("plain") == 1)
        #expect(SwiftStringLiteral.rawDelimiterCount("a\"#b") == 2)
        #expect(SwiftStringLiteral.rawDelimiterCount("\"\"\"####") == 5)
        #expect(SwiftStringLiteral.rawDelimiterCount("\\##(x)") == 3)
        #expect(SwiftStringLiteral.rawDelimiterCount("# ## \"x#") == 1)
        #expect(SwiftStringLiteral.rawMultiline("a\u{202E}") == nil)
        #expect(SwiftStringLiteral.rawMultiline("a\rb") == nil)
        #expect(SwiftStringLiteral.rawMultiline("x\"#\ny") == "##\"\"\"\nx\"#\ny\n\"\"\"##")
    }

    /// The word-at-a-time and memchr scans agree with a plain byte-by-byte reading on random texts made of
    /// the characters that matter (quotes, backslashes, `#` runs, controls, DEL, bidi and other escapes).
    @Test func rawLiteralScansAgreeWithByteByByteReading() {
        let alphabet: [String] = ["a", " ", "\"", "\\", "#", "##", "\n", "\r", "\t", "\u{7F}", "é", "\u{200B}", "\u{202E}",
                                  "\u{85}", "😀", "{", "~"]
        var generator = SystemRandomNumberGenerator()
        func expectedCount(_ text: String) -> Int {
            let bytes = Array(text.utf8)
            var longest = 0
            for index in bytes.indices where bytes[index] == 0x22 || bytes[index] == 0x5C {
                var run = 0
                while index + 1 + run < bytes.count, bytes[index + 1 + run] == 0x23 { run += 1 }
                longest = max(longest, run)
            }
            return longest + 1
        }
        func expectedSafe(_ text: String) -> Bool {
            !text.unicodeScalars.contains { $0 != "\n" && SwiftStringLiteral.mustEscape($0.value) }
        }
        for _ in 0..<3000 {
            let length = Int.random(in: 0...40, using: &generator)
            let text = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }.joined()
            #expect(SwiftStringLiteral.rawDelimiterCount(text) == expectedCount(text), "\(Array(text.utf8))")
            #expect(SwiftStringLiteral.isRawMultilineSafe(text) == expectedSafe(text), "\(Array(text.utf8))")
        }
    }

    @Test func quotedLiteralEscapesEverythingDangerous() {
        let literal = SwiftStringLiteral.quoted(EmitterFixtures.hostileText)
        #expect(literal.hasPrefix("\"") && literal.hasSuffix("\""))
        let inner = literal.dropFirst().dropLast()
        // No unescaped quote, no raw control or bidi character, no `\(`.
        var previousBackslashes = 0
        for scalar in inner.unicodeScalars {
            if scalar == "\"" { #expect(previousBackslashes % 2 == 1) }
            if scalar == "(" { #expect(previousBackslashes % 2 == 0) }
            #expect(!SwiftStringLiteral.mustEscape(scalar.value))
            previousBackslashes = scalar == "\\" ? previousBackslashes + 1 : 0
        }
        #expect(SwiftStringLiteral.quoted("a\u{0}\u{202E}\\(x)") == #""a\0\u{202E}\\(x)""#)
    }

    @Test func safeIdentifiers() throws {
        let valid = try Regex("^[A-Za-z_][A-Za-z0-9_]*$")
        let cases: [(String, String)] = [
            ("cpt27365", "cpt27365"), ("27365", "_27365"), ("class", "class_"), ("self", "self_"), ("Type", "Type_"),
            ("a-b", "a_hyphen_b"), ("", "_empty"), ("_", "_underscore_"), ("é", "_xE9_"), ("a b.c", "a_space_b_period_c"),
            ("\u{202E}x", "_x202E_x"), ("`x`", "_grave_x_grave_"),
        ]
        for (input, expected) in cases { #expect(SafeIdentifier.make(input) == expected) }
        for text in EmitterJSONTests.hostileCodes + [EmitterFixtures.hostileText] {
            #expect(SafeIdentifier.make(text).wholeMatch(of: valid) != nil)
        }
        var registry = SafeIdentifier.Registry(reserved: ["all"])
        #expect(registry.unique("all") == "all_2")
        #expect(registry.unique("x") == "x")
        #expect(registry.unique("x") == "x_2")
        #expect(registry.unique("x") == "x_3")
    }

    @Test func duplicateCodesGetDistinctConstants() throws {
        let first = CodeRecord(system: .cpt, code: "27365", title: "a", source: .init(path: "a.md", line: 1))
        let second = CodeRecord(system: .cpt, code: "27365", title: "b", source: .init(path: "b.md", line: 1))
        let rules = try #require(SwiftEmitter.emit([second, first], accessLevel: .public).last)
        #expect(rules.contents.contains("public static var cpt27365: CodeRecord { record000(0) }"))
        #expect(rules.contents.contains("public static var cpt27365_2: CodeRecord { record000(1) }"))
    }

    // MARK: Shards

    /// The store that the emitted files build: each data file's literals, in shard order.
    static func store(_ files: [GeneratedFile]) throws -> EmbeddedRuleStore {
        let data = files.filter { $0.path != SwiftEmitter.mainFileName }
        #expect(files.map(\.path) == SwiftEmitter.fileNames(shardCount: data.count))
        let shards = try data.map { file in
            EmbeddedRuleStore.Shard(jsonLines: try EmitterMeasurementTests.embeddedPayload(file.contents),
                                    index: try EmitterMeasurementTests.embeddedPayload(file.contents, name: "rulebookEmbeddedIndex"),
                                    format: RulebookFormatVersion1.self)
        }
        return EmbeddedRuleStore(shards: shards, format: RulebookFormatVersion1.self)
    }

    /// Records spread over shards: seed-like records, the hostile fixtures, a duplicate code and codes
    /// differing only in case (which match the same lookups).
    static func shardingInput() throws -> [CodeRecord] {
        var input = EmitterMeasurementTests.seedLike(try EmitterMeasurementTests.seedRecords(), count: 20)
            + EmitterFixtures.records
        var duplicate = input[3]
        duplicate.source.path = "zz/duplicate.md"
        duplicate.title = "Duplicate"
        var lower = EmitterFixtures.minimal
        lower.code = lower.code.lowercased()
        lower.title = "Lower-case twin"
        input += [duplicate, lower]
        return input
    }

    @Test(arguments: [2, 4, 7, 32])
    func recordsOverSeveralShardsLookUpLikeOneShard(shardCount: Int) throws {
        let input = try Self.shardingInput()
        let one = try Self.store(SwiftEmitter.emit(input, accessLevel: .public, sourcePaths: [], shardCount: 1))
        let files = SwiftEmitter.emit(input, accessLevel: .public, sourcePaths: [], shardCount: shardCount)
        let many = try Self.store(files)
        #expect(many.shardCount == shardCount)
        // More than one shard holds records (so the test shows something).
        let used = files.filter { $0.path != SwiftEmitter.mainFileName && $0.contents.contains(": CodeRecord { record") }
        #expect(used.count > 1)
        let expected = JSONEmitter.canonicalOrder(input).map { input[$0] }
        #expect(many.keys.map(\.code) == one.keys.map(\.code) && many.keys.map(\.system) == one.keys.map(\.system))
        for position in [expected.count - 1, 0, 5, expected.count / 2] {
            #expect(many.record(at: position) == expected[position])
        }
        expectSameBytes(many.allRecords(), expected)
        let lazyOne = RuleBook(embedded: one), lazyMany = RuleBook(embedded: many)
        #expect(lazyMany.codes == lazyOne.codes)
        #expect(lazyMany.codes == RuleBook(records: input).codes)
        for record in input {
            for code in [record.code, record.code.lowercased(), record.code.uppercased(), record.code + "X"] {
                #expect(lazyMany.code(record.system, code) == lazyOne.code(record.system, code), "\(record.system) \(code)")
                let line = ClaimLine(system: record.system, code: code, modifiers: ["50", "LT"], payer: "aetna")
                #expect(lazyMany.evaluate(line) == lazyOne.evaluate(line))
            }
        }
        // A typed constant names its shard and line: `record(shard:at:)` gives the record it documents.
        for (number, file) in files.dropFirst().enumerated() {
            let shard = try EmitterMeasurementTests.embeddedPayload(file.contents)
            let lines = shard.isEmpty ? [] : shard.split(separator: "\n", omittingEmptySubsequences: false)
            for (line, text) in lines.enumerated() {
                let record = many.record(shard: number, at: line)
                expectSameBytes([record], try EmbeddedRuleData.decodeRecords(jsonLines: String(text)))
                #expect(EmbeddedShards.shard(system: record.system, code: record.code, count: shardCount) == number)
            }
        }
    }

    @Test func aChangedRecordChangesOnlyItsShardFile() throws {
        let input = try Self.shardingInput()
        let paths = input.map(\.source.path)
        let before = SwiftEmitter.emit(input, accessLevel: .public, sourcePaths: paths, shardCount: 4)
        for changed in [0, 7, input.count - 1] {
            var edited = input
            edited[changed].title += " (revised)"
            edited[changed].payers = []
            let after = SwiftEmitter.emit(edited, accessLevel: .public, sourcePaths: paths, shardCount: 4)
            #expect(after.map(\.path) == before.map(\.path))
            // The main file does not depend on the records at all.
            #expect(after[0] == before[0])
            #expect(after[0].contents == SwiftEmitter.mainFile(shardCount: 4, access: "public",
                                                                header: SwiftEmitter.headerLines(sourcePaths: paths)))
            let differing = zip(before, after).filter { $0.0 != $0.1 }.map(\.0.path)
            let shard = EmbeddedShards.shard(system: input[changed].system, code: input[changed].code, count: 4)
            #expect(differing == [SwiftEmitter.shardFileName(shard, count: 4)])
        }
        // With no records at all, the main file is still the same.
        #expect(SwiftEmitter.emit([], accessLevel: .public, sourcePaths: paths, shardCount: 4)[0] == before[0])
    }

    @Test func constantNamesAreAFunctionOfTheCodeAndNeverClash() {
        #expect(SwiftEmitter.constantName(system: .cpt, code: "27365") == "cpt27365")
        #expect(SwiftEmitter.constantName(system: .hcpcs, code: "J1234") == "hcpcsJ1234")
        // Codes that plain sanitising would map to one name.
        let codes = ["A-B", "A_hyphen_B", "A_B", "A_lowbar_B", "A__B", "_", "__", "", "class", "A.B", "A_period_B", "é",
                     "_xE9_", "x", "X", "1", "A\u{202E}B", "A_x202E_B"]
        var names: [String: String] = [:]
        for system in CodeSystem.allCases {
            for code in codes {
                let name = SwiftEmitter.constantName(system: system, code: code)
                #expect(name.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_]*/) != nil)
                #expect(!SafeIdentifier.keywords.contains(name) && !["all", "store", "formatVersion", "record"].contains(name))
                #expect(!name.hasPrefix("shard"))
                if let other = names[name] { Issue.record("\(name): \(other) and \(system) \(code)") }
                names[name] = "\(system) \(code)"
            }
        }
    }

    /// `rulebook generate --swift-shards N` (the real process) writes the main file and N data files, and
    /// their store holds the same records as the default single file; out-of-range values are usage errors.
    @Test func generateWritesTheRequestedShards() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-shards-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        func swiftFiles() throws -> [GeneratedFile] {
            let folder = output.appendingPathComponent("Swift")
            return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map { name in
                GeneratedFile(path: name, contents: String(decoding: try Data(contentsOf: folder.appendingPathComponent(name)),
                                                          as: UTF8.self))
            }
        }
        func inOrder(_ files: [GeneratedFile]) -> [GeneratedFile] {
            files.filter { $0.path == SwiftEmitter.mainFileName } + files.filter { $0.path != SwiftEmitter.mainFileName }
        }
        let single = try RulebookProcess.run(["generate", "--output", output.path])
        #expect(single.status == 0, "\(single.stderr)")
        let one = try Self.store(inOrder(try swiftFiles()))
        #expect(one.shardCount == 1 && one.count >= 15)
        let sharded = try RulebookProcess.run(["generate", "--output", output.path, "--swift-shards", "5"])
        #expect(sharded.status == 0, "\(sharded.stderr)")
        let files = inOrder(try swiftFiles())
        #expect(Set(files.map(\.path)) == Set(SwiftEmitter.fileNames(shardCount: 5)))  // the single data file is gone
        let five = try Self.store(files)
        #expect(five.shardCount == 5)
        #expect(five.allRecords() == one.allRecords())
        for value in ["0", "257", "x", "-1"] {
            let refused = try RulebookProcess.run(["generate", "--output", output.path, "--swift-shards", value])
            #expect(refused.status == 2)
            #expect(refused.stderr.contains("--swift-shards"))
        }
    }

    // MARK: The real compiler

    /// The folder with `Rulebook.swiftmodule` of the build running these tests, if found.
    static let modulesFolder: URL? = {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = binary.deletingLastPathComponent()
        for _ in 0..<4 {
            for candidate in [folder.appendingPathComponent("Modules"), folder] {
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("Rulebook.swiftmodule").path) {
                    return candidate
                }
            }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }()

    static let compilerAvailable = modulesFolder != nil && (try? runProcess(["swiftc", "--version"])) == 0

    /// Type-checks emitted files in Swift 6 mode, warnings as errors, against the Rulebook module only.
    private func typecheck(_ files: [GeneratedFile], extra: [String] = []) throws -> (Int32, String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var paths: [String] = []
        for file in files {
            let url = folder.appendingPathComponent(file.path)
            try Data(file.contents.utf8).write(to: url)
            paths.append(url.path)
        }
        let modules = try #require(Self.modulesFolder)
        return try runProcessWithOutput(["swiftc", "-typecheck", "-swift-version", "6", "-warnings-as-errors",
                                         "-parse-as-library", "-module-name", "EmitterProbe", "-I", modules.path]
                                        + extra + paths, in: folder)
    }

    @Test(.enabled(if: EmitterSwiftTests.compilerAvailable))
    func everyAccessLevelAndAnEmptySetCompileWithoutWarnings() throws {
        let hostile = SwiftEmitter.emit(records, accessLevel: .internal)
        let (status, output) = try typecheck(hostile)
        #expect(status == 0, "\(output)")
        let (packageStatus, packageOutput) = try typecheck(SwiftEmitter.emit(records, accessLevel: .package),
                                                           extra: ["-package-name", "probe"])
        #expect(packageStatus == 0, "\(packageOutput)")
        let (emptyStatus, emptyOutput) = try typecheck(SwiftEmitter.emit([], accessLevel: .public))
        #expect(emptyStatus == 0, "\(emptyOutput)")
    }

    /// Sharded output compiled and run for real: a program over 4 shards (and over 1) prints every lookup,
    /// every typed constant and `codes`; both print what the records say.
    @Test(.enabled(if: EmitterSwiftTests.compilerAvailable && EmitterSwiftTests.rulebookObjects != nil))
    func shardedOutputCompilesAndRunsLikeOneFile() throws {
        var input = try Self.shardingInput()
        // Codes whose plain sanitised names would clash, in different shards.
        for code in ["A-B", "A_hyphen_B", "A_B", "A_lowbar_B"] {
            var record = EmitterFixtures.minimal
            record.code = code
            record.source.path = "odd/\(code).md"
            input.append(record)
        }
        let sorted = JSONEmitter.canonicalOrder(input).map { input[$0] }
        func quoted(_ text: String) -> String { SwiftStringLiteral.quoted(text) }
        var program = "import Rulebook\n@main struct Probe {\n    static func main() {\n"
        program += "        print(RuleBook.generated.codes.map { $0.system.rawValue + \" \" + $0.title }.joined(separator: \"|\"))\n"
        var expected = sorted.map { $0.system.rawValue + " " + $0.title }.joined(separator: "|") + "\n"
        var seen: [String: Int] = [:]
        for record in sorted {
            let base = SwiftEmitter.constantName(system: record.system, code: record.code)
            let count = seen[base, default: 0] + 1
            seen[base] = count
            let name = count == 1 ? base : "\(base)_\(count)"
            program += "        print(GeneratedCodes.\(name).title == \(quoted(record.title)), "
                + "RuleBook.generated.code(.\(record.system == .cpt ? "cpt" : "hcpcs"), \(quoted(record.code)))?.title ?? \"-\")\n"
            let first = sorted.first { RuleBook.Key($0.system, $0.code) == RuleBook.Key(record.system, record.code) }!
            expected += "true \(first.title)\n"
        }
        program += "    }\n}\n"
        for shardCount in [4, 1] {
            let files = SwiftEmitter.emit(input, accessLevel: .internal, sourcePaths: [], shardCount: shardCount)
            let (status, output) = try run(files, main: program)
            #expect(status == 0)
            #expect(output == expected, "\(shardCount) shards")
        }
    }

    /// The object files of the Rulebook module of the build running these tests (to link a probe).
    static let rulebookObjects: [String]? = {
        guard let modules = modulesFolder else { return nil }
        let build = (modules.lastPathComponent == "Modules" ? modules.deletingLastPathComponent() : modules)
            .appendingPathComponent("Rulebook.build")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: build.path) else { return nil }
        let objects = names.filter { $0.hasSuffix(".o") }.sorted().map { build.appendingPathComponent($0).path }
        return objects.isEmpty ? nil : objects
    }()

    /// Compiles `files` plus `main` into a program linked with the Rulebook objects and runs it.
    private func run(_ files: [GeneratedFile], main: String) throws -> (Int32, String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var paths: [String] = []
        for file in files + [GeneratedFile(path: "Probe.swift", contents: main)] {
            let url = folder.appendingPathComponent(file.path)
            try Data(file.contents.utf8).write(to: url)
            paths.append(url.path)
        }
        let modules = try #require(Self.modulesFolder)
        let objects = try #require(Self.rulebookObjects)
        let (status, output) = try runProcessWithOutput(["swiftc", "-swift-version", "6", "-warnings-as-errors", "-parse-as-library",
                                                         "-module-name", "ShardProbe", "-I", modules.path] + paths + objects
                                                        + ["-o", "probe"], in: folder)
        try #require(status == 0, "\(output)")
        return try runProcessWithOutput([folder.appendingPathComponent("probe").path])
    }

    @Test(.enabled(if: EmitterSwiftTests.compilerAvailable))
    func staleGeneratedCodeFailsAgainstAnotherFormat() throws {
        var files = SwiftEmitter.emit([EmitterFixtures.minimal], accessLevel: .public)
        for index in files.indices {
            files[index].contents = files[index].contents.replacingOccurrences(of: "RulebookFormatVersion1",
                                                                               with: "RulebookFormatVersion0")
        }
        let (status, output) = try typecheck(files)
        #expect(status != 0)
        #expect(output.contains("RulebookFormatVersion0"))
    }

    /// `SwiftStringLiteral.quoted` compiled and run: the program prints each literal's UTF-8 bytes.
    @Test(.enabled(if: EmitterSwiftTests.compilerAvailable))
    func quotedLiteralsCompileToTheExactText() throws {
        let texts = [EmitterFixtures.hostileText, "", "\"\"\"", "\\", "#\"", "\"#", "\u{0}", "e\u{301}", "\u{10FFFF}"]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rulebook-literal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var program = "let texts: [String] = [\n"
        for text in texts { program += "    " + SwiftStringLiteral.quoted(text) + ",\n" }
        program += "]\nfor text in texts { print(text.utf8.map { String($0) }.joined(separator: \" \")) }\n"
        try Data(program.utf8).write(to: folder.appendingPathComponent("main.swift"))
        let (status, output) = try runProcessWithOutput(["swiftc", "-swift-version", "6", "-warnings-as-errors",
                                                         "main.swift", "-o", "probe"], in: folder)
        try #require(status == 0, "\(output)")
        let (runStatus, printed) = try runProcessWithOutput([folder.appendingPathComponent("probe").path])
        #expect(runStatus == 0)
        let expected = texts.map { $0.utf8.map { String($0) }.joined(separator: " ") }.joined(separator: "\n") + "\n"
        #expect(printed == expected)
    }
}

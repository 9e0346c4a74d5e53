import Foundation
import Testing
@testable import RulebookCompiler

/// `TextSearch` searches bytes only when that cannot differ from Foundation's character-based search;
/// checked against Foundation on generated strings that mix simple text with combining marks, joiners,
/// non-breaking spaces, case variants, decomposed letters and the punctuation the byte path accepts.
@Suite struct TextSearchTests {
    static let pieces = ["a", "b", "e", "A", " ", "\t", "-", "–", "—", "’", "“", "”", "•", "…", "©", "°", "·", "™", "§",
                         "\u{301}", "e\u{301}", "é", "\u{200D}", "\u{00A0}", "ß", "İ", "ﬁ", "🇺🇸", "👍🏽", "\r\n", "\n", "prior",
                         "authorization", "Aetna", "payer", ":", "x"]

    /// A deterministic generator (SplitMix64), so a failure names a reproducible case.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func text(maxPieces: Int) -> String {
            let count = Int(next() % UInt64(maxPieces + 1))
            return (0..<count).map { _ in TextSearchTests.pieces[Int(next() % UInt64(TextSearchTests.pieces.count))] }.joined()
        }
    }

    @Test func agreesWithFoundation() {
        var generator = Generator(state: 2026)
        var byteSearches = 0
        for _ in 0..<20_000 {
            let text = generator.text(maxPieces: 12)
            var needle = generator.text(maxPieces: 3)
            if generator.next() % 3 == 0, !text.isEmpty {  // often a real substring of the text
                let characters = Array(text)
                let start = Int(generator.next() % UInt64(characters.count))
                let length = 1 + Int(generator.next() % UInt64(min(4, characters.count - start)))
                needle = String(characters[start..<(start + length)])
            }
            #expect(TextSearch.contains(text, needle) == text.contains(needle), "\(text.debugDescription) contains \(needle.debugDescription)")
            let expected = text.range(of: needle)
            let found = TextSearch.range(of: needle, in: text)
            #expect(found == expected, "\(text.debugDescription) range of \(needle.debugDescription)")
            var t = text, n = needle
            if t.withUTF8({ TextSearch.isSimple($0) }) && n.withUTF8({ TextSearch.isSimple($0) }) { byteSearches += 1 }
        }
        #expect(byteSearches > 1_000, "the byte path was hardly exercised (\(byteSearches) cases)")
    }
}

/// The JSON writer's string escaping (which skips eight plain bytes at a time) round-trips every string:
/// generated strings mixing plain runs of every length with quotes, backslashes, control characters,
/// DEL, non-ASCII letters, bidirectional controls and emoji, in both writer styles.
@Suite struct JSONEscapingTests {
    /// Random values written by one dual writer (pretty, plus the compact text with invisibles escaped)
    /// give exactly what two separate writers give, nesting deeper than 64 levels included.
    @Test func dualWriterEqualsTwoWriters() {
        let pieces = ["a", "abcdefghij", "\"", "\\", "\n", "\u{1}", "\u{7F}", "é", "\u{202E}", "\u{200B}", "\u{85}", "😀", " "]
        var generator = TextSearchTests.Generator(state: 11)
        func text() -> String {
            (0..<Int(generator.next() % 6)).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
        }
        func value(depth: Int) -> JSONValue {
            switch generator.next() % (depth > 70 ? 3 : 6) {
            case 0: return .string(text())
            case 1: return .integer(Int(generator.next() % 2000) - 1000)
            case 2: return generator.next() % 2 == 0 ? .bool(true) : .null
            case 3: return .array((0..<Int(generator.next() % 3)).map { _ in value(depth: depth + 1) })
            default:
                var members: [String: JSONValue] = [:]
                for _ in 0..<Int(generator.next() % 3) { members[text()] = value(depth: depth + 1) }
                return .object(members)
            }
        }
        for round in 0..<400 {
            var tree = value(depth: 0)
            if round % 50 == 0 {  // a deep chain
                for level in 0..<(70 + round / 10) { tree = level % 2 == 0 ? .array([tree, .integer(level)]) : .object(["k": tree]) }
            }
            var dual = CanonicalJSONWriter(prettyAlsoCompact: 64)
            var pretty = CanonicalJSONWriter(style: .pretty)
            var compact = CanonicalJSONWriter(style: .compact, escapeInvisibles: true)
            tree.write(to: &dual)
            tree.write(to: &pretty)
            tree.write(to: &compact)
            #expect(dual.bytes == pretty.bytes)
            #expect(dual.compactBytes.array == compact.bytes)
            if round % 50 != 0 { #expect(JSONValueParser.parse(pretty.bytes) != nil) }  // (the parser stops at 64 levels)
        }
    }

    /// A record's bundle and Swift data line written in one walk are the two texts written separately.
    @Test func bundleAndDataLineInOneWalk() {
        for record in EmitterFixtures.records {
            let (bundle, line) = JSONEmitter.bundleAndDataLine(record)
            #expect(bundle == JSONEmitter.bundle([record]))
            #expect(line == JSONEmitter.compactLineBytes(record))
        }
    }

    @Test func stringsRoundTripThroughTheWriter() {
        let pieces = ["a", "abcdefgh", "abcdefghijklmnopq", "\"", "\\", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "é", "ß",
                      "\u{202E}", "\u{2066}", "\u{200B}", "\u{2028}", "\u{FEFF}", "😀", " ", "/", "0123456789"]
        var generator = TextSearchTests.Generator(state: 7)
        for _ in 0..<5_000 {
            let count = Int(generator.next() % 14)
            let text = (0..<count).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
            for (style, invisibles) in [(CanonicalJSONWriter.Style.pretty, false), (.compact, true)] {
                var writer = CanonicalJSONWriter(style: style, escapeInvisibles: invisibles)
                writer.stringArray([text])
                let bytes = writer.bytes
                #expect(JSONValueParser.parse(bytes)?.elements?.first?.stringValue == text, "\(text.debugDescription)")
                if invisibles {
                    // Nothing a Swift raw literal or a terminal would misread is left unescaped.
                    let decoded = String(decoding: bytes, as: UTF8.self)
                    #expect(!decoded.unicodeScalars.contains { SwiftStringLiteral.mustEscape($0.value) }, "\(text.debugDescription)")
                }
            }
        }
    }
}

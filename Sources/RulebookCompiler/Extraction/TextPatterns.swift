import Rulebook

/// Small recognisers for billing-code titles and dates, shared by extraction.
enum TitleLine {
    /// `CPT 27365: Excision…`, `HCPCS G0283 – …`, `CPT code 0275T`, `HCPCS Level II Code G0283: …`.
    static func parse(_ text: String) -> (system: CodeSystem, code: String, title: String)? {
        var copy = text
        switch copy.withUTF8({ parseSimple($0) }) {
        case .parsed(let result): return result
        case .notATitle: return nil
        case .needsCharacters: return parseCharacters(text)
        }
    }

    enum SimpleParse {
        case parsed((system: CodeSystem, code: String, title: String))
        case notATitle
        /// The text has characters the byte reading does not handle (see `TextSearch.isSimple`), or many filler words.
        case needsCharacters
    }

    /// `parseCharacters` on bytes, for text whose characters are single bytes or lone punctuation scalars.
    static func parseSimple(_ bytes: UnsafeBufferPointer<UInt8>) -> SimpleParse {
        guard TextSearch.isSimple(bytes) else { return .needsCharacters }
        var lower = 0, upper = bytes.count
        while lower < upper && ASCII.isSpaceOrTab(bytes[lower]) { lower += 1 }
        while upper > lower && ASCII.isSpaceOrTab(bytes[upper - 1]) { upper -= 1 }
        while lower < upper && (bytes[lower] == ASCII.hash || bytes[lower] == ASCII.star || bytes[lower] == ASCII.space) { lower += 1 }
        func hasPrefix(_ prefix: StaticString, at index: Int) -> Bool {
            let count = prefix.utf8CodeUnitCount
            guard upper - index >= count else { return false }
            for offset in 0..<count where bytes[index + offset] != prefix.utf8Start[offset] { return false }
            return true
        }
        let system: CodeSystem
        if hasPrefix("CPT", at: lower) {
            system = .cpt
            lower += 3
        } else if hasPrefix("HCPCS", at: lower) {
            system = .hcpcs
            lower += 5
        } else {
            return .notATitle
        }
        if hasPrefix("®", at: lower) { lower += 2 }
        guard lower < upper, bytes[lower] == ASCII.space || bytes[lower] == ASCII.tab else { return .notATitle }
        // Words separated by spaces; filler words between the system and the code are skipped.
        var index = lower
        var skipped = 0
        var token = index..<index
        while true {
            while index < upper && bytes[index] == ASCII.space { index += 1 }
            guard index < upper else { return .notATitle }
            let start = index
            while index < upper && bytes[index] != ASCII.space { index += 1 }
            let word = UnsafeBufferPointer(rebasing: bytes[start..<index])
            if isFiller(word) {
                skipped += 1
                if skipped >= 6 { return .needsCharacters } // the split's last piece would hold the rest of the line
                continue
            }
            token = start..<index
            break
        }
        // The code: the token without trailing `:–—-*,`.
        var codeEnd = token.upperBound
        while codeEnd > token.lowerBound {
            let last = bytes[codeEnd - 1]
            if last == ASCII.colon || last == ASCII.dash || last == ASCII.star || last == 0x2C {
                codeEnd -= 1
            } else if codeEnd - token.lowerBound >= 3 && isDash(bytes, codeEnd - 3) {
                codeEnd -= 3
            } else {
                break
            }
        }
        guard codeEnd - token.lowerBound == 5 else { return .notATitle }
        var code: [UInt8] = []
        for position in token.lowerBound..<codeEnd {
            let byte = bytes[position]
            guard ASCII.isLetter(byte) || ASCII.isDigit(byte) else { return .notATitle }
            code.append(byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte)
        }
        // The title: after the code, trimmed, without leading `:–—-*` and trailing `*`.
        var titleStart = token.upperBound, titleEnd = upper
        while titleStart < titleEnd && ASCII.isSpaceOrTab(bytes[titleStart]) { titleStart += 1 }
        while titleStart < titleEnd {
            let first = bytes[titleStart]
            if first == ASCII.colon || first == ASCII.dash || first == ASCII.star {
                titleStart += 1
            } else if titleEnd - titleStart >= 3 && isDash(bytes, titleStart) {
                titleStart += 3
            } else {
                break
            }
        }
        while titleStart < titleEnd && ASCII.isSpaceOrTab(bytes[titleStart]) { titleStart += 1 }
        while titleEnd > titleStart && ASCII.isSpaceOrTab(bytes[titleEnd - 1]) { titleEnd -= 1 }
        while titleEnd > titleStart && bytes[titleEnd - 1] == ASCII.star { titleEnd -= 1 }
        let title = String(decoding: UnsafeBufferPointer(rebasing: bytes[titleStart..<titleEnd]), as: UTF8.self)
        return .parsed((system, String(decoding: code, as: UTF8.self), title))
    }

    /// `–` (E2 80 93) or `—` (E2 80 94) at `index`.
    private static func isDash(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> Bool {
        bytes[index] == 0xE2 && bytes[index + 1] == 0x80 && (bytes[index + 2] == 0x93 || bytes[index + 2] == 0x94)
    }

    /// `code`, `level`, `ii` or `level-ii`, in any case.
    private static func isFiller(_ word: UnsafeBufferPointer<UInt8>) -> Bool {
        func equals(_ lowercase: StaticString) -> Bool {
            guard word.count == lowercase.utf8CodeUnitCount else { return false }
            for offset in 0..<word.count {
                let byte = word[offset]
                let lower = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                if lower != lowercase.utf8Start[offset] { return false }
            }
            return true
        }
        return equals("code") || equals("level") || equals("ii") || equals("level-ii")
    }

    /// The reading by characters (any text).
    static func parseCharacters(_ text: String) -> (system: CodeSystem, code: String, title: String)? {
        var rest = Substring(text.trimmedSpaces)
        while let first = rest.first, first == "#" || first == "*" || first == " " { rest = rest.dropFirst() }
        let system: CodeSystem
        if rest.hasPrefix("CPT") {
            system = .cpt
            rest = rest.dropFirst(3)
        } else if rest.hasPrefix("HCPCS") {
            system = .hcpcs
            rest = rest.dropFirst(5)
        } else {
            return nil
        }
        if rest.hasPrefix("®") { rest = rest.dropFirst() }
        guard rest.first == " " || rest.first == "\t" else { return nil }
        var words = rest.split(separator: " ", maxSplits: 6, omittingEmptySubsequences: true)
        // Skip filler words between the system and the code.
        while let word = words.first, ["code", "level", "ii", "level-ii"].contains(word.lowercased()) { words.removeFirst() }
        guard let token = words.first else { return nil }
        var code = String(token)
        while let last = code.last, ":–—-*,".contains(last) { code.removeLast() }
        guard code.count == 5, code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return nil }
        // Title: after the first separator following the code.
        let afterCode = rest[token.endIndex...]
        var title = afterCode.trimmedSpaces
        while let first = title.first, ":–—-*".contains(first) { title.removeFirst() }
        title = title.trimmedSpaces
        while title.hasSuffix("*") { title.removeLast() }
        return (system, code.uppercased(), title)
    }

    /// Whether a code has the form of its system (CPT: 5 digits, or 4 digits + F/T/U; HCPCS: letter + 4 digits).
    static func isValid(_ code: String, system: CodeSystem) -> Bool {
        let characters = Array(code.utf8)
        guard characters.count == 5 else { return false }
        let digits = characters.dropLast().allSatisfy(ASCII.isDigit)
        switch system {
        case .cpt:
            let last = characters[4]
            return digits && (ASCII.isDigit(last) || last == 0x46 || last == 0x54 || last == 0x55)
        case .hcpcs:
            return ASCII.isUpper(characters[0]) && characters.dropFirst().allSatisfy(ASCII.isDigit)
        }
    }

    static func describeForm(_ system: CodeSystem) -> String {
        system == .cpt ? "5 digits, or 4 digits followed by F, T or U" : "a letter followed by 4 digits"
    }
}

enum DateText {
    static let months = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
                         "october", "november", "december"]

    /// A date at the start of `text`: ISO `2025-01-01`, `01/15/2025`, `January 15, 2025`, `Jan 2025`, `2025`.
    /// Returns the ISO form (`YYYY-MM-DD`, or `YYYY-MM` for a month) and the rest of the text.
    static func leading(_ text: String) -> (iso: String, rest: Substring)? {
        let trimmed = Substring(text.trimmedSpaces)
        // The first eleven bytes are all the numeric forms look at (`count == 10` still means the whole text).
        let scalars = Array(trimmed.utf8.prefix(11))
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= scalars.count, scalars[range].allSatisfy(ASCII.isDigit) else { return nil }
            var value = 0
            for digit in scalars[range] { value = value * 10 + Int(digit - 0x30) }
            return value
        }
        // ISO
        if scalars.count >= 10, let year = number(0..<4), scalars[4] == ASCII.dash, let month = number(5..<7),
           scalars[7] == ASCII.dash, let day = number(8..<10), valid(year, month, day),
           scalars.count == 10 || !ASCII.isDigit(scalars[10]) {
            return (isoDate(year, month, day), trimmed.dropFirst(10))
        }
        // US numeric
        let parts = trimmed.prefix(10).split(separator: "/", maxSplits: 2)
        if parts.count == 3, let month = Int(parts[0]), let day = Int(parts[1]), parts[2].count >= 4,
           let year = Int(parts[2].prefix(4)), valid(year, month, day) {
            let length = parts[0].count + parts[1].count + 4 + 2
            return (isoDate(year, month, day), trimmed.dropFirst(length))
        }
        // Month name
        guard let initial = trimmed.utf8.first, ASCII.isLetter(initial) else { return nil }
        let lower = trimmed.prefix(12).lowercased()
        for (offset, name) in months.enumerated() {
            let short = String(name.prefix(3))
            let matched: String
            if lower.hasPrefix(name) { matched = name } else if lower.hasPrefix(short + " ") || lower.hasPrefix(short + ". ") { matched = lower.hasPrefix(short + ".") ? short + "." : short } else { continue }
            var rest = Substring(trimmed).dropFirst(matched.count).drop(while: { $0 == " " })
            var day: Int?
            let dayDigits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            if (1...2).contains(dayDigits.count) {
                day = Int(dayDigits)
                rest = rest.dropFirst(dayDigits.count).drop(while: { $0 == "," || $0 == " " })
            }
            let yearDigits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard yearDigits.count == 4, let year = Int(yearDigits) else { return nil }
            rest = rest.dropFirst(4)
            if let day {
                guard valid(year, offset + 1, day) else { return nil }
                return (isoDate(year, offset + 1, day), rest)
            }
            return (isoDate(year, offset + 1, nil), rest)
        }
        return nil
    }

    /// `String(format: "%04d-%02d-%02d", …)` (or `%04d-%02d` without a day) for a valid date.
    static func isoDate(_ year: Int, _ month: Int, _ day: Int?) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(10)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var value = value
            if value >= divisor * 10 { // wider than the field: printed in full, as %0Nd does
                bytes.append(contentsOf: String(value).utf8)
                return
            }
            while divisor > 0 {
                bytes.append(UInt8(0x30 + value / divisor))
                value %= divisor
                divisor /= 10
            }
        }
        digits(year, 4)
        bytes.append(ASCII.dash)
        digits(month, 2)
        if let day {
            bytes.append(ASCII.dash)
            digits(day, 2)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A whole string that is a date, as ISO `YYYY-MM-DD`.
    static func iso(_ text: String) -> String? {
        guard let (iso, rest) = leading(text), rest.trimmedSpaces.isEmpty, iso.count == 10 else { return nil }
        return iso
    }

    static func valid(_ year: Int, _ month: Int, _ day: Int) -> Bool {
        guard (1900...2200).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let lengths = [31, (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }
}

import Foundation

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (a fast ASCII trim; Foundation's is slow in hot loops).
    var trimmedSpaces: String {
        let trimmed = utf8.withContiguousStorageIfAvailable { bytes -> String? in
            var start = 0, end = bytes.count
            while start < end && (bytes[start] == ASCII.space || bytes[start] == ASCII.tab) { start += 1 }
            while end > start && (bytes[end - 1] == ASCII.space || bytes[end - 1] == ASCII.tab) { end -= 1 }
            if start == 0 && end == bytes.count, let string = self as? String { return string }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
        if let trimmed { return trimmed! }
        let bytes = Array(utf8)
        var start = 0, end = bytes.count
        while start < end && (bytes[start] == ASCII.space || bytes[start] == ASCII.tab) { start += 1 }
        while end > start && (bytes[end - 1] == ASCII.space || bytes[end - 1] == ASCII.tab) { end -= 1 }
        if start == 0 && end == bytes.count, let string = self as? String { return string }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

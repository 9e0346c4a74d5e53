/// Markdown inline syntax → plain text, as GitHub renders it: emphasis markers, code backticks,
/// backslash escapes, link targets and entity references are removed or decoded; raw HTML is kept.
/// Works on bytes in time linear in the input (pathological delimiter runs included).
struct InlineText {
    /// Normalised labels of link reference definitions in the document (`[label]: url`).
    var linkReferences: Set<String> = []

    func render(_ input: ArraySlice<UInt8>) -> String {
        // Most text has no inline syntax at all: then it is its own rendering.
        if !input.contains(where: Self.isSpecial) { return String(decoding: input, as: UTF8.self) }
        return String(decoding: renderBytes(input, depth: 0), as: UTF8.self)
    }

    @inline(__always) static func isSpecial(_ byte: UInt8) -> Bool {
        byte == ASCII.backslash || byte == ASCII.backtick || byte == ASCII.star || byte == ASCII.underscore
            || byte == ASCII.less || byte == ASCII.leftBracket || byte == 0x21 || byte == 0x26
    }

    // MARK: - Tokens

    private struct DelimiterRun {
        var character: UInt8
        var count: Int
        var remaining: Int
        var canOpen: Bool
        var canClose: Bool
        /// Offset in the rendered text where the run's literal remainder is printed.
        var position: Int
    }

    private func renderBytes(_ input: ArraySlice<UInt8>, depth: Int) -> [UInt8] {
        let bytes = Array(input)
        let count = bytes.count
        // The text without the delimiter runs; each run remembers where in it its remainder goes.
        var rendered: [UInt8] = []
        rendered.reserveCapacity(count)
        var runs: [DelimiterRun] = []
        var missingBacktickRuns = Set<Int>()
        var index = 0

        while index < count {
            let byte = bytes[index]
            switch byte {
            case ASCII.backslash:
                if index + 1 < count && ASCII.isPunctuation(bytes[index + 1]) {
                    rendered.append(bytes[index + 1])
                    index += 2
                } else {
                    rendered.append(byte)
                    index += 1
                }
            case ASCII.backtick:
                var runEnd = index
                while runEnd < count && bytes[runEnd] == ASCII.backtick { runEnd += 1 }
                let length = runEnd - index
                if !missingBacktickRuns.contains(length), let close = Self.closingBacktickRun(bytes, from: runEnd, length: length) {
                    rendered.append(contentsOf: Self.codeSpanContent(bytes[runEnd..<close]))
                    index = close + length
                } else {
                    missingBacktickRuns.insert(length)
                    rendered.append(contentsOf: bytes[index..<runEnd])
                    index = runEnd
                }
            case ASCII.star, ASCII.underscore:
                var runEnd = index
                while runEnd < count && bytes[runEnd] == byte { runEnd += 1 }
                let before: UInt8 = index > 0 ? bytes[index - 1] : ASCII.space
                let after: UInt8 = runEnd < count ? bytes[runEnd] : ASCII.space
                let beforeSpace = ASCII.isWhitespace(before), afterSpace = ASCII.isWhitespace(after)
                let beforePunct = ASCII.isPunctuation(before), afterPunct = ASCII.isPunctuation(after)
                let leftFlanking = !afterSpace && (!afterPunct || beforeSpace || beforePunct)
                let rightFlanking = !beforeSpace && (!beforePunct || afterSpace || afterPunct)
                let canOpen: Bool, canClose: Bool
                if byte == ASCII.star {
                    canOpen = leftFlanking
                    canClose = rightFlanking
                } else {
                    canOpen = leftFlanking && (!rightFlanking || beforePunct)
                    canClose = rightFlanking && (!leftFlanking || afterPunct)
                }
                let length = runEnd - index
                runs.append(DelimiterRun(character: byte, count: length, remaining: length, canOpen: canOpen,
                                         canClose: canClose, position: rendered.count))
                index = runEnd
            case ASCII.less:
                if let (text, end) = Self.autolink(bytes, at: index) {
                    rendered.append(contentsOf: text)
                    index = end
                } else {
                    rendered.append(byte)
                    index += 1
                }
            case ASCII.leftBracket, 0x21 /* ! */:
                let isImage = byte == 0x21
                if isImage && !(index + 1 < count && bytes[index + 1] == ASCII.leftBracket) {
                    rendered.append(byte)
                    index += 1
                    break
                }
                let open = isImage ? index + 1 : index
                if depth < 8, let (text, end) = link(bytes, open: open, depth: depth) {
                    rendered.append(contentsOf: text)
                    index = end
                } else {
                    rendered.append(byte)
                    index += 1
                }
            case 0x26 /* & */:
                if let (decoded, end) = Self.entity(bytes, at: index) {
                    rendered.append(contentsOf: decoded)
                    index = end
                } else {
                    rendered.append(byte)
                    index += 1
                }
            default:
                // A run of bytes without inline syntax is copied as it is.
                var end = index + 1
                while end < count && !Self.isSpecial(bytes[end]) { end += 1 }
                rendered.append(contentsOf: bytes[index..<end])
                index = end
            }
        }

        Self.processEmphasis(&runs)
        var output: [UInt8] = []
        output.reserveCapacity(count)
        var copied = 0
        for run in runs where run.remaining > 0 {
            output.append(contentsOf: rendered[copied..<run.position])
            copied = run.position
            for _ in 0..<run.remaining { output.append(run.character) }
        }
        output.append(contentsOf: rendered[copied...])
        return output
    }

    // MARK: - Emphasis (CommonMark "process emphasis", with openers_bottom for linear time)

    private static func processEmphasis(_ runs: inout [DelimiterRun]) {
        let n = runs.count
        guard n > 1 else { return }
        var previous = Array(-1..<(n - 1))
        var next = Array(1...n)
        next[n - 1] = -1
        var active = [Bool](repeating: true, count: n)
        // openersBottom[character][closer can open][count % 3]
        var openersBottom = [[[Int]]](repeating: [[Int]](repeating: [-1, -1, -1], count: 2), count: 2)

        func unlink(_ index: Int) {
            guard active[index] else { return }
            active[index] = false
            if previous[index] >= 0 { next[previous[index]] = next[index] }
            if next[index] >= 0 && next[index] < n { previous[next[index]] = previous[index] }
        }

        var closer = 0
        while closer >= 0 && closer < n {
            let run = runs[closer]
            guard run.canClose, active[closer], run.remaining > 0 else {
                closer = next[closer] >= 0 ? next[closer] : -1
                continue
            }
            let characterSlot = run.character == ASCII.star ? 0 : 1
            let openSlot = run.canOpen ? 1 : 0
            let bottom = openersBottom[characterSlot][openSlot][run.count % 3]
            var opener = previous[closer]
            var found = -1
            while opener >= 0 && opener > bottom {
                let candidate = runs[opener]
                if active[opener] && candidate.character == run.character && candidate.canOpen && candidate.remaining > 0 {
                    let oddMatch = (candidate.canClose || run.canOpen) && (candidate.count + run.count) % 3 == 0
                        && !(candidate.count % 3 == 0 && run.count % 3 == 0)
                    if !oddMatch {
                        found = opener
                        break
                    }
                }
                opener = previous[opener]
            }
            if found >= 0 {
                let used = (runs[closer].remaining >= 2 && runs[found].remaining >= 2) ? 2 : 1
                runs[found].remaining -= used
                runs[closer].remaining -= used
                var between = next[found]
                while between >= 0 && between != closer {
                    let following = next[between]
                    unlink(between)
                    between = following
                }
                if runs[found].remaining == 0 { unlink(found) }
                if runs[closer].remaining == 0 {
                    let following = next[closer]
                    unlink(closer)
                    closer = following
                }
            } else {
                openersBottom[characterSlot][openSlot][run.count % 3] = previous[closer]
                let following = next[closer]
                if !run.canOpen { unlink(closer) }
                closer = following
            }
        }
    }

    // MARK: - Code spans

    private static func closingBacktickRun(_ bytes: [UInt8], from start: Int, length: Int) -> Int? {
        var index = start
        while index < bytes.count {
            if bytes[index] == ASCII.backtick {
                var runEnd = index
                while runEnd < bytes.count && bytes[runEnd] == ASCII.backtick { runEnd += 1 }
                if runEnd - index == length { return index }
                index = runEnd
            } else {
                index += 1
            }
        }
        return nil
    }

    private static func codeSpanContent(_ content: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        if content.count >= 2, content.first == ASCII.space, content.last == ASCII.space,
           !content.allSatisfy({ $0 == ASCII.space }) {
            return content.dropFirst().dropLast()
        }
        return content
    }

    // MARK: - Links

    /// `[text](destination)`, `[text][label]`, `[text][]`, `[label]` (when defined) → rendered text.
    private func link(_ bytes: [UInt8], open: Int, depth: Int) -> ([UInt8], Int)? {
        guard let close = Self.matchingBracket(bytes, open: open) else { return nil }
        let text = bytes[(open + 1)..<close]
        var after = close + 1
        if after < bytes.count && bytes[after] == 0x28 /* ( */ {
            // Inline link: find the closing parenthesis, allowing balanced nesting.
            var nesting = 0
            var index = after + 1
            let limit = min(bytes.count, after + 2048)
            while index < limit {
                let byte = bytes[index]
                if byte == ASCII.backslash { index += 2; continue }
                if byte == 0x28 { nesting += 1 }
                if byte == ASCII.rightParen {
                    if nesting == 0 { return (renderBytes(text, depth: depth + 1), index + 1) }
                    nesting -= 1
                }
                index += 1
            }
            return nil
        }
        var label = text
        if after < bytes.count && bytes[after] == ASCII.leftBracket, let labelClose = Self.matchingBracket(bytes, open: after) {
            if labelClose > after + 1 { label = bytes[(after + 1)..<labelClose] }
            after = labelClose + 1
        }
        guard linkReferences.contains(Self.normalizedLabel(label)) else { return nil }
        return (renderBytes(text, depth: depth + 1), after)
    }

    private static func matchingBracket(_ bytes: [UInt8], open: Int) -> Int? {
        var nesting = 0
        var index = open + 1
        let limit = min(bytes.count, open + 1000) // link text is short; bounds the work per bracket
        while index < limit {
            let byte = bytes[index]
            if byte == ASCII.backslash { index += 2; continue }
            if byte == ASCII.leftBracket { nesting += 1 }
            if byte == ASCII.rightBracket {
                if nesting == 0 { return index }
                nesting -= 1
            }
            index += 1
        }
        return nil
    }

    static func normalizedLabel(_ label: ArraySlice<UInt8>) -> String {
        label.string.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    // MARK: - Autolinks and entities

    private static func autolink(_ bytes: [UInt8], at start: Int) -> ([UInt8], Int)? {
        var index = start + 1
        var sawColonOrAt = false
        while index < bytes.count && index < start + 2048 {
            let byte = bytes[index]
            if byte == ASCII.greater {
                guard sawColonOrAt, index > start + 1 else { return nil }
                return (Array(bytes[(start + 1)..<index]), index + 1)
            }
            if byte == ASCII.less || ASCII.isWhitespace(byte) { return nil }
            if byte == ASCII.colon || byte == 0x40 {
                // A scheme must be letters first; an email needs text before '@'.
                if byte == ASCII.colon && !ASCII.isLetter(bytes[start + 1]) { return nil }
                sawColonOrAt = true
            }
            index += 1
        }
        return nil
    }

    private static let namedEntities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "ndash": "–", "mdash": "—",
        "rsquo": "’", "lsquo": "‘", "rdquo": "”", "ldquo": "“", "hellip": "…", "copy": "©", "reg": "®",
        "trade": "™", "sect": "§", "middot": "·", "bull": "•", "deg": "°", "plusmn": "±", "times": "×",
    ]

    private static func entity(_ bytes: [UInt8], at start: Int) -> ([UInt8], Int)? {
        var index = start + 1
        while index < bytes.count && index < start + 34 && bytes[index] != 0x3B /* ; */ {
            let byte = bytes[index]
            guard ASCII.isLetter(byte) || ASCII.isDigit(byte) || byte == ASCII.hash else { return nil }
            index += 1
        }
        guard index < bytes.count, bytes[index] == 0x3B, index > start + 1 else { return nil }
        let name = bytes[(start + 1)..<index]
        if name.first == ASCII.hash {
            var digits = name.dropFirst()
            var radix = 10
            if let first = digits.first, first | 0x20 == 0x78 { radix = 16; digits = digits.dropFirst() }
            guard !digits.isEmpty, digits.count <= 7, let value = UInt32(digits.string, radix: radix) else { return nil }
            let scalar = (value == 0 ? nil : Unicode.Scalar(value)) ?? Unicode.Scalar(0xFFFD)!
            return (Array(String(Character(scalar)).utf8), index + 1)
        }
        guard let decoded = namedEntities[name.string] else { return nil }
        return (Array(decoded.utf8), index + 1)
    }
}

import Foundation

/// Line-level recognisers shared by both dialects: labelled lines, title lines, list markers.
enum LineClassifier {
    /// `Label: value`, `**Label:** value` or `**Label**: value` on one line.
    /// Returns the raw label and value bytes. The colon must be followed by a space or tab.
    static func labelled(_ line: ArraySlice<UInt8>) -> (label: ArraySlice<UInt8>, value: ArraySlice<UInt8>)? {
        let content = line.trimmed
        guard content.count >= 4 else { return nil }
        // Every form has its colon within the first 53 bytes (a label is at most 48 bytes after an optional `**`).
        let window = content.prefix(64)
        guard window.withUnsafeBufferPointer({ memchr($0.baseAddress!, Int32(ASCII.colon), $0.count) != nil }) else { return nil }
        var index = content.startIndex
        var emphasis: UInt8? = nil
        if content.hasPrefix("**") || content.hasPrefix("__") {
            emphasis = content[index]
            index += 2
        }
        let labelStart = index
        var words = 1
        while index < content.endIndex {
            let byte = content[index]
            if byte == ASCII.colon { break }
            if byte == emphasis, emphasis != nil { break }
            let allowed = ASCII.isLetter(byte) || ASCII.isDigit(byte) || byte >= 0x80 || byte == ASCII.space
                || byte == 0x26 /* & */ || byte == 0x2F /* / */ || byte == ASCII.dash || byte == 0x28 || byte == 0x29
                || byte == 0x27 /* ' */ || byte == ASCII.dot
            guard allowed else { return nil }
            if byte == ASCII.space && index > labelStart && content[index - 1] != ASCII.space { words += 1 }
            index += 1
            if index - labelStart > 48 || words > 6 { return nil }
        }
        guard index < content.endIndex, index > labelStart, ASCII.isLetter(content[labelStart]) || content[labelStart] >= 0x80 else {
            return nil
        }
        let label = content[labelStart..<index].trimmed
        guard !label.isEmpty else { return nil }
        // Accept `**Label:**`, `**Label**:` and plain `Label:`.
        var rest = content[index...]
        if let emphasis {
            if rest.hasPrefix(":") {
                rest = rest.dropFirst()
                guard rest.count >= 2, rest[rest.startIndex] == emphasis, rest[rest.startIndex + 1] == emphasis else { return nil }
                rest = rest.dropFirst(2)
            } else {
                guard rest.count >= 3, rest[rest.startIndex + 1] == emphasis, rest[rest.startIndex + 2] == ASCII.colon else { return nil }
                rest = rest.dropFirst(3)
            }
        } else {
            guard rest.first == ASCII.colon else { return nil }
            rest = rest.dropFirst()
        }
        guard let next = rest.first, ASCII.isSpaceOrTab(next) else { return nil }
        let value = rest.trimmed
        guard !value.isEmpty else { return nil }
        if isTitle(content) { return nil }
        return (label, value)
    }

    /// A line naming the document's code: `CPT 27365: Excision…`, `HCPCS G0283 – …`
    /// (markers such as `#` and `**` already removed or tolerated).
    static func isTitle(_ line: ArraySlice<UInt8>) -> Bool {
        var content = line.trimmed
        while let first = content.first, first == ASCII.hash || first == ASCII.star || first == ASCII.space { content = content.dropFirst() }
        let system: StaticString
        if content.hasPrefix("CPT") { system = "CPT" } else if content.hasPrefix("HCPCS") { system = "HCPCS" } else { return false }
        content = content.dropFirst(system.utf8CodeUnitCount)
        guard let first = content.first, ASCII.isSpaceOrTab(first) else { return false }
        content = content.trimmedLeading
        if content.hasPrefix("code ") { content = content.dropFirst(5).trimmedLeading }
        if content.hasPrefix("Code ") { content = content.dropFirst(5).trimmedLeading }
        var tokenEnd = content.startIndex
        while tokenEnd < content.endIndex && (ASCII.isLetter(content[tokenEnd]) || ASCII.isDigit(content[tokenEnd])) { tokenEnd += 1 }
        let token = content[content.startIndex..<tokenEnd]
        guard token.count == 5, token.contains(where: ASCII.isDigit) else { return false }
        let rest = content[tokenEnd...].trimmedLeading
        guard let separator = rest.first else { return true }
        if separator == ASCII.colon || separator == ASCII.dash || rest.hasPrefix("–") || rest.hasPrefix("—") || separator == ASCII.star {
            return true
        }
        return false
    }

    enum ListMarker: Equatable {
        case bullet(UInt8)
        case ordered(start: Int, delimiter: UInt8)
    }

    /// A list marker at the start of `content` (which starts at the first non-space byte):
    /// the marker, its width in bytes, and whether anything follows it on the line.
    static func listMarker(_ content: ArraySlice<UInt8>) -> (marker: ListMarker, width: Int, empty: Bool)? {
        guard let first = content.first else { return nil }
        if first == ASCII.dash || first == ASCII.plus || first == ASCII.star {
            let after = content.dropFirst()
            guard after.isEmpty || ASCII.isSpaceOrTab(after.first!) else { return nil }
            return (.bullet(first), 1, after.isBlank)
        }
        var index = content.startIndex
        while index < content.endIndex && ASCII.isDigit(content[index]) && index - content.startIndex < 9 { index += 1 }
        guard index > content.startIndex, index < content.endIndex else { return nil }
        let delimiter = content[index]
        guard delimiter == ASCII.dot || delimiter == ASCII.rightParen else { return nil }
        let after = content[(index + 1)...]
        guard after.isEmpty || ASCII.isSpaceOrTab(after.first!) else { return nil }
        let start = Int(content[content.startIndex..<index].string) ?? 0
        return (.ordered(start: start, delimiter: delimiter), index + 1 - content.startIndex, after.isBlank)
    }

    /// `***`, `---`, `___` (three or more, spaces allowed between).
    static func isThematicBreak(_ content: ArraySlice<UInt8>) -> Bool {
        guard let first = content.first, first == ASCII.star || first == ASCII.dash || first == ASCII.underscore else { return false }
        var count = 0
        for byte in content {
            if byte == first { count += 1 } else if !ASCII.isSpaceOrTab(byte) { return false }
        }
        return count >= 3
    }

    /// ATX heading: level and the raw text without the `#` markers.
    static func atxHeading(_ content: ArraySlice<UInt8>) -> (level: Int, text: ArraySlice<UInt8>)? {
        var level = 0
        var index = content.startIndex
        while index < content.endIndex && content[index] == ASCII.hash { level += 1; index += 1 }
        guard level >= 1, level <= 6 else { return nil }
        guard index == content.endIndex || ASCII.isSpaceOrTab(content[index]) else { return nil }
        var text = content[index...].trimmed
        // Optional closing sequence: spaces then #s.
        var end = text.endIndex
        while end > text.startIndex && text[end - 1] == ASCII.hash { end -= 1 }
        if end == text.startIndex {
            text = text[text.startIndex..<text.startIndex]
        } else if end < text.endIndex && ASCII.isSpaceOrTab(text[end - 1]) {
            text = text[text.startIndex..<end].trimmed
        }
        return (level, text)
    }

    /// Fence opening: the fence character and length.
    static func fence(_ content: ArraySlice<UInt8>) -> (character: UInt8, length: Int)? {
        guard let first = content.first, first == ASCII.backtick || first == ASCII.tilde else { return nil }
        var length = 0
        for byte in content { if byte == first { length += 1 } else { break } }
        guard length >= 3 else { return nil }
        if first == ASCII.backtick && content.dropFirst(length).contains(ASCII.backtick) { return nil }
        return (first, length)
    }

    /// Setext underline: level 1 for `===`, 2 for `---`.
    static func setextLevel(_ content: ArraySlice<UInt8>) -> Int? {
        let trimmed = content.trimmed
        guard let first = trimmed.first, first == ASCII.equals || first == ASCII.dash else { return nil }
        guard trimmed.allSatisfy({ $0 == first }) else { return nil }
        return first == ASCII.equals ? 1 : 2
    }
}

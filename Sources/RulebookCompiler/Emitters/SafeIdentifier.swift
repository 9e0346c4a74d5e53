/// Swift identifiers from arbitrary text (after swift-openapi-generator's `SafeNameGenerator`).
///
/// The result uses only ASCII letters, digits and `_`: other characters become `_<name>_`
/// (`-` → `_hyphen_`, `.` → `_period_`) or `_x<HEX>_` for code points without a name; a leading digit gets
/// a `_` prefix; a Swift keyword (or a name the generated code already uses) gets a `_` suffix; empty text
/// gives `_empty`. ``Registry`` makes names unique with `_2`, `_3`… suffixes.
public enum SafeIdentifier {
    /// A valid Swift identifier for `text`.
    public static func make(_ text: String) -> String {
        guard !text.isEmpty else { return "_empty" }
        // ASCII letters, digits and `_`, not starting with a digit (every code's constant): the loop below
        // would copy it unchanged.
        let plain = text.utf8.first.map { !(0x30...0x39).contains($0) } == true && text.allUTF8 { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F
        }
        if plain {
            if text == "_" { return "_underscore_" }
            return keywords.contains(text) ? text + "_" : text
        }
        var result = ""
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let isLetter = (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) || value == 0x5F
            let isDigit = (0x30...0x39).contains(value)
            if isLetter || isDigit {
                if result.isEmpty && isDigit { result += "_" }
                result.unicodeScalars.append(scalar)
            } else if let name = punctuationNames[scalar] {
                result += "_" + name + "_"
            } else {
                result += "_x" + String(value, radix: 16, uppercase: true) + "_"
            }
        }
        if result == "_" { return "_underscore_" }
        if keywords.contains(result) { return result + "_" }
        return result
    }

    /// Hands out identifiers that are unique within one scope.
    public struct Registry: Sendable {
        private var used: Set<String>

        /// - Parameter reserved: names the scope already declares.
        public init(reserved: Set<String> = []) { used = reserved }

        /// `make(text)`, or with `_2`, `_3`… appended when that is taken.
        public mutating func unique(_ text: String) -> String {
            let base = SafeIdentifier.make(text)
            var name = base
            var counter = 2
            while used.contains(name) {
                name = "\(base)_\(counter)"
                counter += 1
            }
            used.insert(name)
            return name
        }
    }

    /// Swift keywords and names that mean something special in member position.
    static let keywords: Set<String> = [
        "associatedtype", "borrowing", "class", "consuming", "deinit", "enum", "extension", "fileprivate", "func",
        "import", "init", "inout", "internal", "let", "nonisolated", "open", "operator", "package", "precedencegroup",
        "private", "protocol", "public", "rethrows", "static", "struct", "subscript", "typealias", "var",
        "break", "case", "catch", "continue", "default", "defer", "do", "else", "fallthrough", "for", "guard", "if",
        "in", "repeat", "return", "switch", "throw", "where", "while",
        "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true", "try", "_",
        "associativity", "convenience", "dynamic", "didSet", "final", "get", "indirect", "infix", "lazy", "left",
        "mutating", "none", "nonmutating", "optional", "override", "postfix", "precedence", "prefix", "Protocol",
        "required", "right", "set", "some", "Type", "unowned", "weak", "willSet", "actor", "async", "each", "macro",
        "any", "copy", "consume", "discard", "then", "sending", "isolated",
    ]

    private static let punctuationNames: [Unicode.Scalar: String] = [
        " ": "space", "!": "excl", "\"": "quot", "#": "num", "$": "dollar", "%": "percnt", "&": "amp", "'": "apos",
        "(": "lpar", ")": "rpar", "*": "ast", "+": "plus", ",": "comma", "-": "hyphen", ".": "period", "/": "sol",
        ":": "colon", ";": "semi", "<": "lt", "=": "equals", ">": "gt", "?": "quest", "@": "commat", "[": "lsqb",
        "\\": "bsol", "]": "rsqb", "^": "hat", "`": "grave", "{": "lcub", "|": "verbar", "}": "rcub", "~": "tilde",
    ]
}

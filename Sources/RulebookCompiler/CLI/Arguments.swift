/// A small command-line argument parser (Rulebook has no package dependencies).
/// Supports `--name value`, `--name=value`, repeated options, boolean flags, `--` and positionals.
public struct ArgumentSpec: Sendable {
    /// Options that take a value, without the leading `--` (e.g. `input`).
    public var valueOptions: Set<String>
    /// Options that take no value (e.g. `check`).
    public var flags: Set<String>
    /// Single-letter aliases: `h` → `help`.
    public var aliases: [Character: String]

    public init(valueOptions: Set<String> = [], flags: Set<String> = [], aliases: [Character: String] = [:]) {
        self.valueOptions = valueOptions
        self.flags = flags.union(["help"])
        self.aliases = aliases.merging(["h": "help"]) { a, _ in a }
    }
}

public struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct ParsedArguments: Sendable, Equatable {
    /// Values of value options in command-line order.
    public var values: [String: [String]] = [:]
    public var flags: Set<String> = []
    public var positionals: [String] = []

    public func has(_ flag: String) -> Bool { flags.contains(flag) }
    /// The last value given for an option, if any.
    public func value(_ name: String) -> String? { values[name]?.last }
    public func all(_ name: String) -> [String] { values[name] ?? [] }

    public static func parse(_ arguments: [String], spec: ArgumentSpec) throws(UsageError) -> ParsedArguments {
        var result = ParsedArguments()
        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || argument == "-" || !argument.hasPrefix("-") {
                result.positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            var name: String
            var inlineValue: String?
            if argument.hasPrefix("--") {
                name = String(argument.dropFirst(2))
                if let equals = name.firstIndex(of: "=") {
                    inlineValue = String(name[name.index(after: equals)...])
                    name = String(name[..<equals])
                }
            } else {
                let letters = argument.dropFirst()
                guard letters.count == 1, let alias = spec.aliases[letters.first!] else {
                    throw UsageError("unknown option '\(argument)'")
                }
                name = alias
            }
            if spec.flags.contains(name) {
                if inlineValue != nil { throw UsageError("option '--\(name)' takes no value") }
                result.flags.insert(name)
            } else if spec.valueOptions.contains(name) {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else if index < arguments.count {
                    value = arguments[index]
                    index += 1
                } else {
                    throw UsageError("option '--\(name)' needs a value")
                }
                result.values[name, default: []].append(value)
            } else {
                throw UsageError("unknown option '--\(name)'")
            }
        }
        return result
    }
}

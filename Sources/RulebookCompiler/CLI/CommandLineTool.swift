import Foundation

/// One `rulebook` subcommand. Each lives in its own file and is listed in `CommandLineTool.subcommands`.
public struct Subcommand: Sendable {
    public var name: String
    /// One line for `rulebook --help`.
    public var summary: String
    /// Full usage text for `rulebook NAME --help`.
    public var usage: String
    public var spec: ArgumentSpec
    /// Returns the exit code: 0 ok, 1 error diagnostics (or findings), 2 usage error.
    public var run: @Sendable (ParsedArguments) throws(UsageError) -> Int32

    public init(name: String, summary: String, usage: String, spec: ArgumentSpec,
                run: @escaping @Sendable (ParsedArguments) throws(UsageError) -> Int32) {
        self.name = name
        self.summary = summary
        self.usage = usage
        self.spec = spec
        self.run = run
    }
}

/// The `rulebook` command: parses arguments and dispatches to a subcommand.
public enum CommandLineTool {
    public static let version = "0.1.0"

    public static let subcommands: [Subcommand] = [
        ExtractCommand.command,
        DumpCommand.command,
        GenerateCommand.command,
        CheckCommand.command,
        DiffCommand.command,
        ExplainCommand.command,
    ]

    static var overview: String {
        var text = """
        rulebook \(version) — compiles billing documents into typed rules (JSON bundles and Swift sources).

        USAGE: rulebook <command> [options]

        COMMANDS:

        """
        for command in subcommands {
            text += "  " + command.name.padding(toLength: 10, withPad: " ", startingAt: 0) + command.summary + "\n"
        }
        text += "\nRun 'rulebook <command> --help' for a command's options.\n"
        return text
    }

    /// Runs the tool; returns the process exit code (0 ok, 1 error diagnostics, 2 usage error).
    public static func run(arguments: [String]) -> Int32 {
        guard let first = arguments.first else {
            Console.error(overview)
            return 2
        }
        switch first {
        case "--help", "-h", "help":
            Console.out(overview)
            return 0
        case "--version":
            Console.out("rulebook \(version)\n")
            return 0
        default:
            break
        }
        guard let command = subcommands.first(where: { $0.name == first }) else {
            Console.error("error: unknown command '\(first)'\nhint: run 'rulebook --help' to list the commands\n")
            return 2
        }
        do {
            let parsed = try ParsedArguments.parse(Array(arguments.dropFirst()), spec: command.spec)
            if parsed.has("help") {
                Console.out(command.usage)
                return 0
            }
            return try command.run(parsed)
        } catch {
            Console.error("error: \(error.message)\nhint: run 'rulebook \(command.name) --help' for usage\n")
            return 2
        }
    }
}

/// Unbuffered writes to stdout and stderr.
public enum Console {
    public static func out(_ text: String) { write(text, to: FileHandle.standardOutput) }
    public static func error(_ text: String) { write(text, to: FileHandle.standardError) }

    private static func write(_ text: String, to handle: FileHandle) {
        guard !text.isEmpty else { return }
        try? handle.write(contentsOf: Data(text.utf8))
    }
}

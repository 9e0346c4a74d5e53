import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the process's standard error is connected to, and what may be drawn on it.
///
/// - Colour only when stderr is a terminal, `NO_COLOR` is unset (any value, even empty, turns colour
///   off, as <https://no-color.org> asks) and `TERM` is not `dumb`.
/// - The progress line only when stderr is a terminal and `CI` is unset (CI logs are often recorded
///   through a pseudo-terminal; a `\r`-updated line there is noise) and `TERM` is not `dumb`.
public struct Terminal: Sendable, Equatable {
    public var isTTY: Bool
    public var colour: Bool
    public var progress: Bool

    public init(isTTY: Bool, colour: Bool, progress: Bool) {
        self.isTTY = isTTY
        self.colour = colour
        self.progress = progress
    }

    /// Decides from a file descriptor's TTY-ness and an environment.
    public static func detect(isTTY: Bool, environment: [String: String]) -> Terminal {
        let dumb = environment["TERM"] == "dumb"
        let colour = isTTY && environment["NO_COLOR"] == nil && !dumb
        let progress = isTTY && !dumb && environment["CI"] == nil
        return Terminal(isTTY: isTTY, colour: colour, progress: progress)
    }

    /// The terminal behind this process's standard error.
    public static var standardError: Terminal {
        detect(isTTY: isatty(STDERR_FILENO) == 1, environment: ProcessInfo.processInfo.environment)
    }

    /// The terminal behind standard output (for commands whose main output is text on stdout).
    public static var standardOutput: Terminal {
        detect(isTTY: isatty(STDOUT_FILENO) == 1, environment: ProcessInfo.processInfo.environment)
    }

    /// Nothing drawn: for files and pipes.
    public static let plain = Terminal(isTTY: false, colour: false, progress: false)
}

/// ANSI styling of diagnostic text.
public enum ANSIStyle {
    public static let reset = "\u{1B}[0m"
    public static let bold = "\u{1B}[1m"
    public static let red = "\u{1B}[31m"
    public static let yellow = "\u{1B}[33m"
    public static let cyan = "\u{1B}[36m"
    public static let green = "\u{1B}[32m"

    /// The colour of a severity word: red errors, yellow warnings, cyan notes.
    public static func colour(of severity: Diagnostic.Severity) -> String {
        switch severity {
        case .error: return red
        case .warning: return yellow
        case .note: return cyan
        }
    }
}

/// A `\r`-updated status line on stderr (`compiling 12/140 seeds/…`), drawn at most every 50 ms and
/// cleared by `finish()`. Thread-safe: `update` may be called from the compile workers.
public final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private let enabled: Bool
    private let write: @Sendable (String) -> Void
    private var lastDraw: UInt64 = 0
    private var drawn = false
    private let minimumInterval: UInt64
    /// Width available on the line; the text is cut to it so it never wraps.
    private let width: Int

    public init(enabled: Bool, width: Int = ProgressLine.terminalWidth(), minimumIntervalNanoseconds: UInt64 = 50_000_000,
                write: @escaping @Sendable (String) -> Void = { Console.error($0) }) {
        self.enabled = enabled
        self.width = max(20, width)
        self.minimumInterval = minimumIntervalNanoseconds
        self.write = write
    }

    /// Shows `compiling done/total path`; skipped when the last draw was less than the interval ago,
    /// except for the last document.
    public func update(done: Int, total: Int, path: String) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = DispatchTime.now().uptimeNanoseconds
        guard done == total || !drawn || now &- lastDraw >= minimumInterval else { return }
        lastDraw = now
        drawn = true
        var text = "compiling \(done)/\(total) \(path)"
        if text.count > width - 1 { text = String(text.prefix(width - 2)) + "…" }
        write("\r\u{1B}[2K" + text)
    }

    /// Clears the line (if anything was drawn) so the next output starts at column 1.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard enabled, drawn else { return }
        drawn = false
        write("\r\u{1B}[2K")
    }

    /// The width of the terminal on stderr (`TIOCGWINSZ`), or `COLUMNS`, or 80.
    public static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        return 80
    }
}

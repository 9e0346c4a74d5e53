import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which `rulebook` executable last brought an output folder up to date, on this machine.
///
/// The incremental state of a run lives in the output folder's manifest (``Manifest/documents``) and is
/// deterministic, so a committed `Generated/` does not change from machine to machine. It does not say
/// which build of the compiler produced it: a rebuilt compiler (a developer changing the extractor)
/// must not reuse an older one's results. So the identity of the executable (path, size, modification
/// time, inode) is kept outside the output folder, in `$RULEBOOK_CACHE_DIR` (else
/// `$XDG_CACHE_HOME/rulebook`, else `~/.cache/rulebook`), one small file per output folder. Without a
/// matching stamp (a fresh clone, another machine, a new build) a run compiles every document once.
enum BuildStamp {
    /// The stamp file for an output folder.
    static func location(forOutput output: String, directory: String? = nil) -> URL? {
        let environment = ProcessInfo.processInfo.environment
        var folder: URL
        if let directory {
            folder = URL(fileURLWithPath: directory)
        } else if let explicit = environment["RULEBOOK_CACHE_DIR"], !explicit.isEmpty {
            folder = URL(fileURLWithPath: explicit)
        } else if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            folder = URL(fileURLWithPath: xdg).appendingPathComponent("rulebook")
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            folder = URL(fileURLWithPath: home).appendingPathComponent(".cache/rulebook")
        } else {
            return nil
        }
        let absolute = URL(fileURLWithPath: output).standardizedFileURL.path
        return folder.appendingPathComponent("out-" + ContentHash.hex(absolute) + ".stamp")
    }

    /// Whether the stamp at `url` names this executable and this manifest.
    static func matches(_ url: URL?, manifestHash: String) -> Bool {
        guard let url, let data = FileManager.default.contents(atPath: url.path) else { return false }
        return String(decoding: data, as: UTF8.self) == text(manifestHash: manifestHash)
    }

    /// Records that this executable wrote the manifest with `manifestHash` (atomically; failures ignored:
    /// the next run is then a full one).
    static func save(_ url: URL?, manifestHash: String) {
        guard let url else { return }
        let folder = url.deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temp = folder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        guard FileManager.default.createFile(atPath: temp.path, contents: Data(text(manifestHash: manifestHash).utf8)) else { return }
        if rename(temp.path, url.path) != 0 { unlink(temp.path) }
    }

    /// Removes the stamp (before a run changes the output folder).
    static func remove(_ url: URL?) {
        if let url { unlink(url.path) }
    }

    private static func text(manifestHash: String) -> String {
        "rulebook build stamp 1\n" + executableIdentity() + "\nmanifest " + manifestHash + "\n"
    }

    /// Path, size, modification time and inode of the running executable (a rebuild changes them).
    static func executableIdentity() -> String {
        #if os(Linux)
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first ?? ""
        #else
        let path = Bundle.main.executablePath ?? CommandLine.arguments.first ?? ""
        #endif
        var info = stat()
        guard stat(path, &info) == 0 else { return "unknown executable \(path)" }
        #if canImport(Darwin)
        let modified = "\(info.st_mtimespec.tv_sec).\(info.st_mtimespec.tv_nsec)"
        #else
        let modified = "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        #endif
        return "\(path) \(info.st_size) \(modified) \(info.st_ino)"
    }
}

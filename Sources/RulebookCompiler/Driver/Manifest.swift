import Foundation

/// A fast, stable, non-cryptographic content hash: FNV-1a 64-bit, as 16 lower-case hex digits.
/// Used in the output manifest to tell which bytes each generated file holds.
public enum ContentHash {
    public static func value<C: Sequence<UInt8>>(_ bytes: C) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            for byte in buffer {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01B3
            }
        }
        if done == nil {
            for byte in bytes {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01B3
            }
        }
        return hash
    }

    /// `ContentHash.hex(Array("a".utf8))` == `"af63dc4c8601ec8c"`.
    public static func hex<C: Sequence<UInt8>>(_ bytes: C) -> String {
        let digits = String(value(bytes), radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The hash of the UTF-8 bytes of `text`.
    public static func hex(_ text: String) -> String {
        var text = text
        return text.withUTF8 { hex($0) }
    }
}

/// `OUT/.rulebook-manifest.json`: which files the generator owns in its output folder, with the content
/// hash of each, and free-form input hashes for incremental runs. Encoded deterministically:
///
/// ```json
/// {
///   "files": {
///     "JSON/cpt-27365.json": "1d6c0b0f3f5a2c11"
///   },
///   "inputs": {},
///   "version": 1
/// }
/// ```
///
/// A hash of `""` means "unknown": while a run is writing, the manifest already lists the files it is
/// about to create (so an interrupted run's files are still known and cleaned up later) with `""`.
public struct Manifest: Sendable, Hashable {
    public static let currentVersion = 1

    public var version: Int
    /// Relative output path → `ContentHash.hex` of its bytes ("" when unknown).
    public var files: [String: String]
    /// Free-form: whatever the caller stores (e.g. input path → content hash).
    public var inputs: [String: String]

    public init(files: [String: String], inputs: [String: String] = [:], version: Int = Manifest.currentVersion) {
        self.version = version
        self.files = files
        self.inputs = inputs
    }

    /// Byte-stable JSON (the canonical writer: keys sorted by their UTF-8 bytes, two-space indentation).
    public func encoded() -> [UInt8] {
        func object(_ dictionary: [String: String]) -> JSONValue { .object(dictionary.mapValues(JSONValue.string)) }
        return Array(JSONValue.object(["files": object(files), "inputs": object(inputs), "version": .integer(version)])
            .canonicalText.utf8)
    }

    /// Parses a manifest; nil when the bytes are not a manifest (then the writer owns no old files).
    public static func decode(_ bytes: [UInt8]) -> Manifest? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let files = object["files"] as? [String: String] else { return nil }
        let version = (object["version"] as? NSNumber)?.intValue ?? 0
        let inputs = object["inputs"] as? [String: String] ?? [:]
        return Manifest(files: files, inputs: inputs, version: version)
    }
}

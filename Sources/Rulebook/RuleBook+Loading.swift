import Foundation

extension RuleBook {
    /// File names in a bundle folder that are not bundles.
    public static let nonBundleFileNames: Set<String> = ["index.json", "rulebook.schema.json"]

    /// Loads every `*.json` bundle in `folder` (not recursive; `index.json` and
    /// `rulebook.schema.json` are skipped), in name order. When two bundles hold the same code, the
    /// first (by name) wins. Throws `RuleBookLoadError` naming the file for an unreadable folder or
    /// file, invalid JSON, a bundle of another `schemaVersion`, or a shape that does not match the schema.
    public init(bundlesAt folder: URL) throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw RuleBookLoadError(path: folder.path, message: "cannot read the rules folder: \(RuleBook.reason(error))")
        }
        var records: [CodeRecord] = []
        for name in RuleBook.bundleFileNames(names) {
            let url = folder.appendingPathComponent(name)
            let data: Data
            do {
                data = try Data(contentsOf: url)
            } catch {
                throw RuleBookLoadError(path: url.path, message: "cannot read bundle: \(RuleBook.reason(error))")
            }
            records += try RuleBook.decodeBundle(data, path: url.path).codes
        }
        self.init(records: records)
    }

    /// One bundle's bytes (`{"schemaVersion": 1, "codes": [...]}`); `path` names it in errors.
    public init(bundleData: Data, path: String) throws {
        self.init(records: try RuleBook.decodeBundle(bundleData, path: path).codes)
    }

    /// The bundle names among `names`: `*.json` except the index and the schema, sorted.
    public static func bundleFileNames(_ names: [String]) -> [String] {
        names.filter { $0.hasSuffix(".json") && !nonBundleFileNames.contains($0) && !$0.hasPrefix(".") }.sorted()
    }

    /// Decodes and checks one bundle.
    public static func decodeBundle(_ data: Data, path: String) throws -> RuleBundle {
        struct Header: Decodable { var schemaVersion: Int }
        let decoder = JSONDecoder()
        do {
            let header = try decoder.decode(Header.self, from: data)
            guard header.schemaVersion == RuleBundle.currentSchemaVersion else {
                throw RuleBookLoadError(
                    path: path,
                    message: "bundle schemaVersion \(header.schemaVersion) is not supported by this runtime (expects \(RuleBundle.currentSchemaVersion))")
            }
            return try decoder.decode(RuleBundle.self, from: data)
        } catch let error as RuleBookLoadError {
            throw error
        } catch let error as DecodingError {
            throw RuleBookLoadError(path: path, message: describe(error))
        } catch {
            throw RuleBookLoadError(path: path, message: "cannot read bundle: \(reason(error))")
        }
    }

    /// A `DecodingError` in words, with the key path when the decoder gives one.
    static func describe(_ error: DecodingError) -> String {
        func keyPath(_ path: [any CodingKey], appending key: (any CodingKey)? = nil) -> String {
            var text = ""
            for component in path + (key.map { [$0] } ?? []) {
                if let index = component.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? component.stringValue : "." + component.stringValue
                }
            }
            return text.isEmpty ? "the top level" : "'\(text)'"
        }
        switch error {
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let underlying = context.underlyingError.map { " (\(reason($0)))" } ?? ""
                return "invalid JSON: \(context.debugDescription)\(underlying)"
            }
            return "bundle does not match the schema at \(keyPath(context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "bundle does not match the schema: missing key \(keyPath(context.codingPath, appending: key))"
        case .typeMismatch(let type, let context):
            return "bundle does not match the schema at \(keyPath(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "bundle does not match the schema at \(keyPath(context.codingPath)): expected \(type), found null"
        @unknown default:
            return "bundle does not match the schema: \(error)"
        }
    }

    static func reason(_ error: any Error) -> String {
        (error as NSError).localizedDescription
    }
}

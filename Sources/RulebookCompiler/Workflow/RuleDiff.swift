import Foundation
import Rulebook

/// One rule-level difference between two rule sets.
public struct RuleChange: Sendable, Hashable, Encodable {
    public enum Kind: String, Sendable, Hashable, Encodable, CaseIterable {
        case codeAdded, codeRemoved
        case titleChanged, serviceTypeChanged, sitesOfServiceChanged, effectiveChanged
        case modifierAdded, modifierRemoved, modifierDescriptionChanged, modifierWhenToUseChanged
        case payerAdded, payerRemoved, priorAuthorizationChanged, coverageChanged
        case policyUpdateAdded, policyUpdateRemoved, policyUpdateChanged
    }

    public var system: String
    public var code: String
    public var kind: Kind
    /// The modifier code, payer id or policy-update date the change is about.
    public var subject: String?
    /// For payer changes: the payer id (the heading `CPT 27365 · aetna`).
    public var payer: String?
    public var old: String?
    public var new: String?
    /// A word-level excerpt for changed text: `… [-old words-]{+new words+} …`.
    public var excerpt: String?
    /// `path:line` in NEW (or in OLD for a removal).
    public var location: String?
    /// The change in words, without the code: `modifier 59 added`.
    public var message: String

    /// `CPT 27365` or `CPT 27365 · aetna`.
    public var heading: String {
        "\(system) \(code)" + (payer.map { " · \($0)" } ?? "")
    }

    /// `CPT 27365: modifier 59 added (seeds/x.md:22)`; a removal says `(was …)`.
    public var line: String {
        var text = "\(heading): \(message)"
        if let location {
            text += isRemoval ? " (was \(location))" : " (\(location))"
        }
        return text
    }

    var isRemoval: Bool { kind == .codeRemoved || kind == .modifierRemoved || kind == .payerRemoved || kind == .policyUpdateRemoved }
}

/// Compares two rule sets semantically: code by code, modifier by code, payer by id, policy update by date
/// and payer. Line numbers, paths, section headings, the summary and unplaced section prose are ignored;
/// text fields are compared with runs of white space folded, so re-wrapping a paragraph changes nothing.
/// Payer-note prose (`notes`) and the payer's name as written are not rules either: what a payer requires is
/// `priorAuthorization` and `coverage`.
public enum RuleDiff {
    public static func compare(old: [CodeRecord], new: [CodeRecord]) -> [RuleChange] {
        let oldByKey = index(old), newByKey = index(new)
        let keys = Set(oldByKey.keys).union(newByKey.keys).sorted { a, b in
            a.system != b.system ? a.system < b.system : a.code.utf8.lexicographicallyPrecedes(b.code.utf8)
        }
        var changes: [RuleChange] = []
        for key in keys {
            switch (oldByKey[key], newByKey[key]) {
            case (nil, let added?):
                changes.append(RuleChange(system: key.system, code: key.code, kind: .codeAdded, new: added.title,
                                          location: where_(added.source), message: "added — \(quote(added.title))"))
            case (let removed?, nil):
                changes.append(RuleChange(system: key.system, code: key.code, kind: .codeRemoved, old: removed.title,
                                          location: where_(removed.source), message: "removed"))
            case (let before?, let after?):
                changes += compare(before, after)
            case (nil, nil):
                break
            }
        }
        return changes
    }

    struct Key: Hashable { var system: String; var code: String }

    /// Records by system and code; when a set defines a code twice the first wins (as `generate` keeps it).
    static func index(_ records: [CodeRecord]) -> [Key: CodeRecord] {
        var result: [Key: CodeRecord] = [:]
        for record in records {
            let key = Key(system: record.system.rawValue, code: record.code.uppercased())
            if result[key] == nil { result[key] = record }
        }
        return result
    }

    /// The changes between two records of the same code.
    static func compare(_ old: CodeRecord, _ new: CodeRecord) -> [RuleChange] {
        var changes: [RuleChange] = []
        func add(_ kind: RuleChange.Kind, subject: String? = nil, payer: String? = nil, old: String? = nil,
                 new: String? = nil, excerpt: String? = nil, location: SourceLocation?, _ message: String) {
            changes.append(RuleChange(system: new_.system.rawValue, code: new_.code, kind: kind, subject: subject,
                                      payer: payer, old: old, new: new, excerpt: excerpt,
                                      location: location.map(where_), message: message))
        }
        let new_ = new

        // Code-level fields.
        if fold(old.title) != fold(new.title) {
            add(.titleChanged, old: old.title, new: new.title, excerpt: wordDiff(old.title, new.title),
                location: new.source, "title \(quote(old.title)) → \(quote(new.title))")
        }
        if fold(old.serviceType) != fold(new.serviceType) {
            add(.serviceTypeChanged, old: old.serviceType, new: new.serviceType,
                excerpt: wordDiff(old.serviceType, new.serviceType), location: new.source,
                "service type \(quote(old.serviceType)) → \(quote(new.serviceType))")
        }
        let oldSites = old.sitesOfService.map { fold($0).lowercased() }, newSites = new.sitesOfService.map { fold($0).lowercased() }
        if Set(oldSites) != Set(newSites) {
            let added = new.sitesOfService.filter { !oldSites.contains(fold($0).lowercased()) }
            let removed = old.sitesOfService.filter { !newSites.contains(fold($0).lowercased()) }
            let parts = added.map { "+" + quote($0) } + removed.map { "−" + quote($0) }
            add(.sitesOfServiceChanged, old: old.sitesOfService.joined(separator: "; "),
                new: new.sitesOfService.joined(separator: "; "), location: new.source,
                "sites of service changed: " + parts.joined(separator: ", "))
        }
        if old.effective != new.effective {
            let message: String
            switch (old.effective, new.effective) {
            case (nil, let date?): message = "effective date \(date) added"
            case (let date?, nil): message = "effective date \(date) removed"
            default: message = "effective date \(old.effective ?? "") → \(new.effective ?? "")"
            }
            add(.effectiveChanged, old: old.effective, new: new.effective, location: new.source, message)
        }

        // Modifiers, by code, in NEW's order then the removed ones in OLD's order.
        let oldModifiers = Dictionary(old.modifiers.map { ($0.code.uppercased(), $0) }, uniquingKeysWith: { a, _ in a })
        let newModifiers = Dictionary(new.modifiers.map { ($0.code.uppercased(), $0) }, uniquingKeysWith: { a, _ in a })
        for modifier in unique(new.modifiers, by: { $0.code.uppercased() }) {
            let code = modifier.code.uppercased()
            guard let before = oldModifiers[code] else {
                add(.modifierAdded, subject: code, new: modifier.description, location: modifier.source,
                    "modifier \(code) added" + (modifier.description.isEmpty ? "" : " — \(quote(modifier.description))"))
                continue
            }
            if fold(before.description) != fold(modifier.description) {
                add(.modifierDescriptionChanged, subject: code, old: before.description, new: modifier.description,
                    excerpt: wordDiff(before.description, modifier.description), location: modifier.source,
                    "modifier \(code) description \(quote(before.description)) → \(quote(modifier.description))")
            }
            if fold(before.whenToUse) != fold(modifier.whenToUse) {
                add(.modifierWhenToUseChanged, subject: code, old: before.whenToUse, new: modifier.whenToUse,
                    excerpt: wordDiff(before.whenToUse, modifier.whenToUse), location: modifier.source,
                    "modifier \(code) when-to-use changed")
            }
        }
        for modifier in unique(old.modifiers, by: { $0.code.uppercased() }) where newModifiers[modifier.code.uppercased()] == nil {
            add(.modifierRemoved, subject: modifier.code.uppercased(), old: modifier.description, location: modifier.source,
                "modifier \(modifier.code.uppercased()) removed")
        }

        // Payers, by id.
        let oldPayers = Dictionary(old.payers.map { ($0.payer, $0) }, uniquingKeysWith: { a, _ in a })
        let newPayers = Dictionary(new.payers.map { ($0.payer, $0) }, uniquingKeysWith: { a, _ in a })
        for note in unique(new.payers, by: \.payer) {
            guard let before = oldPayers[note.payer] else {
                add(.payerAdded, subject: note.payer, payer: note.payer,
                    new: "\(note.priorAuthorization.rawValue)/\(note.coverage.rawValue)", location: note.source,
                    "payer added (prior authorization \(note.priorAuthorization.rawValue), coverage \(note.coverage.rawValue))")
                continue
            }
            if before.priorAuthorization != note.priorAuthorization {
                add(.priorAuthorizationChanged, subject: note.payer, payer: note.payer,
                    old: before.priorAuthorization.rawValue, new: note.priorAuthorization.rawValue, location: note.source,
                    "prior authorization \(before.priorAuthorization.rawValue) → \(note.priorAuthorization.rawValue)")
            }
            if before.coverage != note.coverage {
                add(.coverageChanged, subject: note.payer, payer: note.payer, old: before.coverage.rawValue,
                    new: note.coverage.rawValue, location: note.source,
                    "coverage \(before.coverage.rawValue) → \(note.coverage.rawValue)")
            }
        }
        for note in unique(old.payers, by: \.payer) where newPayers[note.payer] == nil {
            add(.payerRemoved, subject: note.payer, payer: note.payer,
                old: "\(note.priorAuthorization.rawValue)/\(note.coverage.rawValue)", location: note.source,
                "payer removed")
        }

        // Policy updates, paired by date and payer in order; a pair whose text differs is a change.
        var unmatchedOld = old.policyUpdates
        var pairs: [(PolicyUpdate?, PolicyUpdate?)] = []
        for update in new.policyUpdates {
            if let exact = unmatchedOld.firstIndex(where: { $0.date == update.date && $0.payer == update.payer && fold($0.text) == fold(update.text) })
                ?? unmatchedOld.firstIndex(where: { $0.date == update.date && $0.payer == update.payer }) {
                pairs.append((unmatchedOld.remove(at: exact), update))
            } else {
                pairs.append((nil, update))
            }
        }
        pairs += unmatchedOld.map { ($0, nil) }
        for pair in pairs {
            switch pair {
            case (nil, let added?):
                add(.policyUpdateAdded, subject: added.date, new: added.text, location: added.source,
                    "policy update \(describe(added)) added — \(quote(clip(added.text)))")
            case (let removed?, nil):
                add(.policyUpdateRemoved, subject: removed.date, old: removed.text, location: removed.source,
                    "policy update \(describe(removed)) removed")
            case (let before?, let after?) where fold(before.text) != fold(after.text):
                add(.policyUpdateChanged, subject: after.date, old: before.text, new: after.text,
                    excerpt: wordDiff(before.text, after.text), location: after.source,
                    "policy update \(describe(after)) changed")
            default:
                break
            }
        }
        return changes
    }

    static func describe(_ update: PolicyUpdate) -> String {
        update.payer.map { "\(update.date) (\($0))" } ?? update.date
    }

    static func unique<T>(_ items: [T], by key: (T) -> String) -> [T] {
        var seen: Set<String> = []
        return items.filter { seen.insert(key($0)).inserted }
    }

    /// `seeds/x.md:22`
    static func where_(_ source: SourceLocation) -> String {
        source.line > 0 ? "\(source.path):\(source.line)" : source.path
    }

    /// White space runs folded to one space, trimmed.
    static func fold(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    static func quote(_ text: String) -> String { "\"" + fold(text) + "\"" }

    static func clip(_ text: String, to length: Int = 100) -> String {
        let folded = fold(text)
        return folded.count > length ? String(folded.prefix(length - 1)) + "…" : folded
    }

    // MARK: Word-level diff

    /// A word-level excerpt of the change from `old` to `new`, as `git diff --word-diff=plain` writes it:
    /// deleted words in `[-…-]`, inserted words in `{+…+}`, up to `context` unchanged words around each
    /// change, `…` where unchanged words are left out. Nil when the texts have the same words.
    public static func wordDiff(_ old: String, _ new: String, context: Int = 4) -> String? {
        let a = old.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        let b = new.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        guard a != b else { return nil }
        let operations = wordOperations(a, b)
        // Which equal words to keep: those within `context` of a change.
        var keep = Array(repeating: false, count: operations.count)
        for (index, operation) in operations.enumerated() where operation.kind != .equal {
            for near in max(0, index - context)...min(operations.count - 1, index + context) { keep[near] = true }
        }
        var pieces: [String] = []
        var skipped = false
        var index = 0
        while index < operations.count {
            let operation = operations[index]
            if operation.kind == .equal {
                if keep[index] {
                    if skipped { pieces.append("…"); skipped = false }
                    pieces.append(operation.word)
                } else {
                    skipped = true
                }
                index += 1
                continue
            }
            if skipped { pieces.append("…"); skipped = false }
            var deleted: [String] = [], inserted: [String] = []
            while index < operations.count, operations[index].kind != .equal {
                if operations[index].kind == .delete { deleted.append(operations[index].word) } else { inserted.append(operations[index].word) }
                index += 1
            }
            var piece = ""
            if !deleted.isEmpty { piece += "[-" + deleted.joined(separator: " ") + "-]" }
            if !inserted.isEmpty { piece += "{+" + inserted.joined(separator: " ") + "+}" }
            pieces.append(piece)
        }
        if skipped { pieces.append("…") }
        return pieces.joined(separator: " ")
    }

    struct WordOperation: Equatable {
        enum Kind { case equal, delete, insert }
        var kind: Kind
        var word: String
    }

    /// A shortest edit script between two word lists: common prefix and suffix first, then a
    /// longest-common-subsequence table on the middle (bounded: past 4 million cells the middle is
    /// reported as replaced whole, which keeps time and memory linear-ish for huge paragraphs).
    static func wordOperations(_ a: [String], _ b: [String]) -> [WordOperation] {
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        let middleA = Array(a[prefix..<(a.count - suffix)]), middleB = Array(b[prefix..<(b.count - suffix)])
        var result = a[..<prefix].map { WordOperation(kind: .equal, word: $0) }
        let n = middleA.count, m = middleB.count
        if n * m > 4_000_000 || n == 0 || m == 0 {
            result += middleA.map { WordOperation(kind: .delete, word: $0) }
            result += middleB.map { WordOperation(kind: .insert, word: $0) }
        } else {
            // table[i][j] = LCS length of middleA[i...] and middleB[j...]
            var table = Array(repeating: 0, count: (n + 1) * (m + 1))
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    table[i * (m + 1) + j] = middleA[i] == middleB[j]
                        ? table[(i + 1) * (m + 1) + j + 1] + 1
                        : max(table[(i + 1) * (m + 1) + j], table[i * (m + 1) + j + 1])
                }
            }
            var i = 0, j = 0
            while i < n || j < m {
                if i < n, j < m, middleA[i] == middleB[j] {
                    result.append(WordOperation(kind: .equal, word: middleA[i])); i += 1; j += 1
                } else if j < m, i == n || table[i * (m + 1) + j + 1] >= table[(i + 1) * (m + 1) + j] {
                    result.append(WordOperation(kind: .insert, word: middleB[j])); j += 1
                } else {
                    result.append(WordOperation(kind: .delete, word: middleA[i])); i += 1
                }
            }
            // Deletions before insertions inside each changed run, so a run reads [-old-]{+new+}.
            result = reorderRuns(result)
        }
        result += a[(a.count - suffix)...].map { WordOperation(kind: .equal, word: $0) }
        return result
    }

    static func reorderRuns(_ operations: [WordOperation]) -> [WordOperation] {
        var output: [WordOperation] = []
        var run: [WordOperation] = []
        func flush() {
            output += run.filter { $0.kind == .delete } + run.filter { $0.kind == .insert }
            run.removeAll()
        }
        for operation in operations {
            if operation.kind == .equal { flush(); output.append(operation) } else { run.append(operation) }
        }
        flush()
        return output
    }
}

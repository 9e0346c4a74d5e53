import Rulebook

/// Checks across documents: each code defined once, no contradicting payer statements for one
/// code, modifiers on the built-in list.
public enum CrossDocumentValidator {
    /// Returns the records to emit (the first definition of each code wins) and the diagnostics.
    public static func validate(_ records: [CodeRecord], extraModifiers: Set<String> = [])
        -> (records: [CodeRecord], diagnostics: [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        var firstByKey: [RuleBook.Key: CodeRecord] = [:]
        var kept: [CodeRecord] = []
        for record in records {
            let key = RuleBook.Key(record.system, record.code)
            if let first = firstByKey[key] {
                diagnostics += duplicateDiagnostics(first: first, second: record)
                continue
            }
            firstByKey[key] = record
            kept.append(record)
        }
        for record in kept {
            diagnostics += modifierDiagnostics(record, extraModifiers: extraModifiers)
        }
        return (kept, diagnostics)
    }

    /// The second definition of a code: an error at it, and its payer statements that disagree with the first.
    static func duplicateDiagnostics(first: CodeRecord, second record: CodeRecord) -> [Diagnostic] {
        [Diagnostic(
            path: record.source.path, line: record.source.line, column: 1, severity: .error,
            id: DiagnosticID.codeDuplicate.rawValue,
            message: "\(record.displayName) is also defined at \(first.source.path):\(first.source.line); each code must be defined by one document (this one is not emitted)")]
            + payerConflicts(first, record)
    }

    /// Warnings for the modifiers of an emitted record that are not on the built-in list (or `extraModifiers`).
    static func modifierDiagnostics(_ record: CodeRecord, extraModifiers: Set<String>) -> [Diagnostic] {
        modifierDiagnostics(record.modifiers, extraModifiers: extraModifiers)
    }

    /// ``modifierDiagnostics(_:extraModifiers:)`` of a record with these modifiers.
    static func modifierDiagnostics(_ modifiers: [Modifier], extraModifiers: Set<String>) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for modifier in modifiers where !ModifierCatalog.isKnown(modifier.code) && !extraModifiers.contains(modifier.code) {
            diagnostics.append(Diagnostic(
                path: modifier.source.path, line: modifier.source.line, column: 1, severity: .warning,
                id: DiagnosticID.modifierUnknown.rawValue,
                message: "modifier \(modifier.code) is not on the built-in list of CPT and HCPCS Level II modifiers"))
        }
        return diagnostics
    }

    /// Statements about the same payer in two records for one code that disagree.
    static func payerConflicts(_ first: CodeRecord, _ second: CodeRecord) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for note in second.payers {
            guard let other = first.payers.first(where: { $0.payer == note.payer }) else { continue }
            func conflict(_ what: String, _ mine: String, _ theirs: String) {
                diagnostics.append(Diagnostic(
                    path: note.source.path, line: note.source.line, column: 1, severity: .error,
                    id: DiagnosticID.payerConflict.rawValue,
                    message: "\(second.displayName) · \(note.payer): \(what) is '\(mine)' here but '\(theirs)' at \(other.source.path):\(other.source.line)"))
            }
            if note.priorAuthorization != .unknown, other.priorAuthorization != .unknown, note.priorAuthorization != other.priorAuthorization {
                conflict("prior authorization", note.priorAuthorization.rawValue, other.priorAuthorization.rawValue)
            }
            if note.coverage != .unknown, other.coverage != .unknown, note.coverage != other.coverage {
                conflict("coverage", note.coverage.rawValue, other.coverage.rawValue)
            }
        }
        return diagnostics
    }
}

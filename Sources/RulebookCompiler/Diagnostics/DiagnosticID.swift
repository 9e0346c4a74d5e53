/// Every diagnostic id Rulebook reports, with the explanation `rulebook explain ID` prints.
/// Ids are a contract: tools filter on them. Add, never rename.
public enum DiagnosticID: String, Sendable, CaseIterable {
    // Reading files
    case fileEmpty = "file.empty"
    case fileInvalidUTF8 = "file.invalid-utf8"
    case fileUnreadable = "file.unreadable"
    case fileSkipped = "file.skipped"
    // Tables
    case tableMissingCells = "table.missing-cells"
    case tableExtraCells = "table.extra-cells"
    // Extraction
    case codeMissing = "code.missing"
    case codeInvalid = "code.invalid"
    case frontMatterUnknownKey = "front-matter.unknown-key"
    case frontMatterInvalid = "front-matter.invalid"
    case modifierInvalid = "modifier.invalid"
    case modifierDuplicate = "modifier.duplicate"
    case modifierUnknown = "modifier.unknown"
    case payerUnknown = "payer.unknown"
    case dateInvalid = "date.invalid"
    case exampleInvalid = "example.invalid"
    case exampleFailed = "example.failed"
    // Cross-document
    case codeDuplicate = "code.duplicate"
    case payerConflict = "payer.conflict"
    // Output and configuration
    case outputWriteFailed = "output.write-failed"
    case outputStale = "output.stale"
    case configInvalid = "config.invalid"

    public var explanation: String {
        switch self {
        case .fileEmpty: return "The file holds no bytes (or only a byte-order mark), so it defines no billing code."
        case .fileInvalidUTF8: return "The file is not valid UTF-8. The message names the byte offset of the first invalid byte; the file is skipped and the run continues. Re-save the file as UTF-8."
        case .fileUnreadable: return "The file or folder could not be read (permissions, a symlink loop, or an I/O error). The rest of the inputs are still compiled."
        case .fileSkipped: return "A hidden file or a symlink that leaves the input folder was skipped."
        case .tableMissingCells: return "A table row has fewer cells than the table header. As on GitHub, the missing cells are read as empty; the row is still used. This often means a document was cut off mid-table."
        case .tableExtraCells: return "A table row has more cells than the table header. As on GitHub, the extra cells are dropped."
        case .codeMissing: return "No recognisable billing code: the document needs a title line such as `CPT 27365: Excision of Tumor` or front matter with `code:` and `system:`."
        case .codeInvalid: return "The billing code does not have the form of its system: CPT is 5 digits or 4 digits followed by F, T or U; HCPCS Level II is a letter followed by 4 digits."
        case .frontMatterUnknownKey: return "The front matter has a key Rulebook does not read (known keys: code, system, title, effective, summary)."
        case .frontMatterInvalid: return "A front-matter line is not of the form `key: value`."
        case .modifierInvalid: return "A modifier table row has a code that is not two letters or digits. The row is dropped."
        case .modifierDuplicate: return "The same modifier appears twice in one document; the first row is kept."
        case .modifierUnknown: return "The modifier is not on Rulebook's built-in list of CPT Level I and HCPCS Level II modifiers. Check the spelling, or add it to `rulebook.json`."
        case .payerUnknown: return "The payer name is not one of the payers Rulebook normalises (Aetna, BCBS, Cigna, UnitedHealthcare, Medicare, Medicaid, Humana); it is kept under a lower-case slug."
        case .dateInvalid: return "A date could not be read. Write dates as YYYY-MM-DD."
        case .exampleInvalid: return "A claim example row could not be read. Write the claim as CODE[-MODIFIER]… (e.g. `27365-50`), the payer id, and the expected result (`ok`, or a severity followed by finding ids)."
        case .exampleFailed: return "A claim example in the document does not give the expected result when checked against the compiled rules."
        case .codeDuplicate: return "Two documents define the same billing code. Each code must be defined by exactly one document."
        case .payerConflict: return "Two statements for the same code and payer disagree (for example prior authorization required in one place and not required in another)."
        case .outputStale: return "`rulebook generate --check` found output files that differ from what the documents compile to (stale, missing or extra). Run `swift run rulebook generate` and commit the result."
        case .configInvalid: return "The rulebook.json config file could not be read: it must be a JSON object with only the keys accessLevel, knownPayers and knownModifiers."
        case .outputWriteFailed: return "An output file could not be written (read-only folder, full disk). Existing outputs are left intact."
        }
    }
}

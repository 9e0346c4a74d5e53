/// One service line of a claim, as on a CMS-1500 (box 24): a code, up to four modifiers, and the
/// context the rules depend on.
public struct ClaimLine: Sendable, Codable, Hashable {
    /// The most modifiers one CMS-1500 line carries (box 24D has four modifier fields).
    public static let maximumModifiers = 4

    public var system: CodeSystem
    public var code: String
    /// As billed, in order (`["50"]`, `["26", "LT"]`).
    public var modifiers: [String]
    /// Payer id (`aetna`, `bcbs`, `medicare`…) or the payer's name as written in the documents.
    public var payer: String?
    public var units: Int?
    public var siteOfService: String?
    /// ISO date `YYYY-MM-DD`.
    public var dateOfService: String?

    public init(system: CodeSystem, code: String, modifiers: [String] = [], payer: String? = nil,
                units: Int? = nil, siteOfService: String? = nil, dateOfService: String? = nil) {
        self.system = system
        self.code = code
        self.modifiers = modifiers
        self.payer = payer
        self.units = units
        self.siteOfService = siteOfService
        self.dateOfService = dateOfService
    }

    /// A line whose system follows from the code: CPT when it starts with a digit, HCPCS when it
    /// starts with a letter (`J1885`, `G0008`).
    public init(code: String, modifiers: [String] = [], payer: String? = nil, units: Int? = nil,
                siteOfService: String? = nil, dateOfService: String? = nil) {
        self.init(system: ClaimLine.defaultSystem(for: code), code: code, modifiers: modifiers, payer: payer,
                  units: units, siteOfService: siteOfService, dateOfService: dateOfService)
    }

    /// CPT for a digit-led code, HCPCS for a letter-led one.
    public static func defaultSystem(for code: String) -> CodeSystem {
        guard let first = code.unicodeScalars.first(where: { $0 != " " }) else { return .cpt }
        return ("0"..."9").contains(first) ? .cpt : .hcpcs
    }

    /// Reads a claim written as `CODE[-MOD]…` (`27365-50-LT`, `J1885`, `99213 25`): the code, then
    /// modifiers separated by `-`, spaces or commas. Returns nil when the code (3 to 7 characters) or
    /// a modifier is not made of letters and digits, or the text is empty. A modifier of another
    /// length than two (`J1745-JW-Z`) is kept: the engine reports it as `modifier.invalid`.
    /// The system defaults from the code.
    public static func parse(_ text: String, system: CodeSystem? = nil, payer: String? = nil) -> ClaimLine? {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == "," || $0 == "\t" })
            .map { String($0).uppercased() }
        guard let code = parts.first, (3...7).contains(code.count), code.allSatisfy(isAlphanumericASCII) else {
            return nil
        }
        let modifiers = Array(parts.dropFirst())
        for modifier in modifiers where modifier.count > 8 || !modifier.allSatisfy(isAlphanumericASCII) {
            return nil
        }
        return ClaimLine(system: system ?? defaultSystem(for: code), code: code, modifiers: modifiers, payer: payer)
    }

    private static func isAlphanumericASCII(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue else { return false }
        return (48...57).contains(ascii) || (65...90).contains(ascii) || (97...122).contains(ascii)
    }

    /// Whether `text` is an ISO date `YYYY-MM-DD` naming a real day (the form `dateOfService` takes).
    public static func isValidDate(_ text: String) -> Bool { ISODay.parseFullDate(text) != nil }

    /// `27365-50-LT`
    public var claimText: String { ([code] + modifiers).joined(separator: "-") }
}

/// A calendar day parsed from an ISO date, comparable as an integer `yyyymmdd`.
enum ISODay {
    /// `2026-03-01` → 20260301; a month or year only (`2026-03`, `2026`) counts from its first day.
    /// Nil when the text is not such a date or names an impossible day.
    static func parse(_ text: String) -> Int? {
        if let parsed = text.utf8.withContiguousStorageIfAvailable({ parse(bytes: $0) }) { return parsed }
        return Array(text.utf8).withUnsafeBufferPointer { parse(bytes: $0) }
    }

    private static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), year >= 1 else { return nil }
        var month = 1, day = 1
        switch bytes.count {
        case 4:
            break
        case 7:
            guard bytes[4] == UInt8(ascii: "-"), let m = number(5..<7) else { return nil }
            month = m
        case 10:
            guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
                  let m = number(5..<7), let d = number(8..<10) else { return nil }
            month = m
            day = d
        default:
            return nil
        }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        return year * 10000 + month * 100 + day
    }

    /// Only a full `YYYY-MM-DD` date naming a real day.
    static func parseFullDate(_ text: String) -> Int? {
        text.utf8.count == 10 ? parse(text) : nil
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

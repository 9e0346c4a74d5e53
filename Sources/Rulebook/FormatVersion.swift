/// The format of generated Swift sources, as a type generated code must name.
///
/// Every file `rulebook generate` writes refers to `RulebookFormatVersion1.self`. When the format of
/// the embedded data changes incompatibly, the runtime renames this marker (`RulebookFormatVersion2`)
/// and stale generated code stops compiling with "cannot find 'RulebookFormatVersion1' in scope"
/// instead of misreading its data at run time. Regenerate with `rulebook generate` to fix it.
public enum RulebookFormatVersion1 {
    /// The number in the marker's name.
    public static let number = 1
}

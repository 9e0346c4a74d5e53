/// The built-in list of valid modifiers (CPT Level I and common HCPCS Level II) and the pairs of
/// modifiers that cannot be reported together on one claim line.
///
/// Descriptions are short paraphrases of the public CMS / AMA descriptors, for messages only.
/// This list is not exhaustive for HCPCS Level II (there are several hundred); it holds the
/// modifiers a professional or outpatient claim commonly carries. A document's own modifier table
/// can still list a modifier that is missing here: the engine accepts any modifier the code's
/// document lists.
public enum ModifierCatalog {
    /// Every modifier Rulebook knows is valid, upper-cased.
    public static let known: Set<String> = Set(descriptions.keys)

    /// A short description of a known modifier (`"50"` → `"Bilateral procedure"`), nil when unknown.
    public static func description(of modifier: String) -> String? {
        descriptions[modifier.uppercased()]
    }

    /// Whether `modifier` (any case) is on the known list.
    public static func isKnown(_ modifier: String) -> Bool {
        known.contains(modifier.asciiFastUppercased)
    }

    /// Modifier → short description.
    public static let descriptions: [String: String] = {
        var table: [String: String] = [:]
        for (code, text) in levelOne { table[code] = text }
        for (code, text) in levelTwo { table[code] = text }
        // Ambulance origin/destination modifiers: an origin letter then a destination letter
        // (CMS Claims Processing Manual ch. 15 §30 A). Where a pair is also another modifier
        // (`GN`, `RR`, `PN`…) the other description is kept.
        for (origin, from) in ambulanceSites where origin != "X" {
            for (destination, to) in ambulanceSites where table[origin + destination] == nil {
                table[origin + destination] = "Ambulance: \(from) to \(to)"
            }
        }
        return table
    }()

    // MARK: CPT Level I modifiers (AMA CPT Appendix A; CMS MLN "Proper Use of Modifiers").
    static let levelOne: [(String, String)] = [
        ("22", "Increased procedural services"),
        ("23", "Unusual anesthesia"),
        ("24", "Unrelated E/M service by the same physician during a postoperative period"),
        ("25", "Significant, separately identifiable E/M service on the same day of a procedure"),
        ("26", "Professional component"),
        ("27", "Multiple outpatient hospital E/M encounters on the same date"),
        ("32", "Mandated services"),
        ("33", "Preventive services"),
        ("47", "Anesthesia by surgeon"),
        ("50", "Bilateral procedure"),
        ("51", "Multiple procedures"),
        ("52", "Reduced services"),
        ("53", "Discontinued procedure"),
        ("54", "Surgical care only"),
        ("55", "Postoperative management only"),
        ("56", "Preoperative management only"),
        ("57", "Decision for surgery"),
        ("58", "Staged or related procedure by the same physician during the postoperative period"),
        ("59", "Distinct procedural service"),
        ("62", "Two surgeons"),
        ("63", "Procedure performed on infants less than 4 kg"),
        ("66", "Surgical team"),
        ("73", "Discontinued outpatient hospital/ASC procedure prior to anesthesia"),
        ("74", "Discontinued outpatient hospital/ASC procedure after anesthesia"),
        ("76", "Repeat procedure by the same physician"),
        ("77", "Repeat procedure by another physician"),
        ("78", "Unplanned return to the operating room for a related procedure during the postoperative period"),
        ("79", "Unrelated procedure by the same physician during the postoperative period"),
        ("80", "Assistant surgeon"),
        ("81", "Minimum assistant surgeon"),
        ("82", "Assistant surgeon (qualified resident surgeon not available)"),
        ("90", "Reference (outside) laboratory"),
        ("91", "Repeat clinical diagnostic laboratory test"),
        ("92", "Alternative laboratory platform testing"),
        ("93", "Synchronous telemedicine service via audio-only"),
        ("95", "Synchronous telemedicine service via real-time audio and video"),
        ("96", "Habilitative services"),
        ("97", "Rehabilitative services"),
        ("99", "Multiple modifiers"),
        // Anesthesia physical status modifiers (ASA classification).
        ("P1", "Anesthesia: normal healthy patient"),
        ("P2", "Anesthesia: patient with mild systemic disease"),
        ("P3", "Anesthesia: patient with severe systemic disease"),
        ("P4", "Anesthesia: patient with severe systemic disease that is a constant threat to life"),
        ("P5", "Anesthesia: moribund patient not expected to survive without the operation"),
        ("P6", "Anesthesia: declared brain-dead patient whose organs are being removed for donation"),
    ]

    /// Ambulance origin/destination letters (CMS Claims Processing Manual ch. 15 §30 A);
    /// `X` is a destination only.
    static let ambulanceSites: [(String, String)] = [
        ("D", "diagnostic or therapeutic site"), ("E", "residential or custodial facility"),
        ("G", "hospital-based ESRD facility"), ("H", "hospital"), ("I", "site of transfer between ambulance modes"),
        ("J", "free-standing ESRD facility"), ("N", "skilled nursing facility"), ("P", "physician's office"),
        ("R", "residence"), ("S", "scene of accident or acute event"),
        ("X", "intermediate stop at a physician's office on the way to the hospital"),
    ]

    // MARK: HCPCS Level II modifiers (CMS HCPCS Level II modifier file; CMS MLN modifier fact sheets).
    static let levelTwo: [(String, String)] = [
        // Anatomic
        ("LT", "Left side"),
        ("RT", "Right side"),
        ("E1", "Upper left eyelid"),
        ("E2", "Lower left eyelid"),
        ("E3", "Upper right eyelid"),
        ("E4", "Lower right eyelid"),
        ("FA", "Left hand, thumb"),
        ("F1", "Left hand, second digit"),
        ("F2", "Left hand, third digit"),
        ("F3", "Left hand, fourth digit"),
        ("F4", "Left hand, fifth digit"),
        ("F5", "Right hand, thumb"),
        ("F6", "Right hand, second digit"),
        ("F7", "Right hand, third digit"),
        ("F8", "Right hand, fourth digit"),
        ("F9", "Right hand, fifth digit"),
        ("TA", "Left foot, great toe"),
        ("T1", "Left foot, second digit"),
        ("T2", "Left foot, third digit"),
        ("T3", "Left foot, fourth digit"),
        ("T4", "Left foot, fifth digit"),
        ("T5", "Right foot, great toe"),
        ("T6", "Right foot, second digit"),
        ("T7", "Right foot, third digit"),
        ("T8", "Right foot, fourth digit"),
        ("T9", "Right foot, fifth digit"),
        ("LC", "Left circumflex coronary artery"),
        ("LD", "Left anterior descending coronary artery"),
        ("LM", "Left main coronary artery"),
        ("RC", "Right coronary artery"),
        ("RI", "Ramus intermedius coronary artery"),
        // Components
        ("TC", "Technical component"),
        // NCCI procedure-to-procedure
        ("XE", "Separate encounter"),
        ("XS", "Separate structure or organ"),
        ("XP", "Separate practitioner"),
        ("XU", "Unusual non-overlapping service"),
        // Therapy
        ("GP", "Services delivered under an outpatient physical therapy plan of care"),
        ("GO", "Services delivered under an outpatient occupational therapy plan of care"),
        ("GN", "Services delivered under an outpatient speech-language pathology plan of care"),
        ("CQ", "Outpatient physical therapy services furnished in whole or in part by a PT assistant"),
        ("CO", "Outpatient occupational therapy services furnished in whole or in part by an OT assistant"),
        ("KX", "Requirements specified in the medical policy have been met"),
        ("AT", "Acute treatment (chiropractic manipulation)"),
        // Liability notices
        ("GA", "Waiver of liability statement (ABN) issued as required by payer policy"),
        ("GX", "Notice of liability issued, voluntary under payer policy"),
        ("GY", "Item or service statutorily excluded or not a benefit"),
        ("GZ", "Item or service expected to be denied as not reasonable and necessary (no ABN)"),
        ("GK", "Reasonable and necessary item or service associated with a GA or GZ modifier"),
        ("GL", "Medically unnecessary upgrade provided instead of a non-upgraded item, no charge, no ABN"),
        // Teaching physicians, practitioners
        ("GC", "Service performed in part by a resident under the direction of a teaching physician"),
        ("GE", "Service performed by a resident without a teaching physician present (primary care exception)"),
        ("AI", "Principal physician of record"),
        ("AS", "PA, NP or CNS services for assistant at surgery"),
        ("SA", "Nurse practitioner rendering service in collaboration with a physician"),
        ("Q5", "Service furnished under a reciprocal billing arrangement by a substitute physician"),
        ("Q6", "Service furnished under a fee-for-time arrangement by a substitute physician (locum tenens)"),
        ("AQ", "Physician providing a service in an unlisted health professional shortage area"),
        ("AR", "Physician provider services in a physician scarcity area"),
        ("FS", "Split (or shared) evaluation and management visit"),
        ("FT", "Unrelated E/M visit on the same day as another E/M or during a global period"),
        ("ET", "Emergency services"),
        // Drugs
        ("JW", "Drug amount discarded / not administered to any patient"),
        ("JZ", "Zero drug amount discarded / not administered to any patient"),
        ("JA", "Administered intravenously"),
        ("JB", "Administered subcutaneously"),
        ("JG", "Drug or biological acquired with 340B drug pricing program discount"),
        ("TB", "Drug or biological acquired with 340B drug pricing program discount, reported for information"),
        ("SL", "State-supplied vaccine"),
        // Laboratory
        ("QW", "CLIA-waived test"),
        ("LR", "Laboratory round trip"),
        // DME
        ("NU", "New equipment"),
        ("RR", "Rental"),
        ("UE", "Used durable medical equipment"),
        ("KH", "DMEPOS item, initial claim, purchase or first month rental"),
        ("KI", "DMEPOS item, second or third month rental"),
        ("KJ", "DMEPOS item, parenteral/enteral pump or capped rental, months four to fifteen"),
        ("KF", "Item designated by FDA as a class III device"),
        ("KS", "Glucose monitor supply for a diabetic beneficiary not treated with insulin"),
        ("LL", "Lease/rental (rental applied against the purchase price)"),
        ("MS", "Six-month maintenance and servicing fee for parts and labor"),
        ("RA", "Replacement of a DME, orthotic or prosthetic item"),
        ("RB", "Replacement of a part of a DME, orthotic or prosthetic item furnished as part of a repair"),
        ("BP", "Beneficiary informed of purchase and rental options and elected to purchase"),
        ("BR", "Beneficiary informed of purchase and rental options and elected to rent"),
        ("BU", "Beneficiary informed of purchase and rental options and has not decided after 30 days"),
        // Ambulance
        ("QM", "Ambulance service provided under arrangement by a provider of services"),
        ("QN", "Ambulance service furnished directly by a provider of services"),
        // Anesthesia
        ("AA", "Anesthesia services performed personally by an anesthesiologist"),
        ("AD", "Medical supervision by a physician: more than four concurrent anesthesia procedures"),
        ("QK", "Medical direction of two, three or four concurrent anesthesia procedures"),
        ("QX", "CRNA service with medical direction by a physician"),
        ("QY", "Medical direction of one CRNA by an anesthesiologist"),
        ("QZ", "CRNA service without medical direction by a physician"),
        ("QS", "Monitored anesthesia care service"),
        ("G8", "Monitored anesthesia care for a deep complex, complicated or markedly invasive procedure"),
        ("G9", "Monitored anesthesia care for a patient with a history of a severe cardiopulmonary condition"),
        // Telehealth
        ("GT", "Via interactive audio and video telecommunication systems"),
        ("GQ", "Via asynchronous telecommunications system"),
        ("FQ", "Service furnished using audio-only communication technology"),
        ("FR", "Supervising practitioner present through two-way audio/video communication"),
        // Hospital outpatient
        ("PO", "Excepted service provided at an off-campus, outpatient, provider-based department"),
        ("PN", "Non-excepted service provided at an off-campus, outpatient, provider-based department"),
        ("PD", "Diagnostic or related service provided in a wholly owned entity within three days of admission"),
        ("ER", "Items and services furnished by a provider-based off-campus emergency department"),
        ("PT", "Colorectal cancer screening test converted to a diagnostic test or other procedure"),
        ("CT", "CT services furnished using equipment that does not meet NEMA XR-29"),
        ("FX", "X-ray taken using film"),
        ("FY", "X-ray taken using computed radiography technology"),
        ("GG", "Screening and diagnostic mammogram on the same patient, same day"),
        ("GH", "Diagnostic mammogram converted from a screening mammogram on the same day"),
        // Hospice, research, other
        ("GV", "Attending physician not employed or paid under arrangement by the patient's hospice provider"),
        ("GW", "Service not related to the hospice patient's terminal condition"),
        ("Q0", "Investigational clinical service provided in an approved clinical research study"),
        ("Q1", "Routine clinical service provided in an approved clinical research study"),
        ("CR", "Catastrophe/disaster related"),
        ("CG", "Policy criteria applied"),
        ("TH", "Obstetrical treatment/services, prenatal or postpartum"),
        ("TS", "Follow-up service"),
    ]

    // MARK: Mutually exclusive modifiers

    /// A group of modifiers of which `anchor` cannot be reported with any of `excludes` on one line.
    public struct Exclusion: Sendable, Hashable {
        public var anchor: String
        public var excludes: [String]
        /// Why, in a few words (shown in the finding's message).
        public var reason: String
        /// The public source that says so.
        public var citation: String
    }

    /// Every exclusion Rulebook applies. The only place these pairs live.
    public static let exclusions: [Exclusion] = [
        // CMS Claims Processing Manual (Pub. 100-04) ch. 12 §40.7 and CMS MLN "Proper Use of Modifiers":
        // a bilateral procedure is reported once with modifier 50; LT/RT are not added to a 50 line.
        Exclusion(anchor: "50", excludes: ["LT", "RT"],
                  reason: "modifier 50 already reports both sides; bill the side modifiers LT/RT instead of 50, not with it",
                  citation: "CMS Claims Processing Manual ch. 12 §40.7; CMS MLN Proper Use of Modifiers"),
        // CMS Physician Fee Schedule (PFS Relative Value File, PC/TC indicator) and CMS Claims Processing
        // Manual ch. 13 §20: a line carries either the professional (26) or the technical (TC) component;
        // the global service is billed with neither.
        Exclusion(anchor: "26", excludes: ["TC"],
                  reason: "a line reports either the professional (26) or the technical (TC) component; bill the global service without either",
                  citation: "CMS Physician Fee Schedule PC/TC indicator; CMS Claims Processing Manual ch. 13 §20"),
        // CMS NCCI Policy Manual ch. I §E ("Modifiers and Modifier Indicators") and the CMS article
        // "Proper Use of the -XE, -XS, -XP, -XU Modifiers": the X{EPSU} modifiers are more specific
        // subsets of 59; do not report 59 together with any of them.
        Exclusion(anchor: "59", excludes: ["XE", "XS", "XP", "XU"],
                  reason: "XE/XS/XP/XU are specific subsets of 59; report one of them instead of 59, not with it",
                  citation: "CMS NCCI Policy Manual ch. I §E; CMS MLN Proper Use of the -XE, -XS, -XP, -XU Modifiers"),
    ]

    /// Every modifier that appears in `exclusions` (a handful: scanning it beats hashing).
    /// Packed as in `RuleEngineSupport.packedModifier`.
    static let exclusionMembers: [UInt16] = {
        var members: [UInt16] = []
        for exclusion in exclusions {
            for modifier in [exclusion.anchor] + exclusion.excludes {
                let key = RuleEngineSupport.packedModifier(modifier)
                if !members.contains(key) { members.append(key) }
            }
        }
        return members
    }()

    /// Every forbidden pair, packed, with the index of its entry in `exclusions` and the finding's
    /// message (built once: it depends only on the pair).
    static let exclusionPairs: [(anchor: UInt16, excluded: UInt16, exclusion: Int, message: String)] = {
        var pairs: [(anchor: UInt16, excluded: UInt16, exclusion: Int, message: String)] = []
        for (offset, exclusion) in exclusions.enumerated() {
            for other in exclusion.excludes {
                let message = "modifiers \(exclusion.anchor) and \(other) cannot be reported together on one line: \(exclusion.reason) (\(exclusion.citation))"
                pairs.append((RuleEngineSupport.packedModifier(exclusion.anchor), RuleEngineSupport.packedModifier(other),
                              offset, message))
            }
        }
        return pairs
    }()

    /// Whether a packed modifier takes part in any exclusion.
    @inline(__always)
    static func takesPartInExclusions(_ key: UInt16) -> Bool {
        guard key != 0 else { return false }
        for member in exclusionMembers where member == key { return true }
        return false
    }

    /// The exclusion that forbids `a` with `b` on one line, if any (order does not matter; any case).
    public static func exclusion(between a: String, and b: String) -> Exclusion? {
        let a = RuleEngineSupport.packedModifier(a.uppercased())
        let b = RuleEngineSupport.packedModifier(b.uppercased())
        for pair in exclusionPairs where (pair.anchor == a && pair.excluded == b) || (pair.anchor == b && pair.excluded == a) {
            return exclusions[pair.exclusion]
        }
        return nil
    }
}

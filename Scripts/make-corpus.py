#!/usr/bin/env python3
"""Write a synthetic corpus of billing documents for the Rulebook benchmark.

    Scripts/make-corpus.py --count 10000 --seed 1 --out .build-bench/corpus-10000

Each document describes one billing code (CPT: 5 digits, HCPCS: letter + 4 digits; codes are
unique across the corpus) in one of the two dialects Rulebook reads:

* scraped text (`.txt`), like seeds/000_9b8beb7daa9829c1.txt: bare heading lines, lone `-` lines
  followed by `Service type: ...`, pipe tables without blank lines around them;
* markdown (`.md`): optional front matter, `# CPT 27447: Title`, `## ...` sections, bold labels,
  pipe tables, `### Payer` sub-headings.

Every document has 2-8 modifier rows (known modifiers, none twice), and payer notes in one or two
of the three forms (a table; a heading per payer; `Payer: text` lines), each payer at most once
and never contradicting itself. About 4 KB per document on average.

`--verify JSON_DIR` checks what `rulebook generate` extracted from such a corpus against what the
generator wrote (codes, titles, service types, modifiers, each payer's prior authorization and
coverage, policy-update dates).

Output is a pure function of (--count, --seed): the same arguments give byte-identical files.
Document i depends only on (seed, i), so the first 1,000 documents of a 10,000-document corpus are
the 1,000-document corpus. Only the Python standard library is used.
"""

import argparse
import os
import random
import sys

# --------------------------------------------------------------------------------------------
# Vocabulary

# Known modifiers (CPT Level I and HCPCS Level II) with a description and when-to-use texts.
MODIFIERS = {
    "22": ("Increased procedural services",
           ["Use when the work required is substantially greater than typically required, with documentation of added time or complexity.",
            "Append when operative notes show unusual anatomy, blood loss or extended operating time."]),
    "25": ("Significant, separately identifiable E/M service",
           ["Use on the evaluation and management service performed on the same day as the procedure when it goes beyond the usual pre-service work.",
            "Append to the visit code, not to the procedure code, when a distinct problem is addressed."]),
    "26": ("Professional component",
           ["Use when billing only the physician's interpretation and report, separate from facility or technical services.",
            "Append when the practitioner reads the study but the equipment belongs to the facility."]),
    "50": ("Bilateral procedure",
           ["Use when the same procedure is performed on both sides during the same operative session.",
            "Report once with the modifier rather than on two lines unless the payer asks for line-item reporting."]),
    "51": ("Multiple procedures",
           ["Use when several procedures other than E/M services are performed at the same session by the same provider.",
            "Append to the secondary procedures; the primary procedure is listed first without it."]),
    "52": ("Reduced services",
           ["Use when the service is partially reduced or eliminated at the physician's discretion.",
            "Append when only part of the described service was completed and document the reason."]),
    "59": ("Distinct procedural service",
           ["Use when a procedure is distinct or independent from other services on the same day and no more specific X modifier applies.",
            "Append only when documentation shows a different site, session or lesion."]),
    "62": ("Two surgeons",
           ["Use when two surgeons of different specialties work together as primary surgeons on distinct parts of one procedure.",
            "Each surgeon reports the same code with this modifier and documents their own portion."]),
    "76": ("Repeat procedure by same physician",
           ["Use when the same physician repeats the procedure on the same day or during the postoperative period.",
            "Append to the repeated service and document why the repeat was necessary."]),
    "77": ("Repeat procedure by another physician",
           ["Use when a different physician repeats the procedure during the same day or global period.",
            "Append to the repeated service performed by the second physician."]),
    "78": ("Unplanned return to the operating room",
           ["Use for a related procedure during the postoperative period that requires a return to the operating room.",
            "Append when a complication of the original surgery is treated in the operating room."]),
    "79": ("Unrelated procedure during the postoperative period",
           ["Use when a new procedure unrelated to the original surgery is performed during its global period.",
            "Append with a diagnosis that differs from the original procedure."]),
    "80": ("Assistant surgeon",
           ["Use when a physician assists the primary surgeon for the whole procedure.",
            "Append to the assistant's claim line; the primary surgeon reports the code without it."]),
    "82": ("Assistant surgeon when a qualified resident is not available",
           ["Use in teaching hospitals when no qualified resident surgeon was available to assist.",
            "Append with a statement in the record explaining why no resident was available."]),
    "91": ("Repeat clinical diagnostic laboratory test",
           ["Use when the same laboratory test is repeated on the same day to obtain subsequent results.",
            "Do not append for repeats caused by specimen or equipment problems."]),
    "LT": ("Left side",
           ["Use to identify procedures performed on the left side of the body.",
            "Append on the claim line for the left-sided service."]),
    "RT": ("Right side",
           ["Use to identify procedures performed on the right side of the body.",
            "Append on the claim line for the right-sided service."]),
    "TC": ("Technical component",
           ["Use when billing only the equipment, supplies and technician portion of the service.",
            "Append when the facility performs the study and a separate physician interprets it."]),
    "XE": ("Separate encounter",
           ["Use when the service is distinct because it occurred during a separate encounter on the same day.",
            "Prefer this modifier over 59 when the services occurred at different encounters."]),
    "XS": ("Separate structure",
           ["Use when the service was performed on a separate organ or structure.",
            "Prefer this modifier over 59 when a different anatomic structure was treated."]),
    "XP": ("Separate practitioner",
           ["Use when the service was performed by a different practitioner.",
            "Prefer this modifier over 59 when another practitioner performed the service."]),
    "XU": ("Unusual non-overlapping service",
           ["Use when the service does not overlap the usual components of the main service.",
            "Prefer this modifier over 59 when no other X modifier describes the situation."]),
    "GP": ("Services under an outpatient physical therapy plan of care",
           ["Use on therapy services delivered under a physical therapy plan of care.",
            "Append to every therapy line billed under the physical therapy plan."]),
    "GO": ("Services under an outpatient occupational therapy plan of care",
           ["Use on therapy services delivered under an occupational therapy plan of care.",
            "Append to every therapy line billed under the occupational therapy plan."]),
    "GN": ("Services under an outpatient speech-language pathology plan of care",
           ["Use on services delivered under a speech-language pathology plan of care.",
            "Append to every line billed under the speech-language pathology plan."]),
    "KX": ("Requirements specified in the medical policy have been met",
           ["Use when documentation on file shows the medical policy requirements have been met.",
            "Append when therapy services exceed the annual threshold and remain medically necessary."]),
    "CQ": ("Services furnished in whole or in part by a physical therapist assistant",
           ["Use when a physical therapist assistant furnishes more than ten percent of the service.",
            "Append alongside GP when an assistant delivered part of the therapy."]),
    "JW": ("Drug amount discarded, not administered",
           ["Use on a separate line to report the unused portion of a single-dose vial.",
            "Append to the discarded amount and document it in the medication record."]),
    "JZ": ("Zero drug amount discarded",
           ["Use when no amount of a single-dose container was discarded.",
            "Append to the administered amount when the whole vial was used."]),
}
MODIFIER_CODES = sorted(MODIFIERS)

# Payers: normalised id -> names as written (all map to the same id).
PAYERS = [
    ("aetna", ["Aetna"]),
    ("bcbs", ["Blue Cross Blue Shield", "BCBS", "Blue Cross Blue Shield"]),
    ("cigna", ["Cigna", "Cigna Health", "Cigna Healthcare"]),
    ("unitedhealthcare", ["UnitedHealthcare", "United Healthcare", "UHC", "UnitedHealthcare"]),
    ("medicare", ["Medicare"]),
    ("medicaid", ["Medicaid"]),
    ("humana", ["Humana"]),
]

PA_STATES = ["required", "notRequired", "conditional", "unknown"]
COV_STATES = ["covered", "notCovered", "conditional", "unknown"]

# One sentence per state. Each mentions only its own topic, so no clause can be read two ways.
PA_SENTENCES = {
    "required": ["Prior authorization is required before the service is scheduled.",
                 "Prior authorization is required for elective cases.",
                 "The plan requires prior authorization for this code."],
    "notRequired": ["Prior authorization is not required for this service.",
                    "No prior authorization is needed when the service is performed in the office.",
                    "The plan does not require prior authorization for this code."],
    "conditional": ["Prior authorization may be required depending on the site of service.",
                    "Prior authorization requirements vary by plan.",
                    "The plan may require prior authorization for members in managed products."],
    "unknown": ["Prior authorization data not available.",
                ""],
}
COV_SENTENCES = {
    "covered": ["The service is covered under standard medical benefits.",
                "The code is covered as a standard benefit for eligible members."],
    "notCovered": ["The service is not covered and is considered experimental and investigational.",
                   "The code is not covered for this indication."],
    "conditional": ["Coverage with evidence development applies to this service.",
                    "The service is covered only when conservative treatment has failed."],
    "unknown": ["Coverage data not available.",
                ""],
}
PA_CELLS = {"required": "Yes", "notRequired": "No", "conditional": "Varies", "unknown": "Data not available"}
COV_CELLS = {"covered": "Covered", "notCovered": "Not covered", "conditional": "Varies",
             "unknown": "Data not available"}
TABLE_NOTES = [
    "Submit the operative report with the claim.",
    "Attach imaging results and the treatment plan.",
    "Follow the national correct coding edits.",
    "Documentation of conservative care is reviewed on request.",
    "Claims are reviewed against the local policy.",
    "Bill the facility and professional claims separately.",
    "",
]

# Filler vocabulary: none of these words is a trigger for the prior-authorization or coverage rules.
WORDS = (
    "patient clinical documentation procedure imaging assessment outpatient inpatient surgeon "
    "physician therapy treatment diagnosis lesion tissue specimen margin evaluation follow-up "
    "postoperative preoperative anesthesia recovery monitoring plan history examination findings "
    "laboratory pathology radiology orthopedic cardiology oncology neurology dermatology "
    "ambulatory facility hospital office clinic setting workflow staff coder claim line unit "
    "modifier encounter session episode schedule referral consultation interpretation report "
    "result baseline protocol guideline standard criteria benchmark volume utilization review "
    "quality outcome safety risk complication infection bleeding healing function mobility pain "
    "range motion strength device implant graft fixation catheter injection infusion dose vial "
    "supply equipment component technical professional global period bundle edit pair payment "
    "rate schedule fee region national local contractor jurisdiction audit appeal record note "
    "signature order attestation timeline interval frequency limit threshold age adult pediatric "
    "chronic acute severe moderate mild stable progressive recurrent primary secondary distal "
    "proximal lateral medial anterior posterior bilateral left right open percutaneous endoscopic "
    "arthroscopic minimally invasive complex simple extended limited comprehensive focused"
).split()
CONNECTIVES = ["and", "with", "for", "during", "after", "before", "within", "across", "under", "including"]

SENTENCE_OPENERS = [
    "Coders should confirm", "Documentation should describe", "The medical record must show",
    "Reviewers typically check", "Practices report", "Revenue-cycle teams track",
    "Clinical notes should capture", "Auditors often examine", "Billing staff verify",
    "Providers are expected to record",
]

PROC_ACTIONS = ["Excision", "Repair", "Arthroplasty", "Biopsy", "Incision and drainage", "Removal",
                "Reconstruction", "Injection", "Aspiration", "Fixation", "Debridement", "Revision",
                "Arthroscopy", "Implantation", "Destruction", "Manipulation", "Amputation", "Ligation"]
PROC_OBJECTS = ["Tumor", "Lesion", "Cyst", "Foreign Body", "Fracture", "Tendon", "Ligament", "Joint",
                "Nerve", "Artery", "Vein", "Abscess", "Hematoma", "Cartilage", "Bone", "Soft Tissue"]
SITES = ["Femur or Knee", "Shoulder", "Elbow", "Wrist", "Hand", "Hip", "Ankle", "Foot", "Spine, Lumbar",
         "Spine, Cervical", "Pelvis", "Forearm", "Leg", "Thigh", "Neck", "Chest Wall", "Abdomen", "Scalp"]
QUALIFIERS = ["", "", "; Superficial", "; Deep", ", Open", ", Percutaneous", "; Each Additional",
              ", Complex", ", Simple", "; With Graft", "; Without Graft", ", Bilateral"]
HCPCS_THINGS = ["Electrical stimulation", "Injection", "Wheelchair component", "Orthosis", "Prosthesis",
                "Infusion pump supply", "Glucose monitor sensor", "Oxygen concentrator", "Therapy session",
                "Ambulance service", "Screening service", "Drug administration", "Catheter", "Dressing"]
HCPCS_DETAILS = ["unattended", "per 15 minutes", "1 mg", "10 units", "each", "per visit", "custom fabricated",
                 "prefabricated", "per month", "per dose", "disposable", "rental"]
SERVICE_TYPES = ["Surgical tumor excision (orthopedic oncology)", "Diagnostic imaging", "Outpatient therapy",
                 "Durable medical equipment", "Drug administration", "Minor surgical procedure",
                 "Major surgical procedure", "Evaluation and management", "Laboratory testing",
                 "Rehabilitation services", "Interventional pain management", "Wound care"]
SITES_OF_SERVICE = ["Hospital operating room or ambulatory surgical center",
                    "Physician office", "Hospital outpatient department", "Inpatient hospital",
                    "Independent diagnostic testing facility", "Home health setting",
                    "Skilled nursing facility", "Ambulatory surgical center"]
UPDATE_TEXTS = [
    "Annual code descriptor review completed; modifier guidance unchanged.",
    "Documentation checklist revised to include imaging reports.",
    "National correct coding edits updated for this code pair.",
    "Clarified reporting of bilateral services on a single line.",
    "Site-of-service guidance aligned with the physician fee schedule.",
    "Added guidance on reporting discarded drug amounts.",
]
UPDATE_DATES = ["2023-07-01", "2024-01-01", "2024-04-01", "2024-10-01", "2025-01-01", "2025-07-01"]
EFFECTIVE_DATES = ["2024-01-01", "2024-07-01", "2025-01-01", "2025-04-01"]

HCPCS_LETTERS = "ABCEGHJKLMPQSTV"
CPT_SPACE = 90000                      # 10000..99999
HCPCS_SPACE = len(HCPCS_LETTERS) * 10000
CODE_SPACE = CPT_SPACE + HCPCS_SPACE   # 240,000 distinct codes
CODE_STRIDE = 100003                   # prime, coprime with CODE_SPACE: i -> i*stride mod space is a bijection


def code_for(index, seed):
    """The index-th code of the corpus: a bijection of [0, CODE_SPACE), so codes never repeat."""
    slot = (index * CODE_STRIDE + seed * 7919) % CODE_SPACE
    if slot < CPT_SPACE:
        return "CPT", "%05d" % (10000 + slot)
    slot -= CPT_SPACE
    return "HCPCS", "%s%04d" % (HCPCS_LETTERS[slot // 10000], slot % 10000)


# --------------------------------------------------------------------------------------------
# Text

def sentence(rng, lo=8, hi=22):
    n = rng.randint(lo, hi)
    words = rng.choices(WORDS, k=n)
    # A connective now and then, so the text reads less like a word list.
    for pos in range(3, n - 2, 6):
        words[pos] = CONNECTIVES[(pos + n) % len(CONNECTIVES)]
    if rng.random() < 0.5:
        return rng.choice(SENTENCE_OPENERS) + " " + " ".join(words) + "."
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def paragraph(rng, lo=1, hi=6):
    return " ".join(sentence(rng) for _ in range(rng.randint(lo, hi)))


def title_for(rng, system):
    if system == "CPT":
        return "%s of %s, %s%s" % (rng.choice(PROC_ACTIONS), rng.choice(PROC_OBJECTS), rng.choice(SITES),
                                   rng.choice(QUALIFIERS))
    return "%s, %s" % (rng.choice(HCPCS_THINGS), rng.choice(HCPCS_DETAILS))


def payer_statement(rng, pa, cov):
    """Prose for one payer: PA and coverage sentences (each on its own topic) plus filler."""
    parts = [rng.choice(PA_SENTENCES[pa]), rng.choice(COV_SENTENCES[cov])]
    parts = [p for p in parts if p]
    rng.shuffle(parts)
    if rng.random() < 0.6:
        parts.append(sentence(rng, 6, 16))
    if not parts:
        parts.append(sentence(rng, 6, 16))
    return " ".join(parts)


def md_inline(rng, text):
    """Sprinkle markdown inline syntax (emphasis, code spans) over a sentence, as real pages do."""
    r = rng.random()
    if r < 0.15:
        words = text.split(" ")
        if len(words) > 4:
            k = rng.randrange(1, len(words) - 2)
            words[k] = "*" + words[k] + "*"
            return " ".join(words)
    elif r < 0.25:
        words = text.split(" ")
        if len(words) > 4:
            k = rng.randrange(1, len(words) - 2)
            words[k] = "**" + words[k] + "**"
            return " ".join(words)
    return text


# --------------------------------------------------------------------------------------------
# Document model (dialect independent), then the two renderers

def plan_document(index, seed):
    rng = random.Random("rulebook-corpus:%d:%d" % (seed, index))
    system, code = code_for(index, seed)
    doc = {
        "rng": rng,
        "system": system,
        "code": code,
        "title": title_for(rng, system),
        "dialect": "md" if rng.random() < 0.5 else "txt",
        "service_type": rng.choice(SERVICE_TYPES),
        "sites": rng.sample(SITES_OF_SERVICE, rng.choice([1, 1, 2])),
        "effective": rng.choice(EFFECTIVE_DATES),
    }
    doc["modifiers"] = rng.sample(MODIFIER_CODES, rng.randint(2, 8))
    payers = rng.sample(PAYERS, rng.randint(3, 7))
    notes = []
    for pid, names in payers:
        notes.append({"id": pid, "name": rng.choice(names),
                      "pa": rng.choice(PA_STATES), "cov": rng.choice(COV_STATES)})
    # Split payers between one or two of the three forms: table, heading per payer, labelled lines.
    forms = ["table", "headings", "lines"]
    first = rng.choice(forms)
    if rng.random() < 0.4 and len(notes) >= 4:
        second = rng.choice([f for f in forms if f != first])
        cut = rng.randint(2, len(notes) - 2)
        groups = [(first, notes[:cut]), (second, notes[cut:])]
        # A payer heading's section runs to the next heading, so per-payer headings come last:
        # lines after a `### Aetna` heading would read as part of Aetna's note.
        groups.sort(key=lambda g: g[0] == "headings")
        doc["payer_groups"] = groups
    else:
        doc["payer_groups"] = [(first, notes)]
    doc["payers"] = notes
    doc["updates"] = []
    if rng.random() < 0.45:
        for date in sorted(rng.sample(UPDATE_DATES, rng.randint(1, 3))):
            who = rng.choice(notes)["name"] + " policy bulletin. " if rng.random() < 0.5 else ""
            doc["updates"].append((date, who + rng.choice(UPDATE_TEXTS)))
    return doc


def modifier_rows(rng, doc):
    rows = []
    for m in doc["modifiers"]:
        description, uses = MODIFIERS[m]
        use = rng.choice(uses)
        if rng.random() < 0.5:
            use += " " + sentence(rng, 6, 14)
        rows.append((m, description, use))
    return rows


def payer_list_sentence(notes):
    names = [n["name"] for n in notes]
    if len(names) == 1:
        listed = names[0]
    else:
        listed = ", ".join(names[:-1]) + ", and " + names[-1]
    return "Key payers covered in this analysis include %s." % listed


def render_txt(doc):
    rng = doc["rng"]
    out = []
    add = out.append
    display = "%s %s" % (doc["system"], doc["code"])
    add("Summary & Overview")
    add("%s: %s" % (display, doc["title"]))
    add("%s code %s denotes %s. %s" % (doc["system"], doc["code"], doc["title"].lower(), paragraph(rng, 1, 4)))
    add(payer_list_sentence(doc["payers"]) + " " + paragraph(rng, 1, 3))
    if rng.random() < 0.7:
        add(paragraph(rng, 2, 5))
    add("Billing Code Overview")
    add(paragraph(rng, 1, 4))
    add("-")
    add("Service type: %s" % doc["service_type"])
    add("-")
    add("Typical site of service: %s" % "; ".join(doc["sites"]))
    add("Clinical & Coding Specifications")
    add("Clinical Context")
    add(paragraph(rng, 3, 9))
    add("Coding Specifications")
    if rng.random() < 0.5:
        add(paragraph(rng, 1, 2))
    add("| Modifier | Description | When to Use |")
    add("|---|---|---|")
    for m, description, use in modifier_rows(rng, doc):
        # Scraped tables often lose the leading pipe (as in the seed).
        if rng.random() < 0.5:
            add("%s | %s | %s |" % (m, description, use))
        else:
            add("| %s | %s | %s |" % (m, description, use))
    add("")
    add("Payer-Specific Considerations")
    if rng.random() < 0.5:
        add(paragraph(rng, 1, 2))
    for form, notes in doc["payer_groups"]:
        if form == "table":
            add("| Payer | Prior Authorization | Coverage | Notes |")
            add("|---|---|---|---|")
            for n in notes:
                add("| %s | %s | %s | %s |" % (n["name"], PA_CELLS[n["pa"]], COV_CELLS[n["cov"]],
                                                rng.choice(TABLE_NOTES)))
            add("")
        elif form == "headings":
            for n in notes:
                add(n["name"])
                add(payer_statement(rng, n["pa"], n["cov"]))
        else:
            for n in notes:
                sep = rng.choice([": ", " – "])
                text = payer_statement(rng, n["pa"], n["cov"])
                if rng.random() < 0.3:
                    add("-")
                    add(n["name"] + sep + text)
                else:
                    add(n["name"] + sep + text)
    if doc["updates"]:
        add("Policy Updates")
        for date, text in doc["updates"]:
            add("- %s: %s" % (date, text))
    return "\n".join(out) + "\n"


def render_md(doc):
    rng = doc["rng"]
    out = []
    add = out.append
    display = "%s %s" % (doc["system"], doc["code"])
    if rng.random() < 0.4:
        add("---")
        add("code: %s" % doc["code"])
        add("system: %s" % doc["system"])
        add("title: %s" % doc["title"])
        add("effective: %s" % doc["effective"])
        add("---")
        add("")
    add("# %s: %s" % (display, doc["title"]))
    add("")
    add("## Summary")
    add("")
    add(md_inline(rng, "%s %s describes %s. %s" % (doc["system"], doc["code"], doc["title"].lower(),
                                                    paragraph(rng, 1, 4))))
    add("")
    if rng.random() < 0.6:
        add(payer_list_sentence(doc["payers"]) + " " + md_inline(rng, paragraph(rng, 1, 2)))
        add("")
    add("- **Service type:** %s" % doc["service_type"])
    add("- **Typical site of service:** %s" % "; ".join(doc["sites"]))
    add("")
    add("## Clinical Context")
    add("")
    for _ in range(rng.randint(1, 3)):
        add(md_inline(rng, paragraph(rng, 2, 5)))
        add("")
    add("## Coding Specifications")
    add("")
    if rng.random() < 0.5:
        add(md_inline(rng, paragraph(rng, 1, 2)))
        add("")
    delim = rng.choice(["|---|---|---|", "| --- | --- | --- |", "|:---|:---|:---|", "|:--:|---|---|"])
    add("| Modifier | Description | When to Use |")
    add(delim)
    for m, description, use in modifier_rows(rng, doc):
        add("| %s | %s | %s |" % (m, description, use))
    add("")
    add("## Payer-Specific Considerations")
    add("")
    for form, notes in doc["payer_groups"]:
        if form == "table":
            add("| Payer | Prior Authorization | Coverage | Notes |")
            add("|---|---|---|---|")
            for n in notes:
                add("| %s | %s | %s | %s |" % (n["name"], PA_CELLS[n["pa"]], COV_CELLS[n["cov"]],
                                                rng.choice(TABLE_NOTES)))
            add("")
        elif form == "headings":
            for n in notes:
                add("### %s" % n["name"])
                add("")
                add(payer_statement(rng, n["pa"], n["cov"]))
                add("")
        else:
            bullet = rng.random() < 0.5
            for n in notes:
                style = rng.randrange(3)
                text = payer_statement(rng, n["pa"], n["cov"])
                if style == 0:
                    line = "**%s:** %s" % (n["name"], text)
                elif style == 1:
                    line = "%s: %s" % (n["name"], text)
                else:
                    line = "%s – %s" % (n["name"], text)
                if bullet:
                    add("- " + line)
                else:
                    add(line)
                    add("")
            if bullet:
                add("")
    if doc["updates"]:
        add("## Policy Updates")
        add("")
        for date, text in doc["updates"]:
            add("- %s: %s" % (date, text))
        add("")
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def render(index, seed):
    doc = plan_document(index, seed)
    text = render_md(doc) if doc["dialect"] == "md" else render_txt(doc)
    name = "%05d_%s-%s.%s" % (index, doc["system"].lower(), doc["code"].lower(), doc["dialect"])
    return name, text.encode("utf-8")


def verify(json_dir, count, seed, limit=5):
    """Compares `rulebook generate` bundles in json_dir with what the documents say; returns mismatches."""
    import glob
    import json
    records = {}
    for path in glob.glob(os.path.join(json_dir, "*-*.json")):
        with open(path, encoding="utf-8") as f:
            for record in json.load(f).get("codes", []):
                records[(record["system"], record["code"])] = record
    problems = []

    def problem(name, what, got, want):
        problems.append("%s: %s is %r, expected %r" % (name, what, got, want))

    for i in range(count):
        doc = plan_document(i, seed)
        name = "%05d_%s-%s.%s" % (i, doc["system"].lower(), doc["code"].lower(), doc["dialect"])
        r = records.pop((doc["system"], doc["code"]), None)
        if r is None:
            problems.append("%s: no bundle for %s %s" % (name, doc["system"], doc["code"]))
            continue
        if r.get("title") != doc["title"]:
            problem(name, "title", r.get("title"), doc["title"])
        if r.get("serviceType") != doc["service_type"]:
            problem(name, "serviceType", r.get("serviceType"), doc["service_type"])
        mods = [m["code"] for m in r.get("modifiers", [])]
        if mods != doc["modifiers"]:
            problem(name, "modifiers", mods, doc["modifiers"])
        got = {p["payer"]: p for p in r.get("payers", [])}
        want = {n["id"]: n for n in doc["payers"]}
        if sorted(got) != sorted(want):
            problem(name, "payers", sorted(got), sorted(want))
        for pid, n in want.items():
            if pid in got:
                if got[pid]["priorAuthorization"] != n["pa"]:
                    problem(name, pid + " priorAuthorization", got[pid]["priorAuthorization"], n["pa"])
                if got[pid]["coverage"] != n["cov"]:
                    problem(name, pid + " coverage", got[pid]["coverage"], n["cov"])
        updates = [u["date"] for u in r.get("policyUpdates", [])]
        if updates != [d for d, _ in doc["updates"]]:
            problem(name, "policyUpdates dates", updates, [d for d, _ in doc["updates"]])
    for key in sorted(records):
        problems.append("unexpected bundle for %s %s" % key)
    return problems


def main(argv):
    parser = argparse.ArgumentParser(description="Write N synthetic billing documents (deterministic from the seed).")
    parser.add_argument("--count", type=int, required=True, help="number of documents (at most %d)" % CODE_SPACE)
    parser.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    parser.add_argument("--out", help="output folder (created; existing corpus files are replaced)")
    parser.add_argument("--verify", metavar="JSON_DIR",
                        help="write nothing; compare the bundles `rulebook generate` wrote to JSON_DIR with the "
                             "corpus these arguments describe (exit 1 on any mismatch)")
    args = parser.parse_args(argv)
    if args.verify:
        problems = verify(args.verify, args.count, args.seed)
        for line in problems[:20]:
            sys.stderr.write(line + "\n")
        if len(problems) > 20:
            sys.stderr.write("... and %d more\n" % (len(problems) - 20))
        sys.stderr.write("verified %d documents against %s: %d mismatches\n" % (args.count, args.verify, len(problems)))
        return 1 if problems else 0
    if not 0 < args.count <= CODE_SPACE:
        parser.error("--count must be between 1 and %d" % CODE_SPACE)
    if args.seed < 0:
        parser.error("--seed must be >= 0")
    if not args.out:
        parser.error("--out is required (or --verify JSON_DIR)")
    os.makedirs(args.out, exist_ok=True)
    # Remove documents left by an earlier, larger run so the folder holds exactly this corpus.
    wanted = set()
    total = 0
    for i in range(args.count):
        name, data = render(i, args.seed)
        wanted.add(name)
        total += len(data)
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
    for name in os.listdir(args.out):
        if name not in wanted and (name.endswith(".md") or name.endswith(".txt")):
            os.remove(os.path.join(args.out, name))
    sys.stderr.write("wrote %d documents, %d bytes (%.0f bytes each on average) to %s\n"
                     % (args.count, total, total / args.count, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A synthetic credit export for demonstrations and development.

Every name is made up, every e-mail is at example.org, every NPI is random
with a valid check digit. Dates are relative to today so the cases near a
deadline stay near it.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from webapp.boards import REGISTRY
from webapp.credits.validation import COLUMNS
from webapp.identifiers import npi_with_check_digit

FIRST = ("Avery Blake Casey Devon Emerson Finley Harper Jules Kendall Logan Marlowe Noor Oakley "
         "Parker Quinn Reese Rowan Sage Tatum Umar Vesna Wren Yusuf Zara Ilse Tomas Mireille "
         "Hana Dario Leonie Bram Farah Idris Katya Lior Maren").split()
LAST = ("Ashdown Brightwater Calloway Dunmore Everly Fairbanks Greystone Hollins Ivers Jessup "
        "Kettering Lockhart Merriweather Northcott Oakenfold Pemberton Quarrington Redfern "
        "Silvermane Thackeray Underhill Vantongeren Westbrook Yarrow Zelinski Abernathy "
        "Brockhurst Cardew Delacroix Elsworth").split()
STATES = ("MI", "OH", "IN", "IL", "WI", "NY", "PA", "TX", "CA", "FL")
TOPICS = (
    "Sepsis Recognition and Early Management", "Advances in Heart Failure Therapy",
    "Perioperative Anticoagulation", "Pediatric Asthma Update", "Opioid Prescribing and Safety",
    "Diabetes Technology in Practice", "Trauma Surgery Grand Rounds", "Stroke Systems of Care",
    "Antimicrobial Stewardship", "Thoracic Oncology Tumor Board", "Chronic Kidney Disease Care",
    "Musculoskeletal Imaging Review", "Airway Management in Anesthesia",
    "Hepatitis C Elimination", "Implicit Bias in Clinical Care", "Minimally Invasive Surgery",
    "Geriatric Polypharmacy", "Rehabilitation after Spinal Cord Injury",
    "Pathology of Lymphomas", "Hypertension Guidelines Update", "Endocrine Surgery Update",
    "Palliative Care Communication", "Head and Neck Cancer Symposium", "Sports Medicine Review",
    "Quality Improvement in Surgery", "Neonatal Resuscitation", "Pain Management in Rehab",
    "Pulmonary Embolism Response", "Hospital Medicine Case Conference", "Burnout and Resilience",
)
#: Boards whose MOC an activity may offer, and the credit types they report (from the
#: registry; a board whose types are not confirmed gets a plausible one).
BOARD_TYPES = {code: entry.credit_types or ("Lifelong Learning",)
               for code, entry in REGISTRY.items()}


@dataclass
class Person:
    learner_id: str
    first: str
    last: str
    degree: str
    npi: str = ""
    birthday: str = ""
    state: str = ""
    license: str = ""
    boards: dict[str, str] = field(default_factory=dict)
    consent: str = ""

    @property
    def email(self) -> str:
        return f"{self.first}.{self.last}@example.org".lower()


@dataclass
class Activity:
    activity_id: str
    title: str
    accme_id: str
    boards: tuple[str, ...]
    credits: str


def _npi(rng: random.Random) -> str:
    return npi_with_check_digit("1" + "".join(str(rng.randrange(10)) for _ in range(8)))


def _birthday(rng: random.Random) -> str:
    return f"{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _license(rng: random.Random) -> tuple[str, str]:
    return rng.choice(STATES), f"{rng.randint(4300000000, 4399999999)}"


#: The people the README and the development sign-in name.
FEATURED = {
    "surgeon": "demo-surgeon",
    "opted_out": "demo-opted-out",
    "missing_ids": "demo-missing-ids",
    "internist": "demo-internist",
    "nurse_practitioner": "demo-np",
}


def people(rng: random.Random, count: int) -> list[Person]:
    st, lic = _license(rng)
    featured = [
        Person("demo-surgeon", "Morgan", "Hale", "MD", _npi(rng), "04-17", "MI", "4301012345",
               {"ABS": ""}),
        Person("demo-opted-out", "Priya", "Lindqvist", "DO", _npi(rng), "11-02", st, lic,
               {"ABIM": "284913"}, consent="no"),
        Person("demo-missing-ids", "Samuel", "Okafor", "MD"),
        Person("demo-internist", "Elena", "Marsh", "MD", _npi(rng), "07-29", "OH", "3501187234",
               {"ABIM": "301877"}, consent="yes"),
        Person("demo-np", "Jordan", "Ellis", "NP"),
    ]
    others = []
    names = [(f, n) for f in FIRST for n in LAST]
    rng.shuffle(names)
    for i in range(max(count - len(featured), 0)):
        first, last = names[i]
        degree = rng.choice(("MD", "MD", "MD", "DO", "PA", "RN")) if i % 7 == 6 else rng.choice(
            ("MD", "MD", "DO"))
        person = Person(f"L{100000 + i}", first, last, degree)
        if degree in ("MD", "DO"):
            person.npi = _npi(rng)
            person.birthday = _birthday(rng)
            person.state, person.license = _license(rng)
            if rng.random() < 0.6:
                board = rng.choice(list(BOARD_TYPES))
                person.boards[board] = "" if board == "ABS" else str(rng.randint(100000, 999999))
            person.consent = rng.choice(("", "", "", "yes"))
        others.append(person)
    return featured + others


def activities(rng: random.Random) -> list[Activity]:
    acts = []
    for i, title in enumerate(TOPICS):
        boards = tuple(rng.sample(list(BOARD_TYPES), k=rng.randint(0, 3)))
        if "Surgery" in title or "Trauma" in title:
            boards = tuple(dict.fromkeys(("ABS", *boards)))
        if "Internal" in title or "Heart" in title or "Hypertension" in title or "Hospital" in title:
            boards = tuple(dict.fromkeys(("ABIM", *boards)))
        acts.append(Activity(f"ACT-{2021 + i % 6}-{i + 1:03d}", title,
                             f"2{rng.randint(10000000, 99999999)}", boards,
                             rng.choice(("1.00", "1.50", "2.00", "3.25", "4.00", "0.75"))))
    # One activity the provider has not registered with PARS yet.
    acts[7].accme_id = ""
    acts[7].title = "Grand Rounds: " + acts[7].title
    return acts


def rows(physicians: int = 36, seed: int = 2023, today: dt.date | None = None) -> list[dict[str, str]]:
    today = today or dt.date.today()
    rng = random.Random(seed)
    cast = people(rng, physicians)
    acts = activities(rng)
    out: list[dict[str, str]] = []

    def completion(person: Person, act: Activity, day: dt.date) -> None:
        base = {
            "learner_id": person.learner_id, "first_name": person.first,
            "last_name": person.last, "email": person.email, "degree": person.degree,
            "npi": person.npi, "birth_month_day": person.birthday,
            "license_state": person.state, "license_number": person.license,
            "activity_id": act.activity_id, "activity_title": act.title,
            "accme_activity_id": act.accme_id, "completion_date": day.isoformat(),
            "cme_credits": act.credits, "consent": person.consent,
            "board": "", "board_id": "", "board_credit_type": "", "board_credits": "",
        }
        lines = [(b, t) for b in act.boards if b in person.boards for t in BOARD_TYPES[b][:1]]
        if not lines:
            out.append(base)
        for board, credit_type in lines:
            out.append(base | {"board": board, "board_id": person.boards[board],
                               "board_credit_type": credit_type, "board_credits": act.credits})

    # Most credit falls in the years PARS still accepts (so it is queued, not lost);
    # some predates the reporting start (it stays on the transcript only).
    open_from = dt.date(today.year - 1 if (today.month, today.day) <= (3, 31) else today.year, 1, 1)

    def recent() -> dt.date:
        return open_from + dt.timedelta(days=rng.randint(0, max((today - open_from).days - 1, 0)))

    def before_reporting() -> dt.date:
        return dt.date(2021, 1, 4) + dt.timedelta(days=rng.randint(0, 900))  # to mid-2023

    surgical = [a for a in acts if "ABS" in a.boards and a.accme_id]
    surgeon, opted_out, missing, internist, np_ = cast[:5]
    # The surgeon: ABS credit 24 days ago (6 days to the 30-day limit) and 3 days ago.
    completion(surgeon, surgical[0], today - dt.timedelta(days=24))
    completion(surgeon, surgical[1 % len(surgical)], today - dt.timedelta(days=3))
    completion(surgeon, acts[0], before_reporting())
    # Credit from before PARS reporting began, and one in an unregistered activity.
    completion(internist, acts[2], dt.date(2022, 10, 14))
    completion(internist, acts[3], dt.date(2023, 3, 2))
    completion(internist, acts[7], today - dt.timedelta(days=40))
    for person in (opted_out, missing, internist, np_):
        for act in rng.sample(acts, 4):
            completion(person, act, recent())
    for person in cast[5:]:
        taken = rng.sample(acts, rng.randint(2, 9))
        for act in taken:
            completion(person, act, recent() if rng.random() < 0.8 else before_reporting())
    # Recent credit waiting for the details Samuel Okafor never gave: 18 days and 4 days
    # before the 30-day limit (the e-mail notices' two reminders). After the random draws,
    # so everyone else's data stays as it was.
    registered = [a for a in acts if a.accme_id]
    completion(missing, registered[1], today - dt.timedelta(days=12))
    completion(missing, registered[2], today - dt.timedelta(days=26))
    # Deduplicate (learner, activity, date) collisions from random sampling.
    seen: set[tuple[str, str, str, str, str]] = set()
    unique = []
    for r in out:
        k = (r["learner_id"], r["activity_id"], r["completion_date"], r["board"],
             r["board_credit_type"])
        if k not in seen:
            seen.add(k)
            unique.append(r)
    return unique


def write_export(path: Path, physicians: int = 36, seed: int = 2023,
                 today: dt.date | None = None) -> int:
    data = rows(physicians, seed, today)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(data)
    return len(data)

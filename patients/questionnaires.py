"""The words of the questionnaires a patient fills in through the portal (PHQ-9, GAD-7).

Presentation only: scoring, bands and flags are `patients.scoring`'s (CLINICAL.md §5).
PHQ-9 (Kroenke, Spitzer & Williams 2001) and GAD-7 (Spitzer et al. 2006) were developed with
an educational grant from Pfizer; no permission is required to reproduce them.
"""

from dataclasses import dataclass

from patients.scoring import INSTRUMENTS, Instrument

FREQUENCY_ANSWERS: tuple[tuple[int, str], ...] = (
    (0, "Not at all"),
    (1, "Several days"),
    (2, "More than half the days"),
    (3, "Nearly every day"),
)


@dataclass(frozen=True)
class Questionnaire:
    code: str
    title: str
    preamble: str
    questions: tuple[str, ...]
    answers: tuple[tuple[int, str], ...]


QUESTIONNAIRES: dict[str, Questionnaire] = {
    Instrument.PHQ9: Questionnaire(
        code=Instrument.PHQ9,
        title=INSTRUMENTS[Instrument.PHQ9].label,
        preamble="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
        questions=(
            "Little interest or pleasure in doing things",
            "Feeling down, depressed, or hopeless",
            "Trouble falling or staying asleep, or sleeping too much",
            "Feeling tired or having little energy",
            "Poor appetite or overeating",
            "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
            "Trouble concentrating on things, such as reading the newspaper or watching television",
            "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
            "fidgety or restless that you have been moving around a lot more than usual",
            "Thoughts that you would be better off dead or of hurting yourself in some way",
        ),
        answers=FREQUENCY_ANSWERS,
    ),
    Instrument.GAD7: Questionnaire(
        code=Instrument.GAD7,
        title=INSTRUMENTS[Instrument.GAD7].label,
        preamble="Over the last 2 weeks, how often have you been bothered by the following problems?",
        questions=(
            "Feeling nervous, anxious, or on edge",
            "Not being able to stop or control worrying",
            "Worrying too much about different things",
            "Trouble relaxing",
            "Being so restless that it is hard to sit still",
            "Becoming easily annoyed or irritable",
            "Feeling afraid as if something awful might happen",
        ),
        answers=FREQUENCY_ANSWERS,
    ),
}
